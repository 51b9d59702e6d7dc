// A fetch from TypeScript to an actor or a service (env.ACTOR.get(id).fetch, env.SVC.fetch): its
// request body goes to the runtime as it is read (`ci` frames, at most WINDOW bytes ahead of
// what the runtime has read, which it acknowledges in `ca` frames: `read`, as `n` is every
// frame's moment), and the answer's body comes back as it is produced (`rc` frames, then `re`;
// what is read here is acknowledged in `ra` frames). These calls have negative ids; the caller
// aborting (its signal, or cancelling the answer's body) sends `cc`, and the runtime cancels its
// side of the call.
import { current } from './web.mjs';

const WINDOW = 1024 * 1024;
const READ_ACK = 256 * 1024;

// A byte stream of the chunks that arrive in `source` ({chunks, ended, error, readable}: frames
// push to it and call `readable`), pulled one at a time: every READ_ACK bytes read, `ack(read)`
// (the runtime sends at most a window ahead of it); `done()` once it ends, `cancel` if dropped.
export function windowedBody(source, ack, cancel, done = () => {}) {
  let read = 0;
  let acked = 0;
  return new ReadableStream({
    type: 'bytes',
    async pull(controller) {
      while (source.chunks.length === 0 && !source.ended) await new Promise((r) => { source.readable = r; });
      if (source.chunks.length) {
        const chunk = source.chunks.shift();
        read += chunk.byteLength; // before enqueue, which detaches the chunk's buffer
        controller.enqueue(chunk);
        if (read - acked >= READ_ACK) { acked = read; ack(read); }
        return;
      }
      done();
      if (source.error) controller.error(source.error);
      else controller.close();
    },
    cancel,
  }, { highWaterMark: 0 });
}
const EAGER = 256 * 1024; // a body that is all there at once, up to this size, goes with the call
const NO_BODY = new Set([101, 204, 205, 304]);

