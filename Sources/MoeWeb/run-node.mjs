#!/usr/bin/env node
// run-node.mjs: runs a .moe bundle once with moe.js + kernels.wasm in node on .npy inputs; writes OUT_DIR/<output>.npy.
//   node run-node.mjs MODEL.moe OUT_DIR NAME=IN.npy [NAME=IN.npy ...]   (a single-input model also takes a bare IN.npy)
// Output names are percent-encoded in file names (`res/0/add` → `res%2F0%2Fadd.npy`).
// Prints one JSON line {"ms": run time, "load_ms": …, "outputs": {name: shape}}; on error, the message on stderr, exit 1.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { load } from './moe.js';
import { parseNpy, writeNpy } from './npy.js';

async function main(args) {
  if (args.length < 3) throw new Error('usage: node run-node.mjs MODEL.moe OUT_DIR NAME=IN.npy [NAME=IN.npy ...]');
  const [modelPath, outDir, ...specs] = args;
  let t = performance.now();
  const model = await load(modelPath).catch((e) => { throw e.message.includes(modelPath) ? e : new Error(`${modelPath}: ${e.message}`); });
  const loadMs = performance.now() - t;
  const names = model.inputs.map((i) => i.name);
  const feeds = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    let name = eq > 0 ? spec.slice(0, eq) : null, file = eq > 0 ? spec.slice(eq + 1) : spec;
    if (name !== null && !names.includes(name)) {
      throw new Error(`${modelPath}: no input named '${name}'; inputs: ${names.join(', ')}`);
    }
    if (name === null) {
      if (names.length !== 1) throw new Error(`${modelPath} has inputs ${names.join(', ')}: name each as NAME=IN.npy`);
      name = names[0];
    }
    if (feeds[name]) throw new Error(`input '${name}' is given twice`);
    let bytes;
    try {
      bytes = await readFile(file);
    } catch (e) {
      throw new Error(`cannot read ${file}: ${e.message}`);
    }
    try {
      feeds[name] = parseNpy(bytes);
    } catch (e) {
      throw new Error(`${file}: ${e.message}`);
    }
  }
  const missing = names.filter((n) => !feeds[n]);
  if (missing.length) throw new Error(`${modelPath}: missing input ${missing.map((n) => `'${n}'`).join(', ')}`);
  t = performance.now();
  const out = await model.run(feeds);
  const ms = performance.now() - t;
  // Write every output to a temporary name first, then rename: no partial output on failure.
  await mkdir(outDir, { recursive: true });
  const shapes = {}, written = [];
  try {
    for (const [name, v] of Object.entries(out)) {
      // Value names may hold '/' (e.g. `res/0/add`): the file name is the name percent-encoded.
      const file = encodeURIComponent(name);
      if (file === '.' || file === '..') throw new Error(`output name '${name}' cannot be a file name`);
      const path = join(outDir, `${file}.npy`);
      await writeFile(`${path}.tmp-${process.pid}`, writeNpy(v.data, v.shape));
      written.push(path);
      shapes[name] = v.shape;
    }
  } catch (e) {
    await Promise.all(written.map((p) => rm(`${p}.tmp-${process.pid}`, { force: true })));
    throw new Error(`cannot write ${outDir}: ${e.message}`);
  }
  for (const p of written) await rename(`${p}.tmp-${process.pid}`, p);
  return { ms, load_ms: loadMs, outputs: shapes };
}

main(process.argv.slice(2)).then(
  (r) => console.log(JSON.stringify(r)),
  (e) => {
    console.error(`run-node: ${e.message}`);
    process.exit(1);
  },
);
