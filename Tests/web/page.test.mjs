// page.test.mjs: app.js's pure helpers; run-node.mjs against `moe run`; the site (runner + page) in headless Chromium.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  buildInput, defaultSettings, gaussian, generatorInput, inputPriors, interpolate, mulberry32, parseSettings, sampleTags,
  serializeSettings, slerp, tagsOn, toRGBA, vocabularyOf,
} from '../../Sources/MoeWeb/app.js';
import { load } from '../../Sources/MoeWeb/moe.js';
import { parseNpy, writeNpy } from '../../Sources/MoeWeb/npy.js';
import { maxAbs, root } from './helpers.mjs';
import { webDriver } from './webdriver.mjs';

/** moe.js (node or browser) vs the native runtime on the same bundle. */
const PARITY_TOL = 1e-4;
const web = join(root, 'Sources/MoeWeb');
const moe = join(root, '.build/release/moe');

/** The 34-tag vocabulary (tags.json). */
const VOCAB = {
  noise_length: 128,
  groups: [
    { name: 'hair_color', one_of: true, tags: ['blonde_hair', 'brown_hair', 'black_hair', 'blue_hair', 'pink_hair', 'purple_hair', 'green_hair', 'red_hair', 'silver_hair', 'white_hair', 'orange_hair', 'aqua_hair', 'grey_hair'],
      prior: [0.160, 0.213, 0.155, 0.105, 0.080, 0.095, 0.036, 0.077, 0.032, 0.018, 0.022, 0.005, 0.002] },
    { name: 'hair_style', one_of: false, tags: ['long_hair', 'short_hair', 'twin_tail', 'drill_hair', 'ponytail'], prior: [0.25, 0.25, 0.25, 0.25, 0.25] },
    { name: 'other', one_of: false, tags: ['blush', 'smile', 'open_mouth', 'hat', 'ribbon', 'glasses'], prior: [0.6, 0.6, 0.25, 0.0449, 0.3, 0.0538] },
    { name: 'eye_color', one_of: true, tags: ['blue_eyes', 'red_eyes', 'brown_eyes', 'green_eyes', 'purple_eyes', 'yellow_eyes', 'pink_eyes', 'aqua_eyes', 'black_eyes', 'orange_eyes'],
      prior: [0.284, 0.158, 0.179, 0.134, 0.142, 0.054, 0.010, 0.006, 0.032, 0.002] },
  ],
};
const TAGS = VOCAB.groups.flatMap((g) => g.tags);
const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('pure helpers', () => {
  test('vocabularyOf reads the metadata and falls back to noise only', () => {
    assert.deepEqual(vocabularyOf({ vocabulary: VOCAB }, 162), VOCAB);
    assert.deepEqual(vocabularyOf({ vocabulary: JSON.stringify(VOCAB) }, -1), VOCAB);
    assert.deepEqual(vocabularyOf({}, 100), { noise_length: 100, groups: [] });
    const wrong = vocabularyOf({ vocabulary: VOCAB }, 150);
    assert.deepEqual(wrong.groups, []);
    assert.match(wrong.warning, /describes 162 inputs but the model takes 150/);
    assert.match(vocabularyOf({ vocabulary: { noise_length: 'x' } }, 5).warning, /malformed/);
  });

  test('the input prior in the metadata picks the input and gates the vocabulary', () => {
    const metadata = { vocabulary: VOCAB, input_prior: '{"z":"noise+tags"}' };
    assert.deepEqual(inputPriors(metadata), { z: 'noise+tags' });
    assert.deepEqual(inputPriors({ input_prior: '{not json' }), {});
    const model = { metadata, inputs: [{ name: 'label', shape: [-1, 3] }, { name: 'z', shape: [-1, 162] }] };
    assert.equal(generatorInput(model).name, 'z');
    assert.equal(generatorInput({ metadata: {}, inputs: model.inputs }).name, 'label');
    assert.deepEqual(vocabularyOf(metadata, 162, 'z'), VOCAB);
    assert.deepEqual(vocabularyOf({ tag_vocabulary: JSON.stringify(VOCAB), input_prior: { z: 'noise+tags' } }, 162, 'z'), VOCAB);
    // A vocabulary that the input prior does not give to this input, and a 162-wide input without any, are noise only.
    assert.deepEqual(vocabularyOf({ ...metadata, input_prior: '{"z":"normal"}' }, 162, 'z'), { noise_length: 162, groups: [] });
    assert.deepEqual(vocabularyOf({ arch: 'dcgan-generator' }, 162, 'z'), { noise_length: 162, groups: [] });
  });

  test('sampleTags: one +1 per one_of group, Off/On respected, Random follows the priors', () => {
    const rng = mulberry32(7), settings = defaultSettings(VOCAB), runs = 4000, counts = new Float64Array(TAGS.length);
    settings.tags.hat = 'on';
    settings.tags.glasses = 'off';
    settings.groups.eye_color = 'green_eyes';
    for (let r = 0; r < runs; r++) {
      const t = sampleTags(VOCAB, settings, rng);
      assert.equal(t.length, 34);
      assert.ok(t.every((v) => v === 1 || v === -1), 'tags are ±1');
      let at = 0;
      for (const g of VOCAB.groups) {
        if (g.one_of) assert.equal(t.subarray(at, at + g.tags.length).filter((v) => v === 1).length, 1, `${g.name}: exactly one on`);
        at += g.tags.length;
      }
      assert.equal(t[TAGS.indexOf('hat')], 1, 'On');
      assert.equal(t[TAGS.indexOf('glasses')], -1, 'Off');
      assert.equal(t[TAGS.indexOf('green_eyes')], 1, 'chosen eye colour');
      t.forEach((v, i) => { counts[i] += v > 0; });
    }
    const freq = (tag) => counts[TAGS.indexOf(tag)] / runs;
    for (const [tag, p] of [['brown_hair', 0.213], ['blonde_hair', 0.16], ['aqua_hair', 0.005], ['blush', 0.6], ['open_mouth', 0.25], ['ponytail', 0.25]]) {
      assert.ok(Math.abs(freq(tag) - p) < 0.03, `${tag}: frequency ${freq(tag)} vs prior ${p}`);
    }
    assert.deepEqual(tagsOn(VOCAB, sampleTags(VOCAB, { groups: { hair_color: 'red_hair', eye_color: 'blue_eyes' },
      tags: Object.fromEntries(TAGS.map((t) => [t, t === 'smile' ? 'on' : 'off'])) }, rng)), ['red_hair', 'smile', 'blue_eyes']);
    assert.throws(() => sampleTags(VOCAB, { groups: { hair_color: 'blue_eyes' } }, rng), /not a hair color tag/);
  });

  test('gaussian (Box-Muller) has mean 0 and variance 1; buildInput concatenates', () => {
    const g = gaussian(20001, mulberry32(3));
    assert.equal(g.length, 20001);
    const mean = g.reduce((s, x) => s + x, 0) / g.length, variance = g.reduce((s, x) => s + (x - mean) ** 2, 0) / g.length;
    assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05, `mean ${mean}, variance ${variance}`);
    assert.ok(g.every(Number.isFinite));
    const z = buildInput(Float32Array.of(1, 2), Float32Array.of(-1, 1, 1));
    assert.deepEqual(Array.from(z), [1, 2, -1, 1, 1]);
  });

  test('slerp: exact endpoints, norms kept along the arc, linear for parallel vectors', () => {
    const rng = mulberry32(11);
    for (let trial = 0; trial < 20; trial++) {
      const a = gaussian(128, rng), b = gaussian(128, rng);
      assert.deepEqual(slerp(a, b, 0), a);
      assert.deepEqual(slerp(a, b, 1), b);
      const lo = Math.min(norm(a), norm(b)), hi = Math.max(norm(a), norm(b));
      for (let i = 1; i < 8; i++) {
        const n = norm(slerp(a, b, i / 8));
        assert.ok(n > 0.97 * lo && n < 1.03 * hi, `norm ${n} outside [${lo}, ${hi}] at t = ${i / 8}`);
      }
      const lerpMid = norm(a.map((v, i) => (v + b[i]) / 2));
      assert.ok(norm(slerp(a, b, 0.5)) > 1.2 * lerpMid, 'SLERP does not shrink through the middle as a linear blend does');
    }
    const p = Float32Array.of(1, 2, 3), q = Float32Array.of(2, 4, 6);
    assert.deepEqual(Array.from(slerp(p, q, 0.5)), [1.5, 3, 4.5]);
    assert.throws(() => slerp(p, Float32Array.of(1), 0.5), /lengths 3 and 1/);
  });

  test('interpolate: 9 frames from A to B, tags blended or kept from A', () => {
    const rng = mulberry32(5), settings = defaultSettings(VOCAB);
    const a = buildInput(gaussian(128, rng), sampleTags(VOCAB, settings, rng));
    const b = buildInput(gaussian(128, rng), sampleTags(VOCAB, settings, rng));
    const frames = interpolate(a, b, { steps: 9, noiseLength: 128 });
    assert.equal(frames.length, 9);
    assert.deepEqual(frames[0], a);
    assert.deepEqual(frames[8], b);
    frames[4].subarray(128).forEach((v, k) => assert.equal(v, (a[128 + k] + b[128 + k]) / 2));
    for (const f of interpolate(a, b, { steps: 9, noiseLength: 128, tags: 'a' })) assert.deepEqual(f.subarray(128), a.subarray(128));
  });

  test('toRGBA maps [-1, 1] to 0…255 per channel and picks the batch item', () => {
    const data = new Float32Array(2 * 3 * 2 * 2);
    data.set([-1, 0, 1, 2, /* G */ 0.5, 0.5, 0.5, 0.5, /* B */ -2, -1, -1, -1], 12);
    const { width, height, rgba } = toRGBA({ data, shape: [2, 3, 2, 2] }, 1);
    assert.equal(width, 2);
    assert.equal(height, 2);
    assert.deepEqual(Array.from(rgba), [0, 191, 0, 255, 128, 191, 0, 255, 255, 191, 0, 255, 255, 191, 0, 255]);
    assert.throws(() => toRGBA({ data: new Float32Array(4), shape: [1, 4] }), /not an \(N, 3, H, W\) image/);
  });

  test('settings: JSON round trip, partial updates, clear errors', () => {
    const s = defaultSettings(VOCAB);
    s.groups.hair_color = 'silver_hair';
    s.tags.twin_tail = 'on';
    s.tags.glasses = 'off';
    s.noise = 'fixed';
    s.noise_vector = gaussian(128, mulberry32(9));
    s.count = 12;
    s.interpolation_tags = 'a';
    const text = serializeSettings(s);
    assert.equal(JSON.parse(text).format, 'moekit-settings');
    assert.deepEqual(parseSettings(text, VOCAB), s);
    assert.deepEqual(parseSettings(JSON.parse(text), VOCAB), s);
    const partial = parseSettings({ tags: { hat: 'on' } }, VOCAB, s);
    assert.equal(partial.tags.hat, 'on');
    assert.equal(partial.groups.hair_color, 'silver_hair');
    const bad = [
      ['{', /not JSON/], [[], /expected a JSON object/], [{ format: 'other' }, /format is 'other'/],
      [{ groups: { hair_colour: 'random' } }, /unknown group 'hair_colour'/],
      [{ groups: { hair_color: 'blue_eyes' } }, /'blue_eyes' is not a choice of hair_color/],
      [{ tags: { wings: 'on' } }, /unknown tag 'wings'/], [{ tags: { hat: 'yes' } }, /tag 'hat' is 'yes'/],
      [{ noise: 'sometimes' }, /noise is 'sometimes'/], [{ noise_vector: [1, 2] }, /128 finite numbers/],
      [{ count: 21 }, /count is 21/], [{ count: 1 }, /from 2 to 20/],
    ];
    for (const [input, message] of bad) assert.throws(() => parseSettings(input, VOCAB), message);
  });
});

