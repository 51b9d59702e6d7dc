// `env` for TypeScript handlers: one proxy per binding, shaped like the platform's objects.
// Every awaited call goes to the runtime's Python binding of the same name.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const bytesOf = async (value) => {
  if (value == null) return new Uint8Array(0);
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return new Uint8Array(value.buffer ?? value, value.byteOffset ?? 0, value.byteLength);
  if (typeof value.arrayBuffer === 'function') return new Uint8Array(await value.arrayBuffer());
  if (typeof value.getReader === 'function') return new Uint8Array(await new Response(value).arrayBuffer());
  return value;
};
// A value that has a buffer of its own (a large one, read apart by the wire) is handed over as is.
const arrayBuffer = (v) => (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? v.buffer : v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
const drop = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
// NaN and Infinity would cross as null (JSON): the option dropped without a word. Refused here;
// other values go on to the runtime, which checks them.
const finite = (where, option, d) => {
  if (typeof d !== 'number' || Number.isFinite(d)) return d;
  throw new RangeError(`${where}: ${option} must be a finite number of seconds, not ${d}`);
};

function kv(name, host) {
  const call = (m, a, k) => host.call(name, m, a, k);
  const kind = (o) => (typeof o === 'string' ? o : (o && o.type) || 'text');
  const asked = (t) => (t === 'arrayBuffer' || t === 'stream' ? 'bytes' : t);
  const shape = (t, v) => {
    if (v == null) return null;
    if (t === 'arrayBuffer') return arrayBuffer(v);
    if (t === 'stream') return new Response(v).body;
    return v;
  };
  return {
    async get(key, options) {
      const t = kind(options);
      const value = await call('get', [key, asked(t)]);
      return Array.isArray(key) ? new Map(Object.entries(value)) : shape(t, value);
    },
    async getWithMetadata(key, options) {
      const t = kind(options);
      const found = await call('get_with_metadata', [key, asked(t)]);
      if (Array.isArray(key)) return new Map(Object.entries(found));
      return { value: shape(t, found.value), metadata: found.metadata, cacheStatus: null };
    },
    async put(key, value, options = {}) {
      await call('put', [key, await bytesOf(value)], drop({
        expiration_ttl: finite(`env.${name}.put`, 'expirationTtl', options.expirationTtl),
        expiration: finite(`env.${name}.put`, 'expiration', options.expiration), metadata: options.metadata,
      }));
    },
    async delete(key) { await call('delete', [key]); },
    async list(options = {}) {
      const r = await call('list', [], drop({ prefix: options.prefix ?? undefined, limit: options.limit, cursor: options.cursor ?? undefined }));
      const out = { keys: r.keys, list_complete: r.list_complete, cacheStatus: null };
      if (!r.list_complete) out.cursor = r.cursor;
      return out;
    },
  };
}

function queue(name, host) {
  // NaN and Infinity would cross as null (JSON), a message sent at once: refused here instead.
  const delay = (method, d) => {
    if (d === undefined || (typeof d === 'number' && Number.isFinite(d))) return d;
    throw new RangeError(`env.${name}.${method}: delaySeconds must be a number from 0 to 43200 (12 hours), not ${typeof d === 'number' ? d : typeof d}`);
  };
  const one = (method, body, o = {}) => drop({ body, content_type: o.contentType, delay_seconds: delay(method, o.delaySeconds) });
  return {
    async send(body, options = {}) {
      const { body: b, ...k } = one('send', body, options);
      await host.call(name, 'send', [b], k);
    },
    async sendBatch(messages, options = {}) {
      await host.call(name, 'send_batch', [[...messages].map((m) => one('sendBatch', m.body, m))], drop({ delay_seconds: delay('sendBatch', options.delaySeconds) }));
    },
  };
}

function sql(name, host) {
  const statement = (text, params) => ({
    sql: text,
    params,
    bind: (...values) => statement(text, values),
    first: (column) => host.call(name, '$sql', [text, params, 'first', column ?? null]),
    all: () => host.call(name, '$sql', [text, params, 'all', null]),
    run: () => host.call(name, '$sql', [text, params, 'run', null]),
    raw: (options = {}) => host.call(name, '$sql', [text, params, 'raw', !!options.columnNames]),
  });
  return {
    prepare: (text) => statement(text, []),
    batch: (statements) => host.call(name, '$batch', [statements.map((s) => [s.sql, s.params])]),
    exec: (text) => host.call(name, 'exec', [text]),
  };
}

function r2Object(found) {
  if (found == null) return null;
  const object = {
    key: found.key, size: found.size, etag: found.etag, httpEtag: found.http_etag,
    uploaded: new Date(found.uploaded), version: found.version, storageClass: found.storage_class,
    httpMetadata: found.http_metadata || {}, customMetadata: found.custom_metadata || {},
    checksums: { md5: found.etag }, range: found.range ?? undefined,
    writeHttpMetadata(headers) {
      for (const [k, v] of Object.entries(this.httpMetadata)) headers.set(k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()), v);
    },
  };
  if (found.body !== undefined) {
    const data = found.body;
    let used = false;
    const take = () => { if (used) throw new TypeError('the body of this object has already been read'); used = true; return data; };
    Object.defineProperty(object, 'body', { get: () => new Response(take()).body });
    Object.defineProperty(object, 'bodyUsed', { get: () => used });
    object.arrayBuffer = async () => arrayBuffer(take());
    object.text = async () => new TextDecoder().decode(take());
    object.json = async () => JSON.parse(new TextDecoder().decode(take()));
    object.blob = async () => new Blob([take()]);
    object.bytes = async () => take();
  }
  return object;
}

