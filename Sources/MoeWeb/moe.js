// moe.js: the MoeKit web runtime — loads a .moe bundle and runs its graph on kernels.wasm (node ≥ 20 and browsers).
//
//   import { load } from './moe.js';
//   const model = await load('model.moe', { onProgress: (e) => console.log(e.phase, e.loaded, e.total) });
//   const { img } = await model.run({ z: { data: new Float32Array(162), shape: [1, 162] } });
//
// Sources: a URL string or URL (fetched; in node a `file:` URL or a path is read from disk, http(s) is fetched),
// an ArrayBuffer or a Uint8Array. The bundle format is Formats/bundle.md, the graph text Formats/ir.md.

const MAGIC = [0x89, 0x4d, 0x4f, 0x45, 0x0d, 0x0a, 0x1a, 0x0a];
const HEADER = 128;
const VERSION = 1;
/** Header byte ranges [start, end) that must be zero (Formats/bundle.md §1). */
const RESERVED = [[56, 64], [96, 128]];
const isNode = typeof process === 'object' && !!process.versions && !!process.versions.node;
const prod = (a) => a.reduce((p, d) => p * d, 1);
const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
const fmt = (s) => `[${s.join(',')}]`;

/**
 * Loads a bundle and the wasm kernels.
 * @param {string|URL|ArrayBuffer|Uint8Array} source the `.moe` bundle: URL, path (node), or its bytes
 * @param {{onProgress?: (e: {loaded: number, total: number, phase: 'download'|'decode'}) => void,
 *          threads?: number, relaxed?: boolean,
 *          wasm?: string|URL|ArrayBuffer|Uint8Array|WebAssembly.Module}} [options]
 *   `onProgress` receives monotonic byte counts per phase, each phase ending with loaded === total;
 *   `threads`: threads that run the kernels (Web Workers / worker_threads beside this one) where SharedArrayBuffer
 *   is usable (cross-origin-isolated pages, node), with the shared-memory build kernels-mt.wasm; default
 *   min(navigator.hardwareConcurrency, 4) on such pages, 1 in node; elsewhere always 1 on kernels.wasm. Results do
 *   not depend on the thread count. `relaxed: false` keeps kernels-mt.wasm where relaxed SIMD (kernels-mt-fma.wasm,
 *   fused multiply-adds) would be chosen; `model.backend` names the build. `wasm` is a single-thread kernels.wasm
 *   to use instead (default: next to moe.js).
 * @returns {Promise<Model>}
 * @throws {Error} naming what is wrong: bad magic, unknown version, truncated file, checksum mismatch,
 *   unknown encoding, unsupported op, …
 */
export async function load(source, options = {}) {
  const onProgress = options.onProgress;
  const rtPromise = startKernels(options);
  rtPromise.catch(() => {});
  const bytes = await readSource(source, 'bundle', (e) => onProgress && onProgress({ ...e, phase: 'download' }), true);
  const header = parseHeader(bytes);
  const digest = await sha256(bytes.subarray(HEADER));
  if (!same(Array.from(digest), Array.from(bytes.subarray(64, 96)))) {
    throw new Error('checksum mismatch: the SHA-256 of the contents does not match the header (the file is corrupt)');
  }
  let manifest;
  try {
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(
      bytes.subarray(header.jsonOffset, header.jsonOffset + header.jsonLength)));
  } catch (e) {
    throw new Error(`corrupt manifest: ${e.message}`);
  }
  if (typeof manifest.graph !== 'string' || !Array.isArray(manifest.tensors)) {
    throw new Error('corrupt manifest: missing "graph" or "tensors"');
  }
  const graph = parseIR(manifest.graph);
  const rt = await rtPromise;
  const weights = await decodeWeights(rt, graph, manifest, bytes, header, onProgress);
  return new Model(rt, graph, manifest, weights);
}

/**
 * Builds a model from graph text (Formats/ir.md) and its weights, without a bundle (tests, tools holding an IR graph).
 * @param {string} text the graph text
 * @param {{weights?: Object<string, {data: Float32Array|number[]}>, threads?: number, relaxed?: boolean,
 *          wasm?: string|URL|ArrayBuffer|Uint8Array|WebAssembly.Module}} [options]
 *   `weights` gives every weight the graph declares (float32 values in C order); the rest as `load`
 * @returns {Promise<Model>}
 * @throws {Error} naming the bad line, the unsupported op, or the weight that is missing or of the wrong size
 */
export async function loadGraph(text, options = {}) {
  const graph = parseIR(text);
  const rt = await startKernels(options);
  const given = options.weights || {}, weights = new Map();
  for (const k of Object.keys(given)) {
    if (!graph.weights.some((w) => w.name === k)) throw new Error(`'${k}' is not a weight of the graph`);
  }
  for (const w of graph.weights) {
    const t = given[w.name], n = prod(w.shape);
    if (!t || !t.data) throw new Error(`weight '${w.name}' is not given`);
    if (t.data.length !== n) throw new Error(`weight '${w.name}': ${t.data.length} values, shape ${fmt(w.shape)} needs ${n}`);
    const ptr = rt.alloc(4 * n);
    rt.f32().set(asFloats(t.data), ptr >> 2);
    weights.set(w.name, { ptr, shape: w.shape });
  }
  return new Model(rt, graph, {}, weights);
}

// MARK: bytes

/** Reads a whole source into a Uint8Array, reporting progress; `bundle` reads the total from a bundle header. */
async function readSource(source, what, progress, bundle) {
  if (source instanceof ArrayBuffer) source = new Uint8Array(source);
  else if (ArrayBuffer.isView(source)) source = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (source instanceof Uint8Array) {
    progress({ loaded: source.length, total: source.length });
    return source;
  }
  if (typeof source !== 'string' && !(source instanceof URL)) {
    throw new TypeError(`${what} source must be a URL, a path, an ArrayBuffer or a Uint8Array`);
  }
  const s = String(source);
  if (isNode && !/^(https?|data|blob):/i.test(s)) return readFile(/^file:/i.test(s) ? new URL(s) : s, progress);
  let res;
  try {
    res = await fetch(s);
  } catch (e) {
    throw new Error(`cannot fetch ${what} ${s}: ${e.message}`);
  }
  if (!res.ok) throw new Error(`cannot fetch ${what} ${s}: HTTP ${res.status} ${res.statusText}`);
  const encoded = res.headers.get('content-encoding');
  let total = encoded && encoded !== 'identity' ? 0 : Number(res.headers.get('content-length')) || 0;
  let buf = new Uint8Array(total || 1 << 16), loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw new Error(`cannot fetch ${what} ${s}: the download stopped after ${loaded}${total ? ` of ${total}` : ''} bytes (${e.message})`);
    }
    const { done, value } = chunk;
    if (done) break;
    if (loaded + value.length > buf.length) {
      const bigger = new Uint8Array(Math.max(buf.length * 2, loaded + value.length));
      bigger.set(buf.subarray(0, loaded));
      buf = bigger;
    }
    buf.set(value, loaded);
    loaded += value.length;
    if (!total && bundle && loaded >= 56) total = Number(new DataView(buf.buffer).getBigUint64(48, true));
    progress({ loaded, total: Math.max(total, loaded) });
  }
  if (loaded === 0) progress({ loaded, total: loaded });
  return buf.subarray(0, loaded);
}

