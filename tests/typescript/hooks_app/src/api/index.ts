import { Service } from '@liquidmetal-ai/raindrop-framework';
import { corsAllowAll } from '../_app/cors';
import type { Env } from './raindrop.gen';

export default class extends Service<Env> {
  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers: { 'x-handled-by': 'api' } });
    if (path === '/smart') return Response.json(await this.smartBucket());
    if (path === '/wrong-arguments') {
      try {
        await (this.env.LOGS as any).search('boots', 'r1', 'p1', { limit: 5 });
        return Response.json({ error: null });
      } catch (error) {
        return Response.json({ name: (error as Error).name, message: (error as Error).message });
      }
    }
    return Response.json({ status: 'ok' }, { headers: corsAllowAll });
  }

  // As the jetson-logs MCP service (Cloud-Edge-AI-Co-Simulation-Optimizer) keeps CSV logs.
  async smartBucket() {
    await this.env.LOGS.put('logs/a.csv', 'ms,temp\n25,65\n', { httpMetadata: { contentType: 'text/csv' } });
    const object = await this.env.LOGS.get('logs/a.csv');
    const head = await this.env.LOGS.head('logs/a.csv');
    const listing = await this.env.LOGS.list({ prefix: 'logs/' });
    return {
      text: await object!.text(),
      contentType: head!.httpMetadata?.contentType,
      listed: listing.objects.map((o) => [o.key, o.size, o.uploaded instanceof Date]),
      search: typeof this.env.LOGS.search,
    };
  }
}
