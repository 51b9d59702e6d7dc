// Frames between the runtime (Python) and this host: [u32 size][u32 json size][json][blobs...],
// each blob [u32 size][bytes]. Binary values travel as blobs, marked {"$b": index} in the JSON.
const HEADER = 8;

// `plain`: the caller knows the message holds no bytes (most answers), so no replacer runs.
// `strict`: a function, symbol or BigInt in it is a TypeError naming it, not dropped or null.
export function encode(message, plain = false, strict = false) {
  if (plain) {
    const json = JSON.stringify(message);
    const length = Buffer.byteLength(json);
    const out = Buffer.allocUnsafe(HEADER + length);
    out.writeUInt32LE(4 + length, 0);
    out.writeUInt32LE(length, 4);
    out.write(json, HEADER, length, 'utf8');
    return out;
  }
  const blobs = [];
  const json = JSON.stringify(message, function (key, value) {
    const raw = this[key];
    if (raw instanceof Uint8Array) { blobs.push(raw); return { $b: blobs.length - 1 }; }
    if (raw instanceof ArrayBuffer) { blobs.push(new Uint8Array(raw)); return { $b: blobs.length - 1 }; }
    if (ArrayBuffer.isView(raw)) { blobs.push(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)); return { $b: blobs.length - 1 }; }
    if (strict) {
      const kind = typeof raw;
      if (kind === 'function' || kind === 'symbol' || kind === 'bigint') {
        throw new TypeError(`${kind === 'function' ? 'a function' : `a ${kind}`}${/^\d+$/.test(key) ? '' : ` (at ${JSON.stringify(key)})`}`);
      }
    }
    if (value === undefined && Array.isArray(this)) return null;
    return value;
  });
  const text = Buffer.from(json);
  let size = 4 + text.length;
  for (const blob of blobs) size += 4 + blob.byteLength;
  const out = Buffer.allocUnsafe(4 + size);
  out.writeUInt32LE(size, 0);
  out.writeUInt32LE(text.length, 4);
  text.copy(out, HEADER);
  let at = HEADER + text.length;
  for (const blob of blobs) {
    out.writeUInt32LE(blob.byteLength, at);
    out.set(blob, at + 4);
    at += 4 + blob.byteLength;
  }
  return out;
}

export function decode(frame) {
  if (!Buffer.isBuffer(frame)) return parse(frame.text, frame.blobs); // a large frame read apart
  const size = frame.readUInt32LE(0);
  const text = frame.toString('utf8', 4, 4 + size);
  if (4 + size === frame.length) return JSON.parse(text);
  const blobs = [];
  let at = 4 + size;
  while (at < frame.length) {
    const n = frame.readUInt32LE(at);
    blobs.push(new Uint8Array(frame.buffer, frame.byteOffset + at + 4, n));
    at += 4 + n;
  }
  return parse(text, blobs);
}

function parse(text, blobs) {
  return JSON.parse(text, (key, value) =>
    value !== null && typeof value === 'object' && typeof value.$b === 'number' && Object.keys(value).length === 1
      ? blobs[value.$b] : value);
}

// Splits a byte stream into frames (without their leading size). A frame larger than a socket
// read is copied into one buffer as it arrives, rather than keeping every chunk and joining them
// at the end; when its one blob ends it (a 1 MB value), into a buffer of the blob's own, which
// becomes the value's ArrayBuffer without another copy.
const LARGE = 256 * 1024;

export class Reader {
  // onLarge(bytes): a buffer of its own was made for a large frame (see host.mjs: young collections).
  constructor(onFrame, onLarge = () => {}) { this.onFrame = onFrame; this.onLarge = onLarge; this.chunks = []; this.length = 0; this.large = null; this.filled = 0; this.text = null; }
  push(chunk) {
    if (this.large) {
      const take = Math.min(chunk.length, this.large.length - this.filled);
      chunk.copy(this.large, this.filled, 0, take);
      this.filled += take;
      if (this.filled < this.large.length) return;
      const frame = this.text === null ? this.large : { text: this.text, blobs: [this.large] };
      this.large = null;
      this.text = null;
      this.onFrame(frame);
      if (take === chunk.length) return;
      chunk = chunk.subarray(take);
    }
    this.chunks.push(chunk);
    this.length += chunk.length;
    while (this.length >= 4) {
      let head = this.chunks[0];
      if (head.length < 4) { head = this.flatten(); }
      const size = head.readUInt32LE(0);
      if (this.length < 4 + size) {
        if (size >= LARGE) this.start(size);
        return;
      }
      const all = this.chunks.length === 1 ? head : this.flatten();
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.chunks = rest.length ? [rest] : [];
      this.length = rest.length;
      this.onFrame(frame);
    }
  }
  // A large frame is coming: once its JSON and first blob's size are here, the rest is copied in place.
  start(size) {
    const all = this.flatten();
    if (all.length < 8) return;
    const json = all.readUInt32LE(4);
    const blob = 8 + json; // where the first blob's size is, counting the frame's own size
    const hasBlob = blob + 4 <= 4 + size;
    if (hasBlob && json < LARGE && all.length < blob + 4) return; // a small JSON part: wait for it
    if (hasBlob && all.length >= blob + 4 && blob + 4 + all.readUInt32LE(blob) === 4 + size) {
      const length = all.readUInt32LE(blob);
      this.text = all.toString('utf8', 8, blob);
      this.large = Buffer.allocUnsafeSlow(length);
      all.copy(this.large, 0, blob + 4);
      this.filled = all.length - blob - 4;
    } else {
      this.large = Buffer.allocUnsafeSlow(size);
      all.copy(this.large, 0, 4);
      this.filled = all.length - 4;
    }
    this.chunks = [];
    this.length = 0;
    this.onLarge(this.large.length);
  }
  flatten() {
    const all = Buffer.concat(this.chunks, this.length);
    this.chunks = [all];
    return all;
  }
}
