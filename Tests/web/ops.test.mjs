// ops.test.mjs: each moe.js op (wasm kernels and JS copies) against naive JS loops on seeded shapes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  activations, conv2d, convTranspose2d, depthToSpace, epilogue, graphBundle, linear, loadBytes, maxAbs, prod, rng,
} from './helpers.mjs';

/** Contractions: |moe.js − float64 reference| ≤ this · max(1, max |reference|). */
const CONTRACTION_TOL = 2e-5;
/** Elementwise and layout ops (one float32 rounding, or the portable exp/tanh). */
const ELEMENTWISE_TOL = 1e-6;

const dims = (s) => `[${s.join(',')}]`;
const ints = (v) => `[${v.join(',')}]`;

async function runGraph(spec, feeds) {
  const model = await loadBytes(graphBundle(spec).bytes);
  return model.run(feeds);
}

function assertClose(got, want, tol, what) {
  const scale = Math.max(1, ...Array.from(want, Math.abs));
  const d = maxAbs(got, want);
  assert.ok(d <= tol * scale, `${what}: max-abs ${d} > ${tol * scale}`);
}

test('conv2d: stride, pads, dilation, groups, bias and epilogues', async () => {
  const r = rng(1);
  const acts = [undefined, 'relu', 'leaky_relu:0.2', 'tanh', 'sigmoid'];
  const residuals = [undefined, 'before', 'after'];
  let cases = 0;
  while (cases < 30) {
    const groups = [1, 1, 2, 3][r.int(0, 3)], shift = cases % 4 === 3;
    const og = shift ? r.int(1, 2) : r.int(1, 6), cg = shift ? og * 4 + r.int(0, 3) : r.int(1, 5);
    const kh = r.int(1, 4), kw = r.int(1, 4), n = r.int(1, 2), h = r.int(1, 12), w = r.int(1, 20);
    const strides = shift ? [1, 1] : [r.int(1, 3), r.int(1, 2)], dil = [r.int(1, 2), r.int(1, 2)];
    const pads = [0, 0, 0, 0].map(() => r.int(0, 2));
    const attrs = { strides, pads, dilations: dil, groups };
    const xs = [n, cg * groups, h, w], ws = [og * groups, cg, kh, kw];
    const oh = Math.floor((h + pads[0] + pads[2] - dil[0] * (kh - 1) - 1) / strides[0]) + 1;
    const ow = Math.floor((w + pads[1] + pads[3] - dil[1] * (kw - 1) - 1) / strides[1]) + 1;
    if (oh < 1 || ow < 1) continue;
    const act = acts[cases % acts.length], residual = residuals[cases % residuals.length], bias = cases % 3 !== 1;
    const x = r.array(prod(xs)), W = r.array(prod(ws)), b = r.array(ws[0]);
    const ref = conv2d(x, xs, W, ws, bias ? b : null, attrs);
    const res = r.array(prod(ref.shape));
    const inputs = { x: xs };
    if (residual) inputs.r = ref.shape;
    const extra = [act && `act=${act}`, residual && `residual=${residual}`].filter(Boolean).map((s) => `, ${s}`).join('');
    const out = await runGraph({
      inputs, weights: { W: { shape: ws, data: W }, ...(bias ? { b: { shape: [ws[0]], data: b } } : {}) },
      nodes: [`node "c" %y = conv2d(%x, %W${bias ? ', %b' : ''}${residual ? ', %r' : ''}) {strides=${ints(strides)}, pads=${ints(pads)}, dilations=${ints(dil)}, groups=${groups}${extra}}`],
      outputs: ['y'],
    }, { x: { data: x, shape: xs }, ...(residual ? { r: { data: res, shape: ref.shape } } : {}) });
    assert.deepEqual(out.y.shape, ref.shape);
    assertClose(out.y.data, epilogue(ref.y, act, residual, res), CONTRACTION_TOL, `conv2d x${dims(xs)} W${dims(ws)} ${JSON.stringify(attrs)} ${extra}`);
    cases++;
  }
});