function bucket(name, host) {
  return {
    async put(key, value, options = {}) {
      return r2Object(await host.call(name, 'put', [key, await bytesOf(value)], drop({
        http_metadata: options.httpMetadata instanceof Headers ? Object.fromEntries(options.httpMetadata) : options.httpMetadata,
        custom_metadata: options.customMetadata,
      })));
    },
    async get(key, options = {}) { return r2Object(await host.call(name, 'get', [key], drop({ range: options.range }))); },
    async head(key) { return r2Object(await host.call(name, 'head', [key])); },
    async delete(keys) { await host.call(name, 'delete', [keys]); },
    async list(options = {}) {
      const r = await host.call(name, 'list', [], drop({
        prefix: options.prefix, limit: options.limit, cursor: options.cursor, delimiter: options.delimiter,
        start_after: options.startAfter, include: options.include,
      }));
      return { ...r, objects: (r.objects || []).map(r2Object), delimitedPrefixes: r.delimited_prefixes ?? r.delimitedPrefixes ?? [] };
    },
  };
}

// A smart bucket is a bucket too: put/get/head/delete/list as a bucket's (R2-shaped objects,
// `{ httpMetadata }` options), its own methods (search, documentChat, ...) as any binding's.
function smartBucket(name, host, methods) {
  const plain = bucket(name, host);
  const rest = generic(name, host, methods);
  return new Proxy(rest, {
    get: (target, method) => (Object.hasOwn(plain, method) ? plain[method] : target[method]),
    has: (target, method) => Object.hasOwn(plain, method) || method in target,
  });
}

class ActorId {
  constructor(hex, name, ns) { this.hex = hex; if (name != null) this.name = name; Object.defineProperty(this, 'ns', { value: ns }); }
  toString() { return this.hex; }
  equals(other) { return other != null && String(other) === this.hex; }
}

// An id is 16 bytes naming the actor, then 16 bytes of an HMAC keyed by its class (as
// runtime/actor_ids.py computes it): the same name gives the same id in Python and here.
function signedId(ns, body) {
  const key = createHash('sha256').update(Buffer.concat([Buffer.from('raindrop-actor-id\u0000'), Buffer.from(ns)])).digest();
  return Buffer.concat([body, createHmac('sha256', key).update(body).digest().subarray(0, 16)]).toString('hex');
}

