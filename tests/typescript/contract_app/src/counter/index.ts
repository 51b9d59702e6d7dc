import { Actor, ActorState } from '@liquidmetal-ai/raindrop-framework';
import { createHash } from 'node:crypto';

export class Counter extends Actor<any> {
  constructor(state: ActorState, env: any) {
    super(state, env);
  }

  async increment(by: number): Promise<number> {
    const value = ((await this.state.storage.get('value')) ?? 0) + by;
    await this.state.storage.put('value', value);
    return value;
  }

  async arm(seconds: number): Promise<void> {
    await this.state.storage.setAlarm(Date.now() + seconds * 1000);
  }

  async inspect(): Promise<unknown> {
    await this.state.storage.put({ a: 1, b: 2 });
    const listed = await this.state.storage.list({ prefix: '' });
    const many = await this.state.storage.get(['a', 'b']);
    await this.state.storage.setAlarm(Date.now() + 1000);
    const alarm = await this.state.storage.getAlarm();
    await this.state.storage.deleteAlarm();
    const deleted = await this.state.storage.delete('a');
    return {
      keys: [...listed.keys()], many: Object.fromEntries(many), alarmIn: (alarm ?? 0) - Date.now(),
      alarmAfter: await this.state.storage.getAlarm(), deleted, id: this.state.id.toString().length,
    };
  }

  // A write after the call returned, not handed to waitUntil: it must still land.
  async later(key: string, ms: number): Promise<boolean> {
    setTimeout(() => { this.state.storage.put(key, 'late').catch((e) => this.env.CACHE.put('late-error', String(e))); }, ms);
    return true;
  }

  // A call back into this actor, made while the call waits for it (it runs inside, as on the platform).
  async countdown(n: number): Promise<number> {
    await this.state.storage.put(`at-${n}`, n);
    if (n === 0) return 0;
    return (await this.env.COUNTER.get(this.state.id).countdown(n - 1)) + 1;
  }

  async read(key: string): Promise<unknown> {
    return (await this.state.storage.get(key)) ?? null;
  }

  // An upload forwarded to the actor: hashed as it arrives (the first chunk is marked in KV while
  // the client is still sending); /echo streams the body straight back.
  async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname.endsWith('/echo')) return new Response(request.body);
    const hash = createHash('sha256');
    const reader = request.body!.getReader();
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size === 0) await this.env.CACHE.put('actor-upload:first', String(value.byteLength));
      hash.update(value);
      size += value.byteLength;
    }
    return Response.json({ sha256: hash.digest('hex'), size });
  }

  async alarm(): Promise<void> {
    await this.env.CACHE.put('alarm-fired', String(Date.now()));
  }
}

export default Counter;