test('conv_transpose2d: stride, pads, dilation, output padding, groups, epilogues', async () => {
  const r = rng(2);
  let cases = 0;
  while (cases < 20) {
    const groups = [1, 2][r.int(0, 1)], cg = r.int(1, 4), og = r.int(1, 4), kh = r.int(1, 4), kw = r.int(1, 4);
    const strides = [r.int(1, 3), r.int(1, 3)], dil = [r.int(1, 2), r.int(1, 2)], pads = [0, 0, 0, 0].map(() => r.int(0, 1));
    const outputPadding = [r.int(0, strides[0] - 1), r.int(0, strides[1] - 1)];
    const xs = [r.int(1, 2), cg * groups, r.int(1, 7), r.int(1, 9)], ws = [cg * groups, og, kh, kw];
    const attrs = { strides, pads, dilations: dil, outputPadding, groups };
    const x = r.array(prod(xs)), W = r.array(prod(ws)), b = r.array(og * groups);
    const ref = convTranspose2d(x, xs, W, ws, b, attrs);
    if (ref.shape[2] < 1 || ref.shape[3] < 1) continue;
    const act = ['relu', undefined, 'tanh'][cases % 3], residual = cases % 2 ? 'after' : undefined;
    const res = r.array(prod(ref.shape));
    const extra = [act && `act=${act}`, residual && `residual=${residual}`].filter(Boolean).map((s) => `, ${s}`).join('');
    const out = await runGraph({
      inputs: { x: xs, ...(residual ? { r: ref.shape } : {}) }, weights: { W: { shape: ws, data: W }, b: { shape: [og * groups], data: b } },
      nodes: [`node "d" %y = conv_transpose2d(%x, %W, %b${residual ? ', %r' : ''}) {strides=${ints(strides)}, pads=${ints(pads)}, dilations=${ints(dil)}, output_padding=${ints(outputPadding)}, groups=${groups}${extra}}`],
      outputs: ['y'],
    }, { x: { data: x, shape: xs }, ...(residual ? { r: { data: res, shape: ref.shape } } : {}) });
    assert.deepEqual(out.y.shape, ref.shape);
    assertClose(out.y.data, epilogue(ref.y, act, residual, res), CONTRACTION_TOL, `conv_transpose2d x${dims(xs)} W${dims(ws)} ${JSON.stringify(attrs)}`);
    cases++;
  }
});

test('linear: rows, bias, epilogues, input flattened from axis 1', async () => {
  const r = rng(3);
  for (const [rows, inShape, outF, act, residual, bias] of [
    [1, [162], 50, 'relu', undefined, true], [3, [2, 3, 4], 7, undefined, 'after', false], [5, [9], 4, 'sigmoid', 'before', true],
    [8, [33], 17, 'leaky_relu:0.1', undefined, true]]) {
    const inF = prod(inShape), x = r.array(rows * inF), W = r.array(outF * inF), b = r.array(outF), res = r.array(rows * outF);
    const extra = [act && `act=${act}`, residual && `residual=${residual}`].filter(Boolean).join(', ');
    const out = await runGraph({
      inputs: { x: ['N', ...inShape], ...(residual ? { r: ['N', outF] } : {}) },
      weights: { W: { shape: [outF, inF], data: W }, ...(bias ? { b: { shape: [outF], data: b } } : {}) },
      nodes: [`node "fc" %y = linear(%x, %W${bias ? ', %b' : ''}${residual ? ', %r' : ''})${extra ? ` {${extra}}` : ''}`],
      outputs: ['y'],
    }, { x: { data: x, shape: [rows, ...inShape] }, ...(residual ? { r: { data: res, shape: [rows, outF] } } : {}) });
    assert.deepEqual(out.y.shape, [rows, outF]);
    assertClose(out.y.data, epilogue(linear(x, rows, inF, W, outF, bias ? b : null), act, residual, res), CONTRACTION_TOL, `linear ${rows}x${inF}→${outF}`);
  }
});

