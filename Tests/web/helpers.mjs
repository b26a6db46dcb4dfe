// helpers.mjs: test-only .moe bundle writer (every encoding), naive reference ops, seeded data, a local HTTP server.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { deflateSync, inflateRawSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { load } from '../../Sources/MoeWeb/moe.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const prod = (a) => a.reduce((p, d) => p * d, 1);

/** Seeded uniform floats in [lo, hi) (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    float: (lo = -1, hi = 1) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    array: (n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * next()),
  };
}

// MARK: encoders (straight from the layouts in Sources/MoeQuant; each returns the payload and what it decodes to)

/** Float → binary16 bits, round to nearest even. */
export function halfBits(x) {
  const f = new Float32Array([x]), u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000, exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    let h = ((e + 15) << 10) | (mant >>> 13);
    const d = mant & 0x1fff;
    if (d > 0x1000 || (d === 0x1000 && h & 1)) h++;
    return sign | h;
  }
  if (e < -25) return sign;
  mant |= 0x800000;
  const shift = -e - 1;
  let h = mant >>> shift;
  const d = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
  if (d > mid || (d === mid && h & 1)) h++;
  return sign | h;
}

export function halfValue(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Tensor elements in channel-major order along `axis` (rank ≤ 1: unchanged), with the layout. */
function channelMajor(data, shape, axis) {
  if (shape.length <= 1) return { cm: Array.from(data), outer: 1, channels: 1, inner: data.length };
  const outer = prod(shape.slice(0, axis)), channels = shape[axis], inner = prod(shape.slice(axis + 1));
  const cm = [];
  for (let c = 0; c < channels; c++) for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) cm.push(data[(o * channels + c) * inner + i]);
  return { cm, outer, channels, inner };
}

function fromChannelMajor(cm, { outer, channels, inner }) {
  const out = new Float32Array(cm.length);
  let k = 0;
  for (let c = 0; c < channels; c++) for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) out[(o * channels + c) * inner + i] = cm[k++];
  return out;
}

function bytesOf(typed) { return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength); }

function packBits(codes, bits) {
  const out = new Uint8Array(Math.ceil((codes.length * bits) / 8));
  codes.forEach((code, i) => {
    const bit = i * bits, byte = bit >> 3, shift = bit & 7;
    out[byte] |= (code << shift) & 0xff;
    if (shift + bits > 8) out[byte + 1] |= code >> (8 - shift);
  });
  return out;
}

/** The WebDNN eightbit magnitudes, read from the Swift source (an independent copy of the table). */
const eightbitTable = readFileSync(new URL('../../Sources/MoeQuant/EightbitTable.swift', import.meta.url), 'utf8')
  .split('= [')[1].split(']')[0].match(/[0-9][0-9.e+-]*/g).map(Number);
if (eightbitTable.length !== 126) throw new Error(`EightbitTable.swift: expected 126 magnitudes, read ${eightbitTable.length}`);

