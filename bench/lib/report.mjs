// Prints the bench's tables and writes its JSON; no measuring here.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fmtMs, fmtNum } from './stats.mjs';

/**
 * A plain text table, columns padded; right-aligned unless the header starts with '<'. A row given as
 * { cells, note } prints its first cells, then the note unpadded across the remaining columns.
 */
export function table(headers, rows) {
  const left = headers.map((h) => h.startsWith('<'));
  const hs = headers.map((h) => h.replace(/^</, ''));
  const cellsOf = (r) => (Array.isArray(r) ? r : r.cells);
  const width = hs.map((h, i) => Math.max(h.length, ...rows.map((r) => String(cellsOf(r)[i] ?? '').length)));
  const line = (cells) => cells.map((c, i) => (left[i] ? String(c ?? '').padEnd(width[i]) : String(c ?? '').padStart(width[i]))).join('  ').trimEnd();
  const row = (r) => (Array.isArray(r) ? line(r) : `${r.cells.map((c, i) => String(c).padEnd(width[i])).join('  ')}  ${r.note}`);
  return [line(hs), width.map((w) => '-'.repeat(w)).join('  '), ...rows.map(row)].join('\n');
}

export function ceilingsText(c, peak) {
  const lines = [];
  const f = c.fma;
  lines.push(`FMA throughput   ${fmtNum(f.gflops, 1)} GFLOP/s (min–max ${fmtNum(f.gflopsMin, 1)}–${fmtNum(f.gflopsMax, 1)}; ` +
    `${f.invocations} invocations × ${f.iters} trips × 16 unrolled × ${f.accumulators} accumulators; ${c.timer})`);
  if (peak) {
    lines.push(`  CPU peak       ${fmtNum(peak.avx2GFlops, 0)} GFLOP/s AVX2` + (peak.avx512GFlops ? ` / ${fmtNum(peak.avx512GFlops, 0)} AVX-512` : '') +
      ` → measured FMA ceiling is ${fmtNum((100 * f.gflops) / peak.avx2GFlops, 0)}% of the AVX2 peak`);
    lines.push(`  assumption     ${peak.assumption}; ${peak.ghzSource}; CPU "${peak.model}"`);
  }
  const k = c.copy;
  const mib = k.bytes / 2 ** 20;
  lines.push(`Buffer copy      ${fmtNum(k.kernelGBps, 1)} GB/s WGSL kernel (min–max ${fmtNum(k.kernelGBpsMin, 1)}–${fmtNum(k.kernelGBpsMax, 1)}), ` +
    `${fmtNum(k.copyBufferToBufferGBps, 1)} GB/s copyBufferToBuffer (${mib} MiB, read + written bytes)`);
  lines.push(`Readback         ${fmtNum(k.readbackGBps, 2)} GB/s: ${fmtMs(k.readbackMs)} ms for ${mib} MiB (copy to a mappable buffer, map, copy out)`);
  return lines.join('\n');
}

/**
 * Rows of an engines × problems table: median and range of op + readback, a rate and its share of a
 * ceiling, Kiln speed-up (engine median ÷ Kiln median), the check, and an "(op + flush only)" row for Kiln.
 */
function engineRows(results, problems, rate, share) {
  const rows = [];
  for (const p of problems) {
    const cell = results.filter((r) => r.shape === p.id);
    const kilnRes = cell.find((r) => r.engine === 'kiln' && r.ms);
    for (const r of cell) {
      if (!r.ms) {
        rows.push({ cells: [p.label, r.name], note: r.skipped ?? r.error ?? '' });
        continue;
      }
      const ratio = kilnRes && r !== kilnRes ? `${fmtNum(r.ms.median / kilnRes.ms.median, 2)}×` : '';
      const main = rate(r, false);
      rows.push([p.label, r.name, r.runs, fmtMs(r.ms.median), `${fmtMs(r.ms.min)}–${fmtMs(r.ms.max)}`, fmtNum(main, 2), share(main), ratio,
        `${r.check.ok ? 'ok' : 'FAIL'} ${r.check.maxErr.toExponential(1)}`]);
      if (r.computeMs) {
        const op = rate(r, true);
        rows.push(['', '  (op + flush only)', '', fmtMs(r.computeMs.median), `${fmtMs(r.computeMs.min)}–${fmtMs(r.computeMs.max)}`, fmtNum(op, 2), share(op), '', '']);
      }
    }
  }
  return rows;
}

