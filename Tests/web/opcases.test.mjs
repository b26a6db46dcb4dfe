// opcases.test.mjs: every case of the op conformance corpus (Converters/tests/op_cases.py) through moe.js + kernels.wasm.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { load, loadGraph } from '../../Sources/MoeWeb/moe.js';
import { parseNpy } from '../../Sources/MoeWeb/npy.js';
import { readNpz, root } from './helpers.mjs';

/** |got − want| / max(|want|, 1) of the corpus (cases.json repeats it); NaN must meet NaN. */
const RELATIVE_TOL = 1e-5;
const dir = mkdtempSync(join(tmpdir(), 'moe-opcases-'));
let corpus;

before(() => {
  execFileSync(join(root, 'Converters/py'), [join(root, 'Converters/tests/op_cases.py'), dir], { stdio: 'pipe' });
  corpus = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

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

/** Runs each case on a model from `open(case)`; returns one line per mismatch or error, naming the case. */
async function failuresOf(cases, open) {
  const failures = [];
  for (const c of cases) {
    try {
      const model = await open(c);
      const feeds = {}, expected = readNpz(readFileSync(join(dir, `${c.name}.expected.npz`)));
      for (const [name, bytes] of Object.entries(readNpz(readFileSync(join(dir, `${c.name}.inputs.npz`))))) feeds[name] = parseNpy(bytes);
      const out = await model.run(feeds);
      for (const name of c.outputs) {
        const want = parseNpy(expected[name]), got = out[name];
        if (!got) failures.push(`${c.name}: no output '${name}'`);
        else if (got.shape.join(',') !== want.shape.join(',')) failures.push(`${c.name}: '${name}' has shape [${got.shape}], expected [${want.shape}]`);
        else {
          const e = worstError(got.data, want.data);
          if (e > RELATIVE_TOL) failures.push(`${c.name}: '${name}' relative error ${e.toExponential(2)}`);
        }
      }
    } catch (e) {
      failures.push(`${c.name}: ${e.message}`);
    }
  }
  return failures;
}

test('moe.js + kernels.wasm match NumPy / ONNX Runtime on every op conformance case', async () => {
  assert.ok(corpus.cases.length >= 300, `the corpus has ${corpus.cases.length} cases`);
  assert.ok(corpus.tolerance >= RELATIVE_TOL, `corpus tolerance ${corpus.tolerance}`);
  const failures = await failuresOf(corpus.cases, (c) => loadGraph(readFileSync(join(dir, `${c.name}.moeir`), 'utf8')));
  assert.ok(failures.length === 0, `${failures.length} of ${corpus.cases.length} cases fail:\n${failures.join('\n')}`);
});

test('bundles written by `moe convert --no-optimize` of one case per op load and match', async () => {
  const moe = join(root, '.build/release/moe');
  assert.ok(existsSync(moe), `${moe} is missing: build it first (swift build -c release, or make build)`);
  const onePerOp = [...new Map(corpus.cases.map((c) => [c.op, c])).values()];
  for (const c of onePerOp) {
    execFileSync(moe, ['convert', join(dir, `${c.name}.moeir`), '-o', join(dir, `${c.name}.moe`), '--no-optimize'], { stdio: 'pipe' });
  }
  const failures = await failuresOf(onePerOp, (c) => load(join(dir, `${c.name}.moe`)));
  assert.ok(failures.length === 0, `${failures.length} of ${onePerOp.length} bundles fail:\n${failures.join('\n')}`);
});