// MARK: end to end on a small converted fixture

const dir = mkdtempSync(join(tmpdir(), 'moepage-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: 'pipe', encoding: 'utf8', ...opts });
const npy = (path) => parseNpy(readFileSync(path));
let fixture; // {bundle, z, native, chainer}

before(() => {
  assert.ok(existsSync(moe), `${moe} is missing: build it first (swift build -c release, or make build)`);
  assert.ok(existsSync(join(root, '.venv/bin/python')), 'the Chainer venv is missing: run make venv (Converters/setup_venv.sh)');
  run(join(root, 'Converters/py'), ['Converters/chainer/make_fixture.py', '--arch', 'srresnet-generator', '--C', '8', '--B', '1',
    '--U', '1', '--n', '162', '--batch', '2', '--out', dir]);
  fixture = { bundle: join(dir, 'model.moe'), z: join(dir, 'z_b2.npy'), native: join(dir, 'native.npy'), chainer: join(dir, 'out_b2.npy') };
  run(moe, ['convert', join(dir, 'model.npz'), '-o', fixture.bundle]);
  run(moe, ['run', fixture.bundle, '--input', fixture.z, '-o', fixture.native]);
});

describe('metadata of converted bundles (moe convert → moe.js model.metadata)', () => {
  test('a MakeGirls checkpoint carries its vocabulary; a 162-input DCGAN generator gets none', async () => {
    const model = await load(readFileSync(fixture.bundle));
    assert.deepEqual(inputPriors(model.metadata), { z: 'noise+tags' });
    const vocab = vocabularyOf(model.metadata, 162, generatorInput(model).name);
    assert.deepEqual(vocab.groups.map((g) => g.name), VOCAB.groups.map((g) => g.name));
    assert.deepEqual(vocab.groups.flatMap((g) => g.tags), TAGS);
    assert.deepEqual(vocab.groups.map((g) => g.prior), VOCAB.groups.map((g) => g.prior));
    const dcgan = join(dir, 'dcgan');
    run(join(root, 'Converters/py'), ['Converters/chainer/make_fixture.py', '--arch', 'dcgan-generator', '--C', '16', '--n', '162',
      '--batch', '1', '--out', dcgan]);
    run(moe, ['convert', join(dcgan, 'model.npz'), '-o', join(dcgan, 'model.moe')]);
    const plain = await load(readFileSync(join(dcgan, 'model.moe')));
    assert.equal(plain.inputs[0].shape[1], 162);
    assert.equal(plain.metadata.vocabulary, undefined);
    assert.equal(plain.metadata.input_prior, undefined);
    assert.deepEqual(vocabularyOf(plain.metadata, 162, generatorInput(plain).name), { noise_length: 162, groups: [] });
  });
});

describe('run-node.mjs', () => {
  test('matches moe run (native) and Chainer', () => {
    const out = join(dir, 'node-out');
    const line = run('node', [join(web, 'run-node.mjs'), fixture.bundle, out, `z=${fixture.z}`]).trim();
    const report = JSON.parse(line);
    assert.ok(report.ms > 0, 'reports the run time');
    assert.deepEqual(report.outputs, { img: [2, 3, 32, 32] });
    const got = npy(join(out, 'img.npy')), want = npy(fixture.native);
    assert.deepEqual(got.shape, want.shape);
    const d = maxAbs(got.data, want.data);
    assert.ok(d <= PARITY_TOL, `run-node vs moe run: max-abs ${d} > ${PARITY_TOL}`);
    assert.ok(maxAbs(got.data, npy(fixture.chainer).data) <= PARITY_TOL, 'run-node vs Chainer');
  });

  test('errors: one line on stderr, exit 1, no output file', () => {
    const cases = [
      [[fixture.bundle, join(dir, 'e1'), `x=${fixture.z}`], /no input named 'x'; inputs: z/],
      [[join(dir, 'missing.moe'), join(dir, 'e2'), fixture.z], /missing\.moe.*ENOENT|cannot read/],
      [[fixture.bundle, join(dir, 'e3'), fixture.chainer], /input 'z': shape \[2,3,32,32\] does not match/],
      [[fixture.bundle, join(dir, 'e4'), join(dir, 'nope.npy')], /cannot read .*nope\.npy/],
      [[fixture.bundle, join(dir, 'e5')], /usage: node run-node\.mjs/],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync('node', [join(web, 'run-node.mjs'), ...args], { encoding: 'utf8' });
      assert.equal(r.status, 1, `exit status for ${args.join(' ')}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      assert.equal(r.stdout, '');
      assert.ok(!existsSync(join(args[1], 'img.npy')), 'no output written');
    }
  });
});

// MARK: the site in headless Chromium (WebDriver over HTTP via chromedriver; --dump-dom as the fallback)

/**
 * The files `moe export-site` writes, plus the test inputs, served on 127.0.0.1; `isolated` adds the COOP/COEP headers
 * `moe serve` sends (cross-origin isolation: SharedArrayBuffer, so moe.js runs its worker pool).
 */
async function serveSite({ isolated = true } = {}) {
  const site = join(dir, isolated ? 'site' : 'site-plain');
  mkdirSync(join(site, 'inputs'), { recursive: true });
  for (const f of ['index.html', 'app.js', 'style.css', 'npy.js', 'moe.js', 'kernels.wasm', 'kernels-mt.wasm', 'kernels-mt-fma.wasm',
    'runner.html', 'runner.js']) {
    copyFileSync(join(web, f), join(site, f));
  }
  copyFileSync(fixture.bundle, join(site, 'model.moe'));
  copyFileSync(fixture.z, join(site, 'inputs/z.npy'));
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = join(site, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!path.startsWith(site) || !existsSync(path)) { res.writeHead(404); res.end(); return; }
    const isolation = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
    res.writeHead(200, { 'content-type': types[extname(path)] || 'application/octet-stream', ...isolation });
    res.end(readFileSync(path));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

const fromBase64 = (b64) => { const b = Buffer.from(b64, 'base64'); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };

describe('in headless Chromium', () => {
  let site, browser;
  before(async () => {
    site = await serveSite();
    browser = await webDriver();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  test('runner.html: moeRunner.run matches moe run; bench reports ms per image', async () => {
    await browser.open(`${site.url}/runner.html`);
    const spec = { model: 'model.moe', inputs: { z: 'inputs/z.npy' } };
    const r = await browser.run('return window.moeRunner.run(args[0]);', spec);
    assert.ok(!r.error, r.error);
    assert.deepEqual(r.outputs.img.shape, [2, 3, 32, 32]);
    const d = maxAbs(fromBase64(r.outputs.img.base64), npy(fixture.native).data);
    assert.ok(d <= PARITY_TOL, `browser vs moe run: max-abs ${d} > ${PARITY_TOL}`);
    const b = await browser.run('return window.moeRunner.bench(args[0], 3);', spec);
    assert.equal(b.batch, 2);
    assert.ok(b.msPerImage > 0 && b.times.length === 3 && b.singleThreadMsPerImage > 0, JSON.stringify(b));
    assert.ok(b.threads > 1 && /threads$/.test(b.backend) && b.singleThreadBackend === b.backend, JSON.stringify(b));
    const e = await browser.run('return window.moeRunner.run(args[0]);', { model: 'model.moe', inputs: { z: 'inputs/none.npy' } });
    assert.match(e.error, /cannot fetch inputs\/none\.npy: HTTP 404/);
  });

  test('runner.html?auto=SPEC under chromium --dump-dom writes the result into #result', async () => {
    const spec = encodeURIComponent(JSON.stringify({ model: 'model.moe', inputs: { z: 'inputs/z.npy' } }));
    // Asynchronous: the site server runs in this process.
    const r = await new Promise((resolve) => execFile('chromium', ['--headless', '--no-sandbox', '--disable-gpu',
      '--virtual-time-budget=2147483647', '--dump-dom', `${site.url}/runner.html?auto=${spec}`],
    { encoding: 'utf8', timeout: 120000, maxBuffer: 1 << 26 }, (error, stdout, stderr) => resolve({ status: error ? error.code : 0, stdout, stderr })));
    const m = /<pre id="result">([^<]*)<\/pre>/.exec(r.stdout);
    assert.ok(m && m[1], `no result in the dumped DOM (status ${r.status}): ${r.stderr.slice(-500)}`);
    const result = JSON.parse(m[1].replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
    assert.ok(!result.error, result.error);
    const d = maxAbs(fromBase64(result.outputs.img.base64), npy(fixture.native).data);
    assert.ok(d <= PARITY_TOL, `dump-dom run vs moe run: max-abs ${d}`);
  });

  test('index.html shows a face on first load and reports when (ms after navigation start)', async () => {
    await browser.open(`${site.url}/index.html?seed=3`);
    const r = await browser.run(`
      for (let i = 0; i < 400 && !window.moeApp; i++) await new Promise((ok) => setTimeout(ok, 25));
      const ms = await window.moeApp.firstFace;
      const canvas = document.getElementById('canvas');
      return { ms, width: canvas.width, label: canvas.getAttribute('aria-label'), history: document.querySelectorAll('#history button').length,
        backend: window.moeApp.backend, threads: window.moeApp.threads, isolated: window.crossOriginIsolated };`);
    assert.ok(!r.error, r.error);
    console.log(`first face on screen ${r.ms.toFixed(0)} ms after navigation start (${r.backend}, ${r.threads} threads)`);
    assert.ok(r.isolated && r.threads > 1 && /threads$/.test(r.backend), `the isolated page runs the worker pool: ${JSON.stringify(r)}`);
    assert.equal(r.width, 32, 'the face is drawn at the model\'s size');
    assert.match(r.label, /^Generated image/);
    assert.equal(r.history, 1);
    assert.ok(r.ms > 0); // the time itself is a measurement (printed above), not a pass/fail criterion
  });

  test('index.html: window.moeApp generates what moe run computes, honours settings, keeps history', async () => {
    await browser.open(`${site.url}/index.html?seed=1&autogenerate=0`);
    const r = await browser.run(`
      await window.moeApp.ready;
      const a = await window.moeApp.generate({ groups: { hair_color: 'pink_hair', eye_color: 'blue_eyes' },
        tags: { hat: 'on', glasses: 'off' }, noise: 'random' });
      const b = await window.moeApp.generate({ noise: 'fixed' });
      let bad = null;
      try { window.moeApp.setSettings({ tags: { hat: 'maybe' } }); } catch (e) { bad = e.message; }
      const unlabelled = [...document.querySelectorAll('input:not([hidden]), select')].filter((e) => !e.labels.length).map((e) => e.id);
      return { z: Array.from(a.z), img: Array.from(a.img.data), shape: a.img.shape, ms: a.ms, zb: Array.from(b.z),
        settings: window.moeApp.getSettings(), bad, unlabelled, history: document.querySelectorAll('#history button').length,
        status: document.getElementById('status').textContent, caption: document.getElementById('caption').textContent };`);
    assert.ok(!r.error, r.error);
    assert.equal(r.z.length, 162);
    const tags = r.z.slice(128);
    assert.deepEqual(tagsOn(VOCAB, tags).filter((t) => /_hair$|_eyes$/.test(t) && VOCAB.groups.some((g) => g.one_of && g.tags.includes(t))),
      ['pink_hair', 'blue_eyes']);
    assert.equal(tags[TAGS.indexOf('hat')], 1);
    assert.equal(tags[TAGS.indexOf('glasses')], -1);
    assert.deepEqual(r.zb.slice(0, 128), r.z.slice(0, 128), 'fixed noise reuses the last noise');
    assert.deepEqual(r.shape, [1, 3, 32, 32]);
    assert.ok(r.ms > 0);
    assert.equal(r.settings.groups.hair_color, 'pink_hair');
    assert.equal(r.settings.noise, 'fixed');
    assert.match(r.bad, /tag 'hat' is 'maybe'/);
    assert.deepEqual(r.unlabelled, [], 'every control has a label');
    assert.equal(r.history, 2);
    assert.match(r.status, /Generated in \d+ ms/);
    assert.match(r.caption, /Pink hair/);
    // The page's image equals moe run on the same input vector.
    writeFileSync(join(dir, 'page-z.npy'), writeNpy(Float32Array.from(r.z), [1, 162]));
    run(moe, ['run', fixture.bundle, '--input', join(dir, 'page-z.npy'), '-o', join(dir, 'page-native.npy')]);
    const d = maxAbs(Float32Array.from(r.img), npy(join(dir, 'page-native.npy')).data);
    assert.ok(d <= PARITY_TOL, `page vs moe run: max-abs ${d}`);
  });

  test('index.html: generate multiple, history restore, interpolation, settings export', async () => {
    await browser.open(`${site.url}/index.html?seed=2&autogenerate=0`);
    const r = await browser.run(`
      await window.moeApp.ready;
      await window.moeApp.generate({ groups: { hair_color: 'blonde_hair' }, noise: 'random' });
      await window.moeApp.generateMany(3);
      const $ = (id) => document.getElementById(id);
      const thumbs = [...document.querySelectorAll('#history button')];
      thumbs[0].click();
      $('use-a').click();
      thumbs[thumbs.length - 1].click();
      const restored = window.moeApp.getSettings().groups.hair_color;
      $('use-b').click();
      $('interpolate').click();
      for (let i = 0; i < 600 && document.querySelectorAll('#interp button').length < 9 || document.body.dataset.state === 'busy'; i++) {
        await new Promise((ok) => setTimeout(ok, 100));
      }
      return { thumbs: thumbs.length, restored, frames: document.querySelectorAll('#interp button').length,
        status: $('status').textContent, timing: $('timing').textContent };`);
    assert.ok(!r.error, r.error);
    assert.equal(r.thumbs, 4);
    assert.equal(r.restored, 'blonde_hair', 'clicking the oldest result restores its settings');
    assert.equal(r.frames, 9);
    assert.match(r.status, /Interpolated 9 steps/);
    if (process.env.MOE_WEB_SCREENSHOT) writeFileSync(process.env.MOE_WEB_SCREENSHOT, await browser.screenshot());
  });

  test('the worker pool in the page: the same bits on default threads, 1 and 3 threads, and as moe run', async () => {
    await browser.open(`${site.url}/runner.html`);
    const r = await browser.run(`
      const { load } = await import('./moe.js');
      const { parseNpy } = await import('./npy.js');
      const z = parseNpy(await (await fetch('inputs/z.npy')).arrayBuffer());
      const runs = [];
      for (const options of [{}, { threads: 1 }, { threads: 3 }]) {
        const m = await load('model.moe', options);
        const out = await m.run({ [m.inputs[0].name]: z });
        runs.push({ backend: m.backend, threads: m.threads, img: Array.from(out[m.outputs[0].name].data) });
        m.dispose();
      }
      return runs;`);
    assert.ok(!r.error, r.error);
    assert.ok(r[0].threads > 1 && r[1].threads === 1 && r[2].threads === 3, JSON.stringify(r.map((x) => x.threads)));
    assert.ok(r.every((x) => x.backend === r[0].backend && /threads$/.test(x.backend)), r.map((x) => x.backend).join(', '));
    assert.deepEqual(r[1].img, r[0].img, '1 thread vs default threads');
    assert.deepEqual(r[2].img, r[0].img, '3 threads vs default threads');
    const d = maxAbs(Float32Array.from(r[0].img), npy(fixture.native).data);
    assert.ok(d <= PARITY_TOL, `threaded page (${r[0].backend}) vs moe run: max-abs ${d}`);
  });
});

describe('in headless Chromium, served without cross-origin isolation (a plain static server)', () => {
  let site, browser;
  before(async () => {
    site = await serveSite({ isolated: false });
    browser = await webDriver();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  test('index.html falls back to kernels.wasm on one thread and still shows a face matching moe run', async () => {
    await browser.open(`${site.url}/runner.html`);
    const spec = { model: 'model.moe', inputs: { z: 'inputs/z.npy' } };
    const r = await browser.run('return window.moeRunner.run(args[0]);', spec);
    assert.ok(!r.error, r.error);
    const d = maxAbs(fromBase64(r.outputs.img.base64), npy(fixture.native).data);
    assert.ok(d <= PARITY_TOL, `plain-server runner vs moe run: max-abs ${d}`);
    await browser.open(`${site.url}/index.html?seed=3`);
    const p = await browser.run(`
      for (let i = 0; i < 400 && !window.moeApp; i++) await new Promise((ok) => setTimeout(ok, 25));
      const ms = await window.moeApp.firstFace;
      return { ms, backend: window.moeApp.backend, threads: window.moeApp.threads, isolated: window.crossOriginIsolated,
        history: document.querySelectorAll('#history button').length };`);
    assert.ok(!p.error, p.error);
    console.log(`first face (plain server) ${p.ms.toFixed(0)} ms after navigation start (${p.backend}, ${p.threads} thread)`);
    assert.deepEqual([p.isolated, p.backend, p.threads, p.history], [false, 'wasm-simd128', 1, 1]);
  });
});