test('depth_to_space: DCR (Chainer) and CRD (PyTorch)', async () => {
  const r = rng(4);
  for (const mode of ['DCR', 'CRD']) {
    for (const b of [2, 3]) {
      const xs = [2, 2 * b * b, 3, 5], x = r.array(prod(xs));
      const out = await runGraph({ inputs: { x: xs }, nodes: [`node "d" %y = depth_to_space(%x) {block_size=${b}, mode=${mode}}`], outputs: ['y'] },
        { x: { data: x, shape: xs } });
      assert.deepEqual(out.y.shape, [2, 2, 3 * b, 5 * b]);
      assert.deepEqual(Array.from(out.y.data), Array.from(depthToSpace(x, xs, b, mode)), `${mode} block ${b}`);
    }
  }
});

test('batch_norm and unary activations', async () => {
  const r = rng(5);
  const xs = [2, 3, 4, 5], x = r.array(prod(xs), -8, 8);
  const [g, b, m] = [r.array(3), r.array(3), r.array(3)], v = r.array(3, 0.1, 2);
  const out = await runGraph({
    inputs: { x: xs }, weights: { g: { shape: [3], data: g }, b: { shape: [3], data: b }, m: { shape: [3], data: m }, v: { shape: [3], data: v } },
    nodes: ['node "bn" %y = batch_norm(%x, %g, %b, %m, %v) {eps=2e-05}', 'node "a" %t = tanh(%x)', 'node "s" %s = sigmoid(%x)',
      'node "p" %p = softplus(%x)', 'node "l" %l = leaky_relu(%x) {alpha=0.2}', 'node "r" %u = relu(%y)'],
    outputs: ['y', 't', 's', 'p', 'l', 'u'],
  }, { x: { data: x, shape: xs } });
  const bn = Array.from(x, (val, i) => {
    const c = Math.floor(i / 20) % 3;
    return Math.fround((val - m[c]) * Math.fround(g[c] / Math.sqrt(v[c] + 2e-5)) + b[c]);
  });
  assertClose(out.y.data, bn, ELEMENTWISE_TOL, 'batch_norm');
  assertClose(out.u.data, bn.map(activations.relu), ELEMENTWISE_TOL, 'relu');
  assertClose(out.t.data, Array.from(x, activations.tanh), ELEMENTWISE_TOL, 'tanh');
  assertClose(out.s.data, Array.from(x, activations.sigmoid), ELEMENTWISE_TOL, 'sigmoid');
  assertClose(out.p.data, Array.from(x, activations.softplus), ELEMENTWISE_TOL, 'softplus');
  assertClose(out.l.data, Array.from(x, (q) => (q >= 0 ? q : 0.2 * q)), ELEMENTWISE_TOL, 'leaky_relu');
});

