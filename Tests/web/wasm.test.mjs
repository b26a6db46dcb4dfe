// wasm.test.mjs: kernels.wasm and kernels-mt(-fma).wasm are exactly what build-wasm.sh makes from Sources/MoeKernels,
// export the ABI, fit the budget.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { root } from './helpers.mjs';

const web = join(root, 'Sources/MoeWeb');

const builds = ['kernels.wasm', 'kernels-mt.wasm', 'kernels-mt-fma.wasm'];

test('kernels*.wasm are up to date: a fresh build of the sources is byte-identical', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moewasm-'));
  try {
    execFileSync(join(web, 'build-wasm.sh'), [dir], { stdio: 'pipe' });
    for (const name of builds) {
      assert.ok(Buffer.compare(readFileSync(join(dir, name)), readFileSync(join(web, name))) === 0,
        `Sources/MoeWeb/${name} is stale: run \`make wasm\` (Sources/MoeWeb/build-wasm.sh) and commit it`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('moe.js + each kernels build fit in 150 kB (a page loads one build)', () => {
  for (const name of builds) {
    const total = statSync(join(web, 'moe.js')).size + statSync(join(web, name)).size;
    assert.ok(total <= 150_000, `moe.js + ${name} = ${total} bytes`);
  }
});

test('kernels-mt*.wasm import a shared memory of at most 1 GiB and export the parts and the stack pointer', async () => {
  for (const name of builds.slice(1)) {
    // kernels-mt-fma.wasm validates only where relaxed SIMD is on (node 20: --experimental-wasm-relaxed-simd)
    if (name.includes('fma') && !WebAssembly.validate(readFileSync(join(web, name)))) continue;
    const module = await WebAssembly.compile(readFileSync(join(web, name)));
    assert.deepEqual(WebAssembly.Module.imports(module), [{ module: 'env', name: 'memory', kind: 'memory' }]);
    // The memory moe.js creates (17 pages, at most 16384, shared) is accepted.
    const memory = new WebAssembly.Memory({ initial: 17, maximum: 16384, shared: true });
    const { exports } = await WebAssembly.instantiate(module, { env: { memory } });
    for (const e of ['__stack_pointer', 'moe_conv2d_pack', 'moe_conv2d_part', 'moe_conv2d_parts_scratch', 'moe_linear_part',
      'moe_matmul_part', 'moe_depth_to_space_part', 'moe_unary_part', 'moe_conv2d', 'moe_alloc', 'moe_winograd_part',
      'moe_winograd_wide_part', 'moe_conv_transpose2d_pack', 'moe_conv_transpose2d_part', 'moe_conv_transpose2d_parts_scratch']) {
      assert.ok(e in exports, `${name} exports ${e}`);
    }
  }
});

test('kernels.wasm exports the C ABI and imports nothing', async () => {
  const module = await WebAssembly.compile(readFileSync(join(web, 'kernels.wasm')));
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  const names = WebAssembly.Module.exports(module).map((e) => e.name).sort();
  for (const name of ['memory', 'moe_alloc', 'moe_reset', 'moe_conv2d', 'moe_conv2d_scratch', 'moe_conv_transpose2d',
    'moe_conv_transpose2d_scratch', 'moe_linear', 'moe_matmul', 'moe_matmul_scratch', 'moe_unary', 'moe_binary',
    'moe_batch_norm', 'moe_depth_to_space', 'moe_decode_f16', 'moe_decode_int8', 'moe_decode_int4', 'moe_decode_palette',
    'moe_decode_lut8', 'moe_clip', 'moe_where', 'moe_reduce', 'moe_softmax', 'moe_group_norm', 'moe_batch_norm_training',
    'moe_pad', 'moe_pool', 'moe_resize', 'moe_winograd', 'moe_winograd_scratch', 'moe_winograd_wide', 'moe_winograd_wide_scratch']) {
    assert.ok(names.includes(name), `exports ${name}`);
  }
});
