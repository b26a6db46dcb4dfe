// app.js: the MakeGirls.moe-style page (tags, noise, history, interpolation, PNG/JSON export); pure helpers are exported.
import { load } from './moe.js';

export const SETTINGS_FORMAT = 'moekit-settings';
const MODES = ['off', 'random', 'on'];
const HISTORY_LIMIT = 60;

// MARK: pure helpers (no DOM; tested in node by Tests/web/page.test.mjs)

/** "blonde_hair" → "Blonde hair". */
export const humanize = (name) => String(name).replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

/**
 * What the model's metadata says each input is drawn from (`input_prior`, Formats/ir.md: input name → 'normal' or
 * 'noise+tags'); {} when it says nothing or cannot be read.
 * @param {object} metadata `model.metadata`
 * @returns {Object<string, string>}
 */
export function inputPriors(metadata) {
  let p = metadata && metadata.input_prior;
  if (typeof p === 'string') {
    try { p = JSON.parse(p); } catch { return {}; }
  }
  return p && typeof p === 'object' && !Array.isArray(p) ? p : {};
}

/** The input the page drives: the one the metadata marks 'noise+tags', else the first. */
export function generatorInput(model) {
  const priors = inputPriors(model.metadata);
  return model.inputs.find((i) => priors[i.name] === 'noise+tags') || model.inputs[0];
}

/**
 * The tag vocabulary of a model input, normalised; without a usable one, a noise-only vocabulary. The vocabulary is
 * the bundle's `vocabulary` (or the graph metadata's `tag_vocabulary`) and applies to the input `input_prior` marks
 * 'noise+tags' (bundles without `input_prior`: their only input); the input's width is never used to guess one.
 * @param {object} metadata `model.metadata` (its `vocabulary`: {noise_length, groups: [{name, one_of, tags, prior}]})
 * @param {number} inputWidth the model's input length (last input dimension), or ≤ 0 when unknown
 * @param {string} [inputName] the input the vocabulary would describe
 * @returns {{noise_length: number, groups: {name: string, one_of: boolean, tags: string[], prior: number[]}[], warning?: string}}
 */
export function vocabularyOf(metadata, inputWidth, inputName) {
  const noiseOnly = (warning) => ({ noise_length: inputWidth > 0 ? inputWidth : 128, groups: [], ...(warning ? { warning } : {}) });
  let v = metadata && (metadata.vocabulary ?? metadata.tag_vocabulary);
  if (typeof v === 'string') {
    try { v = JSON.parse(v); } catch { return noiseOnly('the model\'s vocabulary is not valid JSON'); }
  }
  if (!v) return noiseOnly();
  if (inputName !== undefined && metadata.input_prior != null && inputPriors(metadata)[inputName] !== 'noise+tags') return noiseOnly();
  if (!Number.isInteger(v.noise_length) || v.noise_length < 1 || !Array.isArray(v.groups)) return noiseOnly('the model\'s vocabulary is malformed');
  const groups = [];
  for (const g of v.groups) {
    if (!g || typeof g.name !== 'string' || !Array.isArray(g.tags) || !g.tags.length) return noiseOnly('the model\'s vocabulary has a malformed group');
    const prior = g.tags.map((_, i) => {
      const p = Array.isArray(g.prior) ? Number(g.prior[i]) : NaN;
      return Number.isFinite(p) && p >= 0 ? p : g.one_of ? 1 : 0.5;
    });
    groups.push({ name: g.name, one_of: !!g.one_of, tags: g.tags.map(String), prior });
  }
  const width = v.noise_length + groups.reduce((s, g) => s + g.tags.length, 0);
  if (inputWidth > 0 && width !== inputWidth) return noiseOnly(`the vocabulary describes ${width} inputs but the model takes ${inputWidth}`);
  return { noise_length: v.noise_length, groups };
}

/** Settings with every choice Random: {groups: {one_of group → 'random'|tag}, tags: {tag → 'off'|'random'|'on'}, …}. */
export function defaultSettings(vocab) {
  const s = { groups: {}, tags: {}, noise: 'random', noise_vector: null, count: 4, interpolation_tags: 'blend' };
  for (const g of vocab.groups) {
    if (g.one_of) s.groups[g.name] = 'random';
    else for (const t of g.tags) s.tags[t] = 'random';
  }
  return s;
}

