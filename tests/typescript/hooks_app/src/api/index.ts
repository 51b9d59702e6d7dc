import { Service } from '@liquidmetal-ai/raindrop-framework';
import { corsAllowAll } from '../_app/cors';

export default class extends Service<Record<string, unknown>> {
  async fetch(request: Request): Promise<Response> {
    if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers: { 'x-handled-by': 'api' } });
    return Response.json({ status: 'ok' }, { headers: corsAllowAll });
  }
}