function actorNamespace(name, spec, host) {
  return {
    idFromName(text) {
      if (typeof text !== 'string') throw new TypeError(`idFromName takes a string, not ${typeof text}`);
      return new ActorId(signedId(spec.ns, createHash('sha256').update(`${spec.ns}\u0000${text}`).digest().subarray(0, 16)), text, spec.ns);
    },
    idFromString(hex) {
      if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) throw new TypeError(`${JSON.stringify(hex)} is not an actor id (64 lowercase hex digits)`);
      const expected = Buffer.from(signedId(spec.ns, Buffer.from(hex.slice(0, 32), 'hex')));
      if (!timingSafeEqual(expected, Buffer.from(hex))) {
        throw new TypeError(`${JSON.stringify(hex)} is not an id of actor "${spec.ns}": another actor class made it, or it was typed by hand (an id is for the class that made it)`);
      }
      return new ActorId(hex, null, spec.ns);
    },
    newUniqueId() { return new ActorId(signedId(spec.ns, randomBytes(16)), null, spec.ns); },
    get(id) {
      if (!(id instanceof ActorId)) throw new TypeError('get() takes an ActorId (from idFromName)');
      if (id.ns != null && id.ns !== spec.ns) throw new TypeError(`actor "${spec.ns}": this id was made by actor "${id.ns}"'s namespace; an id is for the class that made it`);
      return new Proxy({ id, name: id.name }, {
        get(target, method) {
          if (method in target || typeof method !== 'string' || method === 'then') return target[method];
          if (method === 'fetch') {
            return streamedFetch(host, name, '$actorFetch', (request) => [id.hex, id.name ?? null, request]);
          }
          return (...args) => host.call(name, '$actor', [id.hex, id.name ?? null, method, args]);
        },
      });
    },
  };
}

// An actor's or a service's fetch: the request body streams to it and its answer streams back
// (see calls.mjs). The caller's signal (init.signal, or a forwarded request's own) aborts both.
function streamedFetch(host, name, method, args) {
  return async (input, init) => {
    const request = input instanceof Request ? (init ? new Request(input, init) : input) : new Request(new URL(String(input), 'http://internal'), init);
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const head = [request.method, request.url, [...request.headers]];
    return host.stream.fetch(name, method, (body) => args([...head, body]), request, signal);
  };
}

function service(name, host) {
  return new Proxy({}, {
    get(target, method) {
      if (typeof method !== 'string' || method === 'then') return undefined;
      if (method === 'fetch') return streamedFetch(host, name, '$fetch', (request) => request);
      return (...args) => host.call(name, method, args);
    },
  });
}

// Any other binding (AI, smart buckets, memories, SmartSQL, vector indexes): methods by name.
// `methods` (when the runtime sent them): the only names that are functions, so a check such as
// `typeof env.AI.generate === 'function'` is false, as on the platform, and not a later call error.
export function generic(name, host, methods) {
  const known = methods ? new Set(methods) : null;
  return new Proxy({}, {
    get(target, method) {
      if (typeof method !== 'string' || method === 'then') return undefined;
      if (known && !known.has(method)) return undefined;
      return (...args) => host.call(name, method, args);
    },
    has(target, method) { return known ? known.has(method) : typeof method === 'string' && method !== 'then'; },
    ownKeys() { return known ? [...known] : []; },
    getOwnPropertyDescriptor(target, method) {
      return known?.has(method) ? { value: this.get(target, method), enumerable: true, configurable: true, writable: false } : undefined;
    },
  });
}

// An Error in a log record's fields (`logger.error('failed', { error })`) is recorded as its
// name and message, as a Python exception's text is; JSON alone would keep only its own
// enumerable keys (`{}`, or `{"name": ...}` for a binding's error).
function shownErrors(value, seen = new Set()) {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (value === null || typeof value !== 'object' || seen.has(value) || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => shownErrors(item, seen));
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, shownErrors(item, seen)]));
}

