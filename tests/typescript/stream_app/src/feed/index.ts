import { Actor, ActorState } from '@liquidmetal-ai/raindrop-framework';
import { createHash } from 'node:crypto';

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// What the service generating an upload and this actor reading it share (one Node process).
const probe = ((globalThis as any).__streamProbe ??= { generated: 0, consumed: 0, backlog: 0, atFirst: -1 });

// A TypeScript actor whose answers stream: events written as it goes, a stream that runs until
// its reader leaves (it notes being cancelled in KV), one that fails midway; uploads it hashes.
export class Feed extends Actor<any> {
  constructor(state: ActorState, env: any) {
    super(state, env);
  }

  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const env = this.env;
    if (path === '/events') {
      // The first event at once, the second only once the test puts "go" in KV.
      const body = new ReadableStream({
        async start(controller) {
          controller.enqueue(encoder.encode('data: one\n\n'));
          while ((await env.CACHE.get('go')) === null) await sleep(5);
          controller.enqueue(encoder.encode('data: two\n\n'));
          controller.close();
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    }
    if (path === '/ticks') {
      let n = 0;
      const body = new ReadableStream({
        async pull(controller) {
          await sleep(5);
          controller.enqueue(encoder.encode(`data: ${n++}\n\n`));
        },
        async cancel() { await env.CACHE.put('ticks:cancelled', String(n)); },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    }
    if (path === '/fail') {
      const body = new ReadableStream({
        async start(controller) {
          controller.enqueue(encoder.encode('data: before\n\n'));
          while ((await env.CACHE.get('go')) === null) await sleep(5);
          controller.error(new RangeError('the feed broke midway'));
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    }
    if (path === '/upload') {
      const hash = createHash('sha256');
      const reader = request.body?.getReader(); // an empty body is no body
      let size = 0;
      let chunks = 0;
      while (reader) {
        const { done, value } = await reader.read();
        if (done) break;
        if (size === 0) probe.atFirst = probe.generated;
        hash.update(value);
        size += value.byteLength;
        chunks += 1;
        probe.consumed = size;
      }
      return Response.json({ sha256: hash.digest('hex'), size, chunks });
    }
    if (path === '/echo') return new Response(request.body);
    if (path === '/empty') return new Response(null, { status: 204 });
    if (path === '/download') { // made only as it is read; how far ahead of the reader in probe.backlog
      const size = Number(new URL(request.url).searchParams.get('size'));
      probe.generated = 0;
      probe.consumed = 0;
      probe.backlog = 0;
      let at = 0;
      return new Response(new ReadableStream({
        pull(controller) {
          const n = Math.min(65536, size - at);
          if (n <= 0) return controller.close();
          const chunk = new Uint8Array(n);
          for (let k = 0; k < n; k++) chunk[k] = (at + k) % 251;
          at += n;
          probe.generated = at;
          probe.backlog = Math.max(probe.backlog, probe.generated - probe.consumed);
          controller.enqueue(chunk);
        },
      }, { highWaterMark: 0 }));
    }
    if (path === '/hang') { // answers only once "go" is in KV
      while ((await env.CACHE.get('go')) === null) await sleep(5);
      return new Response('late');
    }
    return new Response('no such feed', { status: 404 });
  }
}

export default Feed;