test('add/sub/mul: same shape, per-channel, scalar, and general broadcasting', async () => {
  const r = rng(6);
  const cases = [[[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [3, 1]], [[2, 3, 4], [1]], [[3, 1], [2, 3, 4]], [[2, 1, 4], [3, 1]], [[4], [2, 3, 1]]];
  for (const [as, bs] of cases) {
    const a = r.array(prod(as)), b = r.array(prod(bs));
    const out = await runGraph({
      inputs: { a: as, b: bs }, nodes: ['node "x" %x = add(%a, %b)', 'node "y" %y = sub(%a, %b)', 'node "z" %z = mul(%a, %b)'],
      outputs: ['x', 'y', 'z'],
    }, { a: { data: a, shape: as }, b: { data: b, shape: bs } });
    const rank = Math.max(as.length, bs.length), pa = [...Array(rank - as.length).fill(1), ...as], pb = [...Array(rank - bs.length).fill(1), ...bs];
    const ys = pa.map((d, i) => Math.max(d, pb[i]));
    const at = (data, shape, idx) => data[idx.reduce((o, q, i) => o * shape[i] + (shape[i] === 1 ? 0 : q), 0)];
    const want = { x: [], y: [], z: [] };
    for (let k = 0; k < prod(ys); k++) {
      const idx = [];
      let rem = k;
      for (let d = rank - 1; d >= 0; d--) { idx.unshift(rem % ys[d]); rem = Math.floor(rem / ys[d]); }
      const u = at(a, pa, idx), v = at(b, pb, idx);
      want.x.push(Math.fround(u + v)); want.y.push(Math.fround(u - v)); want.z.push(Math.fround(u * v));
    }
    for (const k of ['x', 'y', 'z']) {
      assert.deepEqual(out[k].shape, ys);
      assert.deepEqual(Array.from(out[k].data), want[k], `${k} ${dims(as)} ∘ ${dims(bs)}`);
    }
  }
});

test('layout ops: reshape, flatten, transpose, slice, concat, constant, identity', async () => {
  const r = rng(7);
  const xs = [2, 3, 4], x = r.array(24);
  const out = await runGraph({
    inputs: { x: ['N', 3, 4] },
    nodes: [
      'node "rs" %rs = reshape(%x) {shape=[0,-1]}', 'node "fl" %fl = flatten(%x) {axis=2}',
      'node "tr" %tr = transpose(%x) {perm=[2,0,1]}', 'node "sl" %sl = slice(%x) {starts=[1,-1], ends=[3,0], axes=[1,2], steps=[1,-2]}',
      'node "k" %k = constant() {value=f32[1,3,1]{1.5,-2,inf}}', 'node "id" %id = identity(%x)',
      'node "ct" %ct = concat(%x, %id) {axis=2}',
    ],
    outputs: ['rs', 'fl', 'tr', 'sl', 'k', 'ct'],
  }, { x: { data: x, shape: xs } });
  assert.deepEqual(out.rs.shape, [2, 12]);
  assert.deepEqual(Array.from(out.rs.data), Array.from(x));
  assert.deepEqual(out.fl.shape, [6, 4]);
  assert.deepEqual(out.tr.shape, [4, 2, 3]);
  const tr = [];
  for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) tr.push(x[i * 12 + j * 4 + k]);
  assert.deepEqual(Array.from(out.tr.data), tr);
  const sl = [];
  for (let i = 0; i < 2; i++) for (let j = 1; j < 3; j++) for (const k of [3, 1]) sl.push(x[i * 12 + j * 4 + k]);
  assert.deepEqual(out.sl.shape, [2, 2, 2]);
  assert.deepEqual(Array.from(out.sl.data), sl);
  assert.deepEqual(Array.from(out.k.data), [1.5, -2, Infinity]);
  const ct = [];
  for (let i = 0; i < 6; i++) ct.push(...x.slice(i * 4, i * 4 + 4), ...x.slice(i * 4, i * 4 + 4));
  assert.deepEqual(out.ct.shape, [2, 3, 8]);
  assert.deepEqual(Array.from(out.ct.data), ct);
});

test('gemm (transposes, alpha, beta, broadcast C) and batched matmul', async () => {
  const r = rng(8);
  const A = r.array(5 * 3), B = r.array(4 * 5), C = r.array(4), M1 = r.array(2 * 3 * 4 * 6), M2 = r.array(6 * 7);
  const out = await runGraph({
    inputs: { a: [5, 3], m: [2, 3, 4, 6] }, weights: { B: { shape: [4, 5], data: B }, C: { shape: [4], data: C }, M2: { shape: [6, 7], data: M2 } },
    nodes: ['node "g" %g = gemm(%a, %B, %C) {alpha=0.5, beta=2, trans_a=1, trans_b=1}', 'node "mm" %mm = matmul(%m, %M2)'],
    outputs: ['g', 'mm'],
  }, { a: { data: A, shape: [5, 3] }, m: { data: M1, shape: [2, 3, 4, 6] } });
  const g = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) {
    let s = 0;
    for (let k = 0; k < 5; k++) s += A[k * 3 + i] * B[j * 5 + k];
    g.push(0.5 * s + 2 * C[j]);
  }
  assert.deepEqual(out.g.shape, [3, 4]);
  assertClose(out.g.data, g, CONTRACTION_TOL, 'gemm');
  const mm = [];
  for (let bi = 0; bi < 6; bi++) for (let i = 0; i < 4; i++) for (let j = 0; j < 7; j++) {
    let s = 0;
    for (let k = 0; k < 6; k++) s += M1[(bi * 4 + i) * 6 + k] * M2[k * 7 + j];
    mm.push(s);
  }
  assert.deepEqual(out.mm.shape, [2, 3, 4, 7]);
  assertClose(out.mm.data, mm, CONTRACTION_TOL, 'matmul');
});