/** node: reads a file (path or file: URL) in 1 MB chunks, reporting progress. */
async function readFile(path, progress) {
  const fs = await import('node:fs/promises');
  let fh;
  try {
    fh = await fs.open(path, 'r');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${e.message}`);
  }
  try {
    const { size } = await fh.stat();
    const out = new Uint8Array(size);
    let loaded = 0;
    while (loaded < size) {
      const { bytesRead } = await fh.read(out, loaded, Math.min(1 << 20, size - loaded), loaded);
      if (!bytesRead) break;
      loaded += bytesRead;
      progress({ loaded, total: size });
    }
    if (size === 0) progress({ loaded: 0, total: 0 });
    return out.subarray(0, loaded);
  } finally {
    await fh.close();
  }
}

const modules = new Map();

/** Compiles kernels.wasm once per URL (or per given bytes/module). */
function compileKernels(wasm) {
  if (wasm instanceof WebAssembly.Module) return Promise.resolve(wasm);
  const key = typeof wasm === 'string' || wasm instanceof URL ? String(wasm) : null;
  if (key && modules.has(key)) return modules.get(key);
  const p = readSource(wasm, 'kernels.wasm', () => {}, false).then((b) => WebAssembly.compile(b));
  if (key) {
    modules.set(key, p);
    p.catch(() => modules.delete(key));
  }
  return p;
}


/** Limits of the shared memory of kernels-mt*.wasm (build-wasm.sh links them with a 1 GiB maximum). */
const SHARED_PAGES = { initial: 17, maximum: 16384 };
/** A module of one function using f32x4.relaxed_madd: validates where relaxed SIMD is on. */
const RELAXED_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17, 0,
  65, 0, 253, 17, 65, 0, 253, 17, 65, 0, 253, 17, 253, 133, 2, 11]);
/** Bytes of each worker's wasm stack. */
const STACK = 65536;
/** Work (about floating-point operations; memory-bound ops count WORK_PER_FLOAT per element) from which a kernel call
 * is split over the pool; below it the call runs whole on the calling thread (handing parts out costs more). */
const SPLIT_WORK = 1 << 19;
/** Work units of one element of a memory-bound op (copies, activations). */
const WORK_PER_FLOAT = 16;

/**
 * The kernels for `options`: kernels.wasm on its own memory (one thread), or where SharedArrayBuffer is usable
 * kernels-mt(-fma).wasm on a shared memory with a pool of `threads − 1` workers.
 */
async function startKernels(options) {
  const shareable = typeof SharedArrayBuffer === 'function' && (isNode || globalThis.crossOriginIsolated === true);
  if (options.wasm !== undefined || !shareable) {
    const module = await compileKernels(options.wasm ?? new URL('./kernels.wasm', import.meta.url));
    return new Kernels(await WebAssembly.instantiate(module, {}), 'wasm-simd128', null);
  }
  const fallback = globalThis.navigator && navigator.hardwareConcurrency ? Math.min(navigator.hardwareConcurrency, 4) : 1;
  const threads = options.threads === undefined ? (isNode ? 1 : fallback) : Math.floor(Number(options.threads));
  if (!(threads >= 1 && threads <= 64)) throw new Error(`threads must be an integer from 1 to 64, got ${options.threads}`);
  const relaxed = options.relaxed !== false && WebAssembly.validate(RELAXED_PROBE);
  const module = await compileKernels(new URL(relaxed ? './kernels-mt-fma.wasm' : './kernels-mt.wasm', import.meta.url));
  const memory = new WebAssembly.Memory({ ...SHARED_PAGES, shared: true });
  const rt = new Kernels(await WebAssembly.instantiate(module, { env: { memory } }),
    relaxed ? 'wasm-relaxed-simd-threads' : 'wasm-simd128-threads', null, memory);
  if (threads > 1) rt.pool = await Pool.start(module, memory, rt, threads);
  return rt;
}

/**
 * Body of a pool worker (started from its source text: a Blob URL in browsers, `eval` in node). It instantiates the
 * shared kernels on the shared memory with its own stack, then waits for jobs on the control words: [0] job number,
 * [1] function index, [2] parts done, [3] failures, [4] argument count, [5] a model run is in progress, then float64
 * arguments from byte 64. It spins while a run is in progress (kernel calls follow each other closely) and sleeps
 * (Atomics.wait) between runs.
 */
function poolWorker() {
  /* global self, require */
  const port = typeof require === 'function' ? require('node:worker_threads').parentPort : self;
  const onMessage = (f) => (port.on ? port.on('message', f) : port.addEventListener('message', (e) => f(e.data)));
  onMessage(async ({ module, memory, control, names, stack, part }) => {
    const x = (await WebAssembly.instantiate(module, { env: { memory } })).exports;
    x.__stack_pointer.value = stack;
    const c = new Int32Array(control), args = new Float64Array(control, 64), fns = names.map((n) => x[n]);
    let seen = Atomics.load(c, 0); // before 'ready': no job starts until every worker is ready
    port.postMessage('ready');
    for (;;) {
      for (let spin = 0; Atomics.load(c, 0) === seen; spin++) if (spin > 20000 && !Atomics.load(c, 5)) Atomics.wait(c, 0, seen, 50);
      seen = Atomics.load(c, 0);
      const parts = args[c[4] - 1];
      try {
        if (part < parts) fns[c[1]](...args.subarray(0, c[4] - 1), part, parts);
      } catch (e) {
        Atomics.add(c, 3, 1);
      }
      Atomics.add(c, 2, 1);
    }
  });
}

/** `threads − 1` workers that run parts 1… of a kernel call while this thread runs part 0 (Parts.swift). */
class Pool {
  static async start(module, memory, rt, threads) {
    const names = Object.keys(rt.x).filter((n) => n.endsWith('_part'));
    const control = new SharedArrayBuffer(64 + 8 * 32);
    const source = `(${poolWorker})()`;
    let spawn;
    if (isNode) {
      const { Worker } = await import('node:worker_threads');
      // eval'd as a CommonJS script (require) whatever the parent's flags (--input-type=module); V8 flags are per process
      spawn = () => new Worker(source, { eval: true, execArgv: [] });
    } else {
      const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
      spawn = () => new Worker(url);
    }
    const workers = [];
    try {
      await Promise.all(Array.from({ length: threads - 1 }, (_, i) => new Promise((resolve, reject) => {
        const w = spawn();
        workers.push(w);
        const on = (ev, f) => (w.on ? w.on(ev, f) : w.addEventListener(ev, f));
        on('message', () => resolve());
        on('error', (e) => reject(new Error(`kernel worker failed: ${e.message || e}`)));
        w.postMessage({ module, memory, control, names, stack: rt.alloc(STACK) + STACK, part: i + 1 });
      })));
    } catch (e) {
      workers.forEach((w) => w.terminate());
      throw e;
    }
    if (isNode) workers.forEach((w) => w.unref());
    return new Pool(control, names, workers);
  }

  constructor(control, names, workers) {
    this.c = new Int32Array(control);
    this.args = new Float64Array(control, 64);
    this.index = new Map(names.map((n, i) => [n, i]));
    this.workers = workers;
    this.parts = workers.length + 1;
  }

  /** Runs fn(...args, part, parts) for every part: part 0 here, the others on the workers; returns when all are done. */
  run(fn, name, args) {
    const c = this.c, parts = this.parts;
    this.args.set(args);
    this.args[args.length] = parts;
    c[1] = this.index.get(name);
    c[4] = args.length + 1;
    Atomics.store(c, 2, 0);
    Atomics.add(c, 0, 1);
    Atomics.notify(c, 0);
    fn(...args, 0, parts);
    while (Atomics.load(c, 2) < parts - 1);
    if (Atomics.load(c, 3)) throw new Error(`${name}: a kernel worker trapped`);
  }

  /** A model run starts: the workers spin (no sleeping) until `end`; sleeping ones are woken now. */
  begin() {
    Atomics.store(this.c, 5, 1);
    Atomics.notify(this.c, 0);
  }

  /** The model run ended: the workers may sleep. */
  end() { Atomics.store(this.c, 5, 0); }

  stop() { this.workers.forEach((w) => w.terminate()); }
}

// MARK: bundle

/** Checks magic, version, sizes and the zero reserved bytes; returns the section offsets. */
function parseHeader(bytes) {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error('bad magic: not a .moe bundle (expected \\x89MOE\\r\\n\\x1a\\n)');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12) throw new Error(`truncated file: expected at least ${HEADER} bytes, got ${bytes.length}`);
  const version = dv.getUint32(8, true);
  if (version !== VERSION) throw new Error(`unknown bundle version ${version} (this reader knows version ${VERSION})`);
  const u64 = (o) => Number(dv.getBigUint64(o, true));
  if (bytes.length < HEADER) {
    const expected = bytes.length >= 56 ? u64(48) : HEADER;
    throw new Error(`truncated file: expected ${expected} bytes, got ${bytes.length}`);
  }
  const h = { jsonOffset: u64(16), jsonLength: u64(24), payloadOffset: u64(32), payloadLength: u64(40) };
  const fileLength = u64(48);
  if (bytes.length < fileLength) throw new Error(`truncated file: expected ${fileLength} bytes, got ${bytes.length}`);
  if (bytes.length > fileLength) throw new Error(`corrupt file: the header says ${fileLength} bytes, got ${bytes.length}`);
  for (const [start, end] of RESERVED) {
    for (let o = start; o < end; o++) {
      if (bytes[o] !== 0) {
        throw new Error(`corrupt header: reserved byte at offset ${o} is 0x${bytes[o].toString(16)} (bytes 56–63 and 96–127 must be zero)`);
      }
    }
  }
  if (dv.getUint32(12, true) !== HEADER || h.jsonOffset !== HEADER || h.jsonOffset + h.jsonLength > fileLength ||
      h.payloadOffset < h.jsonOffset + h.jsonLength || h.payloadOffset + h.payloadLength > fileLength) {
    throw new Error('corrupt header: section offsets do not fit the file');
  }
  return h;
}

/** SHA-256 through SubtleCrypto, or in JS where it is missing (plain-http pages). */
async function sha256(bytes) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (subtle) return new Uint8Array(await subtle.digest('SHA-256', bytes));
  const K = new Uint32Array(64), H = new Uint32Array(8);
  const frac = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
  for (let n = 2, i = 0; i < 64; n++) {
    let p = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) p = false;
    if (!p) continue;
    if (i < 8) H[i] = frac(Math.sqrt(n));
    K[i++] = frac(Math.cbrt(n));
  }
  const len = bytes.length, padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
  padded.set(bytes);
  padded[len] = 0x80;
  const dv = new DataView(padded.buffer);
  dv.setUint32(padded.length - 8, Math.floor(len / 2 ** 29), false);
  dv.setUint32(padded.length - 4, (len * 8) >>> 0, false);
  const w = new Uint32Array(64), r = (x, n) => (x >>> n) | (x << (32 - n));
  for (let o = 0; o < padded.length; o += 64) {
    for (let t = 0; t < 16; t++) w[t] = dv.getUint32(o + 4 * t, false);
    for (let t = 16; t < 64; t++) {
      const a = w[t - 15], b = w[t - 2];
      w[t] = w[t - 16] + (r(a, 7) ^ r(a, 18) ^ (a >>> 3)) + w[t - 7] + (r(b, 17) ^ r(b, 19) ^ (b >>> 10));
    }
    let [a, b, c, d, e, f, g, h] = H;
    for (let t = 0; t < 64; t++) {
      const t1 = (h + (r(e, 6) ^ r(e, 11) ^ r(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t]) >>> 0;
      const t2 = ((r(a, 2) ^ r(a, 13) ^ r(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      [h, g, f, e, d, c, b, a] = [g, f, e, (d + t1) >>> 0, c, b, a, (t1 + t2) >>> 0];
    }
    [a, b, c, d, e, f, g, h].forEach((v, i) => { H[i] += v; });
  }
  const out = new Uint8Array(32);
  H.forEach((v, i) => new DataView(out.buffer).setUint32(4 * i, v, false));
  return out;
}

/** Inflates one zlib stream (RFC 1950) with the built-in DecompressionStream. */
async function inflate(bytes, expected, what) {
  let out;
  try {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
    out = new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(`${what}: corrupt zlib stream (${e.message})`);
  }
  if (expected != null && out.length !== expected) {
    throw new Error(`${what}: zlib stream holds ${out.length} bytes, expected ${expected}`);
  }
  return out;
}

/** The scheme of an encoding name (QuantScheme's names), or null. */
function parseEncoding(name) {
  if (name === 'f32' || name === 'float32') return { kind: 'f32' };
  if (name === 'f16' || name === 'float16') return { kind: 'f16' };
  if (name === 'eightbit') return { kind: 'eightbit' };
  let m = /^int8(?:-a([1-9]\d*))?$/.exec(name);
  if (m) return { kind: 'int8', axis: +(m[1] || 0) };
  m = /^int4-g([1-9]\d*)(?:-a([1-9]\d*))?$/.exec(name);
  if (m) return { kind: 'int4', group: +m[1], axis: +(m[2] || 0) };
  m = /^palette([1-9]\d*)(-pc)?(?:-a([1-9]\d*))?$/.exec(name);
  if (m && +m[1] >= 2 && +m[1] <= 256 && (+m[1] & (+m[1] - 1)) === 0 && (m[2] || !m[3])) {
    return { kind: 'palette', k: +m[1], perChannel: !!m[2], axis: +(m[3] || 0) };
  }
  return null;
}

/** WebDNN eightbit magnitudes of codes 1…126 (fractions of a record's scale); code 0 is 0, 127 is 1. */
const EIGHTBIT = ('2.750000021e-06 7.249999726e-06 1.875000089e-05 3.624999954e-05 5.874999624e-05 8.624999464e-05 ' +
  '1.437500032e-04 2.312500001e-04 3.187500115e-04 4.062500084e-04 5.187499919e-04 6.562499912e-04 7.937499322e-04 ' +
  '9.312499315e-04 1.218750025e-03 1.656249980e-03 2.093750052e-03 2.531250007e-03 2.968749963e-03 3.406249918e-03 ' +
  '3.843750106e-03 4.281249829e-03 4.843750037e-03 5.531250034e-03 6.218749564e-03 6.906249560e-03 7.593749557e-03 ' +
  '8.281249553e-03 8.968749084e-03 9.656248614e-03 1.109374966e-02 1.328125037e-02 1.546875015e-02 1.765624993e-02 ' +
  '1.984374970e-02 2.203124948e-02 2.421874925e-02 2.640625089e-02 2.859375067e-02 3.078125045e-02 3.296874836e-02 ' +
  '3.515625000e-02 3.734375164e-02 3.953124955e-02 4.171875119e-02 4.390624911e-02 4.671875015e-02 5.015625060e-02 ' +
  '5.359374732e-02 5.703124776e-02 6.046874821e-02 6.390624493e-02 6.734374911e-02 7.078124583e-02 7.421874255e-02 ' +
  '7.765624672e-02 8.109374344e-02 8.453124017e-02 8.796874434e-02 9.140624106e-02 9.484373778e-02 9.828124195e-02 ' +
  '1.054687500e-01 1.164062470e-01 1.273437440e-01 1.382812560e-01 1.492187530e-01 1.601562500e-01 1.710937470e-01 ' +
  '1.820312440e-01 1.929687560e-01 2.039062530e-01 2.148437500e-01 2.257812470e-01 2.367187440e-01 2.476562560e-01 ' +
  '2.585937381e-01 2.695312500e-01 2.804687619e-01 2.914062440e-01 3.023437560e-01 3.132812381e-01 3.242187500e-01 ' +
  '3.351562619e-01 3.460937440e-01 3.570312560e-01 3.679687381e-01 3.789062500e-01 3.898437619e-01 4.007812440e-01 ' +
  '4.117187560e-01 4.226562381e-01 4.335937500e-01 4.445312619e-01 4.585937560e-01 4.757812321e-01 4.929687381e-01 ' +
  '5.101562142e-01 5.273437500e-01 5.445312262e-01 5.617187023e-01 5.789062381e-01 5.960937142e-01 6.132812500e-01 ' +
  '6.304687262e-01 6.476562023e-01 6.648437381e-01 6.820312142e-01 6.992186904e-01 7.164062262e-01 7.335937023e-01 ' +
  '7.507811785e-01 7.679687142e-01 7.851561904e-01 8.023436666e-01 8.195312023e-01 8.367186785e-01 8.539061546e-01 ' +
  '8.710936904e-01 8.882811666e-01 9.054686427e-01 9.226561785e-01 9.398436546e-01 9.570311308e-01 9.742186666e-01 ' +
  '9.914061427e-01').split(' ').map(Number);

/** Decodes every tensor of the manifest into wasm memory; returns name → {ptr, shape}. */
async function decodeWeights(rt, graph, manifest, bytes, header, onProgress) {
  const declared = new Map(graph.weights.map((w) => [w.name, w.shape]));
  const total = manifest.tensors.reduce((s, t) => s + (t.length | 0), 0);
  const weights = new Map();
  let loaded = 0;
  const report = () => onProgress && onProgress({ loaded, total, phase: 'decode' });
  for (const t of manifest.tensors) {
    const what = `tensor '${t.name}'`;
    const enc = parseEncoding(t.encoding);
    if (!enc) throw new Error(`unknown encoding '${t.encoding}' for tensor '${t.name}'`);
    const shape = declared.get(t.name);
    if (!shape) throw new Error(`${what} is not a weight of the graph`);
    if (!Array.isArray(t.shape) || !same(t.shape, shape)) {
      throw new Error(`${what}: shape ${fmt(t.shape || [])} differs from the graph's ${fmt(shape)}`);
    }
    const start = header.payloadOffset, end = start + header.payloadLength;
    if (!(t.offset >= start && t.length >= 0 && t.offset + t.length <= end)) {
      throw new Error(`${what}: payload [${t.offset}, +${t.length}) lies outside the payload section`);
    }
    let payload = bytes.subarray(t.offset, t.offset + t.length);
    if (t.deflate) payload = await inflate(payload, t.raw_length, what);
    weights.set(t.name, { ptr: await decodeTensor(rt, enc, t, shape, payload, what), shape });
    loaded += t.length;
    report();
  }
  if (manifest.tensors.length === 0) report();
  for (const [name] of declared) {
    if (!weights.has(name)) throw new Error(`weight '${name}' has no tensor in the bundle`);
  }
  return weights;
}

