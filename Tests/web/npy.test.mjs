// npy.test.mjs: Sources/MoeWeb/npy.js against files written and read by NumPy (system python3).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseNpy, writeNpy } from '../../Sources/MoeWeb/npy.js';

const dir = mkdtempSync(join(tmpdir(), 'moenpy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const python = (script, ...args) => {
  try {
    return execFileSync('python3', ['-c', script, dir, ...args], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    throw new Error(`python3 with numpy is needed for this test (python3 -c "import numpy"): ${e.stderr || e.message}`);
  }
};

// Each case: file name → numpy expression; values are also saved as float64 text for an exact comparison.
const CASES = {
  f4_2d: "np.arange(12, dtype='<f4').reshape(3, 4) / 7",
  f4_1d: "np.array([1.5, -2.25, 3e-8], dtype='<f4')",
  f4_0d: "np.array(3.25, dtype='<f4')",
  f4_empty: "np.zeros((0, 3), dtype='<f4')",
  f4_4d: "np.random.default_rng(1).standard_normal((2, 3, 4, 5)).astype('<f4')",
  f8: "np.array([[0.1, -1e10], [np.pi, 2.0 ** -30]], dtype='<f8')",
  f2: "np.array([0.5, -65504, 6e-8, 1.0009765625, np.inf], dtype='<f2')",
  f4_be: "np.arange(6, dtype='>f4').reshape(2, 3) - 2.5",
  i4: "np.array([[-3, 7], [2 ** 20, 0]], dtype='<i4')",
  u1: "np.arange(250, 256, dtype='u1')",
  bool: "np.array([True, False, True])",
  f4_v2: "np.arange(5, dtype='<f4')",
  f4_fortran: "np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3))",
  f4_fortran_3d: "np.asfortranarray(np.arange(24, dtype='<f4').reshape(2, 3, 4))",
};

before(() => {
  python(`
import sys, json, numpy as np
d = sys.argv[1]
cases = json.loads(sys.argv[2])
for name, expr in cases.items():
    a = eval(expr)
    if name == 'f4_v2':
        with open(f'{d}/{name}.npy', 'wb') as f: np.lib.format.write_array(f, a, version=(2, 0))
    else:
        np.save(f'{d}/{name}.npy', a)
    vals = [float(v) if np.isfinite(v) else str(float(v)) for v in np.asarray(a, dtype=np.float64).ravel(order='C')]
    json.dump({'shape': list(a.shape), 'values': vals},
              open(f'{d}/{name}.json', 'w'))
`, JSON.stringify(CASES));
});

for (const name of Object.keys(CASES)) {
  test(`reads numpy's ${name}.npy`, () => {
    const bytes = readFileSync(join(dir, `${name}.npy`));
    const want = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
    const got = parseNpy(bytes);
    assert.ok(got.data instanceof Float32Array);
    assert.deepEqual(got.shape, want.shape);
    const num = (v) => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === 'nan' ? NaN : v);
    assert.deepEqual(Array.from(got.data), want.values.map((v) => Math.fround(num(v))));
    if (name === 'f4_v2') assert.equal(bytes[6], 2, 'the file really is format 2.0');
  });
}

test('reads from an ArrayBuffer and from an offset view', () => {
  const b = readFileSync(join(dir, 'f4_2d.npy'));
  const copy = new Uint8Array(b.length + 3);
  copy.set(b, 3);
  const a = parseNpy(copy.subarray(3));
  const c = parseNpy(copy.buffer.slice(3));
  assert.deepEqual(a.shape, [3, 4]);
  assert.deepEqual(Array.from(a.data), Array.from(c.data));
});

test('writes files numpy reads back exactly', () => {
  const shapes = { w2d: [2, 3], w1d: [5], w0d: [], wempty: [0, 4], w4d: [1, 3, 4, 4] };
  const expected = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((p, d) => p * d, 1);
    const data = Float32Array.from({ length: n }, (_, i) => Math.fround((i - 3.3) / 7));
    const bytes = writeNpy(data, shape);
    assert.equal(((bytes[6] === 1 ? 10 : 12) + (bytes[8] | (bytes[9] << 8))) % 64, 0, 'data starts on a 64-byte boundary');
    writeFileSync(join(dir, `${name}.out.npy`), bytes);
    expected[name] = { shape, values: Array.from(data) };
    assert.deepEqual(parseNpy(bytes), { data, shape, dtype: '<f4' }, 'round-trips through parseNpy');
  }
  const seen = JSON.parse(python(`
import sys, json, numpy as np
out = {}
for name in json.loads(sys.argv[2]):
    a = np.load(f'{sys.argv[1]}/{name}.out.npy')
    assert a.dtype == np.float32 and a.flags.c_contiguous, (name, a.dtype)
    out[name] = {'shape': list(a.shape), 'values': [float(v) for v in a.ravel()]}
print(json.dumps(out))
`, JSON.stringify(Object.keys(shapes))));
  assert.deepEqual(seen, expected);
});

test('refuses what it cannot read, with a message', () => {
  assert.throws(() => parseNpy(new Uint8Array(20)), /bad magic/);
  const good = writeNpy(new Float32Array([1, 2, 3]), [3]);
  assert.throws(() => parseNpy(good.subarray(0, good.length - 1)), /truncated data/);
  assert.throws(() => parseNpy(good.subarray(0, 30)), /truncated header/);
  const complex = Uint8Array.from(new TextDecoder('latin1').decode(good).replace('<f4', '<c8'), (c) => c.charCodeAt(0));
  assert.throws(() => parseNpy(complex), /unsupported dtype '<c8'/);
  assert.throws(() => writeNpy(new Float32Array(5), [2, 3]), /needs 6 values/);
});