/** A seeded uniform generator on [0, 1) (mulberry32). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard normal values (Box-Muller) from a uniform generator on [0, 1). */
export function gaussian(n, rng = Math.random) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rng(), v = rng(), r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Index drawn with probability proportional to weights (uniform when they sum to 0). */
function categorical(weights, rng) {
  const total = weights.reduce((s, w) => s + w, 0);
  if (!(total > 0)) return Math.min(weights.length - 1, Math.floor(rng() * weights.length));
  let r = rng() * total;
  for (let i = 0; i < weights.length; i++) if ((r -= weights[i]) < 0) return i;
  return weights.length - 1;
}

/**
 * The tag part of an input vector (±1, vocabulary order): one_of groups get exactly one +1 (the chosen tag, or one drawn
 * from the prior); other tags are +1 'on', −1 'off', and for 'random' +1 with probability prior.
 * @returns {Float32Array}
 */
export function sampleTags(vocab, settings, rng = Math.random) {
  const out = [];
  for (const g of vocab.groups) {
    if (g.one_of) {
      const choice = (settings.groups && settings.groups[g.name]) || 'random';
      const on = choice === 'random' ? categorical(g.prior, rng) : g.tags.indexOf(choice);
      if (on < 0) throw new Error(`'${choice}' is not a ${humanize(g.name).toLowerCase()} tag`);
      g.tags.forEach((_, i) => out.push(i === on ? 1 : -1));
    } else {
      g.tags.forEach((t, i) => {
        const mode = (settings.tags && settings.tags[t]) || 'random';
        out.push(mode === 'on' || (mode === 'random' && rng() < g.prior[i]) ? 1 : -1);
      });
    }
  }
  return Float32Array.from(out);
}

/** The names of the tags that are on (> 0) in a tag vector. */
export function tagsOn(vocab, tags) {
  return vocab.groups.flatMap((g) => g.tags).filter((_, i) => tags[i] > 0);
}

/** The generator input: noise followed by tags. */
export function buildInput(noise, tags) {
  const z = new Float32Array(noise.length + tags.length);
  z.set(noise);
  z.set(tags, noise.length);
  return z;
}

/**
 * Spherical linear interpolation between a and b (t = 0 gives a, t = 1 gives b; nearly parallel vectors: linear).
 * @returns {Float32Array}
 */
export function slerp(a, b, t) {
  if (a.length !== b.length) throw new Error(`slerp: lengths ${a.length} and ${b.length} differ`);
  if (t <= 0) return Float32Array.from(a);
  if (t >= 1) return Float32Array.from(b);
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb || 1))));
  const so = Math.sin(omega);
  const [ka, kb] = so < 1e-6 ? [1 - t, t] : [Math.sin((1 - t) * omega) / so, Math.sin(t * omega) / so];
  return Float32Array.from(a, (v, i) => ka * v + kb * b[i]);
}

/**
 * Inputs from a to b in `steps` (≥ 2) frames: noise (the first noiseLength values) by SLERP; tags linearly blended
 * ('blend') or A's throughout ('a').
 * @returns {Float32Array[]}
 */
export function interpolate(a, b, { steps = 9, noiseLength, tags = 'blend' }) {
  if (a.length !== b.length) throw new Error(`interpolate: lengths ${a.length} and ${b.length} differ`);
  const ta = a.subarray(noiseLength), tb = b.subarray(noiseLength);
  return Array.from({ length: steps }, (_, i) => {
    const t = i / (steps - 1);
    const noise = slerp(a.subarray(0, noiseLength), b.subarray(0, noiseLength), t);
    return buildInput(noise, tags === 'a' ? ta : Float32Array.from(ta, (v, k) => v + (tb[k] - v) * t));
  });
}

/**
 * RGBA pixels of image `index` of a generator output (N, 3 or 1, H, W) in [-1, 1].
 * @returns {{width: number, height: number, rgba: Uint8ClampedArray}}
 */
export function toRGBA(img, index = 0) {
  const [n, c, h, w] = img.shape;
  if (img.shape.length !== 4 || (c !== 3 && c !== 1) || index >= n) throw new Error(`the model's output ${JSON.stringify(img.shape)} is not an (N, 3, H, W) image`);
  const rgba = new Uint8ClampedArray(4 * h * w), plane = h * w, base = index * c * plane;
  for (let p = 0; p < plane; p++) {
    for (let k = 0; k < 3; k++) rgba[4 * p + k] = (img.data[base + (c === 3 ? k : 0) * plane + p] + 1) * 127.5;
    rgba[4 * p + 3] = 255;
  }
  return { width: w, height: h, rgba };
}

