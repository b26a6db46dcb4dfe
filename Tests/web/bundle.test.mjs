// bundle.test.mjs: moe.js loading (bytes, path, file: URL, http), progress events, metadata, and every load/run error.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { load } from '../../Sources/MoeWeb/moe.js';
import { graphBundle, reseal, rng, serve, writeBundle } from './helpers.mjs';

const r = rng(42);
const W = r.array(6 * 4), b = r.array(6);
/** y = relu(x·Wᵀ + b) with x (N, 4): a small model with a batch symbol. */
const tiny = () => graphBundle({
  inputs: { x: ['N', 4] }, weights: { W: { shape: [6, 4], data: W }, b: { shape: [6], data: b, encoding: 'f16' } },
  nodes: ['node "fc" %y = linear(%x, %W, %b) {act=relu}'], outputs: ['y'],
}).bytes;
const x = Float32Array.from([0.5, -1, 2, 0.25, 1, 1, -1, 0]);
const dir = mkdtempSync(join(tmpdir(), 'moejs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function expectRun(model) {
  const out = await model.run({ x: { data: x, shape: [2, 4] } });
  assert.deepEqual(out.y.shape, [2, 6]);
  assert.ok(out.y.data instanceof Float32Array);
  assert.ok(out.y.data.every((v) => v >= 0), 'relu applied');
  return out;
}

/** Asserts that loading `bytes` rejects with an Error whose message matches `pattern`. */
async function rejects(bytes, pattern) {
  await assert.rejects(load(bytes), (e) => {
    assert.ok(e instanceof Error, 'an Error');
    assert.match(e.message, pattern);
    return true;
  });
}

test('loads from an ArrayBuffer, a Uint8Array view, a path and a file: URL, all alike', async () => {
  const bytes = tiny();
  const padded = new Uint8Array(bytes.length + 7);
  padded.set(bytes, 7);
  const path = join(dir, 'tiny.moe');
  writeFileSync(path, bytes);
  const outs = [];
  for (const source of [bytes.slice().buffer, padded.subarray(7), path, pathToFileURL(path).href, pathToFileURL(path)]) {
    outs.push(await expectRun(await load(source)));
  }
  for (const o of outs) assert.deepEqual(Array.from(o.y.data), Array.from(outs[0].y.data));
});

test('model.inputs, outputs and metadata (with the vocabulary)', async () => {
  const vocabulary = { noise_length: 2, groups: [{ name: 'hair', tags: ['a', 'b'] }] };
  const { bytes } = writeBundle({
    graph: 'moeir 1\ngraph "g"\ninput %x : f32[N,4]\nweight %W : f32[6,4]\nnode "fc" %y = linear(%x, %W)\noutput %y\n',
    tensors: [{ name: 'W', shape: [6, 4], data: W }], inputs: [{ name: 'x', shape: [-1, 4] }],
    outputs: [{ name: 'y', shape: [-1, 6] }], metadata: { arch: 'tiny', model: 'tiny C=1' }, vocabulary,
  });
  const model = await load(bytes);
  assert.deepEqual(model.inputs, [{ name: 'x', shape: [-1, 4] }]);
  assert.deepEqual(model.outputs, [{ name: 'y', shape: [-1, 6] }]);
  assert.equal(model.metadata.arch, 'tiny');
  assert.equal(model.metadata.model, 'tiny C=1');
  assert.deepEqual(model.metadata.vocabulary, vocabulary);
});

test('progress: monotonic per phase, download then decode, each ending at its total', async () => {
  const bytes = tiny();
  const path = join(dir, 'progress.moe');
  writeFileSync(path, bytes);
  const server = await serve({ '/m.moe': bytes });
  const chunked = await serve({ '/m.moe': bytes }, { chunked: true });
  try {
    for (const source of [bytes, path, `${server.url}/m.moe`, `${chunked.url}/m.moe`]) {
      const events = [];
      await expectRun(await load(source, { onProgress: (e) => events.push(e) }));
      const phases = [...new Set(events.map((e) => e.phase))];
      assert.deepEqual(phases, ['download', 'decode'], `${source}: phases`);
      for (const phase of phases) {
        const ev = events.filter((e) => e.phase === phase);
        ev.forEach((e, i) => {
          assert.ok(e.loaded <= e.total, `${phase}: loaded ≤ total`);
          if (i) assert.ok(e.loaded >= ev[i - 1].loaded && e.total === ev[i - 1].total, `${phase}: monotonic, fixed total`);
        });
        assert.equal(ev.at(-1).loaded, ev.at(-1).total, `${phase} ends at its total`);
      }
      assert.equal(events.filter((e) => e.phase === 'download').at(-1).total, bytes.length);
    }
  } finally {
    await server.close();
    await chunked.close();
  }
});

test('loads over HTTP and reports a missing URL', async () => {
  const server = await serve({ '/m.moe': tiny() });
  try {
    await expectRun(await load(`${server.url}/m.moe`));
    await assert.rejects(load(`${server.url}/nope.moe`), /HTTP 404/);
  } finally {
    await server.close();
  }
});

test('bad magic', async () => {
  const bytes = tiny();
  bytes[1] = 0x50;
  await rejects(bytes, /bad magic/);
  await rejects(new Uint8Array([1, 2, 3]), /bad magic/);
});

test('unknown version names the version', async () => {
  const bytes = tiny();
  new DataView(bytes.buffer).setUint32(8, 7, true);
  await rejects(bytes, /unknown bundle version 7 \(this reader knows version 1\)/);
});

test('truncated file names expected and actual bytes', async () => {
  const bytes = tiny();
  await rejects(bytes.subarray(0, bytes.length - 100), new RegExp(`truncated file: expected ${bytes.length} bytes, got ${bytes.length - 100}`));
  await rejects(bytes.subarray(0, 60), new RegExp(`truncated file: expected ${bytes.length} bytes, got 60`));
  const path = join(dir, 'cut.moe');
  writeFileSync(path, bytes.subarray(0, bytes.length - 10));
  await assert.rejects(load(path), new RegExp(`truncated file: expected ${bytes.length} bytes, got ${bytes.length - 10}`));
});

test('checksum mismatch', async () => {
  const bytes = tiny();
  bytes[bytes.length - 70] ^= 0x40;
  await rejects(bytes, /checksum mismatch/);
});

test('a flipped bit in any reserved header byte (56–63, 96–127) is refused, naming the offset', async () => {
  const good = tiny();
  await expectRun(await load(good));
  for (const offset of [...Array(8).keys()].map((i) => 56 + i).concat([...Array(32).keys()].map((i) => 96 + i))) {
    assert.equal(good[offset], 0, `reserved byte ${offset} is written zero`);
    for (let bit = 0; bit < 8; bit++) {
      const bytes = good.slice();
      bytes[offset] ^= 1 << bit;
      await rejects(bytes, new RegExp(`corrupt header: reserved byte at offset ${offset} is 0x${(1 << bit).toString(16)}\\b`));
    }
  }
});

test('unknown encoding names the tensor and the encoding', async () => {
  const { bytes } = writeBundle({
    graph: 'moeir 1\ngraph "g"\nweight %W : f32[2]\noutput %W\n',
    tensors: [{ name: 'W', shape: [2], encoding: 'int3', payload: new Uint8Array(8) }],
  });
  await rejects(bytes, /unknown encoding 'int3' for tensor 'W'/);
});

test('a payload of the wrong size names the tensor', async () => {
  const { bytes } = writeBundle({
    graph: 'moeir 1\ngraph "g"\nweight %W : f32[2,3]\noutput %W\n',
    tensors: [{ name: 'W', shape: [2, 3], encoding: 'int8', payload: new Uint8Array(9) }],
  });
  await rejects(bytes, /tensor 'W' \(int8\): payload is 9 bytes, expected 14/);
});

test('unsupported op names the op and the node', async () => {
  const { bytes } = writeBundle({ graph: 'moeir 1\ngraph "g"\ninput %x : f32[2]\nnode "n1" %y = frobnicate(%x)\noutput %y\n', tensors: [] });
  await rejects(bytes, /unsupported op 'frobnicate' in node 'n1'/);
});

test('a graph weight without a tensor, and an edited manifest without a reseal', async () => {
  const { bytes } = writeBundle({ graph: 'moeir 1\ngraph "g"\nweight %W : f32[2]\noutput %W\n', tensors: [] });
  await rejects(bytes, /weight 'W' has no tensor in the bundle/);
  const ok = tiny();
  const at = ok.indexOf(0x7b, 128);
  ok[at] = 0x5b; // '{' → '['
  await rejects(ok, /checksum mismatch/);
  await rejects(reseal(ok), /corrupt manifest/);
});

test('run: input shape mismatch, missing and unknown inputs are named', async () => {
  const model = await load(tiny());
  await assert.rejects(model.run({ x: { data: new Float32Array(10), shape: [2, 5] } }), /input 'x': shape \[2,5\] does not match \[N,4\]/);
  await assert.rejects(model.run({ x: { data: new Float32Array(7), shape: [2, 4] } }), /input 'x': data has 7 values, shape \[2,4\] needs 8/);
  await assert.rejects(model.run({}), /missing input 'x'/);
  await assert.rejects(model.run({ x: { data: x, shape: [2, 4] }, q: { data: x, shape: [8] } }), /unknown input 'q'/);
  const a = await expectRun(model);
  const single = await model.run({ x: { data: x.subarray(0, 4), shape: [1, 4] } });
  assert.deepEqual(Array.from(single.y.data), Array.from(a.y.data.subarray(0, 6)), 'batch 1 after batch 2 (a new plan)');
});

test('without SubtleCrypto (plain-http pages) the JS SHA-256 checks the bundle', async () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true, writable: true });
  try {
    const big = graphBundle({ inputs: { x: ['N', 4] }, weights: { W: { shape: [6, 4], data: W }, P: { shape: [300], data: r.array(300) } },
      nodes: ['node "fc" %y = linear(%x, %W) {act=relu}'], outputs: ['y'] }).bytes;
    await expectRun(await load(big));
    big[big.length - 3] ^= 1;
    await rejects(big, /checksum mismatch/);
  } finally {
    Object.defineProperty(globalThis, 'crypto', saved);
  }
});

test('reshape and identity of weights and constants alias their storage', async () => {
  const model = await load(graphBundle({
    inputs: { x: [2, 3] }, weights: { W: { shape: [6], data: Float32Array.from([1, 2, 3, 4, 5, 6]) } },
    nodes: ['node "r" %Wr = reshape(%W) {shape=[2,3]}', 'node "k" %k = constant() {value=f32[3]{1,0,-1}}',
      'node "ki" %ki = identity(%k)', 'node "a" %a = add(%x, %Wr)', 'node "m" %y = mul(%a, %ki)'],
    outputs: ['y', 'Wr'],
  }).bytes);
  const out = await model.run({ x: { data: Float32Array.from([1, 1, 1, 1, 1, 1]), shape: [2, 3] } });
  assert.deepEqual(Array.from(out.y.data), [2, 0, -4, 5, 0, -7]);
  assert.deepEqual(out.Wr.shape, [2, 3]);
});