export function matmulText(results, problems, fmaGflops) {
  const rows = engineRows(results, problems, (r, op) => (op ? r.computeGflops : r.gflops), (g) => (fmaGflops ? `${fmtNum((100 * g) / fmaGflops, 1)}%` : '–'));
  return table(['<shape', '<engine', 'runs', 'median ms', 'min–max ms', 'GFLOP/s', '% FMA', 'Kiln speed-up', '<check (rel. err)'], rows);
}

export function writeJson(path, data) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
}

/**
 * The norm suite's table: median ms of op + readback, GB/s against the bytes the op must move, % of the
 * measured copy-kernel ceiling, and Kiln speed-up (engine median ÷ Kiln median).
 */
export function normText(results, problems, copyGBps) {
  const rows = engineRows(results, problems, (r, op) => (op ? r.computeGbps : r.gbps), (g) => (copyGBps ? `${fmtNum((100 * g) / copyGBps, 0)}%` : '–'));
  return table(['<op', '<engine', 'runs', 'median ms', 'min–max ms', 'GB/s', '% copy', 'Kiln speed-up', '<check (rel. err)'], rows);
}

/** The rows a Kiln-only suite (attention, infonce, models) returned, as a table for the report. */
export function suiteText(name, rows) {
  const ms = (x) => (Number.isFinite(x) ? fmtMs(x) : '–');
  const span = (s) => `${ms(s.min)}–${ms(s.max)}`;
  const mib = (b) => (Number.isFinite(b) ? fmtNum(b / 2 ** 20, 1) : '–');
  switch (name) {
    case 'attention':
      return table(['<B·H×L×D', '<variant', 'forward ms', 'min–max', 'fwd + bwd ms', 'min–max', 'peak MiB (fwd)', 'GFLOP/cpu-s (fwd)'],
        rows.map((r) => [r.shape, r.variant, ms(r.fwd.median), span(r.fwd), ms(r.fwdBwd.median), span(r.fwdBwd), fmtNum(r.fwd.peakMiB, 1), fmtNum(r.fwdCpuGflops, 2)]));
    case 'infonce':
      return table(['<N×D', '<variant', 'fwd + bwd ms', 'min–max', 'runs', 'peak MiB', 'GFLOP/cpu-s'],
        rows.map((r) => (r.skipped ? { cells: [`${r.n}×${r.d}`, r.variant], note: r.skipped }
          : [`${r.n}×${r.d}`, r.variant, ms(r.medianMs), `${ms(r.minMs)}–${ms(r.maxMs)}`, r.runs, mib(r.peakBytes), fmtNum(r.cpuGflops, 2)])));
    case 'models':
      return table(['<model', '<input', 'batch', 'median ms', 'min–max', 'samples/s'],
        rows.map((r) => [r.model, r.modality, r.batch, ms(r.medianMs), `${ms(r.minMs)}–${ms(r.maxMs)}`, fmtNum(r.samplesPerS, 1)]));
    case 'f16':
      return table(['<op', '<shape', '<dtype', 'forward ms', 'min–max', 'peak MiB', 'fwd + bwd ms', 'min–max', 'peak MiB'],
        rows.map((r) => [r.op, r.shape, r.dtype, ms(r.fwd.median), span(r.fwd), fmtNum(r.fwd.peakMiB, 2),
          r.fwdBwd ? ms(r.fwdBwd.median) : '–', r.fwdBwd ? span(r.fwdBwd) : '–', r.fwdBwd ? fmtNum(r.fwdBwd.peakMiB, 2) : '–']));
    default:
      return rows.map((r) => JSON.stringify(r)).join('\n');
  }
}