/** Decodes one payload into a new weight buffer; returns its address. */
async function decodeTensor(rt, enc, t, shape, payload, what) {
  const n = prod(shape);
  const dst = rt.alloc(4 * n);
  const expect = (size) => {
    if (payload.length !== size) {
      throw new Error(`${what} (${t.encoding}): payload is ${payload.length} bytes, expected ${size}`);
    }
  };
  let outer = 1, channels = 1, inner = n;
  if (enc.axis !== undefined && shape.length > 1) {
    if (enc.axis >= shape.length) throw new Error(`${what} (${t.encoding}): axis ${enc.axis} out of range for ${fmt(shape)}`);
    outer = prod(shape.slice(0, enc.axis));
    channels = shape[enc.axis];
    inner = prod(shape.slice(enc.axis + 1));
  }
  const mark = rt.x.moe_alloc(0);
  const x = rt.x;
  if (enc.kind === 'f32') {
    expect(4 * n);
    rt.u8().set(payload, dst);
  } else if (enc.kind === 'f16') {
    expect(2 * n);
    x.moe_decode_f16(rt.copyIn(payload), dst, n);
  } else if (enc.kind === 'int8') {
    expect(4 * channels + n);
    x.moe_decode_int8(rt.copyIn(payload), dst, outer, channels, inner);
  } else if (enc.kind === 'int4') {
    expect(2 * channels * Math.ceil((outer * inner) / enc.group) + Math.ceil(n / 2));
    x.moe_decode_int4(rt.copyIn(payload), dst, outer, channels, inner, enc.group);
  } else if (enc.kind === 'palette') {
    const bits = Math.log2(enc.k), books = enc.perChannel ? channels : 1;
    if (!enc.perChannel) [outer, channels, inner] = [1, 1, n];
    expect(2 * books * enc.k + Math.ceil((n * bits) / 8));
    x.moe_decode_palette(rt.copyIn(payload), dst, outer, channels, inner, enc.k, books);
  } else {
    await decodeEightbit(rt, payload, dst, n, what);
  }
  x.moe_reset(mark);
  return dst;
}

/** eightbit: records (i32 offset, i32 body size, f32 scale, i32 0, zlib body of one code per element). */
async function decodeEightbit(rt, payload, dst, n, what) {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const table = new Float32Array(256);
  let at = 0, done = 0;
  while (at < payload.length) {
    if (at + 16 > payload.length) throw new Error(`${what} (eightbit): record at byte ${at} is truncated`);
    const offset = dv.getInt32(at, true), size = dv.getInt32(at + 4, true), scale = dv.getFloat32(at + 8, true);
    if (offset !== done || size < 0 || at + 16 + size > payload.length || !(scale >= 0) || dv.getInt32(at + 12, true) !== 0) {
      throw new Error(`${what} (eightbit): corrupt record at byte ${at}`);
    }
    const codes = await inflate(payload.subarray(at + 16, at + 16 + size), null, what);
    if (done + codes.length > n) throw new Error(`${what} (eightbit): records hold more than ${n} elements`);
    for (let i = 0; i < 128; i++) {
      table[i] = (i === 0 ? 0 : i === 127 ? 1 : EIGHTBIT[i - 1]) * scale;
      table[i + 128] = -table[i];
    }
    const mark = rt.x.moe_alloc(0);
    rt.x.moe_decode_lut8(rt.copyIn(codes), dst + 4 * done, codes.length, rt.copyIn(table));
    rt.x.moe_reset(mark);
    done += codes.length;
    at += 16 + size;
  }
  if (done !== n) throw new Error(`${what} (eightbit): records hold ${done} elements, the shape needs ${n}`);
}

// MARK: graph text

// BEGIN GENERATED OPS — from Sources/MoeIR/OpSchema+Table.swift; do not edit, run `make generated`.
/** Attributes of every op in canonical order (Formats/ir.md); all must be written. */
const OPS = {
  linear: [], gemm: ['alpha', 'beta', 'trans_a', 'trans_b'], matmul: [],
  conv2d: ['strides', 'pads', 'dilations', 'groups'], conv_transpose2d: ['strides', 'pads', 'dilations', 'output_padding', 'groups'], conv2d_filter_grad: ['strides', 'pads', 'dilations', 'groups'],
  batch_norm: ['eps'], batch_norm_training: ['eps'], relu: [],
  tanh: [], sigmoid: [], softplus: [],
  neg: [], exp: [], log: [],
  sqrt: [], reciprocal: [], abs: [],
  square: [], sign: [], erf: [],
  mish: [], add: [], sub: [],
  mul: [], div: [], pow: [],
  max: [], min: [], greater: [],
  less: [], equal: [], leaky_relu: ['alpha'],
  clip: ['min', 'max'], prelu: [], where: [],
  cast: ['to'], reduce_sum: ['axes', 'keepdims'], reduce_mean: ['axes', 'keepdims'],
  reduce_max: ['axes', 'keepdims'], reduce_min: ['axes', 'keepdims'], sum_to: [],
  broadcast_to: [], softmax: ['axis'], log_softmax: ['axis'],
  instance_norm: ['eps'], group_norm: ['groups', 'eps'], pad: ['mode', 'pads', 'value'],
  max_pool: ['kernel', 'strides', 'pads', 'dilations', 'ceil_mode'], average_pool: ['kernel', 'strides', 'pads', 'dilations', 'ceil_mode', 'count_include_pad'], global_average_pool: [],
  global_max_pool: [], resize: ['mode', 'coordinates', 'nearest', 'scales'], reshape: ['shape'],
  flatten: ['axis'], transpose: ['perm'], depth_to_space: ['block_size', 'mode'],
  space_to_depth: ['block_size'], concat: ['axis'], slice: ['starts', 'ends', 'axes', 'steps'],
  identity: [], constant: ['value'],
};
/** Optional epilogue attributes and the ops that may carry them. */
const EPILOGUE = ['act', 'residual'];
const EPILOGUE_OPS = ['linear', 'conv2d', 'conv_transpose2d'];
/** Outputs of the ops that define more than one value. */
const OUTPUTS = {
  batch_norm_training: 3,
};
/** Unary codes of the wasm ABI (moe_unary; codes 1…5 are also the fused activations). */
const ACT = {
  relu: 1, tanh: 3, sigmoid: 4, softplus: 5, neg: 6, exp: 7, log: 8, sqrt: 9,
  reciprocal: 10, abs: 11, square: 12, sign: 13, erf: 17, mish: 18, leaky_relu: 2,
};
/** Binary codes of the wasm ABI (moe_binary). */
const BINARY = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, max: 5, min: 6, greater: 7,
  less: 8, equal: 9, prelu: 10,
};
// END GENERATED OPS
/** Element types an input may declare; values of every type travel as float32 (bool as 0/1, integers integral). */
const DTYPES = ['f32', 'f16', 'f64', 'i64', 'i32', 'i8', 'u8', 'bool'];

/** Parses the IR text of Formats/ir.md into {name, metadata, inputs, weights, nodes, outputs}. */
function parseIR(text) {
  const g = { name: '', metadata: {}, inputs: [], weights: [], nodes: [], outputs: [] };
  const lines = text.split('\n');
  let seenVersion = false;
  lines.forEach((line, ln) => {
    if (line === '' || line.startsWith('#')) return;
    const c = new Cursor(line, ln + 1);
    const word = c.word();
    if (!seenVersion) {
      if (word !== 'moeir') c.fail('expected "moeir VERSION"');
      const v = c.rest();
      if (v !== '1') throw new Error(`unknown IR version ${v} (this reader knows version 1)`);
      seenVersion = true;
      return;
    }
    if (word === 'graph') g.name = c.string();
    else if (word === 'meta') g.metadata[c.string()] = c.string();
    else if (word === 'input' || word === 'weight') {
      const name = c.value();
      c.expect(':');
      const dtype = c.word();
      if (!DTYPES.includes(dtype)) c.fail(`${word} '${name}' has dtype ${dtype}; expected one of ${DTYPES.join(', ')}`);
      (word === 'input' ? g.inputs : g.weights).push({ name, dtype, shape: c.dims() });
    } else if (word === 'node') {
      const node = { name: c.string(), outputs: [c.value()], inputs: [], attrs: {} };
      while (c.eat(',')) node.outputs.push(c.value());
      c.expect('=');
      node.op = c.word();
      c.expect('(');
      if (!c.eat(')')) {
        do node.inputs.push(c.value()); while (c.eat(','));
        c.expect(')');
      }
      if (c.eat('{')) {
        do {
          const key = c.word();
          c.expect('=');
          node.attrs[key] = c.attribute();
        } while (c.eat(','));
        c.expect('}');
      }
      c.end();
      checkNode(node);
      g.nodes.push(node);
    } else if (word === 'output') g.outputs.push(c.value());
    else c.fail(`unknown line kind '${word}'`);
  });
  if (!seenVersion) throw new Error('graph text: missing "moeir 1" line');
  return g;
}

