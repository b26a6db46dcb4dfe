// native.test.mjs: a Chainer fixture converted by `moe convert -o x.moe` runs in moe.js as `moe run` runs it natively.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { load } from '../../Sources/MoeWeb/moe.js';
import { maxAbs, root } from './helpers.mjs';

/** moe.js vs the native runtime on the same bundle (same decoded weights, float32 both). */
const PARITY_TOL = 1e-4;
const moe = join(root, '.build/release/moe');
const py = join(root, 'Converters/py');
const dir = mkdtempSync(join(tmpdir(), 'moenative-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Reads a little-endian float32 .npy file. */
function readNpy(path) {
  const b = readFileSync(path);
  const headerLength = b[6] === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8), start = (b[6] === 1 ? 10 : 12) + headerLength;
  const header = b.subarray(b[6] === 1 ? 10 : 12, start).toString('latin1');
  assert.match(header, /'descr': '<f4'/, `${path}: float32 little-endian`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  return { shape, data: new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length)) };
}

const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'pipe', encoding: 'utf8' });

before(() => {
  assert.ok(existsSync(moe), `${moe} is missing: build it first (swift build -c release, or make build)`);
  assert.match(run(moe, ['convert', '--help']), /\.moe/, '`moe convert` cannot write .moe bundles yet: rebuild .build/release/moe');
  assert.ok(existsSync(join(root, '.venv/bin/python')), 'the Chainer venv is missing: run make venv (Converters/setup_venv.sh)');
  run(py, ['Converters/chainer/make_fixture.py', '--arch', 'srresnet-generator', '--C', '8', '--B', '1', '--U', '1',
    '--n', '162', '--batch', '1', '--out', dir]);
});

test('srresnet-generator C=16 (Winograd F(4×4, 3×3) convs): moe.js matches Chainer, on 1 and 2 threads', async () => {
  const fx = join(dir, 'c16');
  run(py, ['Converters/chainer/make_fixture.py', '--arch', 'srresnet-generator', '--C', '16', '--B', '2', '--U', '2',
    '--n', '162', '--batch', '1', '--out', fx]);
  const bundle = join(fx, 'model.moe');
  run(moe, ['convert', join(fx, 'model.npz'), '-o', bundle]);
  const z = readNpy(join(fx, 'z_b1.npy')), chainer = readNpy(join(fx, 'out_b1.npy'));
  const outs = [];
  for (const options of [{}, { threads: 2, relaxed: false }]) {
    const model = await load(bundle, options);
    assert.ok(model.graph.nodes.some((n) => n.winograd), 'some convs take the Winograd path');
    outs.push((await model.run({ [model.inputs[0].name]: z }))[model.outputs[0].name]);
    model.dispose();
  }
  assert.deepEqual(outs[0].shape, chainer.shape);
  const d = maxAbs(outs[0].data, chainer.data);
  assert.ok(d <= PARITY_TOL, `max-abs ${d} > ${PARITY_TOL}`);
  assert.deepEqual(Array.from(outs[1].data), Array.from(outs[0].data), '2 threads vs 1 thread');
});

for (const [scheme, deflate] of [['none', false], ['f16', false], ['int8', true], ['int4-g32', false], ['palette16', true], ['eightbit', false]]) {
  test(`srresnet-generator fixture, --quantize ${scheme}${deflate ? ' --deflate' : ''}: moe.js matches moe run`, async () => {
    const bundle = join(dir, `${scheme}.moe`), native = join(dir, `${scheme}.npy`);
    run(moe, ['convert', join(dir, 'model.npz'), '-o', bundle, '--quantize', scheme, ...(deflate ? ['--deflate'] : [])]);
    run(moe, ['run', bundle, '--input', join(dir, 'z_b1.npy'), '-o', native]);
    const model = await load(bundle);
    const z = readNpy(join(dir, 'z_b1.npy')), want = readNpy(native);
    const out = await model.run({ [model.inputs[0].name]: z });
    const got = out[model.outputs[0].name];
    assert.deepEqual(got.shape, want.shape);
    const d = maxAbs(got.data, want.data);
    assert.ok(d <= PARITY_TOL, `max-abs ${d} > ${PARITY_TOL}`);
    if (scheme === 'none') {
      const chainer = readNpy(join(dir, 'out_b1.npy'));
      assert.ok(maxAbs(got.data, chainer.data) <= PARITY_TOL, 'float bundle matches Chainer');
    }
    // The worker pool (kernels-mt.wasm, 2 threads): the same bits as one thread.
    const threaded = await load(bundle, { threads: 2, relaxed: false });
    assert.equal(threaded.threads, 2);
    const t = (await threaded.run({ [model.inputs[0].name]: z }))[model.outputs[0].name];
    threaded.dispose();
    assert.deepEqual(Array.from(t.data), Array.from(got.data), '2 threads vs 1 thread');
  });
}
