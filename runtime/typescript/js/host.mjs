// The Node side of TypeScript handlers: runs the app's bundled modules, answers the runtime's
// requests (fetch, RPC, messages, scheduled events, actor calls) and sends every binding call
// back to the runtime. Delivery, retries, leases and durability all stay in the runtime.
import net from 'node:net';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { inspect } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
import { encode, decode, Reader } from './wire.mjs';
import { buildEnv, stateOf, generic } from './env.mjs';
import { mcpHandlers } from './mcp.mjs';
import { streamCalls, windowedBody } from './calls.mjs';
import { SOURCE, STREAM, BaseResponse, BaseRequest, IncomingRequest, Invocation, current, live, setNow } from './web.mjs';

// A handler's process.exit() fails that invocation alone (a request's 500, a message's retry):
// it throws where it was called. Node ends only when the runtime closes the socket.
const exitProcess = process.exit.bind(process);
class ProcessExitError extends Error {}
ProcessExitError.prototype.name = 'ProcessExitError';
process.exit = function exit(code) {
  throw new ProcessExitError(`process.exit(${code === undefined ? '' : String(code)}) called in a handler: only this invocation fails, the handlers' process keeps running`);
};

const socket = new net.Socket({ fd: Number(process.env.RAINDROP_TS_FD), readable: true, writable: true });
let root = process.cwd();
// The frames sent in one turn go out in one write when this turn ends (a turn answers dozens of
// requests): small ones joined into one buffer, which costs less than a stream write each.
let outbox = [];
let outboxBytes = 0;
const JOIN_UNDER = 64 * 1024;

function send(message, plain = false) {
  sendFrame(encode(message, plain));
}

function sendFrame(frame) {
  if (outbox.length === 0) process.nextTick(flush);
  outbox.push(frame);
  outboxBytes += frame.length;
}

function flush() {
  const out = outbox;
  const bytes = outboxBytes;
  outbox = [];
  outboxBytes = 0;
  if (out.length === 1) socket.write(out[0]);
  else if (bytes < JOIN_UNDER) socket.write(Buffer.concat(out, bytes));
  else {
    socket.cork();
    for (const frame of out) socket.write(frame);
    socket.uncork();
  }
}

// -- calls to the runtime -----------------------------------------------------------------------
const waiting = new Map();
let nextId = 1;
class BindingError extends Error {}

const host = {
  call(binding, method, args, kwargs) {
    const i = nextId++;
    const inv = current.getStore()?.i; // the runtime's request this call is part of
    let frame;
    try {
      frame = encode(inv === undefined ? { t: 'c', i, b: binding, m: method, a: args, k: kwargs } : { t: 'c', i, b: binding, m: method, a: args, k: kwargs, v: inv }, false, true);
    } catch (error) { // a function or symbol in the arguments: refused here, not dropped on the way
      const where = binding.startsWith('$h') ? 'a binding object' : `env.${binding}${method.startsWith('$') ? '' : `.${method}`}`;
      return Promise.reject(new TypeError(`${where}: ${error.message} cannot be passed to a binding call: only data crosses to the runtime (strings, numbers, booleans, null, arrays, plain objects, bytes)`));
    }
    sendFrame(frame);
    return new Promise((resolve, reject) => waiting.set(i, { resolve, reject, where: new Error() }));
  },
  notify(binding, method, args) {
    const inv = current.getStore()?.i;
    send(inv === undefined ? { t: 'c', i: 0, b: binding, m: method, a: args } : { t: 'c', i: 0, b: binding, m: method, a: args, v: inv });
  },
  stream: streamCalls(send), // fetches of actors and services, whose bodies stream both ways
  waitUntil(promise, handle) {
    const i = nextId++;
    send(handle ? { t: 'w', i, h: handle } : { t: 'w', i });
    Promise.resolve(promise).then(() => send({ t: 'wd', i }), (e) => send({ t: 'wd', i, e: errorOf(e) }));
  },
};

