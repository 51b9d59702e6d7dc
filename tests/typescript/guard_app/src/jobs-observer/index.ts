import { Each, Message } from '@liquidmetal-ai/raindrop-framework';

export interface Body {
  id: string;
  mode: 'ok' | 'exit' | 'delay' | 'hang';
  delay?: string;
}

export default class extends Each<Body, any> {
  async process(message: Message<Body>): Promise<void> {
    const body = message.body;
    if (body.mode === 'exit') process.exit(1);
    if (body.mode === 'hang' && message.attempts === 1) await new Promise(() => {}); // never settles
    if (body.mode === 'delay') {
      message.retry({ delaySeconds: Number(body.delay) });
      return;
    }
    await this.env.CACHE.put(`done:${body.id}`, String(message.attempts));
  }
}
