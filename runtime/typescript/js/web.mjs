// The WHATWG globals a handler sees, as the runtime's host shapes them: Date under the fake
// clock, a Response that keeps a body it already holds, a Request made lazily for GET and HEAD,
// and a fetch that follows the current invocation's cancellation.
import { AsyncLocalStorage } from 'node:async_hooks';

// -- the app's clock: under a fake clock, Date follows the moment every frame carries ----------
const RealDate = Date;
let fakeNow = null;
// the moment of the frame being handled (every frame from the runtime under a fake clock carries it)
export function setNow(now) { fakeNow = now; }
class AppDate extends RealDate {
  constructor(...args) { if (args.length === 0 && fakeNow !== null) super(fakeNow); else super(...args); }
  static now() { return fakeNow ?? RealDate.now(); }
}
globalThis.Date = AppDate;

// -- responses: one built from a string or bytes keeps them, so its body is sent in one frame
// without reading it through a stream (the common case, and the costly part of a small reply)
export const SOURCE = Symbol('raindrop.body');
const USED = Symbol('raindrop.used');
export const STREAM = Symbol('raindrop.stream');
export const BaseResponse = Response;
const plainBody = (body) => body == null || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer;
class AppResponse extends BaseResponse {
  constructor(body, init) {
    if (!plainBody(body)) {
      super(body, init);
      return;
    }
    // No stream is made for a body the response already holds; it is made if something reads
    // `body` (a middleware wrapping the response), and the read helpers use the value itself.
    super(null, init);
    this[SOURCE] = body ?? null;
    this[USED] = false;
    if (typeof body === 'string' && !this.headers.has('content-type')) this.headers.set('content-type', 'text/plain;charset=UTF-8');
  }
  get body() {
    if (this[SOURCE] === undefined) return super.body;
    if (this[SOURCE] === null) return null;
    if (!this[STREAM]) this[STREAM] = new BaseResponse(this[SOURCE]).body;
    return this[STREAM];
  }
  get bodyUsed() {
    if (this[SOURCE] === undefined) return super.bodyUsed;
    return this[USED] || (this[STREAM] !== undefined && this[STREAM].locked);
  }
  #take() {
    if (this.bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    this[USED] = true;
    return new BaseResponse(this[STREAM] ?? this[SOURCE]);
  }
  text() { return this[SOURCE] === undefined ? super.text() : (typeof this[SOURCE] === 'string' && !this.bodyUsed ? (this[USED] = true, Promise.resolve(this[SOURCE])) : this.#take().text()); }
  json() { return this[SOURCE] === undefined ? super.json() : this.text().then(JSON.parse); }
  arrayBuffer() { return this[SOURCE] === undefined ? super.arrayBuffer() : this.#take().arrayBuffer(); }
  blob() { return this[SOURCE] === undefined ? super.blob() : this.#take().blob(); }
  formData() { return this[SOURCE] === undefined ? super.formData() : this.#take().formData(); }
  bytes() { return this[SOURCE] === undefined ? super.bytes() : this.#take().arrayBuffer().then((b) => new Uint8Array(b)); }
  clone() {
    if (this[SOURCE] === undefined) return super.clone();
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
    if (this[STREAM]) return super.clone();
    return new AppResponse(this[SOURCE], { status: this.status, statusText: this.statusText, headers: this.headers });
  }
  static json(data, init = {}) {
    const headers = new Headers(init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new AppResponse(JSON.stringify(data), { ...init, headers });
  }
}
globalThis.Response = AppResponse;

// -- incoming requests without a body (GET, HEAD): a WHATWG Request is made only when something
// needs more than the method, URL, headers and signal, which is all most handlers read (making
// one, with its own AbortController, was a third of Node's work on a small request). Until then
// the request is an IncomingRequest: `instanceof Request`, every other property and method of
// Request made on the real one, and `new Request(it)` and `fetch(it)` given the real one.
export const BaseRequest = Request;
export const REAL = Symbol('raindrop.request');
class AppRequest extends BaseRequest {
  constructor(input, init) { super(input instanceof IncomingRequest ? input[REAL]() : input, init); }
}
Object.defineProperty(AppRequest, 'name', { value: 'Request' });
globalThis.Request = AppRequest;
// -- invocations: every request from the runtime runs with its own Invocation in `current`, so a
// handler's outgoing `fetch` follows the request's cancellation (the runtime timed it out, or its
// client left) without the handler passing `request.signal` on: its signal is combined with any
// signal the caller passed. A fetch started outside any invocation (a module's top level) is left alone.
export const current = new AsyncLocalStorage();
export const live = new Map(); // id -> the Invocation still running
export class Invocation {
  constructor(i) { this.i = i; this.controller = null; this.reason = null; }
  // Made on first read: an AbortController per request costs more than a small handler.
  get signal() {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
  cancel(reason) {
    this.reason ??= reason;
    this.controller?.abort(reason);
  }
}
const baseFetch = globalThis.fetch;
globalThis.fetch = function fetch(input, init) {
  if (input instanceof IncomingRequest) input = input[REAL]();
  const invocation = current.getStore();
  if (invocation === undefined) return baseFetch(input, init);
  const own = init?.signal ?? (input instanceof BaseRequest ? input.signal : undefined);
  const signal = own ? AbortSignal.any([own, invocation.signal]) : invocation.signal;
  return baseFetch(input, { ...init, signal });
};

export class IncomingRequest {
  #method; #url; #pairs; #signal; #headers = null; #real = null;
  constructor(method, url, pairs, signal) { this.#method = method; this.#url = new URL(url).href; this.#pairs = pairs; this.#signal = signal; }
  get method() { return this.#method; }
  get url() { return this.#url; }
  get headers() { return this.#headers ??= (this.#real ? this.#real.headers : new Headers(this.#pairs)); }
  get signal() { return this.#signal(); }
  [REAL]() { return this.#real ??= new BaseRequest(this.#url, { method: this.#method, headers: this.#headers ?? this.#pairs }); }
}
Object.setPrototypeOf(IncomingRequest.prototype, AppRequest.prototype);
for (const name of Object.getOwnPropertyNames(BaseRequest.prototype)) {
  if (name === 'constructor' || Object.hasOwn(IncomingRequest.prototype, name)) continue;
  const described = Object.getOwnPropertyDescriptor(BaseRequest.prototype, name);
  if (described.get) Object.defineProperty(IncomingRequest.prototype, name, { get() { return this[REAL]()[name]; }, configurable: true });
  else if (typeof described.value === 'function') {
    Object.defineProperty(IncomingRequest.prototype, name, { value(...args) { return this[REAL]()[name](...args); }, writable: true, configurable: true });
  }
}