function settle(message) {
  const pending = waiting.get(message.i);
  if (!pending) return;
  waiting.delete(message.i);
  if (message.e) {
    const error = new BindingError(message.e.message);
    error.name = message.e.name;
    const here = pending.where.stack.split('\n').slice(2).join('\n');
    error.stack = `${error.name}: ${error.message}\n${here}`;
    pending.reject(error);
  } else {
    const value = message.v ?? null;
    // An object the runtime keeps (a working-memory session): its methods, by handle.
    pending.resolve(handles(value, 0));
  }
}

// A handle's object is let go in Python once its proxy here is garbage collected.
const released = new FinalizationRegistry((handle) => host.notify('$release', 'release', [handle]));

function handles(value, depth) {
  if (value === null || typeof value !== 'object' || depth > 3 || value instanceof Uint8Array) return value;
  if (typeof value.$handle === 'number' && Object.keys(value).length === 1) {
    const proxy = generic(`$h${value.$handle}`, host);
    released.register(proxy, value.$handle);
    return proxy;
  }
  if (Array.isArray(value)) return value.map((v) => handles(v, depth + 1));
  for (const key of Object.keys(value)) value[key] = handles(value[key], depth + 1);
  return value;
}

// What was thrown, as the runtime gets it: never a throw of its own (which left the request
// unanswered). A value that is not an Error shows as JSON (`throw {code: 1}`: {"code":1}).
function errorOf(error) {
  try {
    if (error instanceof Error) {
      const lines = String(error.stack || '').split('\n').filter((line) => !/^\s+at /.test(line) || !(line.includes(here) || line.includes('new Promise (<anonymous>)') || line.includes('(node:')));
      return { name: String(error.name), message: String(error.message), stack: lines.join('\n').split(root + path.sep).join('') };
    }
  } catch {
    return { name: 'Error', message: `an Error that cannot be read was thrown: ${shown(error)}`, stack: '' };
  }
  return { name: 'Error', message: `a value that is not an Error was thrown: ${shown(error)}`, stack: '' };
}

// A thrown value as JSON; one JSON cannot spell (a cycle, a BigInt, a getter that throws) as
// Node prints it, getters not run. At most SHOWN characters.
const SHOWN = 2000;
function shown(value) {
  let text;
  try { text = JSON.stringify(value); } catch { text = undefined; }
  if (typeof text !== 'string') {
    try { text = inspect(value, { depth: 3, breakLength: Infinity, getters: false }); } catch { text = Object.prototype.toString.call(value); }
  }
  return text.length > SHOWN ? `${text.slice(0, SHOWN)}...` : text;
}

// -- the app's modules --------------------------------------------------------------------------
let modules = {};
let appCors = null;
let env = null;
const handlers = new Map();
const actors = new Map();
const actorHandles = new WeakMap(); // instance -> its storage handle
const ctx = { waitUntil: (p) => host.waitUntil(p), passThroughOnException() {} };

function methodsOf(value) {
  const names = new Set();
  for (let proto = value && value.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== 'constructor' && !name.startsWith('_') && typeof Object.getOwnPropertyDescriptor(proto, name).value === 'function') names.add(name);
    }
  }
  return [...names];
}

function describe(resource) {
  const module = modules[resource.name] || {};
  if (resource.kind === 'mcp_service') {
    if (typeof module.default !== 'function') return { error: 'has no default export (server, env, state) => {...}' };
    if (!module.implementation || typeof module.implementation.name !== 'string') return { error: 'exports no implementation = { name, version }' };
    return { base: 'mcp', methods: [], implementation: module.implementation };
  }
  const found = resource.kind === 'actor' ? module[resource.className] ?? module.default : module.default;
  if (found === undefined) return { error: resource.kind === 'actor' ? `exports no class ${resource.className} (the PascalCase of the actor's name) and no default` : 'has no default export' };
  const chain = [];
  for (let proto = found.prototype ? Object.getPrototypeOf(found.prototype) : null; proto; proto = Object.getPrototypeOf(proto)) chain.push(proto.constructor && proto.constructor.name);
  const base = ['Batch', 'Each', 'Task', 'Service', 'Actor'].find((b) => chain.includes(b)) || null;
  const methods = typeof found === 'function' ? methodsOf(found) : Object.keys(found).filter((k) => typeof found[k] === 'function');
  return { base, methods };
}

