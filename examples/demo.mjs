// Kiln demo: ImageBind's recipe on synthetic scenes — image and text towers first, then audio, depth,
// thermal and IMU each paired with images only — and the emergent alignment it buys: text→audio and
// text→IMU retrieval and zero-shot audio classification from text prompts, though no text–audio or
// text–IMU pair was ever trained. Run: npm run demo (KILN_DEMO_OUT sets the output directory).
import * as kiln from 'kiln-gpu';

const info = await kiln.init();
console.log(`device: ${info.description || info.vendor} (${info.architecture})`);
const out = process.env.KILN_DEMO_OUT ?? 'runs/demo';
const tty = process.stdout.isTTY ? { write: (s) => void process.stdout.write(s), columns: process.stdout.columns } : null;
const r = await kiln.train.demo({ out, print: (l) => console.log(l), tty });
for (const line of kiln.train.formatDemo(r)) console.log(line);
console.log(`done in ${r.seconds.toFixed(0)} s; checkpoints under ${out}`);
console.log(`report: ${r.reportFile}`);