/** Encodes `data` (shape) as `encoding`; returns {payload, decoded}. */
export function encode(encoding, data, shape) {
  const n = data.length;
  if (encoding === 'f32') return { payload: bytesOf(Float32Array.from(data)), decoded: Float32Array.from(data) };
  if (encoding === 'f16') {
    const h = Uint16Array.from(data, halfBits);
    return { payload: bytesOf(h), decoded: Float32Array.from(h, halfValue) };
  }
  let m = /^int8(?:-a(\d+))?$/.exec(encoding);
  if (m) {
    const L = channelMajor(data, shape, +(m[1] || 0)), len = L.outer * L.inner;
    const scales = new Float32Array(L.channels), codes = new Int8Array(n), dec = [];
    for (let c = 0; c < L.channels; c++) {
      const part = L.cm.slice(c * len, (c + 1) * len);
      scales[c] = Math.fround(Math.max(0, ...part.map(Math.abs)) / 127);
      part.forEach((x, i) => {
        const q = (scales[c] ? Math.max(-127, Math.min(127, Math.round(Math.fround(x / scales[c])))) : 0) + 0; // no −0
        codes[c * len + i] = q;
        dec.push(Math.fround(q * scales[c]));
      });
    }
    const payload = new Uint8Array(4 * L.channels + n);
    payload.set(bytesOf(scales));
    payload.set(bytesOf(codes), 4 * L.channels);
    return { payload, decoded: fromChannelMajor(dec, L) };
  }
  m = /^int4-g(\d+)(?:-a(\d+))?$/.exec(encoding);
  if (m) {
    const g = +m[1], L = channelMajor(data, shape, +(m[2] || 0)), len = L.outer * L.inner;
    const scales = [], nibbles = [], dec = [];
    for (let c = 0; c < L.channels; c++) {
      for (let s = c * len; s < (c + 1) * len; s += g) {
        const part = L.cm.slice(s, Math.min(s + g, (c + 1) * len));
        let h = halfBits(Math.max(0, ...part.map(Math.abs)) / 7);
        if (halfValue(h) < Math.fround(Math.max(0, ...part.map(Math.abs)) / 7)) h++;
        const scale = halfValue(h);
        scales.push(h);
        for (const x of part) {
          const q = (scale ? Math.max(-7, Math.min(7, Math.round(x / scale))) : 0) + 0;
          nibbles.push(q + 8);
          dec.push(Math.fround(q * scale));
        }
      }
    }
    const sb = bytesOf(Uint16Array.from(scales)), cb = packBits(nibbles, 4);
    const payload = new Uint8Array(sb.length + cb.length);
    payload.set(sb);
    payload.set(cb, sb.length);
    return { payload, decoded: fromChannelMajor(dec, L) };
  }
  m = /^palette(\d+)(-pc)?(?:-a(\d+))?$/.exec(encoding);
  if (m) {
    const k = +m[1], bits = Math.log2(k);
    const L = m[2] ? channelMajor(data, shape, +(m[3] || 0)) : { cm: Array.from(data), outer: 1, channels: 1, inner: n };
    const len = L.outer * L.inner, books = [], codes = [], dec = [];
    for (let c = 0; c < L.channels; c++) {
      const part = L.cm.slice(c * len, (c + 1) * len);
      const lo = Math.min(...part), hi = Math.max(...part);
      const book = Array.from({ length: k }, (_, j) => halfBits(lo + ((hi - lo) * j) / (k - 1))).sort((a, b) => halfValue(a) - halfValue(b));
      const vals = book.map(halfValue);
      books.push(...book);
      for (const x of part) {
        let best = 0;
        vals.forEach((v, j) => { if (Math.abs(v - x) < Math.abs(vals[best] - x)) best = j; });
        codes.push(best);
        dec.push(vals[best]);
      }
    }
    const bb = bytesOf(Uint16Array.from(books)), cb = packBits(codes, bits);
    const payload = new Uint8Array(bb.length + cb.length);
    payload.set(bb);
    payload.set(cb, bb.length);
    return { payload, decoded: m[2] ? fromChannelMajor(dec, L) : Float32Array.from(dec) };
  }
  if (encoding === 'eightbit') {
    // Two records (first half, second half) to exercise record offsets.
    const parts = n > 1 ? [data.slice(0, n >> 1), data.slice(n >> 1)] : [data];
    const chunks = [], dec = [];
    let offset = 0;
    const mags = [0, ...eightbitTable, 1];
    const t = Array.from({ length: 127 }, (_, i) => Math.fround(i === 0 ? 1.5e-6 : i === 126 ? 0.995703 : (eightbitTable[i] + eightbitTable[i - 1]) / 2));
    for (const part of parts) {
      const scale = Math.fround(Math.max(1e-20, ...Array.from(part, Math.abs)));
      const codes = Uint8Array.from(part, (x) => {
        const v = Math.fround(Math.abs(x) / scale);
        let c = 0;
        while (c < 127 && t[c] < v) c++;
        return c | (x < 0 ? 0x80 : 0);
      });
      for (const c of codes) dec.push((c & 0x80 ? -1 : 1) * Math.fround(mags[c & 0x7f] * scale));
      const body = deflateSync(codes, { level: 9 });
      const head = new DataView(new ArrayBuffer(16));
      head.setInt32(0, offset, true);
      head.setInt32(4, body.length, true);
      head.setFloat32(8, scale, true);
      chunks.push(new Uint8Array(head.buffer), body);
      offset += part.length;
    }
    return { payload: concat(chunks), decoded: Float32Array.from(dec) };
  }
  throw new Error(`test encoder: unknown encoding ${encoding}`);
}

export function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

// MARK: bundle writer

/**
 * Writes a bundle (Formats/bundle.md). tensors: [{name, shape, data, encoding = 'f32', deflate = false}] or with a raw
 * `payload` (any encoding name). Returns {bytes, decoded: Map name → Float32Array}.
 */