// A service with env blocks of its own sees the app's env and its own vars (null: unset).
const ownVars = new Map();
const ownEnvs = new Map();
function envOf(name) {
  const vars = ownVars.get(name);
  if (!vars) return env;
  let own = ownEnvs.get(name);
  if (!own) {
    own = { ...env };
    for (const [key, value] of Object.entries(vars)) {
      if (value === null) delete own[key];
      else own[key] = value;
    }
    ownEnvs.set(name, own);
  }
  return own;
}

function handlerOf(name) {
  let handler = handlers.get(name);
  if (!handler) {
    const found = modules[name].default;
    // made outside the first request's invocation: what its constructor starts outlives that request
    handler = typeof found === 'function' ? current.exit(() => new found(ctx, envOf(name))) : found;
    handlers.set(name, handler);
  }
  return handler;
}

// Headers arrive as one text, name and value NUL-separated.
function headerPairs(text) {
  if (typeof text !== 'string') return text;
  const parts = text ? text.split('\0') : [];
  const pairs = [];
  for (let at = 0; at + 1 < parts.length; at += 2) pairs.push([parts[at], parts[at + 1]]);
  return pairs;
}

// -- request bodies streamed by the runtime (`in` frames): read as they arrive; every READ_ACK
// bytes the handler has read are reported, and the runtime sends at most a window ahead of that.
const inbound = new Map();

function inboundStream(i) {
  const state = { chunks: [], ended: false, error: null, readable: null };
  inbound.set(i, state);
  const ack = (read) => send({ t: 'a', i, n: read });
  const cancel = () => { inbound.delete(i); state.chunks = []; ack(Number.MAX_SAFE_INTEGER); };
  return windowedBody(state, ack, cancel, () => inbound.delete(i));
}

function received(message) {
  const state = inbound.get(message.i);
  if (!state) return;
  if (message.end) { state.ended = true; state.error = message.e ? new Error(message.e) : null; }
  // A blob is a view into the frame it came in: copied out so the frame is not kept alive.
  else state.chunks.push(new Uint8Array(message.b));
  if (state.readable) { const wake = state.readable; state.readable = null; wake(); }
}

async function serve(message) {
  const [method, url, flat, body] = message.q;
  const headers = headerPairs(flat);
  const invocation = current.getStore();
  const signal = () => invocation.signal; // request.signal: the invocation's
  let request;
  if (!message.st && (method === 'GET' || method === 'HEAD')) request = new IncomingRequest(method, url, headers, signal);
  else {
    request = message.st
      ? new BaseRequest(url, { method, headers, body: inboundStream(message.i), duplex: 'half' })
      : new BaseRequest(url, { method, headers, body: body && method !== 'GET' && method !== 'HEAD' ? body : undefined });
    Object.defineProperty(request, 'signal', { get: signal });
  }
  try {
    return await answer(message, request);
  } finally {
    inbound.delete(message.i);
  }
}

async function answer(message, request) {
  const method = request.method;
  const handler = handlerOf(message.r);
  let response;
  const own = envOf(message.r);
  if (appCors && method === 'OPTIONS' && request.headers.has('access-control-request-method')) response = appCors(request, own);
  else {
    // As the platform's wrapper: a class's fetch also gets (env, ctx), which some apps read.
    response = await handler.fetch(request, own, ctx);
    if (!(response instanceof BaseResponse)) throw new TypeError(`fetch returned ${response === null ? 'null' : typeof response}, not a Response`);
    if (appCors) response = appCors(request, own, response);
  }
  return reply(message.i, response);
}

