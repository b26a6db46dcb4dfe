// pool.test.mjs: moe.js's worker pool — calls too small to split run whole with the same bits, and conv_transpose2d
// split by output channels — on 1, 2 and 3 threads, bit-identical to kernels.wasm and close to a float64 reference.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convTranspose2d, epilogue, graphBundle, loadBytes, maxAbs, prod, rng } from './helpers.mjs';

const kernelsWasm = new URL('../../Sources/MoeWeb/kernels.wasm', import.meta.url);
/** Contractions vs the float64 reference: |Δ| ≤ this · max(1, max |reference|) (as ops.test.mjs). */
const CONTRACTION_TOL = 2e-5;
const bits = (f32) => Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength);
const ints = (v) => `[${v.join(',')}]`;
const builds = [{ wasm: kernelsWasm }, { threads: 1, relaxed: false }, { threads: 2, relaxed: false }, { threads: 3, relaxed: false }];

test('pool: calls too small to split run whole on the calling thread with the same bits as a split call', async () => {
  // Two convs of one graph: 16 channels at 4×4 (about 0.3 MFLOP: whole) and 32 channels at 40×40 (split).
  const r = rng(9), small = [1, 16, 4, 4], large = [1, 32, 40, 40];
  const spec = {
    inputs: { a: small, b: large },
    weights: { Wa: { shape: [16, 16, 3, 3], data: r.array(16 * 16 * 9) }, Wb: { shape: [32, 32, 3, 3], data: r.array(32 * 32 * 9) },
      Va: { shape: [16, 16, 1, 1], data: r.array(256) } },
    nodes: ['node "a" %ya = conv2d(%a, %Wa) {strides=[1,1], pads=[1,1,1,1], dilations=[1,1], groups=1, act=relu}',
      'node "b" %yb = conv2d(%b, %Wb) {strides=[1,1], pads=[1,1,1,1], dilations=[1,1], groups=1, act=tanh}',
      'node "p" %y = conv2d(%ya, %Va) {strides=[1,1], pads=[0,0,0,0], dilations=[1,1], groups=1}'],
    outputs: ['y', 'yb'],
  };
  const feeds = { a: { data: r.array(prod(small)), shape: small }, b: { data: r.array(prod(large)), shape: large } };
  const outs = [];
  for (const options of builds) {
    const model = await loadBytes(graphBundle(spec).bytes, options);
    // Two runs: the workers sleep between runs and spin within one; both give the same bits.
    for (let i = 0; i < 2; i++) outs.push(await model.run(feeds));
    model.dispose();
  }
  for (const o of outs.slice(1)) {
    for (const name of ['y', 'yb']) assert.ok(bits(o[name].data).equals(bits(outs[0][name].data)), name);
  }
});

test('conv_transpose2d split over the pool by output channels: bit-identical on 1, 2, 3 threads and to kernels.wasm', async () => {
  const r = rng(17), acts = [undefined, 'relu', 'tanh', 'leaky_relu:0.2'], residuals = [undefined, 'before', undefined, 'after'];
  // [C, O/groups, groups, KH, KW, stride, pad, output padding, H, W]: taps 16, 9, 6 and 1 (channel runs of 1, 4, 2, 4);
  // the first, second and last are large enough to be split.
  const shapes = [[32, 24, 1, 4, 4, 2, 1, 0, 9, 11], [16, 13, 1, 3, 3, 2, 1, 1, 17, 16], [12, 10, 2, 3, 2, 1, 0, 0, 5, 8],
    [24, 9, 1, 1, 1, 1, 0, 0, 6, 6], [18, 7, 3, 3, 3, 2, 0, 1, 14, 19]];
  for (const [i, [c, og, groups, kh, kw, s, pad, op, h, w]] of shapes.entries()) {
    const xs = [1 + (i % 2), c, h, w], ws = [c, og, kh, kw];
    const attrs = { strides: [s, s], pads: [pad, pad, pad, pad], dilations: [1, 1], outputPadding: [op, op], groups };
    const x = r.array(prod(xs)), W = r.array(prod(ws)), b = r.array(og * groups);
    const ref = convTranspose2d(x, xs, W, ws, b, attrs);
    const res = r.array(prod(ref.shape)), act = acts[i % acts.length], residual = residuals[i % residuals.length];
    const extra = [act && `act=${act}`, residual && `residual=${residual}`].filter(Boolean).map((e) => `, ${e}`).join('');
    const spec = {
      inputs: { x: xs, ...(residual ? { r: ref.shape } : {}) },
      weights: { W: { shape: ws, data: W }, b: { shape: [og * groups], data: b } },
      nodes: [`node "t" %y = conv_transpose2d(%x, %W, %b${residual ? ', %r' : ''}) {strides=[${s},${s}], pads=${ints(attrs.pads)}, dilations=[1,1], output_padding=[${op},${op}], groups=${groups}${extra}}`],
      outputs: ['y'],
    };
    const feeds = { x: { data: x, shape: xs }, ...(residual ? { r: { data: res, shape: ref.shape } } : {}) };
    const outs = [];
    for (const options of builds) {
      const model = await loadBytes(graphBundle(spec).bytes, options);
      outs.push((await model.run(feeds)).y);
      model.dispose();
    }
    const want = epilogue(ref.y, act, residual, res), what = `x${ints(xs)} W${ints(ws)} ${JSON.stringify(attrs)}${extra}`;
    assert.deepEqual(outs[0].shape, ref.shape, what);
    const d = maxAbs(outs[0].data, want);
    assert.ok(d <= CONTRACTION_TOL * Math.max(1, ...Array.from(want, Math.abs)), `${what}: max-abs ${d}`);
    outs.slice(1).forEach((o, t) => assert.ok(bits(o.data).equals(bits(outs[0].data)), `${what}: ${t + 1} threads differ from kernels.wasm`));
  }
});