export function writeBundle({ graph, tensors, inputs = [], outputs = [], metadata = {}, vocabulary, version = 1 }) {
  const decoded = new Map(), entries = [], payloads = [];
  for (const t of tensors) {
    const enc = t.encoding || 'f32';
    let payload = t.payload, raw;
    if (!payload) {
      const e = encode(enc, t.data, t.shape);
      payload = e.payload;
      decoded.set(t.name, e.decoded);
    }
    raw = payload.length;
    if (t.deflate) payload = new Uint8Array(deflateSync(payload, { level: 9 }));
    entries.push({ name: t.name, shape: t.shape, encoding: enc, offset: 0, length: payload.length, deflate: !!t.deflate, raw_length: raw });
    payloads.push(payload);
  }
  const manifest = { format: 'moe-bundle', version: 1, producer: 'moe.js tests', architecture: metadata.arch || 'test', metadata,
    inputs, outputs, graph, tensors: entries };
  if (vocabulary) manifest.vocabulary = vocabulary;
  const align = (n) => Math.ceil(n / 64) * 64;
  let json;
  for (let i = 0; i < 8; i++) {
    json = new TextEncoder().encode(JSON.stringify(manifest));
    let at = align(128 + json.length);
    entries.forEach((e) => { e.offset = at; at = align(at + e.length); });
    if (new TextEncoder().encode(JSON.stringify(manifest)).length === json.length) break;
  }
  json = new TextEncoder().encode(JSON.stringify(manifest));
  const payloadOffset = align(128 + json.length);
  const fileLength = entries.length ? align(entries[entries.length - 1].offset + entries[entries.length - 1].length) : payloadOffset;
  const bytes = new Uint8Array(fileLength);
  bytes.set(json, 128);
  entries.forEach((e, i) => bytes.set(payloads[i], e.offset));
  const dv = new DataView(bytes.buffer);
  bytes.set([0x89, 0x4d, 0x4f, 0x45, 0x0d, 0x0a, 0x1a, 0x0a]);
  dv.setUint32(8, version, true);
  dv.setUint32(12, 128, true);
  [128, json.length, payloadOffset, fileLength - payloadOffset, fileLength].forEach((v, i) => dv.setBigUint64(16 + 8 * i, BigInt(v), true));
  bytes.set(createHash('sha256').update(bytes.subarray(128)).digest(), 64);
  return { bytes, decoded };
}

/** Re-seals a bundle's checksum after a test edits its contents. */
export function reseal(bytes) {
  bytes.set(createHash('sha256').update(bytes.subarray(128)).digest(), 64);
  return bytes;
}

/**
 * Builds IR text and a bundle for one graph: values {name: shape} for inputs, weights {name: {shape, data, encoding}},
 * nodes as IR lines ("node ..."), outputs.
 */
export function graphBundle({ inputs = {}, weights = {}, nodes, outputs, encoding, deflate }) {
  const dims = (s) => `[${s.join(',')}]`;
  const lines = ['moeir 1', 'graph "test"'];
  for (const [k, s] of Object.entries(inputs)) lines.push(`input %${k} : f32${dims(s)}`);
  for (const [k, w] of Object.entries(weights)) lines.push(`weight %${k} : f32${dims(w.shape)}`);
  lines.push(...nodes, ...outputs.map((o) => `output %${o}`));
  const tensors = Object.entries(weights).map(([name, w]) => ({ name, shape: w.shape, data: w.data, encoding: w.encoding || encoding, deflate: w.deflate ?? deflate }));
  return writeBundle({
    graph: lines.join('\n') + '\n', tensors,
    inputs: Object.entries(inputs).map(([name, shape]) => ({ name, shape: shape.map((d) => (typeof d === 'number' ? d : -1)) })),
    outputs: outputs.map((name) => ({ name, shape: [] })),
  });
}

/** Loads bundle bytes with moe.js. */
export const loadBytes = (bytes, options) => load(bytes, options);

// MARK: naive reference ops (NCHW, straight from Formats/ir.md)

export function conv2d(x, xs, w, ws, b, { strides: [sh, sw], pads: [pt, pl, pb, pr], dilations: [dh, dw], groups }) {
  const [n, c, h, wd] = xs, [o, cg, kh, kw] = ws, og = o / groups;
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1, ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const y = new Float64Array(n * o * oh * ow);
  for (let ni = 0; ni < n; ni++) for (let oi = 0; oi < o; oi++) {
    const g = Math.floor(oi / og);
    for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
      let s = b ? b[oi] : 0;
      for (let ci = 0; ci < cg; ci++) for (let ki = 0; ki < kh; ki++) for (let kj = 0; kj < kw; kj++) {
        const ih = i * sh - pt + ki * dh, iw = j * sw - pl + kj * dw;
        if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
        s += x[((ni * c + g * cg + ci) * h + ih) * wd + iw] * w[((oi * cg + ci) * kh + ki) * kw + kj];
      }
      y[((ni * o + oi) * oh + i) * ow + j] = s;
    }
  }
  return { y, shape: [n, o, oh, ow] };
}