// A body read in one go when it is already there; otherwise the head and first chunk now and
// the rest as it is written (server-sent events arrive as the handler writes them).
async function reply(i, response) {
  const h = [...response.headers];
  const source = response[SOURCE];
  if (source !== undefined && response[STREAM] === undefined) return send({ t: 'ok', i, v: { s: response.status, h, b: source } }, source === null || typeof source === 'string');
  if (!response.body) return send({ t: 'ok', i, v: { s: response.status, h, b: null } }, true);
  const reader = response.body.getReader();
  const chunks = [];
  let gathered = 0;
  let next = null;
  for (;;) {
    next = reader.read();
    const ready = await Promise.race([next, new Promise((r) => setImmediate(() => r(null)))]);
    if (ready === null) break;
    next = null;
    if (ready.done) return send({ t: 'ok', i, v: { s: response.status, h, b: join(chunks) } });
    const chunk = bytesOf(ready.value);
    chunks.push(chunk);
    gathered += chunk.byteLength;
    if (chunks.length > 64 || gathered > HEAD_BYTES) break; // a fast stream is not all read into the head
  }
  send({ t: 'ok', i, v: { s: response.status, h, b: join(chunks), more: true } });
  // The runtime's reader leaving (its client, a timeout) cancels the stream: see `cancel`. It
  // acknowledges what it read (`ack`): the stream is read at most REPLY_WINDOW ahead of that.
  const flow = { reader, sent: 0, read: 0, wake: null };
  replying.set(i, flow);
  try {
    for (;;) {
      while (flow.sent - flow.read > REPLY_WINDOW && replying.has(i)) await new Promise((r) => { flow.wake = r; });
      const { done, value } = await (next ?? reader.read());
      next = null;
      if (done) break;
      const chunk = bytesOf(value);
      send({ t: 'chunk', i, b: chunk });
      flow.sent += chunk.byteLength;
    }
    send({ t: 'end', i });
  } catch (error) { // failed midway: the reader gets an error, not a body cut short
    send({ t: 'end', i, e: errorOf(error) });
    reader.cancel(error).catch(() => {}); // the source stops too
  } finally {
    replying.delete(i);
  }
}
// As on the platform, a body stream yields bytes: a string or a number from a ReadableStream is
// a TypeError (it was sent as text, or as a value the runtime could not take apart).
function bytesOf(chunk) {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError(`a Response body stream must yield Uint8Array chunks, not ${chunk === null ? 'null' : typeof chunk}`);
}
const replying = new Map();
const REPLY_WINDOW = 1024 * 1024;
const HEAD_BYTES = 256 * 1024;

function join(chunks) {
  if (chunks.length === 0) return null;
  if (chunks.length === 1) return typeof chunks[0] === 'string' ? Buffer.from(chunks[0]) : chunks[0];
  return Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
}

// As the platform (and the queue's send): a retry's delay is 0 to 12 hours; NaN, Infinity or a
// negative delay would have reached the runtime as null (the default delay) or been refused late.
const MAX_DELAY_SECONDS = 43200;
function retryDelay(delay) {
  if (delay === undefined || delay === null) return null;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) {
    throw new RangeError(`message.retry: delaySeconds must be a number from 0 to ${MAX_DELAY_SECONDS} (12 hours), not ${typeof delay === 'number' ? delay : typeof delay}`);
  }
  return delay;
}

async function deliver(message) {
  const handler = handlerOf(message.r);
  const decisions = message.ms.map(() => null);
  const messages = message.ms.map((m, index) => ({
    id: m.id, timestamp: new Date(m.ts), body: m.body, attempts: m.attempts,
    ack() { decisions[index] = ['ack', null]; },
    retry(options = {}) { decisions[index] = ['retry', retryDelay(options?.delaySeconds)]; },
  }));
  let failure = null;
  try {
    if (message.batch) {
      await handler.process({
        queue: message.queue, messages,
        ackAll() { messages.forEach((m) => m.ack()); },
        retryAll(options) { messages.forEach((m) => m.retry(options)); },
      });
    } else {
      const m = messages[0];
      const process = handler.process || handler.queue || handler.bucket;
      await process.call(handler, m, env, ctx);
    }
  } catch (e) { failure = errorOf(e); }
  send({ t: 'ok', i: message.i, v: { d: decisions, e: failure } });
}

