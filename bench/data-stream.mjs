// A training step fed from a WebDataset tar shard of PNG images decoded on worker threads, against the same
// step fed from memory (the same samples, already preprocessed, through fit's `dataset` option). Reports
// samples/s and the trainer's dataWait (seconds waiting for data per logged interval) as medians over the
// logged rows after the first. Usage: npm run build && node bench/data-stream.mjs [--steps 24] [--workers 2] [--side 256]
// Notes and measured numbers: bench/NOTES.md ("File-backed data").

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { pack } from 'tar-stream';
import * as kiln from '../dist/node.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const steps = arg('steps', 24);
const workers = arg('workers', 2);
const side = arg('side', 256); // stored image side: decoding and resizing it is the data cost
const batchSize = 8;
const count = 64;

const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-data-'));
const p = pack();
const chunks = [];
const done = (async () => {
  for await (const c of p) chunks.push(c);
})();
let s = 1;
const u = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
const pixels = [];
for (let i = 0; i < count; i++) {
  const px = Uint8Array.from({ length: side * side * 3 }, (_, k) => ((k >> 6) * 7 + i * 13 + Math.floor(u() * 32)) & 255);
  pixels.push(px);
  p.entry({ name: `${String(i).padStart(4, '0')}.png` }, Buffer.from(encode({ width: side, height: side, data: px, channels: 3, depth: 8 })));
  p.entry({ name: `${String(i).padStart(4, '0')}.txt` }, `a picture number ${i % 8}`);
}
p.finalize();
await done;
const shard = join(dir, 'shard-0.tar');
writeFileSync(shard, Buffer.concat(chunks));

const base = { model: { kind: 'clip', config: 'examples/configs/clip-tiny-text.json' }, batchSize, steps, logEvery: 4, checkpointEvery: 1000 };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function summary(out) {
  const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l)).filter((r) => 'loss' in r).slice(1);
  return { samplesPerSec: median(rows.map((r) => r.samplesPerSec)), dataWaitPerStep: median(rows.map((r) => r.dataWait)) / 4 };
}

const results = {};
for (const w of [workers, 0]) {
  const out = join(dir, `tar-${w}`);
  await kiln.train.fit({ ...base, out, data: { kind: 'webdataset', shards: [shard], workers: w, shuffleBuffer: 16 } });
  results[`tar shard, ${w} workers`] = summary(out);
}
// From memory: the same samples preprocessed once (center crop, no augmentation), then fed from RAM.
const mem = [];
{
  const tok = await kiln.text.defaultTokenizer();
  for (let i = 0; i < count; i++) {
    const t = kiln.data.loadImage({ width: side, height: side, channels: 3, data: pixels[i] }, { size: 32 });
    mem.push({ image: Float32Array.from(await t.data()), text: tok.encodeBatch(`a picture number ${i % 8}`, 16) });
    t.dispose();
  }
}
const dataset = { size: count, inputs: { image: { shape: [3, 32, 32], dtype: 'f32' }, text: { shape: [16], dtype: 'i32', vocab: 4431 } }, get: (i) => mem[i] };
const memOut = join(dir, 'memory');
await kiln.train.fit({ ...base, out: memOut }, { dataset });
results['memory'] = summary(memOut);

console.log(`training step, clip-tiny-text, batch ${batchSize}, ${side}x${side} PNGs, ${steps} steps (medians of logged intervals)`);
for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(22)} ${v.samplesPerSec.toFixed(1).padStart(7)} samples/s   dataWait ${(v.dataWaitPerStep * 1000).toFixed(1).padStart(7)} ms/step`);
rmSync(dir, { recursive: true, force: true });