function logger(host) {
  const log = (level) => (message, fields) => host.notify('$logger', level, [shownErrors(message), shownErrors(fields ?? null)]);
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), log: log('info') };
}

// Spans are timed here and recorded by the runtime's tracer when they end (one message, no answer).
function tracer(host) {
  const startSpan = (name, options = {}) => {
    const began = performance.now();
    const wall = Date.now() / 1000;
    const attributes = { ...(options.attributes || options || {}) };
    delete attributes.attributes;
    const events = [];
    let status = ['unset', null];
    let error = null;
    let ended = false;
    const span = {
      setAttribute(key, value) { attributes[key] = value; return span; },
      setAttributes(values) { Object.assign(attributes, values); return span; },
      addEvent(name, values) { events.push({ name, attributes: values || {} }); return span; },
      setStatus(value) {
        const code = typeof value === 'object' ? value.code : value;
        status = [code === 2 || code === 'error' ? 'error' : code === 1 || code === 'ok' ? 'ok' : 'unset', value?.message ?? null];
        return span;
      },
      recordException(exception) { error = exception instanceof Error ? `${exception.name}: ${exception.message}` : String(exception); },
      isRecording: () => !ended,
      end() {
        if (ended) return;
        ended = true;
        host.notify('$tracer', 'record', [name, attributes, events, status, error, wall, performance.now() - began]);
      },
    };
    return span;
  };
  const startActiveSpan = (name, ...rest) => {
    const fn = rest[rest.length - 1];
    const span = startSpan(name, typeof rest[0] === 'object' ? rest[0] : {});
    const finish = (value) => { span.end(); return value; };
    try {
      const result = fn(span);
      if (result && typeof result.then === 'function') {
        return result.then(finish, (e) => { span.recordException(e); span.setStatus({ code: 2, message: String(e?.message ?? e) }); span.end(); throw e; });
      }
      return finish(result);
    } catch (e) {
      span.recordException(e);
      span.setStatus({ code: 2, message: String(e?.message ?? e) });
      span.end();
      throw e;
    }
  };
  return { startSpan, startActiveSpan };
}

export function buildEnv(spec, host) {
  const env = {};
  for (const [name, binding] of Object.entries(spec.bindings)) {
    const make = {
      kv, queue, sql, bucket, service, actor: (n, h) => actorNamespace(n, binding, h), smartbucket: (n, h) => smartBucket(n, h, binding.m),
    }[binding.k] || ((n, h) => generic(n, h, binding.m));
    env[name] = make(name, host);
  }
  Object.assign(env, spec.vars);
  env.logger = logger(host);
  env.tracer = tracer(host);
  env.annotation = generic('$annotation', host);
  return env;
}

export function stateOf(handle, hex, name, host) {
  const call = (m, a, k) => host.call(`$h${handle}`, m, a, k);
  const asMap = (v) => new Map(Object.entries(v));
  const storage = {
    async get(key) { const v = await call('get', [key]); return Array.isArray(key) ? asMap(v) : v ?? undefined; },
    async put(key, value) { await (typeof key === 'string' ? call('put', [key, value]) : call('put', [Object.fromEntries(key instanceof Map ? key : Object.entries(key))])); },
    delete: (key) => call('delete', [key]),
    deleteAll: () => call('delete_all', []),
    async list(options = {}) { return asMap(await call('list', [], drop({ prefix: options.prefix, start: options.start, end: options.end, reverse: options.reverse, limit: options.limit }))); },
    getAlarm: () => call('get_alarm', []),
    setAlarm: (when) => call('set_alarm', [when instanceof Date ? when.getTime() : when]),
    deleteAlarm: () => call('delete_alarm', []),
  };
  return {
    id: new ActorId(hex, name),
    storage,
    waitUntil(promise) { host.waitUntil(promise, handle); },
    blockConcurrencyWhile: async (fn) => fn(),
  };
}
