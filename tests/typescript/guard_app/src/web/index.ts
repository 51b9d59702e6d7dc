// Handlers that misbehave on purpose: each route is one way a handler can hurt its host.
import { Service } from '@liquidmetal-ai/raindrop-framework';
import v8 from 'node:v8';

// Values that are not Errors, as handlers throw them.
function thrown(kind: string): unknown {
  switch (kind) {
    case 'text':
      return 'text';
    case 'object':
      return { code: 1 };
    case 'number':
      return 42;
    case 'circular': {
      const loop: any = { name: 'loop' };
      loop.self = loop;
      return loop;
    }
    case 'getter':
      return { get code(): number { throw new Error('the getter fails'); } };
    case 'bigint':
      return BigInt(10);
    case 'bare':
      return Object.create(null); // String() of it throws
    default: {
      const error = new Error('unreadable');
      Object.defineProperty(error, 'stack', { get() { throw new Error('no stack'); } });
      return error;
    }
  }
}

// A body stream that yields something other than bytes: at once, or after a first chunk.
function badStream(kind: string): ReadableStream {
  return new ReadableStream({
    async start(controller) {
      if (kind === 'late') {
        controller.enqueue(new TextEncoder().encode('head '));
        await new Promise((resolve) => setTimeout(resolve, 20));
        controller.enqueue('text after bytes');
      } else controller.enqueue(kind === 'number' ? 5 : 'text');
      controller.close();
    },
  });
}

export default class extends Service<any> {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const kind = url.searchParams.get('kind') ?? '';
    switch (url.pathname) {
      case '/hello':
        return new Response('hello');
      case '/heap':
        return Response.json({ limit: v8.getHeapStatistics().heap_size_limit });
      case '/exit':
        process.exit(kind === '1' ? 1 : undefined);
        return new Response('still here');
      case '/slow':
        await new Promise((resolve) => setTimeout(resolve, 300));
        return new Response('slow answered');
      case '/throw':
        throw thrown(kind);
      case '/badstream':
        return new Response(badStream(kind));
      case '/badargs':
        try {
          if (kind === 'queue') await this.env.JOBS.send({ id: 'x', mode: 'ok', callback: () => 1 });
          else if (kind.startsWith('delay ')) await this.env.JOBS.send({ id: 'x', mode: 'ok' }, { delaySeconds: Number(kind.slice(6)) });
          else if (kind.startsWith('batch delay ')) await this.env.JOBS.sendBatch([{ body: { id: 'x', mode: 'ok' } }], { delaySeconds: Number(kind.slice(12)) });
          else if (kind.startsWith('ttl ')) await this.env.CACHE.put('k', 'v', { expirationTtl: Number(kind.slice(4)) });
          else if (kind.startsWith('expiration ')) await this.env.CACHE.put('k', 'v', { expiration: Number(kind.slice(11)) });
          else await this.env.CACHE.put('k', 'v', { metadata: { tag: Symbol('s') } });
          return new Response('accepted');
        } catch (error: any) {
          return Response.json({ name: error.name, message: error.message, stack: error.stack });
        }
      case '/linger': // a binding call longer than the request may take (request_timeout 1 s)
        return new Response(await this.env.LINGERING.linger(Number(kind)));
      case '/spin':
        for (;;) {
          // a handler that never yields: Node answers nothing until it is killed
        }
      default:
        return Response.json({ pathname: url.pathname, search: url.search, url: request.url });
    }
  }

  async wait(ms: number): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return 'waited';
  }
}
