// threads.test.mjs: the shared-memory builds (kernels-mt*.wasm) and moe.js's worker pool give the same bits on any
// thread count, and the same bits as kernels.wasm (plain SIMD); the relaxed-SIMD build stays within tolerance.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { graphBundle, loadBytes, prod, rng, root } from './helpers.mjs';

const kernelsWasm = new URL('../../Sources/MoeWeb/kernels.wasm', import.meta.url);
/** Relaxed SIMD (fused multiply-add) vs plain SIMD128 on the same graph (four chained convs, random ±1 weights; the
 * native parity bar of native.test.mjs): |Δ| ≤ this · max(1, max |plain|). */
const RELAXED_TOL = 1e-4;
/** The same for output e, downstream of the Winograd F(4×4, 3×3) convs c1 and c2 (≥ 16 channels): its transforms round
 * about ten times more than im2col, and plain and relaxed Winograd each land about 2e-4 from im2col here (±1 weights,
 * activations in the tens), so they differ by as much; winograd.test.mjs holds Winograd to a float64 reference. */
const WINOGRAD_RELAXED_TOL = 1e-3;

/** One random graph per case: conv2d of every kind (im2col, 1×1, shifted products, groups, stride 2, epilogues), then
 * depth_to_space, linear, gemm, matmul and tanh over a large tensor. */
function cases() {
  const r = rng(15), out = [];
  const conv = (name, xs, o, k, { stride = 1, pad = 0, groups = 1, extra = '' } = {}) => {
    const ws = [o, xs[1] / groups, k, k];
    return {
      weights: { [`${name}W`]: { shape: ws, data: r.array(prod(ws)) }, [`${name}b`]: { shape: [o], data: r.array(o) } },
      line: (x, y, res = '') => `node "${name}" %${y} = conv2d(%${x}, %${name}W, %${name}b${res}) {strides=[${stride},${stride}], pads=[${pad},${pad},${pad},${pad}], dilations=[1,1], groups=${groups}${extra}}`,
    };
  };
  for (let c = 0; c < 4; c++) {
    const ch = 8 * r.int(1, 3), h = r.int(5, 19), w = r.int(5, 23);
    const c1 = conv('c1', [1, ch, h, w], ch, 3, { pad: 1, extra: ', act=relu' });
    const c2 = conv('c2', [1, ch, h, w], ch, 3, { pad: 1, extra: ', residual=before' });
    const c3 = conv('c3', [1, ch, h, w], 4 * ch, 1, { extra: ', act=leaky_relu:0.2' });
    const c4 = conv('c4', [1, ch, 2 * h, 2 * w], 3, 5, { pad: 2, extra: ', act=tanh' });
    const c5 = conv('c5', [1, ch, h, w], ch, 3, { stride: 2, pad: 1, groups: 2, extra: ', act=sigmoid' });
    const lin = { shape: [40, ch * 3], data: r.array(40 * ch * 3) };
    const nodes = [c1.line('x', 'a'), c2.line('a', 'b', ', %x'), c3.line('b', 'c'),
      'node "d2s" %d = depth_to_space(%c) {block_size=2, mode=DCR}', c4.line('d', 'e'), c5.line('x', 'f'),
      'node "fc" %l = linear(%v, %L) {act=relu}', 'node "g" %g = gemm(%m, %M, %M2) {alpha=0.5, beta=2, trans_a=0, trans_b=1}',
      'node "mm" %mm = matmul(%m, %M3)', 'node "t" %t = tanh(%big)'];
    out.push({
      inputs: { x: [1, ch, h, w], v: [3, ch * 3], m: [17, 33], big: [1, 70001] },
      weights: { ...c1.weights, ...c2.weights, ...c3.weights, ...c4.weights, ...c5.weights, L: lin,
        M: { shape: [45, 33], data: r.array(45 * 33) }, M2: { shape: [45], data: r.array(45) },
        M3: { shape: [33, 29], data: r.array(33 * 29) } },
      nodes, outputs: ['e', 'f', 'l', 'g', 'mm', 't'],
      feeds: { x: { data: r.array(ch * h * w), shape: [1, ch, h, w] }, v: { data: r.array(9 * ch), shape: [3, ch * 3] },
        m: { data: r.array(17 * 33), shape: [17, 33] }, big: { data: r.array(70001, -4, 4), shape: [1, 70001] } },
    });
  }
  return out;
}

