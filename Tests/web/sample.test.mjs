// sample.test.mjs: the shipped sample's site (moe export-site, moe serve) in headless Chromium; the tagger checks the faces.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { root } from './helpers.mjs';
import { webDriver } from './webdriver.mjs';

const moe = join(root, '.build/release/moe');
const generator = join(root, 'Samples/generator.npz');
const tagger = join(root, 'Samples/tagger.npz');
/** Hair and eye colours set on the page: the common ones of tags.json's priors, each colour at least once. */
const PAIRS = [
  ['blonde_hair', 'blue_eyes'], ['brown_hair', 'red_eyes'], ['black_hair', 'green_eyes'], ['blue_hair', 'purple_eyes'],
  ['pink_hair', 'brown_eyes'], ['purple_hair', 'blue_eyes'], ['red_hair', 'green_eyes'], ['green_hair', 'red_eyes'],
];
/** The one-of hair colour group (tags.json); `moe tag` reports exactly one of them per image. */
const HAIR_COLOURS = ['blonde_hair', 'brown_hair', 'black_hair', 'blue_hair', 'pink_hair', 'purple_hair', 'green_hair', 'red_hair',
  'silver_hair', 'white_hair', 'orange_hair', 'aqua_hair', 'grey_hair'];
/** Faces per pair (different noise): the check is on the page's faces, so a few of each. */
const FACES = 2;
/** Share of faces whose hair (and, separately, eye) colour the tagger must read as the one set on the page. */
const REQUIRED = 0.8;

const dir = mkdtempSync(join(tmpdir(), 'moesample-'));
let server, url;

before(async () => {
  for (const f of [moe, generator, tagger]) assert.ok(existsSync(f), `${f} is missing (build with make build; the sample ships in Samples/)`);
  execFileSync(moe, ['export-site', generator, '-o', join(dir, 'site')], { stdio: 'pipe' });
  server = spawn(moe, ['serve', join(dir, 'site'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => { out += d; const m = /at (http:\/\/\S+)/.exec(out); if (m) resolve(m[1]); });
    server.on('exit', (code) => reject(new Error(`moe serve exited ${code} before printing its URL: ${out}`)));
  });
});
after(() => {
  server?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe('the sample site in headless Chromium', () => {
  let browser;
  before(async () => { browser = await webDriver(); });
  after(async () => { await browser?.close(); });

  test('shows a face on first load, then follows the hair and eye colour a person sets (read back by the tagger)', async () => {
    await browser.open(`${url}/index.html?seed=5`);
    const r = await browser.run(`
      for (let i = 0; i < 400 && !window.moeApp; i++) await new Promise((ok) => setTimeout(ok, 25));
      const firstMs = await window.moeApp.firstFace;
      const canvas = document.getElementById('canvas');
      const first = { width: canvas.width, label: canvas.getAttribute('aria-label') };
      const faces = [];
      for (const [hair, eyes] of args[0]) {
        for (let k = 0; k < args[1]; k++) {
          await window.moeApp.generate({ groups: { hair_color: hair, eye_color: eyes }, noise: 'random' });
          faces.push({ hair, eyes, png: canvas.toDataURL('image/png').split(',')[1], caption: document.getElementById('caption').textContent });
        }
      }
      return { firstMs, first, faces };`, PAIRS, FACES);
    assert.ok(!r.error, r.error);
    assert.ok(r.first.width > 0 && /^Generated image/.test(r.first.label), `no face on first load: ${JSON.stringify(r.first)}`);
    console.log(`first face on screen ${r.firstMs.toFixed(0)} ms after navigation start`);

    const files = r.faces.map((f, i) => {
      const file = join(dir, `face-${i}.png`);
      writeFileSync(file, Buffer.from(f.png, 'base64'));
      return file;
    });
    const lines = execFileSync(moe, ['tag', ...files, '--model', tagger, '--json'], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(lines.length, files.length);
    let hairOK = 0, eyesOK = 0;
    const report = r.faces.map((f, i) => {
      const found = Object.keys(JSON.parse(lines[i]).tags);
      const hair = found.find((t) => HAIR_COLOURS.includes(t));
      const eyes = found.find((t) => t.endsWith('_eyes'));
      hairOK += hair === f.hair;
      eyesOK += eyes === f.eyes;
      return `${f.hair}/${f.eyes} → ${hair}/${eyes}`;
    });
    console.log(`tagger on the page's faces: hair ${hairOK}/${files.length}, eyes ${eyesOK}/${files.length}\n  ${report.join('\n  ')}`);
    assert.ok(hairOK >= REQUIRED * files.length, `hair colour followed on ${hairOK}/${files.length} faces: ${report.join('; ')}`);
    assert.ok(eyesOK >= REQUIRED * files.length, `eye colour followed on ${eyesOK}/${files.length} faces: ${report.join('; ')}`);
  });
});