export function convTranspose2d(x, xs, w, ws, b, { strides: [sh, sw], pads: [pt, pl, pb, pr], dilations: [dh, dw], outputPadding: [oph, opw], groups }) {
  const [n, cin, h, wd] = xs, [, og, kh, kw] = ws, o = og * groups, cg = cin / groups;
  const oh = (h - 1) * sh - pt - pb + dh * (kh - 1) + 1 + oph, ow = (wd - 1) * sw - pl - pr + dw * (kw - 1) + 1 + opw;
  const y = new Float64Array(n * o * oh * ow);
  for (let ni = 0; ni < n; ni++) {
    for (let oi = 0; oi < o; oi++) for (let p = 0; p < oh * ow; p++) y[(ni * o + oi) * oh * ow + p] = b ? b[oi] : 0;
    for (let ci = 0; ci < cin; ci++) {
      const g = Math.floor(ci / cg);
      for (let i = 0; i < h; i++) for (let j = 0; j < wd; j++) {
        const v = x[((ni * cin + ci) * h + i) * wd + j];
        for (let oo = 0; oo < og; oo++) for (let ki = 0; ki < kh; ki++) for (let kj = 0; kj < kw; kj++) {
          const yi = i * sh - pt + ki * dh, yj = j * sw - pl + kj * dw;
          if (yi < 0 || yi >= oh || yj < 0 || yj >= ow) continue;
          y[((ni * o + g * og + oo) * oh + yi) * ow + yj] += v * w[((ci * og + oo) * kh + ki) * kw + kj];
        }
      }
    }
  }
  return { y, shape: [n, o, oh, ow] };
}

export function linear(x, rows, inF, w, outF, b) {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) for (let o = 0; o < outF; o++) {
    let s = b ? b[o] : 0;
    for (let k = 0; k < inF; k++) s += x[r * inF + k] * w[o * inF + k];
    y[r * outF + o] = s;
  }
  return y;
}

/** ONNX DepthToSpace as reshape → transpose → reshape. */
export function depthToSpace(x, [n, c, h, w], b, mode) {
  const co = c / (b * b), y = new Float32Array(x.length);
  for (let ni = 0; ni < n; ni++) for (let ci = 0; ci < co; ci++) for (let i = 0; i < h * b; i++) for (let j = 0; j < w * b; j++) {
    const bi = i % b, bj = j % b;
    const src = mode === 'DCR' ? (bi * b + bj) * co + ci : ci * b * b + bi * b + bj;
    y[((ni * co + ci) * h * b + i) * w * b + j] = x[((ni * c + src) * h + Math.floor(i / b)) * w + Math.floor(j / b)];
  }
  return y;
}

export const activations = {
  relu: (v) => Math.max(v, 0), tanh: Math.tanh, sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  softplus: (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))),
};

/** Applies an epilogue (act text as in the IR, residual 'before'/'after') to y with residual r. */
export function epilogue(y, act, residual, r) {
  const f = !act ? (v) => v : act.startsWith('leaky_relu:') ? ((a) => (v) => (v >= 0 ? v : a * v))(+act.slice(11)) : activations[act];
  return y.map((v, i) => {
    if (residual === 'before') v += r[i];
    v = f(v);
    return residual === 'after' ? v + r[i] : v;
  });
}

/** max |a − b| over two arrays. */
export function maxAbs(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// MARK: HTTP

/** Serves `files` (path → bytes) on 127.0.0.1; `chunked` drops Content-Length. Returns {url, close}. */
export async function serve(files, { chunked = false } = {}) {
  const server = createServer((req, res) => {
    const body = files[req.url];
    if (!body) { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, chunked ? { 'content-type': 'application/octet-stream' } : { 'content-length': body.length });
    if (!chunked) { res.end(Buffer.from(body)); return; }
    let at = 0;
    const step = () => {
      if (at >= body.length) { res.end(); return; }
      res.write(Buffer.from(body.subarray(at, at + 4096)), step);
      at += 4096;
    };
    step();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** The members of a .npz (a zip of .npy files, stored or deflated) as name (without .npy) → bytes. */
export function readNpz(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length - 22;
  while (end >= 0 && dv.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error('npz: no end of central directory (not a zip file)');
  const members = {};
  let at = dv.getUint32(end + 16, true);
  for (let k = dv.getUint16(end + 10, true); k > 0; k--) {
    if (dv.getUint32(at, true) !== 0x02014b50) throw new Error(`npz: bad central directory entry at ${at}`);
    const method = dv.getUint16(at + 10, true), size = dv.getUint32(at + 20, true);
    const nameLength = dv.getUint16(at + 28, true), extra = dv.getUint16(at + 30, true), comment = dv.getUint16(at + 32, true);
    const local = dv.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    if (size === 0xffffffff || local === 0xffffffff) throw new Error(`npz: member ${name} needs zip64 (too large for a test)`);
    const data = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    const body = bytes.subarray(data, data + size);
    if (method !== 0 && method !== 8) throw new Error(`npz: member ${name} uses compression method ${method}`);
    members[name.replace(/\.npy$/, '')] = method === 0 ? body : new Uint8Array(inflateRawSync(body));
    at += 46 + nameLength + extra + comment;
  }
  return members;
}