/** Checks op name, output count and attribute names of a node. */
function checkNode(node) {
  const allowed = Object.hasOwn(OPS, node.op) ? OPS[node.op] : null;
  if (!allowed) throw new Error(`unsupported op '${node.op}' in node '${node.name}'`);
  const fusable = EPILOGUE_OPS.includes(node.op);
  for (const k of Object.keys(node.attrs)) {
    if (!allowed.includes(k) && !(fusable && EPILOGUE.includes(k))) {
      throw new Error(`node '${node.name}' (${node.op}): unknown attribute '${k}'`);
    }
  }
  for (const k of allowed) {
    if (!(k in node.attrs)) throw new Error(`node '${node.name}' (${node.op}): missing attribute '${k}'`);
  }
  const outputs = OUTPUTS[node.op] || 1;
  if (node.outputs.length !== outputs) {
    throw new Error(`node '${node.name}' (${node.op}): expected ${outputs} output${outputs > 1 ? 's' : ''}, got ${node.outputs.length}`);
  }
}

/** A position in one line of IR text. */
class Cursor {
  constructor(s, line) { this.s = s; this.i = 0; this.line = line; }
  fail(m) { throw new Error(`graph text line ${this.line}: ${m}`); }
  ws() { while (this.s[this.i] === ' ') this.i++; }
  eat(ch) { this.ws(); if (this.s[this.i] === ch) { this.i++; return true; } return false; }
  expect(ch) { if (!this.eat(ch)) this.fail(`expected '${ch}' at column ${this.i + 1}`); }
  end() { this.ws(); if (this.i < this.s.length) this.fail(`unexpected '${this.s.slice(this.i)}'`); }
  rest() { this.ws(); return this.s.slice(this.i).trim(); }
  word() {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i));
    if (!m) this.fail(`expected a word at column ${this.i + 1}`);
    this.i += m[0].length;
    return m[0];
  }
  string() {
    this.expect('"');
    let out = '';
    for (;;) {
      const ch = this.s[this.i++];
      if (ch === undefined) this.fail('unterminated string');
      if (ch === '"') return out;
      if (ch !== '\\') { out += ch; continue; }
      const e = this.s[this.i++];
      out += e === 'n' ? '\n' : e === 't' ? '\t' : e;
    }
  }
  value() {
    this.expect('%');
    if (this.s[this.i] === '"') return this.string();
    const m = /^[A-Za-z0-9_./:-]+/.exec(this.s.slice(this.i));
    if (!m) this.fail(`expected a value name at column ${this.i + 1}`);
    this.i += m[0].length;
    return m[0];
  }
  dims() {
    this.expect('[');
    const out = [];
    if (this.eat(']')) return out;
    do {
      this.ws();
      const m = /^(-?\d+|[A-Za-z_][A-Za-z0-9_]*)/.exec(this.s.slice(this.i));
      if (!m) this.fail(`expected a dimension at column ${this.i + 1}`);
      this.i += m[0].length;
      out.push(/^-?\d/.test(m[0]) ? +m[0] : m[0]);
    } while (this.eat(','));
    this.expect(']');
    return out;
  }
  /** An attribute list: numbers (integers or floats) and words. */
  list() {
    this.expect('[');
    const out = [];
    if (this.eat(']')) return out;
    do {
      this.ws();
      const m = /^[^,\]\s]+/.exec(this.s.slice(this.i));
      if (!m) this.fail(`expected a list element at column ${this.i + 1}`);
      this.i += m[0].length;
      out.push(/^[A-Za-z_]\w*$/.test(m[0]) && !/^(inf|nan)$/.test(m[0]) ? m[0] : parseNumber(m[0]));
    } while (this.eat(','));
    this.expect(']');
    return out;
  }
  attribute() {
    this.ws();
    if (this.s[this.i] === '[') return this.list();
    if (this.s.startsWith('f32[', this.i)) {
      this.i += 3;
      const shape = this.dims();
      this.expect('{');
      const close = this.s.indexOf('}', this.i);
      if (close < 0) this.fail('unterminated tensor literal');
      const body = this.s.slice(this.i, close).trim();
      this.i = close + 1;
      const data = Float32Array.from(body ? body.split(',').map(parseNumber) : []);
      if (data.length !== prod(shape)) this.fail(`tensor literal has ${data.length} values for ${fmt(shape)}`);
      return { shape, data };
    }
    const m = /^[^,}\s]+/.exec(this.s.slice(this.i));
    if (!m) this.fail(`expected an attribute value at column ${this.i + 1}`);
    this.i += m[0].length;
    return m[0];
  }
}

function parseNumber(s) {
  s = s.trim();
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  if (s === 'nan') return NaN;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) throw new Error(`graph text: '${s}' is not a number`);
  return v;
}

// MARK: kernels

/** The wasm instance with fresh typed-array views (memory may grow), a bump allocator and the thread pool (or null). */
class Kernels {
  constructor(instance, backend, pool, memory) {
    this.x = instance.exports;
    this.memory = memory || this.x.memory;
    this.backend = backend;
    this.pool = pool;
    this.buffer = null;
  }
  /** Threads a kernel call is split over. */
  get threads() { return this.pool ? this.pool.parts : 1; }
  /**
   * Runs export `name` (a Parts.swift entry point) as `name`(...args, part, parts): on every thread when `work`
   * reaches SPLIT_WORK, else whole here (part 0 of 1; the same bits, Parts.swift).
   */
  parts(name, args, work) {
    const fn = this.x[name];
    if (this.pool && work >= SPLIT_WORK) this.pool.run(fn, name, args);
    else fn(...args, 0, 1);
  }
  views() {
    const buffer = this.memory.buffer;
    if (this.buffer !== buffer || this._u8.length !== buffer.byteLength) {
      this.buffer = buffer;
      this._f32 = new Float32Array(this.buffer);
      this._u8 = new Uint8Array(this.buffer);
      this._i32 = new Int32Array(this.buffer);
    }
  }
  f32() { this.views(); return this._f32; }
  u8() { this.views(); return this._u8; }
  i32() { this.views(); return this._i32; }
  alloc(bytes) {
    const p = this.x.moe_alloc(bytes);
    if (!p) throw new Error(`out of memory: cannot allocate ${bytes} more bytes of wasm memory`);
    return p;
  }
  /** Copies bytes (or a typed array) into fresh memory; returns the address. */
  copyIn(data) {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const p = this.alloc(bytes.length);
    this.u8().set(bytes, p);
    return p;
  }
}

// MARK: model

/** A loaded model: `inputs`, `outputs`, `metadata` and `run`. */
class Model {
  constructor(rt, graph, manifest, weights) {
    this.rt = rt;
    this.graph = graph;
    this.weights = weights;
    /** @type {{name: string, shape: number[]}[]} graph inputs; a symbolic dimension (the batch) is -1 */
    this.inputs = graph.inputs.map((v) => ({ name: v.name, shape: v.shape.map((d) => (typeof d === 'number' ? d : -1)) }));
    /** @type {{name: string, shape: number[]}[]} graph outputs as the manifest lists them */
    this.outputs = graph.outputs.map((name) => {
      const m = (manifest.outputs || []).find((o) => o.name === name);
      return { name, shape: m ? m.shape.slice() : [] };
    });
    /** @type {object} the manifest's metadata, plus `architecture`, `producer` and `vocabulary` when present */
    this.metadata = { ...(manifest.metadata || {}) };
    for (const k of ['architecture', 'producer', 'source', 'vocabulary']) if (manifest[k] != null) this.metadata[k] = manifest[k];
    for (const n of graph.nodes) {
      if (n.op === 'constant') {
        const v = n.attrs.value;
        const ptr = rt.alloc(4 * v.data.length);
        rt.f32().set(v.data, ptr >> 2);
        this.weights.set(n.outputs[0], { ptr, shape: v.shape });
      }
    }
    for (const n of graph.nodes) n.winograd = winogradWeights(rt, n, this.weights);
    this.base = rt.x.moe_alloc(0);
    this.plan = null;
  }

  /**
   * Runs the graph.
   * @param {Object<string, {data: Float32Array|number[]|boolean[]|Uint8Array|BigInt64Array, shape: number[]}>} feeds
   *   one entry per graph input (any numeric typed array; bool and integer inputs travel as float32)
   * @returns {Promise<Object<string, {data: Float32Array, shape: number[]}>>} one entry per graph output
   * @throws {Error} naming the input that is missing, unknown or of the wrong shape
   */
  async run(feeds) {
    if (!feeds || typeof feeds !== 'object') throw new TypeError('run: expected an object of named inputs');
    for (const k of Object.keys(feeds)) {
      if (!this.graph.inputs.some((v) => v.name === k)) {
        throw new Error(`unknown input '${k}' (the model takes ${this.graph.inputs.map((v) => `'${v.name}'`).join(', ')})`);
      }
    }
    const symbols = {};
    const shapes = new Map();
    for (const v of this.graph.inputs) {
      const f = feeds[v.name];
      if (!f || !f.shape || !f.data) throw new Error(`missing input '${v.name}' ({data, shape} with shape ${fmt(v.shape)})`);
      const shape = Array.from(f.shape);
      const bad = shape.length !== v.shape.length || v.shape.some((d, i) => {
        if (!Number.isInteger(shape[i]) || shape[i] < 1) return true;
        if (typeof d === 'number') return d !== shape[i];
        if (symbols[d] !== undefined && symbols[d] !== shape[i]) return true;
        symbols[d] = shape[i];
        return false;
      });
      if (bad) throw new Error(`input '${v.name}': shape ${fmt(shape)} does not match ${fmt(v.shape)}`);
      if (f.data.length !== prod(shape)) {
        throw new Error(`input '${v.name}': data has ${f.data.length} values, shape ${fmt(shape)} needs ${prod(shape)}`);
      }
      shapes.set(v.name, shape);
    }
    const key = JSON.stringify([...shapes]);
    if (!this.plan || this.plan.key !== key) {
      this.plan = null;
      this.rt.x.moe_reset(this.base);
      this.plan = buildPlan(this, shapes);
      this.plan.key = key;
    }
    const p = this.plan;
    for (const v of this.graph.inputs) this.rt.f32().set(asFloats(feeds[v.name].data), p.ptr(v.name) >> 2);
    const pool = this.rt.pool;
    if (pool) pool.begin();
    try {
      for (const step of p.steps) step();
    } finally {
      if (pool) pool.end();
    }
    const out = {};
    for (const name of this.graph.outputs) {
      const at = p.ptr(name) >> 2, shape = p.shapes.get(name);
      out[name] = { data: this.rt.f32().slice(at, at + prod(shape)), shape };
    }
    return out;
  }

