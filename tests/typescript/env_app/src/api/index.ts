import { Service } from '@liquidmetal-ai/raindrop-framework';
import type { Env } from './raindrop.gen';

const names = ['APP_VAR', 'APP_SECRET', 'WITH_DEFAULT', 'WORKOS_CLIENT_ID', 'WORKOS_CLIENT_SECRET'] as const;

export default class extends Service<Env> {
  async fetch(request: Request, env: Env): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === '/other') return Response.json(await this.env.OTHER.vars());
    if (path === '/own-rpc') return Response.json(await this.env.API.vars());
    if (path === '/unset') {  // as call-me-back's /api/debug/env reads a secret nobody set
      const value: unknown = this.env.NEVER_SET;
      return Response.json({ type: typeof value, shown: this.env.NEVER_SET || 'NOT_SET', in: 'NEVER_SET' in this.env });
    }
    if (path === '/argument') return Response.json({ WORKOS_CLIENT_ID: env.WORKOS_CLIENT_ID ?? null });
    return Response.json(await this.vars());
  }

  async vars(): Promise<Record<string, string | null>> {
    return Object.fromEntries(names.map((n) => [n, (this.env as unknown as Record<string, string | undefined>)[n] ?? null]));
  }
}
