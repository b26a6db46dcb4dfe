// opcases.test.mjs: every case of the op conformance corpus (Converters/tests/op_cases.py) through moe.js + kernels.wasm.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadGraph } from '../../Sources/MoeWeb/moe.js';
import { parseNpy } from '../../Sources/MoeWeb/npy.js';
import { readNpz, root } from './helpers.mjs';

/** |got − want| / max(|want|, 1) of the corpus (cases.json repeats it); NaN must meet NaN. */
const RELATIVE_TOL = 1e-5;

/** Worst relative error of got against want (Infinity when a NaN or infinity does not match). */
function worstError(got, want) {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const a = got[i], b = want[i];
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    const e = Math.abs(a - b) / Math.max(Math.abs(b), 1);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

test('moe.js + kernels.wasm match NumPy / ONNX Runtime on every op conformance case', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moe-opcases-'));
  try {
    execFileSync(join(root, 'Converters/py'), [join(root, 'Converters/tests/op_cases.py'), dir], { stdio: 'pipe' });
    const corpus = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
    assert.ok(corpus.cases.length >= 300, `the corpus has ${corpus.cases.length} cases`);
    assert.ok(corpus.tolerance >= RELATIVE_TOL, `corpus tolerance ${corpus.tolerance}`);
    const failures = [];
    for (const c of corpus.cases) {
      const file = (suffix) => readFileSync(join(dir, c.name + suffix));
      try {
        const model = await loadGraph(file('.moeir').toString('utf8'));
        const feeds = {}, expected = readNpz(file('.expected.npz'));
        for (const [name, bytes] of Object.entries(readNpz(file('.inputs.npz')))) feeds[name] = parseNpy(bytes);
        const out = await model.run(feeds);
        for (const name of c.outputs) {
          const want = parseNpy(expected[name]), got = out[name];
          if (!got) { failures.push(`${c.name}: no output '${name}'`); continue; }
          if (got.shape.join(',') !== want.shape.join(',')) {
            failures.push(`${c.name}: '${name}' has shape [${got.shape}], expected [${want.shape}]`);
            continue;
          }
          const e = worstError(got.data, want.data);
          if (e > RELATIVE_TOL) failures.push(`${c.name}: '${name}' relative error ${e.toExponential(2)}`);
        }
      } catch (e) {
        failures.push(`${c.name}: ${e.message}`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${corpus.cases.length} cases fail:\n${failures.join('\n')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