/** Settings as the JSON text that export writes. */
export function serializeSettings(settings) {
  const { groups, tags, noise, noise_vector: v, count, interpolation_tags } = settings;
  return JSON.stringify({ format: SETTINGS_FORMAT, version: 1, groups, tags, noise, noise_vector: v ? Array.from(v) : null,
    count, interpolation_tags }, null, 2);
}

/**
 * Validates settings (JSON text or an object, possibly partial) against a vocabulary; missing keys come from `base`.
 * @returns {object} complete settings (noise_vector a Float32Array or null)
 * @throws {Error} "settings: …" naming the bad key or value
 */
export function parseSettings(input, vocab, base = defaultSettings(vocab)) {
  let o = input;
  if (typeof input === 'string') {
    try { o = JSON.parse(input); } catch (e) { throw new Error(`settings: not JSON (${e.message})`); }
  }
  const fail = (m) => { throw new Error(`settings: ${m}`); };
  if (!o || typeof o !== 'object' || Array.isArray(o)) fail('expected a JSON object');
  if (o.format !== undefined && o.format !== SETTINGS_FORMAT) fail(`format is '${o.format}', expected '${SETTINGS_FORMAT}'`);
  const s = { ...base, groups: { ...base.groups }, tags: { ...base.tags } };
  for (const [k, v] of Object.entries(o.groups || {})) {
    const g = vocab.groups.find((x) => x.one_of && x.name === k);
    if (!g) fail(`unknown group '${k}'`);
    if (v !== 'random' && !g.tags.includes(v)) fail(`'${v}' is not a choice of ${k} (random or one of its tags)`);
    s.groups[k] = v;
  }
  for (const [k, v] of Object.entries(o.tags || {})) {
    if (!(k in base.tags)) fail(`unknown tag '${k}'`);
    if (!MODES.includes(v)) fail(`tag '${k}' is '${v}', expected off, random or on`);
    s.tags[k] = v;
  }
  if (o.noise !== undefined) {
    if (o.noise !== 'random' && o.noise !== 'fixed') fail(`noise is '${o.noise}', expected random or fixed`);
    s.noise = o.noise;
  }
  if (o.noise_vector != null) {
    const v = o.noise_vector;
    if (!(Array.isArray(v) || ArrayBuffer.isView(v)) || v.length !== vocab.noise_length || !Array.prototype.every.call(v, Number.isFinite)) {
      fail(`noise_vector must be ${vocab.noise_length} finite numbers`);
    }
    s.noise_vector = Float32Array.from(v);
  } else if (o.noise_vector === null) s.noise_vector = null;
  if (o.count !== undefined) {
    if (!Number.isInteger(o.count) || o.count < 2 || o.count > 20) fail(`count is ${o.count}, expected an integer from 2 to 20`);
    s.count = o.count;
  }
  if (o.interpolation_tags !== undefined) {
    if (o.interpolation_tags !== 'blend' && o.interpolation_tags !== 'a') fail('interpolation_tags must be blend or a');
    s.interpolation_tags = o.interpolation_tags;
  }
  return s;
}

// MARK: the page

