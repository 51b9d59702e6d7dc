import { Each, Message } from '@liquidmetal-ai/raindrop-framework';

export interface Body {
  id: string;
  n?: number;
  mode?: 'ok' | 'throw' | 'retry';
}

export default class extends Each<Body, any> {
  async process(message: Message<Body>): Promise<void> {
    const raw: unknown = message.body;
    if (raw instanceof Uint8Array) return void (await this.env.CACHE.put('raw:bytes', [...raw].join(',')));
    if (typeof raw === 'string') return void (await this.env.CACHE.put('raw:string', raw));
    const body = message.body;
    if (body.mode === 'throw') throw new Error(`job ${body.id} failed on attempt ${message.attempts}`);
    if (body.mode === 'retry' && message.attempts < 2) {
      message.retry({ delaySeconds: 30 });
      return;
    }
    await this.env.CACHE.put(`job:${body.id}:${body.n ?? 1}`, JSON.stringify({ attempts: message.attempts, at: Date.now() }));
  }
}