  /** Bytes of wasm memory (weights, activations, scratch). */
  get memoryBytes() { return this.rt.memory.buffer.byteLength; }

  /** The kernel build: 'wasm-simd128' (kernels.wasm), 'wasm-simd128-threads' or 'wasm-relaxed-simd-threads'. */
  get backend() { return this.rt.backend; }

  /** Threads each kernel call is split over. */
  get threads() { return this.rt.threads; }

  /** Stops the kernel workers (the model cannot run afterwards). */
  dispose() {
    if (this.rt.pool) this.rt.pool.stop();
    this.rt.pool = null;
    this.plan = null;
    this.run = async () => { throw new Error('run: the model was disposed'); };
  }
}

/** Input data as something Float32Array.set takes: BigInt and boolean arrays become numbers. */
function asFloats(data) {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float32Array.from(data, Number);
  if (Array.isArray(data) && data.some((v) => typeof v !== 'number')) return Float32Array.from(data, Number);
  return data;
}

// MARK: plan

/**
 * Lowers the graph for concrete input shapes: infers every shape, places activations in one arena (values whose
 * lifetimes do not overlap share memory; reshape-like ops alias, elementwise ops overwrite a dying input), and
 * builds one closure per node.
 */
function buildPlan(model, inputShapes) {
  const { rt, graph, weights } = model;
  const shapes = new Map(inputShapes);
  for (const [name, w] of weights) shapes.set(name, w.shape);
  const lastUse = new Map();
  graph.nodes.forEach((n, i) => n.inputs.forEach((v) => lastUse.set(v, i + 1)));
  const end = graph.nodes.length + 1;
  for (const o of graph.outputs) lastUse.set(o, end);
  const requests = [];
  const slot = new Map(); // value → request index (arena), or -1 for a fixed address (weights and their aliases)
  const fixed = new Map();
  const fresh = (floats, first, last) => requests.push({ floats, first, last }) - 1;
  for (const [name, w] of weights) {
    slot.set(name, -1);
    fixed.set(name, w.ptr);
  }
  for (const v of graph.inputs) slot.set(v.name, fresh(prod(shapes.get(v.name)), 0, lastUse.get(v.name) ?? 0));
  const lowered = [];
  graph.nodes.forEach((node, i) => {
    const t = i + 1;
    const ins = node.inputs.map((v) => {
      if (!shapes.has(v)) throw new Error(`node '${node.name}' (${node.op}): unknown value '${v}'`);
      return shapes.get(v);
    });
    const op = lowerNode(rt, node, ins);
    const out = node.outputs[0];
    shapes.set(out, op.shape);
    const last = Math.max(t, lastUse.get(out) ?? t);
    (op.extra || []).forEach((shape, k) => {
      const v = node.outputs[k + 1];
      shapes.set(v, shape);
      slot.set(v, fresh(prod(shape), t, Math.max(t, lastUse.get(v) ?? t)));
    });
    let s;
    if (op.constant) s = -1;
    else if (op.alias) {
      s = slot.get(node.inputs[0]);
      if (s >= 0) requests[s].last = Math.max(requests[s].last, last);
      else fixed.set(out, fixed.get(node.inputs[0]));
    } else if (op.inPlace) {
      for (const k of op.inPlace) {
        const c = slot.get(node.inputs[k]);
        if (c < 0 || requests[c].last !== t || node.inputs.some((v, j) => j !== k && slot.get(v) === c)) continue;
        requests[c].last = last;
        s = c;
        break;
      }
    }
    if (s === undefined) s = fresh(prod(op.shape), t, last);
    slot.set(out, s);
    const scratch = op.scratch > 0 ? fresh(op.scratch, t, t) : null;
    lowered.push({ op, node, s, scratch });
  });
  const offsets = placeBuffers(requests);
  const arenaBytes = 4 * requests.reduce((m, r, i) => Math.max(m, offsets[i] + align(r.floats)), 16);
  const arena = rt.alloc(arenaBytes);
  const ptr = (name) => {
    const s = slot.get(name);
    return s < 0 ? fixed.get(name) : arena + 4 * offsets[s];
  };
  const steps = lowered.map(({ op, node, scratch }) =>
    op.bind(node.inputs.map(ptr), ptr(node.outputs[0]), scratch === null ? 0 : arena + 4 * offsets[scratch], node.outputs.map(ptr)));
  return { shapes, steps, ptr, arenaBytes };
}

const align = (floats) => (floats + 15) & ~15;

/** Best-fit placement, largest first, of buffers alive over [first, last] (in floats, 64-byte aligned). */
function placeBuffers(requests) {
  const offsets = new Array(requests.length).fill(0);
  const order = requests.map((_, i) => i).sort((a, b) => requests[b].floats - requests[a].floats ||
    requests[a].first - requests[b].first || a - b);
  const placed = [];
  for (const i of order) {
    const r = requests[i], size = align(r.floats);
    const busy = placed.filter((j) => requests[j].first <= r.last && r.first <= requests[j].last)
      .map((j) => [offsets[j], offsets[j] + align(requests[j].floats)]).sort((a, b) => a[0] - b[0]);
    let best = -1, bestGap = Infinity, cursor = 0;
    for (const [s, e] of busy) {
      if (s - cursor >= size && s - cursor < bestGap) { best = cursor; bestGap = s - cursor; }
      cursor = Math.max(cursor, e);
    }
    offsets[i] = best >= 0 ? best : cursor;
    placed.push(i);
  }
  return offsets;
}

// MARK: ops