/** Builds the page inside `document`, loads the model and exposes window.moeApp. */
function startPage() {
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'text') e.textContent = v; else if (v !== false && v != null) e.setAttribute(k, v === true ? '' : v);
    }
    e.append(...children);
    return e;
  };
  const params = new URLSearchParams(location.search);
  const seed = params.get('seed');
  const rng = seed !== null ? mulberry32(Number(seed) || 0) : Math.random;
  const ui = {
    form: $('controls'), tagControls: $('tag-controls'), status: $('status'), progress: $('progress'),
    progressLabel: $('progress-label'), loading: $('loading'), canvas: $('canvas'), timing: $('timing'), caption: $('caption'),
    count: $('count'), history: $('history'), interp: $('interp'), interpTags: $('interp-tags'), importFile: $('import-file'),
  };
  const state = { model: null, vocab: null, inputName: 'z', lastNoise: null, history: [], shown: null, a: null, b: null, busy: false, nextId: 1 };

  const setStatus = (text, kind = 'info') => {
    ui.status.textContent = text;
    ui.status.className = kind;
    document.body.dataset.state = kind === 'error' ? 'error' : document.body.dataset.state;
  };
  const setBusy = (busy) => {
    state.busy = busy;
    for (const b of document.querySelectorAll('[data-needs-model]')) b.disabled = busy || !state.model;
    $('download').disabled = !state.shown;
    $('use-a').disabled = $('use-b').disabled = !state.shown;
    $('interpolate').disabled = busy || !state.model || !state.a || !state.b;
    document.body.dataset.state = busy ? 'busy' : state.model ? 'ready' : document.body.dataset.state;
  };
  const fail = (e) => {
    setStatus(e && e.message ? e.message : String(e), 'error');
    console.error(e);
  };

  /** Creates the tag controls for the vocabulary. */
  function buildControls(vocab) {
    ui.tagControls.replaceChildren();
    if (!vocab.groups.length) {
      ui.tagControls.append(el('p', { class: 'note', text: 'This model has no tag vocabulary: only the noise is sampled.' }));
      return;
    }
    for (const g of vocab.groups) {
      if (g.one_of) {
        const select = el('select', { id: `group-${g.name}`, name: g.name },
          el('option', { value: 'random', text: 'Random' }), ...g.tags.map((t) => el('option', { value: t, text: humanize(t) })));
        ui.tagControls.append(el('div', { class: 'field' }, el('label', { for: select.id, text: humanize(g.name) }), select));
      } else {
        const rows = g.tags.map((t) => el('fieldset', { class: 'tri' }, el('legend', { text: humanize(t) }),
          ...MODES.flatMap((m) => {
            const id = `tag-${t}-${m}`;
            return [el('input', { type: 'radio', id, name: `tag-${t}`, value: m, checked: m === 'random' }),
              el('label', { for: id, text: humanize(m) })];
          })));
        ui.tagControls.append(el('fieldset', { class: 'group' }, el('legend', { text: humanize(g.name) }), ...rows));
      }
    }
  }

  /** The settings the controls show. */
  function getSettings() {
    const v = state.vocab || { groups: [], noise_length: 0 };
    const s = defaultSettings(v);
    for (const g of v.groups) {
      if (g.one_of) s.groups[g.name] = $(`group-${g.name}`).value;
      else for (const t of g.tags) s.tags[t] = ui.form.querySelector(`input[name="tag-${t}"]:checked`).value;
    }
    s.noise = ui.form.querySelector('input[name="noise"]:checked').value;
    s.noise_vector = state.lastNoise ? Array.from(state.lastNoise) : null;
    s.count = Math.min(20, Math.max(2, Math.round(Number(ui.count.value)) || 4));
    s.interpolation_tags = ui.interpTags.value;
    return s;
  }

  /** Validates (partial) settings and shows them in the controls; returns the complete settings. */
  function setSettings(obj) {
    if (!state.vocab) throw new Error('the model is not loaded yet');
    const s = parseSettings(obj, state.vocab, parseSettings(getSettings(), state.vocab));
    for (const [k, v] of Object.entries(s.groups)) $(`group-${k}`).value = v;
    for (const [k, v] of Object.entries(s.tags)) $(`tag-${k}-${v}`).checked = true;
    $(`noise-${s.noise}`).checked = true;
    if (s.noise_vector) state.lastNoise = Float32Array.from(s.noise_vector);
    ui.count.value = s.count;
    ui.interpTags.value = s.interpolation_tags;
    return getSettings();
  }

  /** Draws RGBA pixels into a canvas sized to the image. */
  function draw(canvas, { width, height, rgba }) {
    canvas.width = width;
    canvas.height = height;
    canvas.getContext('2d').putImageData(new ImageData(rgba, width, height), 0, 0);
  }

  /** Shows a result (history entry or interpolation frame) in the main view. */
  function show(item, note) {
    state.shown = item;
    draw(ui.canvas, item.pixels);
    const names = state.vocab.groups.length ? tagsOn(state.vocab, item.input.subarray(state.vocab.noise_length)) : [];
    const label = names.length ? names.map(humanize).join(' · ') : 'Noise only';
    ui.canvas.setAttribute('aria-label', `Generated image: ${label}`);
    ui.caption.textContent = note ? `${note} — ${label}` : label;
    ui.timing.textContent = `${item.ms.toFixed(0)} ms per image`;
    for (const b of ui.history.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.id === String(item.id)));
    setBusy(state.busy);
  }

  /** Runs the model on one input vector; returns {img, ms, pixels}. */
  async function runOne(z) {
    const t = performance.now();
    const out = await state.model.run({ [state.inputName]: { data: z, shape: [1, z.length] } });
    const ms = performance.now() - t;
    const img = out[state.model.outputs[0].name];
    return { img, ms, pixels: toRGBA(img) };
  }

  /** Generates one image with the given settings; adds it to the history and shows it. */
  async function generateOne(settings) {
    const v = state.vocab;
    const noise = settings.noise === 'fixed' && state.lastNoise ? state.lastNoise : gaussian(v.noise_length, rng);
    const z = buildInput(noise, sampleTags(v, settings, rng));
    const r = await runOne(z);
    const item = { id: state.nextId++, settings: { ...settings, noise_vector: Array.from(noise) }, noise, input: z, ...r };
    state.lastNoise = noise;
    addHistory(item);
    show(item);
    return { z, img: r.img, ms: r.ms };
  }

  function addHistory(item) {
    state.history.unshift(item);
    const thumb = el('canvas', { 'aria-hidden': 'true' });
    draw(thumb, item.pixels);
    const names = state.vocab.groups.length ? tagsOn(state.vocab, item.input.subarray(state.vocab.noise_length)).map(humanize).join(', ') : 'noise only';
    const button = el('button', { type: 'button', class: 'thumb', 'data-id': item.id, 'aria-label': `Result ${item.id}: ${names}`, title: names }, thumb);
    button.addEventListener('click', () => {
      show(item, `Result ${item.id}`);
      setSettings(item.settings);
      state.lastNoise = item.noise;
    });
    ui.history.prepend(el('li', {}, button));
    while (state.history.length > HISTORY_LIMIT) {
      state.history.pop();
      ui.history.lastElementChild.remove();
    }
  }

  /** Serialises generation: one run at a time, controls disabled meanwhile, errors to the status line. */
  async function exclusive(task) {
    if (state.busy) throw new Error('busy: wait for the current generation to finish');
    if (!state.model) throw new Error('the model is not loaded');
    setBusy(true);
    try {
      return await task();
    } catch (e) {
      fail(e);
      throw e;
    } finally {
      setBusy(false);
    }
  }
  const pause = () => new Promise((r) => setTimeout(r, 0)); // let the page repaint between images

  async function generate(settings) {
    return exclusive(async () => {
      const s = settings ? setSettings(settings) : getSettings();
      setStatus('Generating…');
      const r = await generateOne(s);
      setStatus(`Generated in ${r.ms.toFixed(0)} ms.`);
      return r;
    });
  }

  async function generateMany(count) {
    return exclusive(async () => {
      const s = getSettings(), results = [];
      for (let i = 0; i < count; i++) {
        setStatus(`Generating ${i + 1} of ${count}…`);
        await pause();
        results.push(await generateOne(s));
      }
      const avg = results.reduce((t, r) => t + r.ms, 0) / count;
      ui.timing.textContent = `${avg.toFixed(0)} ms per image (${count} images)`;
      setStatus(`Generated ${count} images, ${avg.toFixed(0)} ms per image.`);
      return results;
    });
  }

  function setEnd(which) {
    const item = state.shown;
    state[which] = item;
    const box = $(`end-${which}`);
    const c = el('canvas', { 'aria-hidden': 'true' });
    draw(c, item.pixels);
    box.replaceChildren(c);
    box.setAttribute('aria-label', `${which.toUpperCase()}: ${ui.caption.textContent}`);
    setBusy(state.busy);
  }

  async function runInterpolation() {
    return exclusive(async () => {
      const frames = interpolate(state.a.input, state.b.input, { steps: 9, noiseLength: state.vocab.noise_length, tags: ui.interpTags.value });
      ui.interp.replaceChildren();
      let total = 0;
      for (const [i, z] of frames.entries()) {
        setStatus(`Interpolating ${i + 1} of ${frames.length}…`);
        await pause();
        const r = await runOne(z);
        total += r.ms;
        const item = { id: `interp-${i}`, input: z, ...r };
        const thumb = el('canvas', { 'aria-hidden': 'true' });
        draw(thumb, r.pixels);
        const button = el('button', { type: 'button', class: 'thumb', 'aria-label': `Interpolation step ${i + 1} of ${frames.length}` }, thumb);
        button.addEventListener('click', () => show(item, `Interpolation step ${i + 1} of ${frames.length}`));
        ui.interp.append(el('li', {}, button));
      }
      setStatus(`Interpolated ${frames.length} steps, ${(total / frames.length).toFixed(0)} ms per image.`);
    });
  }

  function download(blob, name) {
    const a = el('a', { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  // Wiring.
  const handle = (p) => p.catch(() => {}); // errors are already on the status line
  ui.form.addEventListener('submit', (e) => { e.preventDefault(); handle(generate()); });
  $('generate-many').addEventListener('click', () => handle(generateMany(getSettings().count)));
  $('interpolate').addEventListener('click', () => handle(runInterpolation()));
  $('use-a').addEventListener('click', () => setEnd('a'));
  $('use-b').addEventListener('click', () => setEnd('b'));
  $('download').addEventListener('click', () => {
    ui.canvas.toBlob((b) => (b ? download(b, `moe-${state.shown.id}.png`) : fail(new Error('cannot encode the PNG'))), 'image/png');
  });
  $('export-settings').addEventListener('click', () => {
    download(new Blob([serializeSettings(parseSettings(getSettings(), state.vocab))], { type: 'application/json' }), 'moe-settings.json');
  });
  $('import-settings').addEventListener('click', () => ui.importFile.click());
  ui.importFile.addEventListener('change', async () => {
    const file = ui.importFile.files[0];
    ui.importFile.value = '';
    if (!file) return;
    try {
      setSettings(await file.text());
      setStatus(`Settings loaded from ${file.name}.`);
    } catch (e) {
      fail(new Error(`${file.name}: ${e.message}`));
    }
  });

  // Loading.
  const modelUrl = params.get('model') || 'model.moe';
  const mb = (n) => (n / 1e6).toFixed(1);
  document.body.dataset.state = 'loading';
  setBusy(false);
  const ready = load(modelUrl, {
    onProgress: ({ phase, loaded, total }) => {
      ui.progress.max = total || 1;
      ui.progress.value = loaded;
      ui.progressLabel.textContent = phase === 'download' ? `Downloading model… ${mb(loaded)} / ${mb(total)} MB`
        : `Decoding weights… ${Math.round((100 * loaded) / (total || 1))} %`;
    },
  }).then((model) => {
    const input = generatorInput(model);
    state.inputName = input.name;
    state.vocab = vocabularyOf(model.metadata, input.shape[input.shape.length - 1], input.name);
    buildControls(state.vocab);
    state.model = model;
    ui.loading.hidden = true;
    setBusy(false);
    const what = model.metadata.model || model.metadata.architecture || 'model';
    setStatus(state.vocab.warning ? `Loaded ${what}; ${state.vocab.warning}: only noise controls.` : `Loaded ${what}. Ready.`);
  }, (e) => {
    ui.loading.hidden = true;
    fail(new Error(`cannot load ${modelUrl}: ${e.message}`));
    throw e;
  });
  ready.catch(() => {});

  // The page shows a face on first load (?autogenerate=N: N faces; 0: none). firstFace resolves to the milliseconds
  // from navigation start to the first face on screen.
  const auto = params.has('autogenerate') ? Number(params.get('autogenerate')) : 1;
  let firstFace = Promise.resolve(null);
  if (auto >= 1) {
    const beat = setInterval(() => {}, 100); // keeps chromium --virtual-time-budget from ending early (see runner.js)
    firstFace = ready.then(() => (auto > 1 ? generateMany(Math.min(20, auto)) : generate())).then(
      () => { document.body.dataset.state = 'done'; return performance.now(); },
      (e) => { document.body.dataset.state = 'error'; throw e; },
    ).finally(() => clearInterval(beat));
    firstFace.catch(() => {});
  }

  window.moeApp = {
    ready, firstFace, generate, generateMany, setSettings, getSettings, get vocabulary() { return state.vocab; },
    /** The kernel build and thread count the model runs on (moe.js picks them: threads on cross-origin-isolated pages). */
    get backend() { return state.model ? state.model.backend : null; },
    get threads() { return state.model ? state.model.threads : null; },
  };
}

if (typeof document !== 'undefined' && document.getElementById('controls')) startPage();
