// winograd.test.mjs: conv2d 3×3 as Winograd F(4×4, 3×3) (Winograd.swift) and 3k×3l kernels as F(3×3, 3×3) sub-kernels
// (WinogradWide.swift) against a float64 naive conv, on 1, 2 and 3 threads (bit-identical, and identical to
// kernels.wasm).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conv2d, epilogue, graphBundle, loadBytes, maxAbs, prod, rng } from './helpers.mjs';

const kernelsWasm = new URL('../../Sources/MoeWeb/kernels.wasm', import.meta.url);
/** Winograd F(4×4, 3×3) vs the float64 reference: |Δ| ≤ this · max(1, max |reference|). Its transforms (coefficients
 * up to 8, and cancellation) round about ten times more than im2col's dot products (CONTRACTION_TOL = 2e-5 in
 * ops.test.mjs); the paper generator stays within 2e-5 of Chainer through 36 such convs. */
const WINOGRAD_TOL = 1e-4;

const ints = (v) => `[${v.join(',')}]`;
const bits = (f32) => Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength);

/** Seeded Winograd-eligible convs with `kernels` ([kh, kw] each): odd and tiny sizes, several quads of tiles across,
 * pads 0 to kernel/2 (some uneven), batch 1–2, 1–40 outputs, with and without bias, every epilogue activation and
 * residual. */
function cases(seed, kernels, outputs) {
  const r = rng(seed), acts = [undefined, 'relu', 'leaky_relu:0.2', 'tanh', 'sigmoid'], residuals = [undefined, 'before', 'after'];
  const sizes = [[1, 1], [2, 3], [5, 4], [7, 9], [16, 16], [13, 21], [17, 35], [4, 33], [31, 18], [26, 27]];
  return sizes.map(([h, w], i) => {
    const [kh, kw] = kernels[i % kernels.length], c = r.int(16, 40), o = r.int(...outputs), n = r.int(1, 2);
    const [ph, pw] = [kh, kw].map((k) => (i % 3 === 0 ? 0 : i % 3 === 1 ? k >> 1 : r.int(0, k >> 1)));
    const pads = [ph, pw, i % 3 === 2 ? 0 : ph, pw];
    const oh = h + pads[0] + pads[2] - kh + 1, ow = w + pads[1] + pads[3] - kw + 1;
    return { xs: [n, c, h, w], ws: [o, c, kh, kw], pads, valid: oh >= 1 && ow >= 1, act: acts[i % acts.length],
      residual: residuals[i % residuals.length], bias: i % 4 !== 2, r };
  }).filter((k) => k.valid);
}

/** A one-conv graph and its feeds for case `k`, with the float64 reference output. */
function conv(k) {
  const { xs, ws, pads, act, residual, bias, r } = k;
  const x = r.array(prod(xs)), W = r.array(prod(ws)), b = r.array(ws[0]);
  const ref = conv2d(x, xs, W, ws, bias ? b : null, { strides: [1, 1], pads, dilations: [1, 1], groups: 1 });
  const res = r.array(prod(ref.shape));
  const extra = [act && `act=${act}`, residual && `residual=${residual}`].filter(Boolean).map((s) => `, ${s}`).join('');
  const spec = {
    inputs: { x: xs, ...(residual ? { r: ref.shape } : {}) },
    weights: { W: { shape: ws, data: W }, ...(bias ? { b: { shape: [ws[0]], data: b } } : {}) },
    nodes: [`node "c" %y = conv2d(%x, %W${bias ? ', %b' : ''}${residual ? ', %r' : ''}) {strides=[1,1], pads=${ints(pads)}, dilations=[1,1], groups=1${extra}}`],
    outputs: ['y'],
  };
  const feeds = { x: { data: x, shape: xs }, ...(residual ? { r: { data: res, shape: ref.shape } } : {}) };
  return { spec, feeds, want: epilogue(ref.y, act, residual, res), shape: ref.shape, what: `x${ints(xs)} W${ints(ws)} pads ${ints(pads)}${extra}` };
}

/** Runs a graph with moe.js options; returns the output and which path the conv took ('winograd', 'wide' or 'im2col'). */
async function run(spec, feeds, options) {
  const model = await loadBytes(graphBundle(spec).bytes, options);
  try {
    const out = (await model.run(feeds)).y, node = model.graph.nodes[0];
    return { out, path: !node.winograd ? 'im2col' : node.winograd.alpha === 6 ? 'winograd' : 'wide' };
  } finally {
    model.dispose();
  }
}

/** Each case against the float64 reference on kernels.wasm, and 1, 2, 3 threads bit-identical to it. */
async function check(all, path) {
  assert.ok(all.length >= 8);
  for (const k of all) {
    const { spec, feeds, want, shape, what } = conv(k);
    const single = await run(spec, feeds, { wasm: kernelsWasm });
    assert.equal(single.path, path, what);
    assert.deepEqual(single.out.shape, shape);
    const scale = Math.max(1, ...Array.from(want, Math.abs)), d = maxAbs(single.out.data, want);
    assert.ok(d <= WINOGRAD_TOL * scale, `${what}: max-abs ${d} > ${WINOGRAD_TOL * scale}`);
    for (const threads of [1, 2, 3]) {
      const got = await run(spec, feeds, { threads, relaxed: false });
      assert.ok(bits(got.out.data).equals(bits(single.out.data)), `${what}: ${threads} threads differ from kernels.wasm`);
    }
  }
}

test('Winograd F(4×4, 3×3) conv2d: close to a float64 naive conv; bit-identical on 1, 2, 3 threads and to kernels.wasm',
  () => check(cases(41, [[3, 3]], [16, 40]), 'winograd'));

test('3k×3l kernels as F(3×3, 3×3) sub-kernels (9×9, 6×6, 9×3, 3×6): close to a float64 naive conv; bit-identical on 1, 2, 3 threads and to kernels.wasm',
  () => check(cases(43, [[9, 9], [6, 6], [9, 3], [3, 6]], [1, 20]), 'wide'));

test('conv2d outside Winograd (stride 2, dilation 2, groups 2, 5×5, 8 channels) stays on im2col', async () => {
  const r = rng(5);
  for (const [strides, dil, groups, k, c] of [[2, 1, 1, 3, 16], [1, 2, 1, 3, 16], [1, 1, 2, 3, 32], [1, 1, 1, 5, 16], [1, 1, 1, 3, 8],
    [2, 1, 1, 9, 16], [1, 1, 1, 9, 8]]) {
    const ws = [16, c / groups, k, k];
    const spec = {
      inputs: { x: [1, c, 9, 9] }, weights: { W: { shape: ws, data: r.array(prod(ws)) } },
      nodes: [`node "c" %y = conv2d(%x, %W) {strides=[${strides},${strides}], pads=[1,1,1,1], dilations=[${dil},${dil}], groups=${groups}}`],
      outputs: ['y'],
    };
    const got = await run(spec, { x: { data: r.array(c * 81), shape: [1, c, 9, 9] } }, {});
    assert.equal(got.path, 'im2col', `stride ${strides}, dilation ${dil}, groups ${groups}, ${k}×${k}, ${c} channels`);
  }
});