const int = (v, what) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${what} must be an integer, got '${v}'`);
  return n;
};
const num = (v, what) => {
  const n = parseNumber(String(v));
  if (Number.isNaN(n)) throw new Error(`${what} must be a number, got '${v}'`);
  return n;
};

/** Epilogue codes of a fused node: [activation, alpha, residual]. */
function epilogueOf(node) {
  const a = node.attrs.act, r = node.attrs.residual;
  let act = 0, alpha = 0;
  if (a !== undefined) {
    if (a.startsWith('leaky_relu:')) [act, alpha] = [2, num(a.slice(11), 'act alpha')];
    else if (a === 'relu' || a === 'tanh' || a === 'sigmoid') act = ACT[a];
    else throw new Error(`node '${node.name}': attribute 'act' must be relu, tanh, sigmoid or leaky_relu:ALPHA`);
  }
  const residual = r === undefined ? 0 : r === 'before' ? 1 : r === 'after' ? 2 : -1;
  if (residual < 0) throw new Error(`node '${node.name}': attribute 'residual' must be before or after`);
  return [act, alpha, residual];
}

/** NumPy broadcast of two shapes, or null. */
function broadcastShape(a, b) {
  const r = Math.max(a.length, b.length), out = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Row-major strides of `shape` read as broadcast to `to` (0 along broadcast dimensions). */
function broadcastStrides(shape, to) {
  const s = new Array(to.length).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = i + to.length - shape.length;
    s[d] = shape[i] === 1 ? 0 : acc;
    acc *= shape[i];
  }
  return s;
}

/** Copies a strided view (shape, element strides, base) of `src` into contiguous `dst` (both Float32Array). */
function gather(src, base, shape, strides, dst, at) {
  const r = shape.length, n = prod(shape);
  if (n === 0) return;
  if (r === 0) { dst[at] = src[base]; return; }
  const inner = shape[r - 1], s = strides[r - 1], idx = new Array(r).fill(0);
  let off = base;
  for (let done = 0; done < n; done += inner) {
    if (s === 1) dst.set(src.subarray(off, off + inner), at);
    else for (let i = 0; i < inner; i++) dst[at + i] = src[off + i * s];
    at += inner;
    for (let d = r - 2; d >= 0; d--) {
      off += strides[d];
      if (++idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** ONNX slice indices of one axis. */
function sliceRange(dim, start, end, step) {
  let s = start < 0 ? start + dim : start, e = end < 0 ? end + dim : end;
  if (step > 0) { s = Math.min(Math.max(s, 0), dim); e = Math.min(Math.max(e, 0), dim); } else {
    s = Math.min(Math.max(s, 0), dim - 1); e = Math.min(Math.max(e, -1), dim - 1);
  }
  const count = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
  return { first: s, count };
}

/**
 * Lowers one node for concrete input shapes: returns {shape, extra?, scratch (floats), alias?, inPlace?,
 * bind(ins, out, scratch, outs)} where bind returns the closure that runs it; `extra` lists the shapes of the outputs
 * after the first (multi-output ops), whose addresses `outs` holds.
 */
function lowerNode(rt, node, s) {
  const x = rt.x, a = node.attrs, at = `node '${node.name}' (${node.op})`;
  const fail = (m) => { throw new Error(`${at}: ${m}`); };
  const arity = (lo, hi = lo) => { if (s.length < lo || s.length > hi) fail(`expected ${lo === hi ? lo : `${lo}–${hi}`} inputs, got ${s.length}`); };
  const ints = (k) => { const v = a[k]; if (!Array.isArray(v) || !v.every(Number.isInteger)) fail(`attribute '${k}' must be an integer list`); return v; };
  const unary = (code, alpha = 0) => ({
    shape: s[0], scratch: 0, inPlace: [0],
    bind: ([i], o) => () => unaryOn(rt, code, i, o, prod(s[0]), alpha),
  });
  switch (node.op) {
    case 'relu': case 'tanh': case 'sigmoid': case 'softplus': arity(1); return unary(ACT[node.op]);
    case 'leaky_relu': arity(1); return unary(2, num(a.alpha, `${at} alpha`));
    case 'identity': arity(1); return { shape: s[0], alias: true, bind: () => () => {} };
    case 'reshape': {
      arity(1);
      const spec = ints('shape'), n = prod(s[0]);
      const shape = spec.map((d, i) => (d === 0 ? s[0][i] : d));
      const known = prod(shape.filter((d) => d !== -1));
      const holes = shape.filter((d) => d === -1).length;
      if (holes > 1 || shape.some((d) => d < -1)) fail(`bad shape ${fmt(spec)}`);
      if (holes) shape[shape.indexOf(-1)] = known ? n / known : 0;
      if (prod(shape) !== n || !shape.every(Number.isInteger)) fail(`cannot reshape ${fmt(s[0])} to ${fmt(spec)}`);
      return { shape, alias: true, bind: () => () => {} };
    }
    case 'flatten': {
      arity(1);
      let ax = int(a.axis, `${at} axis`);
      if (ax < 0) ax += s[0].length;
      if (ax < 0 || ax > s[0].length) fail(`axis ${a.axis} out of range`);
      return { shape: [prod(s[0].slice(0, ax)), prod(s[0].slice(ax))], alias: true, bind: () => () => {} };
    }
    case 'constant': return { shape: a.value.shape, constant: true, bind: () => () => {} };
    case 'batch_norm': {
      arity(5);
      const [n, c] = s[0], inner = prod(s[0].slice(2)), eps = num(a.eps, `${at} eps`);
      if (s[0].length < 2 || s.slice(1).some((p) => prod(p) !== c)) fail(`parameters must have ${c} values`);
      return {
        shape: s[0], scratch: 0, inPlace: [0],
        bind: ([i, g, b, m, v], o) => () => x.moe_batch_norm(i, g, b, m, v, o, n, c, inner, eps),
      };
    }
    case 'add': case 'sub': case 'mul': arity(2); return lowerBinary(rt, node, s, fail);
    case 'div': case 'pow': case 'max': case 'min': case 'greater': case 'less': case 'equal': case 'prelu':
      arity(2); return lowerBinary(rt, node, s, fail);
    case 'depth_to_space': {
      arity(1);
      const b = int(a.block_size, `${at} block_size`), mode = a.mode === 'DCR' ? 0 : a.mode === 'CRD' ? 1 : fail('mode must be DCR or CRD');
      const [n, c, h, w] = s[0];
      if (s[0].length !== 4 || b < 1 || c % (b * b)) fail(`cannot rearrange ${fmt(s[0])} by block ${b}`);
      const run = rt.threads > 1 ? (i, o) => rt.parts('moe_depth_to_space_part', [i, o, n, c, h, w, b, mode], WORK_PER_FLOAT * prod(s[0]))
        : (i, o) => x.moe_depth_to_space(i, o, n, c, h, w, b, mode);
      return { shape: [n, c / (b * b), h * b, w * b], scratch: 0, bind: ([i], o) => () => run(i, o) };
    }
    case 'conv2d': case 'conv_transpose2d': return lowerConv(rt, node, s, fail, ints);
    case 'linear': {
      const [act, alpha, residual] = epilogueOf(node);
      const res = residual ? 1 : 0;
      arity(2 + res, 3 + res);
      const rows = s[0][0], inF = prod(s[0].slice(1)), [outF, wIn] = s[1];
      if (s[1].length !== 2 || wIn !== inF) fail(`x ${fmt(s[0])} does not fit W ${fmt(s[1])}`);
      const bias = s.length - res === 3;
      if (bias && prod(s[2]) !== outF) fail(`bias must have ${outF} values`);
      if (res && prod(s[s.length - 1]) !== rows * outF) fail(`residual ${fmt(s[s.length - 1])} does not match [${rows},${outF}]`);
      return {
        shape: [rows, outF], scratch: 0,
        bind: (p, o) => {
          const args = [p[0], p[1], bias ? p[2] : 0, res ? p[p.length - 1] : 0, o, rows, inF, outF, act, alpha, residual];
          return rt.threads > 1 ? () => rt.parts('moe_linear_part', args, 2 * rows * inF * outF) : () => x.moe_linear(...args);
        },
      };
    }
    case 'matmul': case 'gemm': return lowerMatmul(rt, node, s, fail);
    case 'transpose': {
      arity(1);
      const perm = ints('perm');
      if (perm.length !== s[0].length || [...perm].sort().some((p, i) => p !== i)) fail(`bad perm ${fmt(perm)}`);
      const strides = broadcastStrides(s[0], s[0]);
      const shape = perm.map((p) => s[0][p]), st = perm.map((p) => strides[p]);
      return { shape, scratch: 0, bind: ([i], o) => () => { const f = rt.f32(); gather(f, i >> 2, shape, st, f, o >> 2); } };
    }
    case 'slice': {
      arity(1);
      const [starts, ends, axes, steps] = ['starts', 'ends', 'axes', 'steps'].map(ints);
      const shape = s[0].slice(), st = broadcastStrides(s[0], s[0]);
      const strides = st.slice();
      let base = 0;
      axes.forEach((ax, k) => {
        const d = ax < 0 ? ax + s[0].length : ax;
        if (d < 0 || d >= s[0].length || !steps[k]) fail(`bad axis ${ax} or step ${steps[k]}`);
        const r = sliceRange(s[0][d], starts[k], ends[k], steps[k]);
        shape[d] = r.count;
        if (r.count) base += r.first * st[d];
        strides[d] = st[d] * steps[k];
      });
      return { shape, scratch: 0, bind: ([i], o) => () => { const f = rt.f32(); gather(f, (i >> 2) + base, shape, strides, f, o >> 2); } };
    }
    case 'concat': {
      if (s.length < 1) fail('expected at least one input');
      let ax = int(a.axis, `${at} axis`);
      if (ax < 0) ax += s[0].length;
      const shape = s[0].slice();
      shape[ax] = 0;
      for (const p of s) {
        if (p.length !== s[0].length || p.some((d, i) => i !== ax && d !== s[0][i])) fail(`shapes ${s.map(fmt).join(', ')} do not concatenate on axis ${a.axis}`);
        shape[ax] += p[ax];
      }
      const outer = prod(s[0].slice(0, ax)), pieces = s.map((p) => prod(p.slice(ax)));
      return {
        shape, scratch: 0,
        bind: (p, o) => () => {
          const f = rt.f32();
          let d = o >> 2;
          for (let r = 0; r < outer; r++) {
            pieces.forEach((n, k) => { const src = (p[k] >> 2) + r * n; f.copyWithin(d, src, src + n); d += n; });
          }
        },
      };
    }
    default: return lowerTensorOp(rt, node, s, fail, ints, arity);
  }
}

/** moe_unary over `n` floats, split over the threads when large. */
function unaryOn(rt, code, i, o, n, alpha) {
  if (rt.threads > 1) rt.parts('moe_unary_part', [code, i, o, n, alpha], WORK_PER_FLOAT * n);
  else rt.x.moe_unary(code, i, o, n, alpha);
}

/** moe_matmul, split over the threads by output columns (the scratch holds one moe_matmul_scratch per thread). */
function matmulOn(rt, a, b, y, m, k, n, sc) {
  if (rt.threads > 1) rt.parts('moe_matmul_part', [a, b, y, m, k, n, sc], 2 * m * k * n);
  else rt.x.moe_matmul(a, b, y, m, k, n, sc);
}

/** The binary family and PReLU on moe_binary with NumPy broadcasting (see Sources/MoeKernels/Broadcast.swift). */
function lowerBinary(rt, node, s, fail) {
  const y = broadcastShape(s[0], s[1]);
  if (!y) fail(`shapes ${fmt(s[0])} and ${fmt(s[1])} do not broadcast`);
  if (node.op === 'prelu' && !same(y, s[0])) fail(`slope ${fmt(s[1])} does not broadcast to ${fmt(s[0])}`);
  const g = rt.copyIn(stridedGeometry(y, s, fail)), code = BINARY[node.op];
  return {
    shape: y, scratch: 0, inPlace: [0, 1].filter((k) => same(s[k], y)),
    bind: ([pa, pb], o) => () => rt.x.moe_binary(code, pa, pb, o, g),
  };
}

/**
 * The transformed weights of a conv2d that runs as Winograd — F(4×4, 3×3) (Winograd.swift) for a 3×3 weight of the
 * model with at least 16 input and output channels, F(3×3, 3×3) over the 3×3 sub-kernels (WinogradWide.swift) of a
 * larger 3·SP × 3·SQ weight with at least 16 input channels; both stride 1, dilation 1, one group — as {ptr, alpha}:
 * new wasm memory kept for the life of the model (moe_winograd_weights, alpha 6 or 5), or null.
 */
function winogradWeights(rt, node, weights) {
  const a = node.attrs, w = node.op === 'conv2d' && weights.get(node.inputs[1]);
  if (!w || w.shape.length !== 4 || String(a.groups) !== '1' || `${a.strides}${a.dilations}` !== '1,11,1') return null;
  const [o, c, kh, kw] = w.shape, alpha = kh * kw === 9 ? 6 : 5;
  if (kh % 3 || kw % 3 || c < 16 || (alpha === 6 && o < 16)) return null;
  const ptr = rt.alloc(4 * alpha * alpha * (((o * kh * kw) / 9 + 3) & ~3) * c), mark = rt.x.moe_alloc(0);
  rt.x.moe_winograd_weights(w.ptr, o, c, kh, kw, alpha, ptr, rt.alloc(1024));
  rt.x.moe_reset(mark);
  return { ptr, alpha };
}

/** conv2d / conv_transpose2d: geometry descriptor (see Sources/MoeKernels/Conv.swift) and scratch size. */
function lowerConv(rt, node, s, fail, ints) {
  const transposed = node.op === 'conv_transpose2d';
  const [act, alpha, residual] = epilogueOf(node);
  const res = residual ? 1 : 0;
  if (s.length < 2 + res || s.length > 3 + res) fail(`expected ${2 + res}–${3 + res} inputs, got ${s.length}`);
  const [xs, ws] = s;
  if (xs.length !== 4 || ws.length !== 4) fail(`x ${fmt(xs)} and W ${fmt(ws)} must be 4-D`);
  const [st, pads, dil] = ['strides', 'pads', 'dilations'].map(ints);
  const groups = Number(node.attrs.groups);
  const [n, c, h, w] = xs, [kh, kw] = [ws[2], ws[3]];
  let o, oh, ow;
  if (!transposed) {
    o = ws[0];
    if (!(groups >= 1) || c % groups || o % groups || ws[1] * groups !== c) fail(`x ${fmt(xs)}, W ${fmt(ws)} and groups ${groups} do not fit`);
    oh = Math.floor((h + pads[0] + pads[2] - dil[0] * (kh - 1) - 1) / st[0]) + 1;
    ow = Math.floor((w + pads[1] + pads[3] - dil[1] * (kw - 1) - 1) / st[1]) + 1;
  } else {
    const op = ints('output_padding');
    o = ws[1] * groups;
    if (!(groups >= 1) || c % groups || ws[0] !== c) fail(`x ${fmt(xs)}, W ${fmt(ws)} and groups ${groups} do not fit`);
    oh = (h - 1) * st[0] - pads[0] - pads[2] + dil[0] * (kh - 1) + 1 + op[0];
    ow = (w - 1) * st[1] - pads[1] - pads[3] + dil[1] * (kw - 1) + 1 + op[1];
  }
  if (!(oh >= 1 && ow >= 1)) fail(`output would be empty for x ${fmt(xs)}`);
  const shape = [n, o, oh, ow];
  const bias = s.length - res === 3;
  if (bias && prod(s[2]) !== o) fail(`bias must have ${o} values`);
  if (res && !same(s[s.length - 1], shape)) fail(`residual ${fmt(s[s.length - 1])} does not match ${fmt(shape)}`);
  const alphaBits = new Int32Array(new Float32Array([alpha]).buffer)[0];
  const desc = new Int32Array([n, c, h, w, o, oh, ow, kh, kw, st[0], st[1], pads[0], pads[1], dil[0], dil[1], groups, act, alphaBits, residual]);
  const d = rt.copyIn(desc);
  const flops = 2 * n * (transposed ? c * h * w : o * oh * ow) * (transposed ? o : c) / groups * kh * kw;
  const u = !transposed && node.winograd;
  if (u && u.alpha === 5) {
    // Winograd F(3×3, 3×3) over 3×3 sub-kernels: split over the threads by output tile rows (WinogradWide.swift).
    const work = 50 * n * o * c * (kh / 3) * (kw / 3) * Math.ceil(oh / 3) * Math.ceil(ow / 3);
    return {
      shape, scratch: rt.x.moe_winograd_wide_scratch(d, rt.threads),
      bind: (p, out, sc) => {
        const args = [d, p[0], u.ptr, bias ? p[2] : 0, res ? p[p.length - 1] : 0, out, sc];
        return rt.threads > 1 ? () => rt.parts('moe_winograd_wide_part', args, work) : () => rt.x.moe_winograd_wide(...args);
      },
    };
  }
  if (u) {
    // Winograd F(4×4, 3×3): split over the threads by quads of tiles (Winograd.swift).
    const work = 72 * n * o * c * Math.ceil(oh / 4) * Math.ceil(ow / 4);
    return {
      shape, scratch: rt.x.moe_winograd_scratch(d, rt.threads),
      bind: (p, out, sc) => {
        const args = [d, p[0], u.ptr, bias ? p[2] : 0, res ? p[p.length - 1] : 0, out, sc];
        return rt.threads > 1 ? () => rt.parts('moe_winograd_part', args, work) : () => rt.x.moe_winograd(...args);
      },
    };
  }
  const kind = transposed ? 'moe_conv_transpose2d' : 'moe_conv2d';
  if (rt.threads > 1) {
    // The weights packed once into the scratch's head, then output pixels (or rows; transposed: output channels) split
    // over the threads.
    return {
      shape, scratch: rt.x[`${kind}_parts_scratch`](d, rt.threads),
      bind: (p, out, sc) => () => {
        rt.x[`${kind}_pack`](d, p[1], sc);
        rt.parts(`${kind}_part`, [d, p[0], bias ? p[2] : 0, res ? p[p.length - 1] : 0, out, sc], flops);
      },
    };
  }
  const scratch = transposed ? rt.x.moe_conv_transpose2d_scratch(d) : rt.x.moe_conv2d_scratch(d);
  const run = transposed ? rt.x.moe_conv_transpose2d : rt.x.moe_conv2d;
  return {
    shape, scratch,
    bind: (p, out, sc) => () => run(d, p[0], p[1], bias ? p[2] : 0, res ? p[p.length - 1] : 0, out, sc),
  };
}

/** matmul (NumPy, batched) and gemm (alpha·op(A)·op(B) + beta·C) on moe_matmul; transposes and C in JS. */
function lowerMatmul(rt, node, s, fail) {
  const x = rt.x;
  if (node.op === 'gemm') {
    if (s.length < 2 || s.length > 3) fail(`expected 2–3 inputs, got ${s.length}`);
    const ta = node.attrs.trans_a === '1', tb = node.attrs.trans_b === '1';
    const alpha = num(node.attrs.alpha, 'alpha'), beta = num(node.attrs.beta, 'beta');
    if (s[0].length !== 2 || s[1].length !== 2) fail('A and B must be 2-D');
    const [m, k] = ta ? [s[0][1], s[0][0]] : s[0], [k2, n] = tb ? [s[1][1], s[1][0]] : s[1];
    if (k !== k2) fail(`A ${fmt(s[0])} and B ${fmt(s[1])} do not multiply`);
    const cs = s[2] ? [...new Array(2 - s[2].length).fill(1), ...s[2]] : null;
    if (cs && !broadcastShape(cs, [m, n])) fail(`C ${fmt(s[2])} does not broadcast to [${m},${n}]`);
    const mm = rt.threads * x.moe_matmul_scratch(m, k, n);
    const scratch = mm + (ta ? align(m * k) : 0) + (tb ? align(k * n) : 0);
    return {
      shape: [m, n], scratch,
      bind: (p, o, sc) => () => {
        const f = rt.f32();
        let pa = p[0], pb = p[1], t = sc + 4 * mm;
        if (ta) { gather(f, pa >> 2, [m, k], [1, m], f, t >> 2); pa = t; t += 4 * align(m * k); }
        if (tb) { gather(f, pb >> 2, [k, n], [1, k], f, t >> 2); pb = t; }
        matmulOn(rt, pa, pb, o, m, k, n, sc);
        const g = rt.f32(), y = o >> 2;
        if (alpha !== 1) for (let i = 0; i < m * n; i++) g[y + i] *= alpha;
        if (cs && beta !== 0) {
          const cst = broadcastStrides(cs, [m, n]), c0 = p[2] >> 2;
          for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) g[y + i * n + j] += beta * g[c0 + i * cst[0] + j * cst[1]];
        }
      },
    };
  }
  if (s.length !== 2 || s[0].length < 2 || s[1].length < 2) fail('matmul needs two inputs of rank ≥ 2');
  const [A, B] = s, m = A[A.length - 2], k = A[A.length - 1], n = B[B.length - 1];
  if (B[B.length - 2] !== k) fail(`${fmt(A)} and ${fmt(B)} do not multiply`);
  const batch = broadcastShape(A.slice(0, -2), B.slice(0, -2));
  if (!batch) fail(`batch dimensions of ${fmt(A)} and ${fmt(B)} do not broadcast`);
  const sa = broadcastStrides(A.slice(0, -2), batch), sb = broadcastStrides(B.slice(0, -2), batch);
  const count = prod(batch), offsets = [];
  for (let i = 0; i < count; i++) {
    let r = i, oa = 0, ob = 0;
    for (let d = batch.length - 1; d >= 0; d--) { const q = r % batch[d]; r = (r - q) / batch[d]; oa += q * sa[d]; ob += q * sb[d]; }
    offsets.push([oa * m * k, ob * k * n]);
  }
  return {
    shape: [...batch, m, n], scratch: rt.threads * x.moe_matmul_scratch(m, k, n),
    bind: ([pa, pb], o, sc) => () => offsets.forEach(([oa, ob], i) => matmulOn(rt, pa + 4 * oa, pb + 4 * ob, o + 4 * i * m * n, m, k, n, sc)),
  };
}

// MARK: tensor ops (reductions, normalizations, padding, pooling, resize, the pointwise family)

/**
 * Int32 StridedGeometry of Sources/MoeKernels/Broadcast.swift: `extents` (the contiguous output, or the input of a
 * reduction) with one stride set per operand; axes of extent 1 dropped and contiguous runs merged.
 */
function mergedGeometry(extents, strideSets, fail) {
  const dims = [], sets = strideSets.map(() => []);
  extents.forEach((n, d) => {
    if (n === 1) return;
    const p = dims.length - 1;
    if (p >= 0 && strideSets.every((st, k) => sets[k][p] === st[d] * n)) {
      dims[p] *= n;
      strideSets.forEach((st, k) => { sets[k][p] = st[d]; });
    } else {
      dims.push(n);
      strideSets.forEach((st, k) => sets[k].push(st[d]));
    }
  });
  if (!dims.length) { dims.push(1); sets.forEach((st) => st.push(0)); }
  if (dims.length > 8) fail(`${dims.length} axes remain after merging (the kernels take at most 8)`);
  return Int32Array.from([dims.length, ...dims, ...sets.flat()]);
}

/** The geometry of operands of `shapes` broadcast to `y`. */
const stridedGeometry = (y, shapes, fail) => mergedGeometry(y, shapes.map((p) => broadcastStrides(p, y)), fail);

/** A reduction of x (shape xs) into `shape`, the input's element i adding into output Σ idx_d · outStrides_d. */
function lowerReduce(rt, code, xs, outStrides, shape, fail) {
  const g = rt.copyIn(mergedGeometry(xs, [outStrides], fail)), count = prod(shape);
  return { shape, scratch: 2 * count, bind: ([i], o, sc) => () => rt.x.moe_reduce(code, i, o, g, count, sc) };
}

/** Output extent of a pooling window along one axis (ONNX rules; with ceil_mode the last window starts inside). */
function pooledExtent(n, k, s, pb, pe, d, ceil) {
  const room = n + pb + pe - (d * (k - 1) + 1);
  if (room < 0) return 0;
  let out = (ceil ? Math.ceil(room / s) : Math.floor(room / s)) + 1;
  if (ceil && (out - 1) * s >= n + pb) out--;
  return out;
}

/** Resize taps of one axis: per output index the two source indices and the weight of the second (nearest: 0). */
function resizeTaps(mode, coords, nearest, n, out, scale, idx, w) {
  for (let o = 0; o < out; o++) {
    let c = coords === 'asymmetric' ? o / scale : coords === 'align_corners' ? (out > 1 ? (o * (n - 1)) / (out - 1) : 0)
      : coords === 'pytorch_half_pixel' && out <= 1 ? 0 : (o + 0.5) / scale - 0.5;
    if (mode === 'nearest') {
      const f = Math.floor(c), tie = c - f === 0.5;
      let i = nearest === 'floor' ? f : nearest === 'ceil' ? Math.ceil(c) : tie ? (nearest === 'round_prefer_ceil' ? f + 1 : f) : Math.round(c);
      i = Math.min(Math.max(i, 0), n - 1);
      idx.push(i, i);
      w.push(0);
    } else {
      c = Math.min(Math.max(c, 0), n - 1);
      const i0 = Math.floor(c);
      idx.push(i0, Math.min(i0 + 1, n - 1));
      w.push(c - i0);
    }
  }
}

const COORDINATES = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric'];
const NEAREST = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];
const PAD_MODES = ['constant', 'reflect', 'edge'];
const REDUCE = { reduce_sum: 0, reduce_mean: 1, reduce_max: 2, reduce_min: 3 };

/** Lowers the ops lowerNode leaves to this family (the kernels are in Sources/MoeKernels). */
function lowerTensorOp(rt, node, s, fail, ints, arity) {
  const x = rt.x, a = node.attrs, at = `node '${node.name}' (${node.op})`, op = node.op;
  const n = s.length ? prod(s[0]) : 0;
  const pointwise = (run) => ({ shape: s[0], scratch: 0, inPlace: [0], bind: ([i], o) => () => run(i, o) });
  const axisOf = (v, rank) => {
    const ax = int(v, `${at} axis`), d = ax < 0 ? ax + rank : ax;
    if (d < 0 || d >= rank) fail(`axis ${ax} out of range for rank ${rank}`);
    return d;
  };
  const flag = (k) => { const v = int(a[k], `${at} ${k}`); if (v !== 0 && v !== 1) fail(`attribute '${k}' must be 0 or 1`); return v; };
  const word = (k, choices) => { if (!choices.includes(a[k])) fail(`attribute '${k}' must be one of ${choices.join(', ')}`); return a[k]; };
  const channels = (xs, rank, names) => {
    if (xs.length < rank) fail(`input must have rank ≥ ${rank}, got ${fmt(xs)}`);
    s.slice(1).forEach((p, k) => { if (!same(p, [xs[1]])) fail(`${names[k]} is ${fmt(p)}, expected [${xs[1]}]`); });
    return xs[1];
  };
  if (Object.hasOwn(ACT, op)) { arity(1); return pointwise((i, o) => unaryOn(rt, ACT[op], i, o, n, 0)); }
  switch (op) {
    case 'cast': {
      arity(1);
      const to = word('to', DTYPES);
      const code = to === 'bool' ? 14 : to === 'f16' ? 16 : to[0] === 'f' ? 0 : 15;
      return pointwise((i, o) => x.moe_unary(code, i, o, n, 0));
    }
    case 'clip': {
      arity(1);
      const lo = num(a.min, `${at} min`), hi = num(a.max, `${at} max`);
      if (!(lo <= hi)) fail(`min ${lo} > max ${hi}`);
      return pointwise((i, o) => x.moe_clip(i, o, n, lo, hi));
    }
    case 'where': {
      arity(3);
      const ab = broadcastShape(s[1], s[2]), y = ab && broadcastShape(s[0], ab);
      if (!y) fail(`shapes ${s.map(fmt).join(', ')} do not broadcast`);
      const g = rt.copyIn(stridedGeometry(y, s, fail));
      return { shape: y, scratch: 0, inPlace: [0, 1, 2].filter((k) => same(s[k], y)), bind: ([c, p, q], o) => () => x.moe_where(c, p, q, o, g) };
    }
    case 'reduce_sum': case 'reduce_mean': case 'reduce_max': case 'reduce_min': {
      arity(1);
      const xs = s[0], list = ints('axes'), keep = flag('keepdims');
      const axes = list.length ? list.map((v) => axisOf(v, xs.length)) : xs.map((_, i) => i);
      if (new Set(axes).size !== axes.length) fail(`axes ${fmt(list)} repeat an axis`);
      const kept = xs.filter((_, i) => !axes.includes(i)), ks = broadcastStrides(kept, kept);
      let k = 0;
      const outStrides = xs.map((_, i) => (axes.includes(i) ? 0 : ks[k++]));
      return lowerReduce(rt, REDUCE[op], xs, outStrides, keep ? xs.map((d, i) => (axes.includes(i) ? 1 : d)) : kept, fail);
    }
    case 'sum_to': case 'broadcast_to': {
      arity(2);
      const [xs, like] = s, to = op === 'sum_to' ? xs : like;
      if (!same(broadcastShape(xs, like) || [], to)) fail(`${fmt(op === 'sum_to' ? like : xs)} does not broadcast to ${fmt(to)}`);
      if (op === 'broadcast_to') {
        const st = broadcastStrides(xs, like);
        return { shape: like, scratch: 0, bind: ([i], o) => () => { const f = rt.f32(); gather(f, i >> 2, like, st, f, o >> 2); } };
      }
      const ls = broadcastStrides(like, like), lead = xs.length - like.length;
      return lowerReduce(rt, 0, xs, xs.map((d, i) => (i < lead ? 0 : ls[i - lead])), like, fail);
    }
    case 'softmax': case 'log_softmax': {
      arity(1);
      const d = axisOf(a.axis, s[0].length), outer = prod(s[0].slice(0, d)), inner = prod(s[0].slice(d + 1));
      return pointwise((i, o) => x.moe_softmax(i, o, outer, s[0][d], inner, op === 'log_softmax' ? 1 : 0));
    }
    case 'instance_norm': case 'group_norm': {
      arity(3);
      const xs = s[0], c = channels(xs, 3, ['scale', 'bias']), eps = num(a.eps, `${at} eps`);
      const groups = op === 'group_norm' ? int(a.groups, `${at} groups`) : c;
      if (!(groups >= 1) || c % groups) fail(`groups ${groups} must divide the ${c} channels`);
      const inner = prod(xs.slice(2));
      return { shape: xs, scratch: 0, inPlace: [0], bind: ([i, sc, b], o) => () => x.moe_group_norm(i, sc, b, o, xs[0], c, inner, groups, eps) };
    }
    case 'batch_norm_training': {
      arity(3);
      const xs = s[0], c = channels(xs, 2, ['gamma', 'beta']), eps = num(a.eps, `${at} eps`), inner = prod(xs.slice(2));
      return {
        shape: xs, extra: [[c], [c]], scratch: 0, inPlace: [0],
        bind: ([i, g, b], o, _, outs) => () => x.moe_batch_norm_training(i, g, b, o, outs[1], outs[2], xs[0], c, inner, eps),
      };
    }
    case 'pad': return lowerPad(rt, s, fail, ints, word('mode', PAD_MODES), num(a.value, `${at} value`));
    case 'max_pool': case 'average_pool': {
      arity(1);
      const xs = s[0], [k, st, p, dl] = ['kernel', 'strides', 'pads', 'dilations'].map(ints);
      const ceil = flag('ceil_mode'), include = op === 'average_pool' ? flag('count_include_pad') : 0;
      if (xs.length !== 4) fail(`input must be 4-D, got ${fmt(xs)}`);
      if (k.length !== 2 || st.length !== 2 || dl.length !== 2 || p.length !== 4 || [...k, ...st, ...dl].some((v) => v < 1) || p.some((v) => v < 0)) {
        fail('kernel, strides and dilations must be 2 values ≥ 1 and pads 4 values ≥ 0');
      }
      if ([0, 1].some((i) => Math.max(p[i], p[i + 2]) >= dl[i] * (k[i] - 1) + 1)) fail(`pads ${fmt(p)} must be smaller than the window ${fmt(k)}`);
      const out = [0, 1].map((i) => pooledExtent(xs[2 + i], k[i], st[i], p[i], p[i + 2], dl[i], ceil));
      if (out.some((e) => e < 1)) fail(`window ${fmt(k)} larger than the padded input ${fmt(xs)}`);
      const g = rt.copyIn(Int32Array.from([xs[0] * xs[1], xs[2], xs[3], ...out, ...k, ...st, ...dl, ...p, op === 'max_pool' ? 1 : 0, include]));
      return { shape: [xs[0], xs[1], ...out], scratch: 0, bind: ([i], o) => () => x.moe_pool(i, o, g) };
    }
    case 'global_average_pool': case 'global_max_pool': {
      arity(1);
      const xs = s[0];
      if (xs.length < 3) fail(`input must have rank ≥ 3, got ${fmt(xs)}`);
      const shape = [xs[0], xs[1], ...xs.slice(2).map(() => 1)];
      return lowerReduce(rt, op === 'global_max_pool' ? 2 : 1, xs, [xs[1], 1, ...xs.slice(2).map(() => 0)], shape, fail);
    }
    case 'resize': {
      arity(1);
      const xs = s[0], mode = word('mode', ['nearest', 'linear']), coords = word('coordinates', COORDINATES);
      const nearest = word('nearest', NEAREST), scales = a.scales;
      if (xs.length !== 4) fail(`input must be 4-D, got ${fmt(xs)}`);
      if (!Array.isArray(scales) || scales.length !== 2 || !scales.every((v) => typeof v === 'number' && v > 0 && Number.isFinite(v))) {
        fail('scales must be 2 positive values (height, width)');
      }
      const sc = scales.map(Math.fround), out = [0, 1].map((i) => Math.floor(xs[2 + i] * sc[i]));
      if (out.some((e) => e < 1)) fail(`scales ${fmt(scales)} leave no output for ${fmt(xs)}`);
      const idx = [], w = [];
      [0, 1].forEach((i) => resizeTaps(mode, coords, nearest, xs[2 + i], out[i], sc[i], idx, w));
      const taps = rt.copyIn(Int32Array.from(idx)), weights = rt.copyIn(Float32Array.from(w));
      return {
        shape: [xs[0], xs[1], ...out], scratch: 0,
        bind: ([i], o) => () => x.moe_resize(i, o, xs[0] * xs[1], xs[2], xs[3], out[0], out[1], taps, weights),
      };
    }
    case 'space_to_depth': {
      arity(1);
      const b = int(a.block_size, `${at} block_size`), [bn, c, h, w] = s[0];
      if (s[0].length !== 4 || b < 1 || h % b || w % b) fail(`cannot rearrange ${fmt(s[0])} by block ${b}`);
      const st = broadcastStrides(s[0], s[0]), view = [bn, b, b, c, h / b, w / b];
      const vs = [st[0], st[2], st[3], st[1], st[2] * b, st[3] * b];
      return { shape: [bn, c * b * b, h / b, w / b], scratch: 0, bind: ([i], o) => () => { const f = rt.f32(); gather(f, i >> 2, view, vs, f, o >> 2); } };
    }
    case 'conv2d_filter_grad': {
      // The weight gradient of conv2d (training graphs): gw[o, c, i, j] = Σ gy[n, o, h, w] · x[n, g·C/g + c, h·s + i·d − p, …].
      arity(3);
      const [xs, gs, ws] = s, [st, pads, dil] = ['strides', 'pads', 'dilations'].map(ints), groups = int(a.groups, `${at} groups`);
      if (xs.length !== 4 || gs.length !== 4 || ws.length !== 4) fail('x, gy and like must be 4-D');
      const [bn, c, h, w] = xs, [, o, oh, ow] = gs, [, cg, kh, kw] = ws;
      if (!(groups >= 1) || cg * groups !== c || o % groups || ws[0] !== o) fail(`x ${fmt(xs)}, gy ${fmt(gs)} and like ${fmt(ws)} do not fit`);
      const og = o / groups;
      return {
        shape: ws, scratch: 0,
        bind: ([xi, gi], out) => () => {
          const f = rt.f32(), X = xi >> 2, G = gi >> 2, Y = out >> 2;
          for (let oo = 0; oo < o; oo++) {
            const grp = Math.floor(oo / og);
            for (let cc = 0; cc < cg; cc++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
              let acc = 0;
              for (let nn = 0; nn < bn; nn++) {
                const xb = X + (nn * c + grp * cg + cc) * h * w, gb = G + (nn * o + oo) * oh * ow;
                for (let y = 0; y < oh; y++) {
                  const ih = y * st[0] - pads[0] + i * dil[0];
                  if (ih < 0 || ih >= h) continue;
                  for (let z = 0; z < ow; z++) {
                    const iw = z * st[1] - pads[1] + j * dil[1];
                    if (iw >= 0 && iw < w) acc += f[gb + y * ow + z] * f[xb + ih * w + iw];
                  }
                }
              }
              f[Y + ((oo * cg + cc) * kh + i) * kw + j] = acc;
            }
          }
        },
      };
    }
    default: return fail('unsupported op');
  }
}

/** pad: ONNX Pad (constant, reflect, edge) of any rank ≤ 8 on moe_pad; pads are the begins of every axis, then the ends. */
function lowerPad(rt, s, fail, ints, mode, value) {
  if (s.length !== 1) fail(`expected 1 input, got ${s.length}`);
  const xs = s[0], r = xs.length, pads = ints('pads');
  if (pads.length !== 2 * r) fail(`pads must have ${2 * r} entries (begin of each axis, then end), got ${pads.length}`);
  const shape = xs.map((d, i) => d + pads[i] + pads[i + r]);
  xs.forEach((d, i) => {
    const [b, e] = [pads[i], pads[i + r]];
    if (!b && !e) return;
    if (mode !== 'constant' && (b < 0 || e < 0)) fail(`${mode} padding cannot be negative`);
    if (mode === 'reflect' && (b >= d || e >= d)) fail(`reflect padding ${b},${e} needs an extent larger than both, axis ${i} has ${d}`);
    if (mode === 'edge' && d === 0) fail('edge padding of an empty axis');
    if (shape[i] < 0) fail(`negative pads ${b},${e} remove more than the ${d} elements of axis ${i}`);
  });
  if (r === 0) return { shape, scratch: 0, bind: ([i], o) => () => rt.x.moe_unary(0, i, o, 1, 0) };
  if (r > 8) fail(`rank ${r} (at most 8)`);
  const g = rt.copyIn(Int32Array.from([r, ...xs, ...shape, ...pads.slice(0, r), PAD_MODES.indexOf(mode)]));
  return { shape, scratch: 0, bind: ([i], o) => () => rt.x.moe_pad(i, o, g, value) };
}
