import { Service } from '@liquidmetal-ai/raindrop-framework';

// A private service other modules call by RPC only.
export default class extends Service<any> {
  async fetch(): Promise<Response> {
    return new Response('rpc only', { status: 404 });
  }

  async remember(text: string): Promise<string> {
    const count = Number((await this.env.STATE.get('count')) ?? '0') + 1;
    await this.env.STATE.put('count', String(count));
    await this.env.STATE.put(`memory:${count}`, text);
    return `memory:${count}`;
  }

  async count(): Promise<number> {
    return Number(await this.env.STATE.get('count'));
  }
}
