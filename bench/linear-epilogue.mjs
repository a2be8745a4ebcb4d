// Fused Linear epilogues against their unfused composition at the CLIP step's MLP shapes (issue 19):
// Linear+GELU [rows, 256] → [rows, 1024] and Linear+residual [rows, 1024] → [rows, 256], rows = 32·50 (image
// tower) and 32·77 (text tower); forward alone and forward+backward; interleaved per round: fused (rows of
// the [32, L, in] input merged into one M = 32·L product), unfused (the composition on [32, L, in]: 32
// products of L rows, as before this change) and unfused-2d (the composition on the [32·L, in] view), which
// separates what the merged rows save from what the epilogue saves.
// Standalone: `npm run build && node bench/linear-epilogue.mjs [--rounds=3] [--runs=3] [--rows=1600,2464]`.

import * as kiln from '../dist/node.js';
import { timeIt } from './lib/cpu-timing.mjs';

const arg = (name, dflt) => {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a === undefined ? dflt : a.slice(name.length + 3);
};
const rounds = Number(arg('rounds', 3));
const runs = Number(arg('runs', 3));
const rowsList = arg('rows', '1600,2464').split(',').map(Number);

await kiln.init();
kiln.manualSeed(0);

const cases = [
  { name: 'linear+gelu 256→1024', inF: 256, outF: 1024, opts: () => ({ activation: 'gelu' }) },
  { name: 'linear+residual 1024→256', inF: 1024, outF: 256, residual: true },
];

const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const rows = [];
for (const R of rowsList)
  for (const c of cases) {
    const x = kiln.randn([32, R / 32, c.inF], { requiresGrad: true });
    const w = kiln.randn([c.outF, c.inF], { requiresGrad: true }).mul(0.05).detach().requiresGrad_();
    const b = kiln.randn([c.outF], { requiresGrad: true });
    const r = c.residual ? kiln.randn([32, R / 32, c.outF], { requiresGrad: true }) : null;
    const gy = kiln.randn([32, R / 32, c.outF]);
    const opts = { activation: c.residual ? 'none' : 'gelu', residual: r };
    for (const mode of ['fwd', 'fwd+bwd']) {
      const fn = (f) => () =>
        kiln.tidy(() => {
          if (mode === 'fwd') return kiln.noGrad(() => void f(x, w, b, opts));
          for (const t of [x, w, b, r]) if (t?.grad) { t.grad.dispose(); t.grad = null; }
          f(x, w, b, opts).backward(gy);
        });
      const flat = (f) => (x2, w2, b2, o) => {
        const xr = x2.reshape([-1, c.inF]);
        const rr = o.residual ? o.residual.reshape([-1, c.outF]) : null;
        return f(xr, w2, b2, { ...o, residual: rr }).reshape([32, R / 32, c.outF]);
      };
      const res = { fused: { wall: [], cpu: [] }, unfused: { wall: [], cpu: [] }, unfused2d: { wall: [], cpu: [] } };
      for (let k = 0; k < rounds; k++)
        for (const [label, f] of [['fused', kiln.F.linear], ['unfused', kiln.F.linearUnfused], ['unfused2d', flat(kiln.F.linearUnfused)]]) {
          const t = await timeIt(kiln, runs, fn(f));
          res[label].wall.push(t.median);
          res[label].cpu.push(t.cpuMs);
        }
      const row = {
        rows: R, case: c.name, mode,
        fusedWall: med(res.fused.wall), unfusedWall: med(res.unfused.wall), unfused2dWall: med(res.unfused2d.wall),
        fusedCpu: med(res.fused.cpu), unfusedCpu: med(res.unfused.cpu), unfused2dCpu: med(res.unfused2d.cpu),
      };
      rows.push(row);
      console.log(
        `${R} ${c.name} ${mode}: wall / cpu ms fused ${row.fusedWall.toFixed(0)} / ${row.fusedCpu.toFixed(0)}, unfused ${row.unfusedWall.toFixed(0)} / ${row.unfusedCpu.toFixed(0)}, ` +
          `unfused-2d ${row.unfused2dWall.toFixed(0)} / ${row.unfused2dCpu.toFixed(0)} | cpu fused/unfused ${(row.fusedCpu / row.unfusedCpu).toFixed(2)}, fused/unfused-2d ${(row.fusedCpu / row.unfused2dCpu).toFixed(2)} ` +
          `[cpu per round: fused ${res.fused.cpu.map((v) => v.toFixed(0)).join(' ')}; unfused ${res.unfused.cpu.map((v) => v.toFixed(0)).join(' ')}; unfused-2d ${res.unfused2d.cpu.map((v) => v.toFixed(0)).join(' ')}]`,
      );
    }
    for (const t of [x, w, b, r, gy]) t?.dispose();
  }
console.log(JSON.stringify(rows));