test('every encoding decodes to what its encoder meant (weights as graph outputs)', async () => {
  const r = rng(9);
  const shapes = { a: [6, 5, 3, 3], b: [5, 7], c: [11], d: [4, 3, 2, 2] };
  const encodings = ['f32', 'f16', 'int8', 'int8-a1', 'int4-g32', 'int4-g5-a1', 'palette16', 'palette4-pc', 'palette8-pc-a1', 'palette256', 'eightbit'];
  for (const encoding of encodings) {
    for (const deflate of [false, true]) {
      const weights = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, { shape: s, data: r.array(prod(s), -3, 3), encoding }]));
      const { bytes, decoded } = graphBundle({ weights, nodes: [], outputs: Object.keys(shapes), deflate });
      const model = await loadBytes(bytes);
      const out = await model.run({});
      for (const k of Object.keys(shapes)) {
        assert.deepEqual(out[k].shape, shapes[k]);
        assert.deepEqual(Array.from(out[k].data), Array.from(decoded.get(k)), `${encoding}${deflate ? ' deflated' : ''} tensor ${k}`);
        const err = maxAbs(out[k].data, weights[k].data);
        assert.ok(encoding !== 'f32' || err === 0, 'f32 is exact');
        assert.ok(err < 1.5, `${encoding}: decoded values are near the originals (max-abs ${err})`);
      }
    }
  }
});

test('the memory plan reuses buffers across a long chain and stays correct', async () => {
  const r = rng(10);
  const nodes = [], weights = {};
  let prev = 'x';
  for (let i = 0; i < 24; i++) {
    weights[`W${i}`] = { shape: [8, 8, 3, 3], data: r.array(576, -0.2, 0.2) };
    nodes.push(`node "c${i}" %c${i} = conv2d(%${prev}, %W${i}${i % 2 ? `, %${nodes.length > 1 ? `c${i - 2}` : 'x'}` : ''}) {strides=[1,1], pads=[1,1,1,1], dilations=[1,1], groups=1, act=relu${i % 2 ? ', residual=before' : ''}}`);
    prev = `c${i}`;
  }
  const xs = [1, 8, 10, 10], x = r.array(800);
  const model = await loadBytes(graphBundle({ inputs: { x: xs }, weights, nodes, outputs: [prev] }).bytes);
  const out = await model.run({ x: { data: x, shape: xs } });
  const vals = { x };
  let ref = x;
  for (let i = 0; i < 24; i++) {
    const c = conv2d(ref, xs, weights[`W${i}`].data, [8, 8, 3, 3], null, { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 1 });
    ref = epilogue(c.y, 'relu', i % 2 ? 'before' : undefined, i % 2 ? vals[i > 1 ? `c${i - 2}` : 'x'] : null);
    vals[`c${i}`] = ref;
  }
  assertClose(out[prev].data, ref, CONTRACTION_TOL, 'chain');
  assert.ok(model.plan.arenaBytes < (25 * 800 * 4) / 1.5, // 25 activations of 3200 bytes without reuse
    `arena ${model.plan.arenaBytes} bytes reuses buffers`);
  const again = await model.run({ x: { data: x, shape: xs } });
  assert.deepEqual(Array.from(again[prev].data), Array.from(out[prev].data), 'a second run gives the same output');
});
