// graph.test.mjs: moe.js multi-output nodes in a chain, bool/integer feeds, and clear errors for bad new-op graphs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadGraph } from '../../Sources/MoeWeb/moe.js';
import { halfBits, halfValue, rng } from './helpers.mjs';

const TOL = 1e-5;

/** Naive float64 batch norm with batch statistics over axis 1 of NCHW: [y, mean, biased variance]. */
function batchNormTraining(x, [n, c, h, w], gamma, beta, eps) {
  const inner = h * w, mean = new Float64Array(c), variance = new Float64Array(c), y = new Float64Array(x.length);
  for (let k = 0; k < c; k++) {
    const vals = [];
    for (let b = 0; b < n; b++) for (let i = 0; i < inner; i++) vals.push(x[(b * c + k) * inner + i]);
    mean[k] = vals.reduce((s, v) => s + v, 0) / vals.length;
    variance[k] = vals.reduce((s, v) => s + (v - mean[k]) ** 2, 0) / vals.length;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < inner; i++) {
        const at = (b * c + k) * inner + i;
        y[at] = ((x[at] - mean[k]) / Math.sqrt(variance[k] + eps)) * gamma[k] + beta[k];
      }
    }
  }
  return [y, mean, variance];
}

function assertClose(got, want, what) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= TOL * Math.max(Math.abs(want[i]), 1), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

test('a multi-output node feeds later nodes; outputs stay right over repeated runs', async () => {
  const model = await loadGraph([
    'moeir 1', 'graph "bn"', 'input %x : f32[2,3,4,5]', 'weight %g : f32[3]', 'weight %b : f32[3]',
    'node "bn" %y, %mean, %var = batch_norm_training(%x, %g, %b) {eps=1e-5}',
    'node "act" %z = relu(%y)',
    'node "pool" %p = reduce_mean(%z) {axes=[0,2,3], keepdims=0}',
    'node "sum" %q = add(%mean, %var)',
    'output %p', 'output %q', 'output %var', '',
  ].join('\n'), { weights: { g: { data: [1.5, -0.5, 2] }, b: { data: [0.1, 0.2, -0.3] } } });
  const r = rng(7);
  for (let run = 0; run < 3; run++) {
    const x = r.array(120, -2, 2);
    const out = await model.run({ x: { data: x, shape: [2, 3, 4, 5] } });
    const [y, mean, variance] = batchNormTraining(x, [2, 3, 4, 5], [1.5, -0.5, 2], [0.1, 0.2, -0.3], 1e-5);
    const p = [0, 1, 2].map((k) => {
      let s = 0;
      for (let b = 0; b < 2; b++) for (let i = 0; i < 20; i++) s += Math.max(y[(b * 3 + k) * 20 + i], 0);
      return s / 40;
    });
    assert.deepEqual(out.p.shape, [3]);
    assertClose(out.p.data, p, `run ${run} p`);
    assertClose(out.q.data, mean.map((m, k) => m + variance[k]), `run ${run} q`);
    assertClose(out.var.data, variance, `run ${run} var`);
  }
});

test('bool and integer inputs take booleans, bytes and BigInt64 values', async () => {
  const model = await loadGraph([
    'moeir 1', 'graph "w"', 'input %c : bool[4]', 'input %i : i64[4]', 'input %a : f32[4]',
    'node "sel" %y = where(%c, %a, %i)', 'node "gt" %m = greater(%y, %i)', 'output %y', 'output %m', '',
  ].join('\n'));
  const a = { data: [0.5, 1.5, 2.5, 3.5], shape: [4] };
  for (const c of [[true, false, true, false], new Uint8Array([1, 0, 1, 0])]) {
    const out = await model.run({ c: { data: c, shape: [4] }, i: { data: new BigInt64Array([1n, 2n, 3n, 4n]), shape: [4] }, a });
    assert.deepEqual(Array.from(out.y.data), [0.5, 2, 2.5, 4]);
    assert.deepEqual(Array.from(out.m.data), [0, 0, 0, 0]);
  }
});

test('cast to f16 rounds like the binary16 encoder; to i64 truncates; to bool flags non-zeros', async () => {
  const x = [0, -0.3, 1.00048828125, 1.000732421875, 3.14159, -2.5, 6e-8, 1e-5, 65504, 65519, 65520, -1e6, 7.99];
  const text = (to) => ['moeir 1', 'graph "c"', `input %x : f32[${x.length}]`, `node "c" %y = cast(%x) {to=${to}}`, 'output %y', ''].join('\n');
  const run = async (to) => Array.from((await (await loadGraph(text(to))).run({ x: { data: x, shape: [x.length] } })).y.data, (v) => v + 0);
  assert.deepEqual(await run('f16'), x.map((v) => halfValue(halfBits(v))));
  assert.deepEqual(await run('i64'), x.map((v) => Math.trunc(Math.fround(v)) + 0));
  assert.deepEqual(await run('bool'), x.map((v) => (v !== 0 ? 1 : 0)));
});

test('bad new-op graphs fail naming the node, the attribute or the dtype', async () => {
  const graph = (node, input = 'input %x : f32[1,2,4,4]') => ['moeir 1', 'graph "g"', input, node, 'output %y', ''].join('\n');
  const cases = [
    [graph('node "bn" %y = batch_norm_training(%x, %x, %x) {eps=1e-5}'), /node 'bn' \(batch_norm_training\): expected 3 outputs, got 1/],
    [graph('node "r" %y = relu(%x)', 'input %x : q8[2]'), /input 'x' has dtype q8; expected one of/],
    [graph('node "rs" %y = resize(%x) {mode=cubic, coordinates=half_pixel, nearest=floor, scales=[2.0,2.0]}'),
      /node 'rs' \(resize\): attribute 'mode' must be one of nearest, linear/],
    [graph('node "p" %y = pad(%x) {mode=reflect, pads=[0,0,4,0,0,0,0,0], value=0}'), /node 'p' \(pad\): reflect padding 4,0 needs an extent larger/],
    [graph('node "s" %y = reduce_sum(%x) {axes=[1,-3], keepdims=0}'), /node 's' \(reduce_sum\): axes \[1,-3\] repeat an axis/],
    [graph('node "t" %y = toString(%x)'), /unsupported op 'toString' in node 't'/],
    [graph('node "m" %y = max_pool(%x) {kernel=[2,2], strides=[1,1], pads=[0,0,0,0], dilations=[1,1]}'), /node 'm' \(max_pool\): missing attribute 'ceil_mode'/],
  ];
  for (const [text, error] of cases) {
    await assert.rejects(async () => {
      const model = await loadGraph(text);
      await model.run({ x: { data: new Float32Array(32), shape: [1, 2, 4, 4] } });
    }, error);
  }
});