async function actorCall(message) {
  const key = `${message.r}/${message.id}`;
  let instance = actors.get(key);
  if (!instance || message.fresh) {
    const resource = message.r;
    const cls = modules[resource][message.cls] ?? modules[resource].default;
    instance = new cls(stateOf(message.h, message.id, message.nm, host), env);
    actors.set(key, instance);
    actorHandles.set(instance, message.h);
  }
  if (message.m === 'fetch') {
    const [method, url, flat, body] = message.a;
    const request = message.st
      ? new Request(url, { method, headers: headerPairs(flat), body: inboundStream(message.i), duplex: 'half' })
      : new Request(url, { method, headers: headerPairs(flat), body: body ?? undefined });
    try {
      return await reply(message.i, await instance.fetch(request));
    } finally {
      inbound.delete(message.i);
    }
  }
  const fn = instance[message.m];
  if (typeof fn !== 'function') throw new BindingError(`actor "${message.r}" (${instance.constructor.name}) has no public method ${JSON.stringify(message.m)}`);
  send({ t: 'ok', i: message.i, v: await fn.apply(instance, message.a) });
}

async function init(message) {
  root = message.root;
  globalThis.__raindropModelCatalog = message.catalog;
  // Outside this invocation: what a module's top level starts (a fetch) belongs to no request.
  const loaded = await current.exit(() => import(pathToFileURL(message.bundle).href));
  modules = loaded.modules;
  const resources = {};
  for (const resource of message.resources) resources[resource.name] = describe(resource);
  send({ t: 'ok', i: message.i, v: resources });
  if (loaded.cors) appCors = loaded.cors;
  else if (loaded.corsExports) { // said once the env is there to log it (see `env` below)
    const others = loaded.corsExports.length ? `it exports ${loaded.corsExports.join(', ')}` : 'it exports nothing';
    pendingWarning = `src/_app/cors: no \`export const cors\` (${others}), so no app-wide CORS handling wraps the services' fetch`;
  }
}
let pendingWarning = null;

function run(message, work) {
  const invocation = new Invocation(message.i);
  live.set(message.i, invocation);
  return current.run(invocation, invoke, message, work);
}

async function invoke(message, work) {
  try {
    const value = await work(message);
    if (value !== undefined) send({ t: 'ok', i: message.i, v: value });
  } catch (error) {
    send({ t: 'err', i: message.i, e: errorOf(error) });
  } finally {
    live.delete(message.i); // a cancel after the answer (its stream's reader left) aborts nothing
  }
}

const mcp = mcpHandlers(() => ({ modules, env, state: (m) => stateOf(m.h, m.id, m.r, host) }), BindingError);

