// The copy of a transposed view, `x.mT.contiguous()`, at the CLIP step's and the demo ImageBind step's
// shapes: ms per copy (median wall, process CPU) and GB/s (read + written bytes). `--kiln=DIR` times another
// build (e.g. one without the tiled transpose) for an interleaved A/B.
//   npm run build && node bench/transpose.mjs [--runs=5] [--reps=10] [--kiln=DIR]

import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { timeIt } from './lib/cpu-timing.mjs';

const opt = (name, dflt) => process.argv.find((s) => s.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const dir = resolve(opt('kiln', new URL('../dist', import.meta.url).pathname));
const runs = Number(opt('runs', 5));
const reps = Number(opt('reps', 10));
const kiln = await import(pathToFileURL(`${dir}/node.js`).href);

/** [rows, cols] of the source; the copy is [cols, rows]. */
const shapes = [[1600, 1024], [1600, 256], [2464, 256], [256, 1024], [256, 768], [4160, 128], [128, 512]];

await kiln.init();
for (const [R, C] of shapes) {
  const x = kiln.randn([R, C]);
  const t = await timeIt(kiln, runs, async () => {
    for (let i = 0; i < reps; i++) x.mT.contiguous().dispose();
    await kiln.flush();
  });
  const ms = t.median / reps;
  console.log(`[${R}, ${C}]ᵀ: ${ms.toFixed(2)} ms/copy (cpu ${(t.cpuMs / reps).toFixed(2)} ms), ${((8 * R * C) / ms / 1e6).toFixed(2)} GB/s wall`);
  x.dispose();
}
