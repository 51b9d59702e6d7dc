import { Service } from '@liquidmetal-ai/raindrop-framework';
import { createHash } from 'node:crypto';
import { json } from './lib';

interface Env {
  GREETING: string;
  CACHE: any;
  JOBS: any;
  APP_DB: any;
  FILES: any;
  COUNTER: any;
  HELPER: any;
  PYHELPER: any;
  logger: any;
}

export default class extends Service<Env> {
  private readonly started = Date.now();

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const env = this.env;
    switch (url.pathname) {
      case '/hello':
        return new Response(`${env.GREETING} from TypeScript`);
      case '/forget': {
        // Fire and forget: a put nobody awaits, and a promise that rejects with nobody to catch it.
        env.CACHE.put('forgotten', 'stored anyway');
        env.CACHE.put('', 'an empty key is refused');
        Promise.reject(new Error('nobody catches this'));
        return new Response('answered');
      }
      case '/kv': {
        await env.CACHE.put('k', 'v1', { metadata: { by: 'ts' }, expirationTtl: 120 });
        await env.CACHE.put('bin', new Uint8Array([0, 1, 2, 255]));
        const text = await env.CACHE.get('k');
        const meta = await env.CACHE.getWithMetadata('k');
        const bin = new Uint8Array(await env.CACHE.get('bin', 'arrayBuffer'));
        await env.CACHE.put('j', JSON.stringify({ a: 1 }));
        const parsed = await env.CACHE.get('j', { type: 'json' });
        const listed = await env.CACHE.list({ prefix: '' });
        await env.CACHE.delete('j');
        const gone = await env.CACHE.get('j');
        return json({ text, meta, bin: [...bin], parsed, names: listed.keys.map((k: any) => k.name), complete: listed.list_complete, gone });
      }
      case '/big': {
        const size = Number(url.searchParams.get('size') || '1048576');
        const value = new Uint8Array(size).fill(7);
        await env.CACHE.put('big', value);
        const back = new Uint8Array(await env.CACHE.get('big', 'arrayBuffer'));
        return json({ length: back.length, last: back[back.length - 1] });
      }
      case '/sql': {
        await env.APP_DB.prepare('INSERT INTO notes (text, created) VALUES (?, ?)').bind('first', Date.now()).run();
        await env.APP_DB.batch([
          env.APP_DB.prepare('INSERT INTO notes (text, created) VALUES (?, ?)').bind('second', 2),
          env.APP_DB.prepare('INSERT INTO notes (text, created) VALUES (?, ?)').bind('third', 3),
        ]);
        const first = await env.APP_DB.prepare('SELECT text, created FROM notes ORDER BY id').first();
        const count = await env.APP_DB.prepare('SELECT count(*) AS n FROM notes').first('n');
        const all = await env.APP_DB.prepare('SELECT text FROM notes ORDER BY id').all();
        const raw = await env.APP_DB.prepare('SELECT id, text FROM notes ORDER BY id').raw({ columnNames: true });
        return json({ first, count, texts: all.results.map((r: any) => r.text), raw });
      }
      case '/sql-error':
        await env.APP_DB.prepare('SELECT * FROM missing_table').all();
        return json({ unreachable: true });
      case '/caught': {
        try {
          await env.APP_DB.prepare('SELECT * FROM missing_table').all();
          return json({ caught: false });
        } catch (error: any) {
          return json({ caught: true, name: error.name, message: error.message });
        }
      }
      case '/bucket': {
        await env.FILES.put('a.txt', 'bucket text', { httpMetadata: { contentType: 'text/plain' }, customMetadata: { by: 'ts' } });
        const object = await env.FILES.get('a.txt');
        const head = await env.FILES.head('a.txt');
        const text = await object.text();
        const listed = await env.FILES.list();
        const missing = await env.FILES.get('nope');
        return json({ text, size: head.size, custom: head.customMetadata, http: head.httpMetadata, keys: listed.objects.map((o: any) => o.key), missing, uploaded: head.uploaded instanceof Date });
      }
      case '/send': {
        const body = await request.json();
        await env.JOBS.send(body);
        await env.JOBS.sendBatch([{ body: { ...body, n: 2 } }, { body: { ...body, n: 3 }, delaySeconds: 60 }]);
        return json({ sent: 3 });
      }
      case '/actor': {
        const id = env.COUNTER.idFromName(url.searchParams.get('name') || 'a');
        const stub = env.COUNTER.get(id);
        const value = await stub.increment(Number(url.searchParams.get('by') || '1'));
        return json({ value, id: id.toString() });
      }
      case '/alarm': {
        const stub = env.COUNTER.get(env.COUNTER.idFromName('alarmed'));
        await stub.arm(Number(url.searchParams.get('in') || '60'));
        return json({ armed: true });
      }
      case '/rpc':
        return json({ sum: await env.HELPER.add(2, 3), greeting: await env.HELPER.greet({ name: 'ts' }) });
      case '/rpc-missing':
        return json({ value: await env.HELPER.nothingHere() });
      case '/rpc-fetch': {
        const response = await env.HELPER.fetch('http://helper/echo?x=1', { method: 'POST', body: 'ping' });
        return json({ status: response.status, text: await response.text() });
      }
      case '/python': {
        const answer = await env.PYHELPER.fetch('http://pyhelper/hi', { method: 'POST', body: 'x' });
        return json({ rpc: await env.PYHELPER.double(21), fetched: await answer.text() });
      }
      case '/more-kv': {
        const encoder = new TextEncoder();
        const stream = new ReadableStream({ start(c) { c.enqueue(encoder.encode('streamed ')); c.enqueue(encoder.encode('value')); c.close(); } });
        await env.CACHE.put('s', stream);
        const back = await new Response(await env.CACHE.get('s', 'stream')).text();
        await env.CACHE.put('t', 'two');
        const bulk = await env.CACHE.get(['s', 't', 'missing']);
        const bulkMeta = await env.CACHE.getWithMetadata(['t']);
        return json({ back, bulk: Object.fromEntries(bulk), isMap: bulk instanceof Map, bulkMeta: Object.fromEntries(bulkMeta) });
      }
      case '/more-queue': {
        await env.JOBS.send('plain text', { contentType: 'text' });
        await env.JOBS.send(new Uint8Array([1, 2, 3]), { contentType: 'bytes' });
        return json({ sent: 2 });
      }
      case '/more-sql': {
        const done = await env.APP_DB.exec('CREATE TABLE IF NOT EXISTS extra (x INTEGER)');
        const run = await env.APP_DB.prepare('INSERT INTO extra (x) VALUES (?), (?)').bind(1, 2).run();
        return json({ execCount: done.count, changes: run.meta.changes, success: run.success });
      }
      case '/more-bucket': {
        await env.FILES.put('r.txt', 'abcdefghij');
        const part = await env.FILES.get('r.txt', { range: { offset: 2, length: 3 } });
        const partText = await part.text();
        await env.FILES.delete('r.txt');
        return json({ partText, gone: await env.FILES.head('r.txt') });
      }
      case '/more-actor': {
        const unique = env.COUNTER.newUniqueId();
        const again = env.COUNTER.idFromString(unique.toString());
        const stub = env.COUNTER.get(again);
        let handTyped = 'accepted';
        try { env.COUNTER.idFromString('b'.repeat(64)); } catch (e) { handTyped = (e as Error).message; }
        return json({ same: unique.equals(again), value: await stub.increment(5), inspect: await stub.inspect(), handTyped });
      }
      case '/response-semantics': {
        const r = new Response('abc');
        const copy = r.clone();
        const first = await r.text();
        let second = 'read again';
        try { await r.text(); } catch { second = 'threw'; }
        const viaStream = await new Response(new Response('xyz').body).text();
        const bytes = new Uint8Array(await new Response(new Uint8Array([104, 105])).arrayBuffer());
        return json({
          first, second, copy: await copy.text(), used: r.bodyUsed, viaStream, bytes: [...bytes],
          type: new Response('x').headers.get('content-type'), parsed: await Response.json({ a: 1 }).json(),
          empty: new Response(null, { status: 204 }).body,
        });
      }
      case '/request-semantics': {
        // a GET's request is made lazily: it must still behave as a Request in every way
        const copy = new Request(request, { headers: { 'x-extra': '1' } });
        const cloned = request.clone();
        return json({
          isRequest: request instanceof Request, tag: Object.prototype.toString.call(request),
          method: request.method, url: request.url, header: request.headers.get('x-test'),
          aborted: request.signal.aborted, body: request.body, used: request.bodyUsed, text: await request.text(),
          copyUrl: copy.url, copyHeader: copy.headers.get('x-test'), copyExtra: copy.headers.get('x-extra'),
          clonedHeader: cloned.headers.get('x-test'), redirect: request.redirect, keepalive: request.keepalive,
        });
      }
      case '/span': {
        const env2: any = this.env;
        const total = await env2.tracer.startActiveSpan('ts-work', async (span: any) => {
          span.setAttribute('items', 3);
          span.addEvent('halfway', { n: 1 });
          return 6;
        });
        const failed = env2.tracer.startSpan('ts-failed', { attributes: { step: 'x' } });
        failed.recordException(new Error('span broke'));
        failed.setStatus({ code: 2, message: 'span broke' });
        failed.end();
        return json({ total });
      }
      case '/time':
        return json({ now: Date.now(), date: new Date().toISOString(), started: this.started });
      case '/log':
        env.logger.info('hello from ts', { user: 'u1' });
        env.logger.error('lookup failed', { error: new RangeError('out of range'), tries: [{ last: new Error('deep') }] });
        return json({ logged: true });
      case '/throw':
        throw new TypeError('thrown on purpose');
      case '/stream': {
        const encoder = new TextEncoder();
        let n = 0;
        const stream = new ReadableStream({
          async pull(controller) {
            n += 1;
            if (n > 3) { controller.close(); return; }
            await new Promise((r) => setTimeout(r, 5));
            controller.enqueue(encoder.encode(`data: ${n}\n\n`));
          },
        });
        return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
      }
      case '/upload': {
        // Read as a stream: the first chunk is marked in KV while the client is still sending.
        const hash = createHash('sha256');
        const reader = request.body!.getReader();
        let size = 0;
        let chunks = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (chunks === 0) await env.CACHE.put('upload:first', String(value.byteLength));
          hash.update(value);
          size += value.byteLength;
          chunks += 1;
        }
        return json({ sha256: hash.digest('hex'), size, chunks });
      }
      case '/echo':
        return new Response(await request.arrayBuffer(), { headers: { 'x-method': request.method } });
      default:
        return json({ error: 'not found' }, 404);
    }
  }
}
