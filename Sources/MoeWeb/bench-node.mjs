#!/usr/bin/env node
// bench-node.mjs: ms per image of a .moe bundle under moe.js + kernels.wasm in node (median after warm-up).
//   node Sources/MoeWeb/bench-node.mjs MODEL.moe [--batch N] [--runs R] [--threads T] [--json]
// (--threads: moe.js's worker pool on kernels-mt*.wasm; node's default is one thread.)
import { load } from './moe.js';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const file = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--') && args[i - 1] !== '--json'));
if (!file) {
  console.error('usage: node bench-node.mjs MODEL.moe [--batch N] [--runs R] [--threads T] [--json]');
  process.exit(2);
}
const batch = flag('--batch', 1), runs = flag('--runs', 5), threads = flag('--threads', undefined);

let t = performance.now();
const model = await load(file, threads === undefined ? {} : { threads });
const loadMs = performance.now() - t;
let seed = 1;
const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const feeds = {};
for (const input of model.inputs) {
  const shape = input.shape.map((d) => (d < 0 ? batch : d));
  feeds[input.name] = { data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, random), shape };
}
await model.run(feeds); // warm-up: plans memory, tiers up the wasm
const times = [];
for (let r = 0; r < runs; r++) {
  t = performance.now();
  await model.run(feeds);
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const median = times[times.length >> 1], perImage = median / batch;
if (args.includes('--json')) {
  console.log(JSON.stringify({ runtime: 'wasm-node', batch, ms_per_image: perImage, load_ms: loadMs, memory_bytes: model.memoryBytes,
    threads: model.threads, backend: model.backend }));
} else {
  console.log(`${file}: ${perImage.toFixed(1)} ms per image (batch ${batch}, median of ${runs}, ${model.backend}, ${model.threads} thread${model.threads > 1 ? 's' : ''}; load ${loadMs.toFixed(0)} ms, wasm memory ${(model.memoryBytes / 2 ** 20).toFixed(1)} MiB)`);
}
model.dispose();
