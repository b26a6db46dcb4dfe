// wasm.test.mjs: kernels.wasm is exactly what build-wasm.sh makes from Sources/MoeKernels, exports the ABI, fits the budget.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { root } from './helpers.mjs';

const web = join(root, 'Sources/MoeWeb');

test('kernels.wasm is up to date: a fresh build of the sources is byte-identical', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moewasm-'));
  try {
    const fresh = join(dir, 'kernels.wasm');
    execFileSync(join(web, 'build-wasm.sh'), [fresh], { stdio: 'pipe' });
    const committed = readFileSync(join(web, 'kernels.wasm'));
    assert.ok(Buffer.compare(readFileSync(fresh), committed) === 0,
      'Sources/MoeWeb/kernels.wasm is stale: run `make wasm` (Sources/MoeWeb/build-wasm.sh) and commit it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('moe.js + kernels.wasm fit in 150 kB', () => {
  const total = statSync(join(web, 'moe.js')).size + statSync(join(web, 'kernels.wasm')).size;
  assert.ok(total <= 150_000, `moe.js + kernels.wasm = ${total} bytes`);
});

test('kernels.wasm exports the C ABI and imports nothing', async () => {
  const module = await WebAssembly.compile(readFileSync(join(web, 'kernels.wasm')));
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  const names = WebAssembly.Module.exports(module).map((e) => e.name).sort();
  for (const name of ['memory', 'moe_alloc', 'moe_reset', 'moe_conv2d', 'moe_conv2d_scratch', 'moe_conv_transpose2d',
    'moe_conv_transpose2d_scratch', 'moe_linear', 'moe_matmul', 'moe_matmul_scratch', 'moe_unary', 'moe_binary',
    'moe_batch_norm', 'moe_depth_to_space', 'moe_decode_f16', 'moe_decode_int8', 'moe_decode_int4', 'moe_decode_palette',
    'moe_decode_lut8', 'moe_clip', 'moe_where', 'moe_reduce', 'moe_softmax', 'moe_group_norm', 'moe_batch_norm_training',
    'moe_pad', 'moe_pool', 'moe_resize']) {
    assert.ok(names.includes(name), `exports ${name}`);
  }
});