const dispatch = {
  mcpSetup: (m) => run(m, mcp.setup),
  mcpCall: (m) => run(m, mcp.call),
  mcp: (m) => run(m, mcp.request),
  r: (m) => (m.i < 0 ? host.stream.settle(m) : settle(m)),
  rc: (m) => host.stream.chunk(m),
  re: (m) => host.stream.end(m),
  ca: (m) => host.stream.acked(m),
  ack: (m) => { const flow = replying.get(m.i); if (flow) { flow.read = m.read; flow.wake?.(); } },
  in: received,
  ping: (m) => send({ t: 'ok', i: m.i, v: null }),
  cancel: (m) => {
    // The runtime gave up on the request (its timeout, its client left): request.signal and the
    // handler's outgoing fetches abort.
    live.get(m.i)?.cancel(new Error('the runtime timed the request out'));
    const streaming = replying.get(m.i); // the answer's reader left: its stream is cancelled
    if (streaming) {
      replying.delete(m.i);
      streaming.wake?.();
      streaming.reader.cancel(new Error('the answer\'s reader left')).catch(() => {});
    }
  },
  init: (m) => run(m, init),
  env: (m) => {
    env = buildEnv(m.spec, host); ownEnvs.clear(); send({ t: 'ok', i: m.i, v: true });
    if (pendingWarning) { env.logger.warn(pendingWarning); pendingWarning = null; }
  },
  own: (m) => {
    ownVars.set(m.r, m.vars);
    ownEnvs.delete(m.r);
    handlers.delete(m.r);
    if (m.i) send({ t: 'ok', i: m.i, v: true });
  },
  fetch: (m) => run(m, serve),
  rpc: (m) => run(m, async () => {
    const handler = handlerOf(m.r);
    if (typeof handler[m.m] !== 'function' || m.m === 'fetch') throw new BindingError(`service "${m.r}" has no public method ${JSON.stringify(m.m)}`);
    return { v: await handler[m.m](...m.a) };
  }).then(() => {}),
  msgs: (m) => run(m, deliver),
  task: (m) => run(m, async () => { await handlerOf(m.r).handle({ ...m.ev, scheduledTime: m.ev.scheduledTime }, env, ctx); return null; }),
  actor: (m) => run(m, actorCall),
  // An actor instance the runtime let go (idle, or its lease taken anew): the next call makes a
  // fresh one from storage. The handle check keeps a newer instance made meanwhile.
  actorDrop: (m) => { const key = `${m.r}/${m.id}`; if (actorHandles.get(actors.get(key)) === m.h) actors.delete(key); },
  counts: (m) => send({ t: 'ok', i: m.i, v: { actors: actors.size } }),
};

// Large values (a 1 MB KV get) live outside V8's heap, and V8 collects them only once tens of
// MB of them are dead; freed that late, their memory stays with the allocator and the process
// holds ~95 MB after a burst of them. A young-generation collection (~0.2 ms) every LARGE_SWEEP
// bytes of large frames frees them while they are few, and the allocator hands the same memory
// to the next ones. (V8's collector, fetched without putting `gc` on the app's global object.)
// 2 MB: Node at 71-73 MB after the bench's 1 MB values, against 74-81 MB at 4 MB, for a 1 MB get
// ~0.2 ms slower at p50 (0.8 ms, target 2 ms).
const LARGE_SWEEP = 2 * 1024 * 1024;
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc');
let largeBytes = 0;
function onLarge(bytes) {
  largeBytes += bytes;
  if (largeBytes < LARGE_SWEEP) return;
  largeBytes = 0;
  collect({ type: 'minor' });
}

const reader = new Reader((frame) => {
  const message = decode(frame);
  if (message.n !== undefined) setNow(message.n);
  dispatch[message.t](message);
}, onLarge);
socket.on('data', (chunk) => reader.push(chunk));
// A rejection nobody handled (an unawaited put that failed) or a throw from a timer is logged with
// its mapped stack; Node's default would end the process and every request in flight with it.
const unhandled = (what) => (reason) => {
  const { name, message, stack } = errorOf(reason);
  host.notify('$logger', 'error', [`${what} in a TypeScript handler: ${stack.includes(message) ? stack : `${name}: ${message}\n${stack}`}`, null]);
};
process.on('unhandledRejection', unhandled('a rejection nobody handled'));
process.on('uncaughtException', unhandled('an exception nobody caught'));
socket.on('close', () => exitProcess(0));
socket.on('error', () => exitProcess(0));

const original = dispatch.init;
dispatch.init = async (m) => {
  if (m.build) {
    try {
      const { build } = await import('./build.mjs');
      await build(m.build);
    } catch (error) {
      const text = (error.errors || []).map((e) => `${e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ` : ''}${e.text}`).join('\n');
      send({ t: 'err', i: m.i, e: { name: 'BundleError', message: text || String(error.message || error), stack: '' } });
      return;
    }
  }
  original(m);
};