async function outputs(spec, options) {
  const model = await loadBytes(graphBundle(spec).bytes, options);
  try {
    return { backend: model.backend, threads: model.threads, out: await model.run(spec.feeds) };
  } finally {
    model.dispose();
  }
}

const bits = (f32) => Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength);

test('kernels-mt.wasm on 1, 2 and 3 threads: every output bit-identical, and identical to kernels.wasm', async () => {
  for (const spec of cases()) {
    const single = await outputs(spec, { wasm: kernelsWasm });
    assert.equal(single.backend, 'wasm-simd128');
    for (const threads of [1, 2, 3]) {
      const got = await outputs(spec, { threads, relaxed: false });
      assert.equal(got.backend, 'wasm-simd128-threads');
      assert.equal(got.threads, threads);
      for (const name of spec.outputs) {
        assert.deepEqual(got.out[name].shape, single.out[name].shape);
        assert.ok(bits(got.out[name].data).equals(bits(single.out[name].data)), `${name}: ${threads} threads differ from kernels.wasm`);
      }
    }
  }
});

test('threads option: validated; node defaults to one thread', async () => {
  const spec = cases()[0];
  await assert.rejects(outputs(spec, { threads: 0 }), /threads must be an integer from 1 to 64/);
  assert.equal((await outputs(spec, {})).threads, 1);
});

test('kernels-mt-fma.wasm (relaxed SIMD, node flag): bit-identical on 1 and 3 threads, within tolerance of plain SIMD', () => {
  const script = `
    import { graphBundle, loadBytes } from ${JSON.stringify(join(root, 'Tests/web/helpers.mjs'))};
    const { readFileSync } = await import('node:fs');
    const specs = JSON.parse(readFileSync(0, 'utf8'));
    const res = [];
    for (const s of specs) {
      for (const f of Object.values(s.feeds)) f.data = Float32Array.from(f.data);
      for (const w of Object.values(s.weights)) w.data = Float32Array.from(w.data);
      const row = {};
      for (const [key, options] of [['plain', { threads: 1, relaxed: false }], ['fma1', { threads: 1 }], ['fma3', { threads: 3 }]]) {
        const m = await loadBytes(graphBundle(s).bytes, options);
        const out = await m.run(s.feeds);
        row[key] = { backend: m.backend, out: Object.fromEntries(s.outputs.map((n) => [n, Array.from(out[n].data)])) };
        m.dispose();
      }
      res.push(row);
    }
    process.stdout.write(JSON.stringify(res));`;
  const specs = cases().slice(0, 2).map((s) => ({
    ...s, feeds: Object.fromEntries(Object.entries(s.feeds).map(([k, f]) => [k, { data: Array.from(f.data), shape: f.shape }])),
    weights: Object.fromEntries(Object.entries(s.weights).map(([k, w]) => [k, { shape: w.shape, data: Array.from(w.data) }])),
  }));
  const text = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--input-type=module', '-e', script],
    { input: JSON.stringify(specs), encoding: 'utf8', maxBuffer: 1 << 28 });
  for (const row of JSON.parse(text)) {
    assert.equal(row.plain.backend, 'wasm-simd128-threads');
    assert.equal(row.fma1.backend, 'wasm-relaxed-simd-threads');
    for (const [name, plain] of Object.entries(row.plain.out)) {
      assert.deepEqual(row.fma3.out[name], row.fma1.out[name], `${name}: 3 threads differ from 1`);
      const scale = Math.max(1, ...plain.map(Math.abs));
      const d = Math.max(...plain.map((v, i) => Math.abs(v - row.fma1.out[name][i])));
      assert.ok(d <= (name === 'e' ? WINOGRAD_RELAXED_TOL : RELAXED_TOL) * scale, `${name}: relaxed vs plain max-abs ${d}`);
    }
  }
});
