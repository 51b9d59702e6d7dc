import { Service } from '@liquidmetal-ai/raindrop-framework';
import { createHash } from 'node:crypto';

const probe = ((globalThis as any).__streamProbe ??= { generated: 0, consumed: 0, backlog: 0, atFirst: -1 });

// `size` bytes (byte k is k % 251) in 64 KB chunks, made only as they are read; how far the
// making runs ahead of the actor's reading is noted in `probe.backlog`.
function generated(size: number, failAt = -1, piece = 65536): ReadableStream<Uint8Array> {
  probe.generated = 0;
  probe.consumed = 0;
  probe.backlog = 0;
  probe.atFirst = -1;
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (failAt >= 0 && at >= failAt) return controller.error(new TypeError('the upload broke midway'));
      const n = Math.min(piece, size - at);
      if (n <= 0) return controller.close();
      const chunk = new Uint8Array(n);
      for (let k = 0; k < n; k++) chunk[k] = (at + k) % 251;
      at += n;
      probe.generated = at;
      probe.backlog = Math.max(probe.backlog, probe.generated - probe.consumed);
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
}

export default class extends Service<any> {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const env = this.env;
    const feed = env.FEED.get(env.FEED.idFromName('a'));
    const pyfeed = env.PYFEED.get(env.PYFEED.idFromName('a'));
    const size = Number(url.searchParams.get('size') || '0');
    switch (url.pathname) {
      case '/events':
      case '/ticks':
      case '/fail':
        return feed.fetch(request); // forwarded: the answer streams through as it is written
      case '/py/events':
      case '/py/ticks':
        return pyfeed.fetch(`http://pyfeed${url.pathname.slice(3)}`, { signal: request.signal });
      case '/read': { // the whole answer read here: a stream failing midway is an error, not short
        const target = url.searchParams.get('from') === 'py' ? pyfeed : feed;
        const answer = await target.fetch(`http://feed/${url.searchParams.get('path')}`);
        try {
          return Response.json({ text: await answer.text() });
        } catch (e: any) {
          return Response.json({ error: `${e.name}: ${e.message}` });
        }
      }
      case '/upload': { // a generated upload streamed to an actor (TypeScript, or Python: ?to=py)
        const target = url.searchParams.get('to') === 'py' ? pyfeed : feed;
        const failAt = Number(url.searchParams.get('failAt') ?? '-1');
        try {
          const answer = await target.fetch('http://feed/upload', { method: 'POST', body: generated(size, failAt, Number(url.searchParams.get('piece') ?? '65536')), duplex: 'half' } as any);
          return Response.json({ status: answer.status, answer: await answer.json(), probe });
        } catch (e: any) {
          return Response.json({ error: `${e.name}: ${e.message}`, probe });
        }
      }
      case '/download': { // read here slowly: the actor's making waits for this reading
        const answer = await feed.fetch(`http://feed/download?size=${size}`);
        const hash = createHash('sha256');
        const reader = answer.body!.getReader();
        let got = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          hash.update(value);
          got += value.byteLength;
          probe.consumed = got;
          if (got % (1 << 20) < 65536) await new Promise((r) => setTimeout(r, 1));
        }
        return Response.json({ size: got, sha256: hash.digest('hex'), backlog: probe.backlog });
      }
      case '/abort': { // the caller aborts: before the answer (`when=head`) or while reading it
        const controller = new AbortController();
        try {
          if (url.searchParams.get('when') === 'head') {
            setTimeout(() => controller.abort(), 30);
            await feed.fetch('http://feed/hang', { signal: controller.signal });
            return Response.json({ error: null });
          }
          const answer = await (url.searchParams.get('from') === 'py' ? pyfeed : feed).fetch('http://feed/ticks', { signal: controller.signal });
          const reader = answer.body!.getReader();
          for (let n = 0; n < 3; n++) await reader.read();
          controller.abort();
          await reader.read();
          return Response.json({ error: null });
        } catch (e: any) {
          return Response.json({ error: e.name });
        }
      }
      case '/empty': { // statuses without a body, from a TypeScript and a Python actor
        const statuses = [];
        for (const target of [feed, pyfeed]) statuses.push((await target.fetch('http://feed/empty')).status);
        return Response.json({ statuses });
      }
      case '/hang': // forwarded: the runtime times the request out before the actor answers
        return feed.fetch(request);
      case '/echo': // the client's body through the service to the actor and back
        return feed.fetch('http://feed/echo', { method: 'POST', body: request.body, duplex: 'half' } as any);
      default:
        return new Response('not found', { status: 404 });
    }
  }
}