export function streamCalls(send) {
  const calls = new Map();
  let last = 0;

  const bytes = (value) => (typeof value === 'string' ? Buffer.from(value) : value instanceof Uint8Array ? value : new Uint8Array(value));
  const errorOf = (e) => {
    const error = new Error(e.message);
    error.name = e.name || 'Error';
    return error;
  };

  // What of a body is there without waiting (a body made from a string or bytes is all there).
  async function eager(reader) {
    const chunks = [];
    let size = 0;
    while (size < EAGER) {
      const next = reader.read();
      const ready = await Promise.race([next, new Promise((r) => setImmediate(() => r(null)))]);
      if (ready === null) return { chunks, done: false, next };
      if (ready.done) return { chunks, done: true };
      const chunk = bytes(ready.value);
      chunks.push(chunk);
      size += chunk.byteLength;
    }
    return { chunks, done: false, next: null };
  }

  function wake(call, key) {
    const w = call[key];
    if (w) { call[key] = null; w(); }
  }

  // The rest of the request body is not wanted (answered, failed or aborted): its reader stops.
  function stopSending(call, reason) {
    if (call.stopped) return;
    call.stopped = true;
    wake(call, 'sendable');
    if (call.reader) call.reader.cancel(reason).catch(() => {});
  }

  async function pump(call, first) {
    const { i, reader } = call;
    try {
      for (const chunk of first.chunks) { send({ t: 'ci', i, b: chunk }); call.sent += chunk.byteLength; }
      let next = first.next;
      for (;;) {
        while (!call.stopped && call.sent - call.read > WINDOW) await new Promise((r) => { call.sendable = r; });
        if (call.stopped) return;
        const { done, value } = await (next ?? reader.read());
        next = null;
        if (call.stopped) return;
        if (done) { send({ t: 'ci', i, end: 1 }); call.stopped = true; return; }
        const chunk = bytes(value);
        send({ t: 'ci', i, b: chunk });
        call.sent += chunk.byteLength;
      }
    } catch (e) { // the body's source threw: the runtime's reader gets an error, not a short body
      if (!call.stopped) send({ t: 'ci', i, end: 1, e: `reading the request body failed: ${e?.name ?? 'Error'}: ${e?.message ?? e}` });
      call.stopped = true;
    }
  }

  // The caller gave up: the runtime cancels its side, and so does this one.
  function abort(call, reason) {
    if (!calls.has(call.i)) return;
    calls.delete(call.i);
    send({ t: 'cc', i: call.i });
    stopSending(call, reason);
    const error = reason ?? new DOMException('The operation was aborted.', 'AbortError');
    if (call.answered) { // what arrived and was not read yet is dropped: the next read fails
      call.error = error;
      call.chunks = [];
      call.ended = true;
      wake(call, 'readable');
    } else call.reject(error);
    call.unlisten();
  }

  function finish(call) {
    calls.delete(call.i);
    call.unlisten();
  }

  // An answer dropped without reading its body (garbage collected) cancels the call too: the
  // runtime's side does not wait on it forever.
  const dropped = new FinalizationRegistry((i) => {
    const call = calls.get(i);
    if (call) abort(call, new Error('the answer was dropped without reading its body'));
  });

  function body(call) {
    const ack = (read) => { if (calls.has(call.i)) send({ t: 'ra', i: call.i, read }); };
    const stream = windowedBody(call, ack, (reason) => abort(call, reason));
    dropped.register(stream, call.i);
    return stream;
  }

  return {
    // `args(body)`: the call's arguments with the request's body in them (null when it streams).
    async fetch(binding, method, args, request, signal) {
      signal?.throwIfAborted();
      const i = -++last;
      const call = { i, sent: 0, read: 0, stopped: true, reader: null, answered: false, ended: false, error: null, unlisten: () => {}, chunks: [], got: 0, acked: 0 };
      let whole = null;
      let first = null;
      if (request.body) {
        call.reader = request.body.getReader();
        first = await eager(call.reader);
        if (first.done) {
          whole = first.chunks.length === 1 ? first.chunks[0] : Buffer.concat(first.chunks);
          call.reader = null;
          first = null;
        }
      }
      if (signal?.aborted) { // while the body's start was read
        call.reader?.cancel(signal.reason).catch(() => {});
        throw signal.reason;
      }
      const answer = new Promise((resolve, reject) => { call.resolve = resolve; call.reject = reject; });
      calls.set(i, call);
      const inv = current.getStore()?.i; // the runtime's request this call is part of
      send({ t: 'c', i, b: binding, m: method, a: args(whole), ...(first ? { st: 1 } : {}), ...(inv === undefined ? {} : { v: inv }) });
      if (first) { call.stopped = false; pump(call, first); }
      if (signal) {
        const aborted = () => abort(call, signal.reason);
        signal.addEventListener('abort', aborted, { once: true });
        call.unlisten = () => signal.removeEventListener('abort', aborted);
      }
      const value = await answer;
      // A status that has no body (204, 304) is answered without one: a Response refuses one.
      if (NO_BODY.has(value.s)) return new Response(null, { status: value.s, headers: value.h });
      return new Response(value.more ? body(call) : value.b ?? null, { status: value.s, headers: value.h });
    },
    settle(message) {
      const call = calls.get(message.i);
      if (!call) return;
      if (message.e) {
        finish(call);
        stopSending(call);
        return call.reject(errorOf(message.e));
      }
      const value = message.v;
      if (value.more) call.answered = true;
      else { finish(call); stopSending(call); }
      call.resolve(value);
    },
    chunk(message) { // rc
      const call = calls.get(message.i);
      if (!call) return;
      call.chunks.push(new Uint8Array(message.b)); // copied out of the frame it came in
      wake(call, 'readable');
    },
    end(message) { // re
      const call = calls.get(message.i);
      if (!call) return;
      finish(call);
      stopSending(call);
      call.ended = true;
      if (message.e) call.error = errorOf(message.e);
      wake(call, 'readable');
    },
    acked(message) { // ca
      const call = calls.get(message.i);
      if (!call) return;
      if (message.read >= Number.MAX_SAFE_INTEGER) return stopSending(call);
      call.read = message.read;
      wake(call, 'sendable');
    },
  };
}
