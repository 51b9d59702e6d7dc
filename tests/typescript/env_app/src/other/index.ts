import { Service } from '@liquidmetal-ai/raindrop-framework';
import type { Env } from './raindrop.gen';

const names = ['APP_VAR', 'APP_SECRET', 'WITH_DEFAULT', 'WORKOS_CLIENT_ID', 'WORKOS_CLIENT_SECRET'];

export default class extends Service<Env> {
  async vars(): Promise<Record<string, string | null>> {
    return Object.fromEntries(names.map((n) => [n, (this.env as unknown as Record<string, string | undefined>)[n] ?? null]));
  }
}
