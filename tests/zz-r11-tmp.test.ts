import { writeFile } from 'node:fs/promises';
import { it } from 'vitest';
import * as kiln from '/work/wt-11r/src/node.js';
it('demo', async () => {
  const out = '/tmp/r11/demo2';
  const r = await kiln.train.demo({ out, steps1: 24, steps2: 16, batchSize: 32, trainSize: 384, heldOutSize: 64 });
  const rep = r.report;
  await writeFile('/tmp/r11/evalreport2.json', JSON.stringify({ ...rep, embeddings: Object.fromEntries(Object.entries(rep.embeddings).map(([k, v]) => [k, Array.from(v)])), labels: Object.fromEntries(Object.entries(rep.labels).map(([k, v]) => [k, Array.from(v)])) }));
}, 600_000);
