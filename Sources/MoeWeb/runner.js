// runner.js: window.moeRunner for automated browser runs (run once / benchmark); runner.html?auto=SPEC writes JSON to #result.
import { load } from './moe.js';
import { parseNpy } from './npy.js';

const models = new Map();

/** Loads a model once per URL and options (moe.js `load` options, e.g. {threads: 1}). */
function model(url, options = {}) {
  const key = JSON.stringify([url, options]);
  if (!models.has(key)) {
    const p = load(new URL(url, location.href).href, options);
    models.set(key, p);
    p.catch(() => models.delete(key));
  }
  return models.get(key);
}

/** Fetches and parses the spec's .npy inputs: {name: url} → {name: {data, shape}}. */
async function inputs(spec) {
  const feeds = {};
  for (const [name, url] of Object.entries(spec.inputs || {})) {
    const res = await fetch(new URL(url, location.href)).catch((e) => { throw new Error(`cannot fetch ${url}: ${e.message}`); });
    if (!res.ok) throw new Error(`cannot fetch ${url}: HTTP ${res.status}`);
    try {
      feeds[name] = parseNpy(await res.arrayBuffer());
    } catch (e) {
      throw new Error(`${url}: ${e.message}`);
    }
  }
  return feeds;
}

/** Base64 of a Float32Array's little-endian bytes. */
function base64(f32) {
  const le = new Uint8Array(f32.length * 4), dv = new DataView(le.buffer);
  f32.forEach((v, i) => dv.setFloat32(4 * i, v, true));
  let s = '';
  for (let i = 0; i < le.length; i += 0x8000) s += String.fromCharCode.apply(null, le.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * Runs a model once.
 * @param {{model: string, inputs: Object<string, string>}} spec URLs relative to the page
 * @returns {Promise<{ms: number, load_ms: number, outputs: Object<string, {shape: number[], base64: string}>}>}
 *   `ms` is the time of model.run alone; `base64` holds float32 little-endian bytes
 */
async function run(spec) {
  let t = performance.now();
  const m = await model(spec.model || 'model.moe');
  const loadMs = performance.now() - t;
  const feeds = await inputs(spec);
  t = performance.now();
  const out = await m.run(feeds);
  const ms = performance.now() - t;
  const outputs = {};
  for (const [name, v] of Object.entries(out)) outputs[name] = { shape: v.shape, base64: base64(v.data) };
  return { ms, load_ms: loadMs, outputs };
}

/**
 * Median ms per image of `runs` timed runs after warm-up runs, and the times. Warm-up lasts at least three runs and
 * 250 ms: the engine compiles optimised wasm in the background (one copy per worker), and that compile competes with
 * the first runs for the cores.
 */
async function timeRuns(m, feeds, runs) {
  const start = performance.now();
  for (let i = 0; i < 3 || performance.now() - start < 250; i++) await m.run(feeds);
  const times = [];
  for (let i = 0; i < Math.max(1, runs); i++) {
    const t = performance.now();
    await m.run(feeds);
    times.push(performance.now() - t);
  }
  const sorted = times.slice().sort((a, b) => a - b);
  const batch = Object.values(feeds)[0]?.shape[0] ?? 1;
  return { msPerImage: sorted[sorted.length >> 1] / batch, batch, times };
}

/**
 * Benchmarks a model with moe.js's default threads, then with one thread (the same kernel build where shared memory
 * is usable): warm-up runs (timeRuns), then `runs` timed runs each.
 * @returns {Promise<{msPerImage: number, batch: number, runs: number, times: number[], threads: number, backend: string,
 *   singleThreadMsPerImage: number, singleThreadBackend: string}>} msPerImage = median / batch (default threads)
 */
async function bench(spec, runs = 5) {
  const feeds = await inputs(spec);
  const m = await model(spec.model || 'model.moe');
  const r = await timeRuns(m, feeds, runs);
  const one = await model(spec.model || 'model.moe', { threads: 1 });
  const single = await timeRuns(one, feeds, runs);
  return { msPerImage: r.msPerImage, batch: r.batch, runs: r.times.length, times: r.times, threads: m.threads, backend: m.backend,
    singleThreadMsPerImage: single.msPerImage, singleThreadBackend: one.backend };
}

window.moeRunner = { run, bench };

// runner.html?auto=<URL-encoded JSON spec> (with "bench": R in the spec to benchmark R runs): result JSON into #result.
const auto = new URLSearchParams(location.search).get('auto');
if (auto !== null) {
  const pre = document.getElementById('result');
  // Under chromium --virtual-time-budget, idle waits (crypto, wasm compile) jump virtual time to the budget's end unless a
  // timer is pending: this heartbeat keeps each jump short while the run lasts; clearing it ends the budget (and the dump).
  const beat = setInterval(() => {}, 100);
  document.body.dataset.state = 'running';
  (async () => {
    const spec = JSON.parse(auto);
    return spec.bench ? bench(spec, spec.bench) : run(spec);
  })().then(
    (r) => { pre.textContent = JSON.stringify(r); document.body.dataset.state = 'done'; },
    (e) => { pre.textContent = JSON.stringify({ error: e && e.message ? e.message : String(e) }); document.body.dataset.state = 'error'; },
  ).finally(() => clearInterval(beat));
}
