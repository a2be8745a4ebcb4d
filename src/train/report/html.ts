// The run report as one self-contained HTML page (inline CSS and SVG; no script, font or request): the
// training curves from metrics.jsonl — loss (total and per pair), learning rate, gradient norm, recall,
// data wait — a data summary, and, from the held-out embeddings, similarity heat maps and PCA projections
// for a trained and an untrained modality pair. A pure function of its input; files are in data.ts.

import { pca } from './pca.js';
import type { ReportData, RunRows } from './data.js';
import { type Series, esc, heatMap, lineChart, scatter } from './svg.js';

export interface ReportInput {
  readonly title: string;
  readonly runs: readonly RunRows[];
  /** The held-out embeddings; null with `dataNote` saying why there are none. */
  readonly data: ReportData | null;
  readonly dataNote?: string;
  /** When the page was made (shown in the header). */
  readonly generated?: string;
}

/** Samples in each similarity heat map (the first ones of the held-out set). */
export const HEAT_MAP_SAMPLES = 32;
/** Past this many classes a projection is coloured by fewer of the shared attributes. */
const MAX_COLOURS = 16;

type Row = Readonly<Record<string, unknown>>;
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const rec = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
const isTrain = (r: Row): boolean => num(r['loss']) !== null && num(r['step']) !== null;
const fix = (x: number | null, d = 3): string => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(d));

/** The report page. @example await writeFile('report.html', renderReport({ title: 'run', runs, data })) */
export function renderReport(input: ReportInput): string {
  const runs = input.runs;
  const offsets = stepOffsets(runs);
  const marks = runs.length > 1 ? runs.map((r, i) => ({ x: offsets[i]!, label: r.name })) : [];
  const xLabel = runs.length > 1 ? 'step (stages one after another)' : 'step';
  const xRange = [0, Math.max(1, stepOffsets([...runs, { name: '', dir: '', rows: [] }]).at(-1)!)] as const; // every curve on the same axis

  const sections: string[] = [];

  // ---- curves -------------------------------------------------------------------------------------------
  const loss = keyed(runs, offsets, (r) => (isTrain(r) ? { total: num(r['loss']), ...numbers(r['losses']) } : null));
  const evalLoss = keyed(runs, offsets, (r) => (rec(r['eval']) ? { 'held-out total': num(rec(r['eval'])!['loss']) } : null));
  sections.push(
    chartBlock(
      lineChart({ id: 'loss', title: 'Loss', xLabel, xRange, yLabel: 'loss', marks, series: [...series(loss, { total: '#111' }), ...series(evalLoss, { 'held-out total': '#111' }, { dashed: true, dots: true })] }),
      'The weighted total and each pair’s contrastive loss at every logged step; dashed with dots: the total on the first held-out batch at each evaluation.',
    ),
  );
  const lr = keyed(runs, offsets, (r) => (isTrain(r) ? numbers(r['lr']) : null));
  sections.push(chartBlock(lineChart({ id: 'lr', title: 'Learning rate', xLabel, xRange, yLabel: 'lr', marks, series: series(lr) }), 'The learning rate of each parameter group.'));
  const grad = keyed(runs, offsets, (r) => (isTrain(r) ? { total: num(r['gradNorm']), ...numbers(r['gradNorms']) } : null));
  sections.push(chartBlock(lineChart({ id: 'grad-norm', title: 'Gradient norm', xLabel, xRange, yLabel: 'L2 norm', logY: true, marks, series: series(grad, { total: '#111' }) }), 'The global L2 norm of the gradients before clipping, and the same per tower.'));
  const recall = keyed(runs, offsets, (r) => {
    const rc = rec(r['recall']);
    return rc ? Object.fromEntries(Object.entries(rc).map(([dir, ks]) => [dir, num(rec(ks)?.['1'])])) : null;
  });
  sections.push(
    chartBlock(
      lineChart({ id: 'recall', title: 'Held-out Recall@1', xLabel, xRange, yLabel: 'Recall@1', yRange: [0, 1], marks, series: series(recall, {}, { dots: true }) }),
      'Recall@1 of each retrieval direction (query:gallery) at each evaluation; the latest Recall@1/5/10 are in the table below.',
      recallTable(runs),
    ),
  );
  const wait = keyed(runs, offsets, (r) => (num(r['dataWait']) !== null ? { 'data wait': num(r['dataWait']) } : null));
  if (wait.size > 0) sections.push(chartBlock(lineChart({ id: 'data-wait', title: 'Data wait', xLabel, xRange, yLabel: 'seconds', marks, series: series(wait) }), 'Seconds the loop spent waiting for data since the previous logged step.'));
  const summary = dataSummary(runs);
  if (summary) sections.push(summary);
  const curves = `${summaryTable(runs)}<h2>Training curves</h2><div class="charts">${sections.join('\n')}</div>`;

  // ---- held-out embeddings ------------------------------------------------------------------------------
  const embeddings = embeddingSections(input.data, input.dataNote ?? 'No held-out embeddings were recorded for this run.', trainedPairs(runs));

  const head = `<h1>${esc(input.title)}</h1><p class="muted">Kiln run report${input.generated ? ` · generated ${esc(input.generated)}` : ''} · ${runs.length > 1 ? `${runs.length} stages: ${esc(runs.map((r) => r.name).join(', '))}` : '1 run'}</p>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(input.title)} · Kiln report</title>
<style>${CSS}</style></head>
<body>
${head}
${curves}
${embeddings}
</body></html>
`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:24px auto;max-width:1320px;padding:0 16px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.muted{color:#666}.charts{display:flex;flex-wrap:wrap;gap:18px 28px}.block{flex:0 1 auto;max-width:640px}
.block p{margin:4px 0 0;color:#555;font-size:12.5px;max-width:620px}
svg{max-width:100%;height:auto;font-size:11px}svg .chart-title{font-size:13px;font-weight:600;fill:#222}
svg .tick{fill:#555}svg .label{fill:#333;font-size:12px}svg .grid{stroke:#eee}svg .axis{stroke:#999}
svg .frame{fill:none;stroke:#bbb}svg .mark{stroke:#888;stroke-dasharray:3 3}svg text.muted{fill:#888;font-size:13px}
.legend{display:flex;flex-wrap:wrap;gap:2px 12px;font-size:12px;margin:2px 0 0 8px;max-width:620px}.key{white-space:nowrap}.key svg{vertical-align:middle;margin-right:3px}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}
`;

/** A chart, its caption, and any HTML after it (already escaped), kept together in the layout. */
function chartBlock(svg: string, caption: string, after = ''): string {
  return `<div class="block">${svg}<p>${esc(caption)}</p>${after}</div>`;
}

/** Each run's first step on the shared axis: stages follow one another. */
function stepOffsets(runs: readonly RunRows[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const r of runs) {
    out.push(at);
    at += Math.max(0, ...r.rows.map((row) => num(row['step']) ?? 0));
  }
  return out;
}

/** Finite numbers of an object field ({ 'vision-text': 2.1, … }); others left out. */
function numbers(v: unknown): Record<string, number | null> {
  return Object.fromEntries(Object.entries(rec(v) ?? {}).map(([k, x]) => [k, num(x)]));
}

/** Points per key across runs (a null between runs breaks the line), from what `pick` reads off each row. */
function keyed(runs: readonly RunRows[], offsets: readonly number[], pick: (r: Row) => Record<string, number | null> | null): Map<string, ([number, number] | null)[]> {
  const out = new Map<string, ([number, number] | null)[]>();
  runs.forEach((run, i) => {
    for (const pts of out.values()) if (pts.length > 0 && pts.at(-1) !== null) pts.push(null);
    for (const row of run.rows) {
      const step = num(row['step']);
      const values = pick(row);
      if (step === null || !values) continue;
      for (const [k, v] of Object.entries(values)) {
        if (v === null) continue;
        if (!out.has(k)) out.set(k, []);
        out.get(k)!.push([offsets[i]! + step, v]);
      }
    }
  });
  return out;
}

function series(m: Map<string, ([number, number] | null)[]>, colours: Record<string, string> = {}, style: Pick<Series, 'dashed' | 'dots'> = {}): Series[] {
  return [...m].map(([name, points]) => ({ name, points, ...(colours[name] ? { colour: colours[name] } : {}), ...style }));
}

function summaryTable(runs: readonly RunRows[]): string {
  const rows = runs.map((run) => {
    const train = run.rows.filter(isTrain);
    const last = train.at(-1);
    const first = train[0];
    return `<tr><td>${esc(run.name || 'run')}</td><td>${last ? esc(String(num(last['step']))) : '—'}</td><td>${fix(first ? num(first['loss']) : null)}</td><td>${fix(last ? num(last['loss']) : null)}</td><td>${last ? esc(String(num(last['skipped']) ?? 0)) : '—'}</td><td>${fix(last ? num(last['samplesPerSec']) : null, 1)}</td><td>${fix(last ? num(last['elapsed']) : null, 1)}</td></tr>`;
  });
  return `<h2>Summary</h2><table><tr><th>run</th><th>steps</th><th>first loss</th><th>last loss</th><th>skipped steps</th><th>samples/s (last)</th><th>elapsed s</th></tr>${rows.join('')}</table>`;
}

/** The newest Recall@k of each direction over all runs, with the step and run it comes from. */
function recallTable(runs: readonly RunRows[]): string {
  const latest = new Map<string, { run: string; step: number; ks: Record<string, unknown> }>();
  for (const run of runs)
    for (const row of run.rows) {
      const rc = rec(row['recall']);
      for (const [dir, ks] of Object.entries(rc ?? {})) if (rec(ks)) latest.set(dir, { run: run.name, step: num(row['step']) ?? 0, ks: rec(ks)! });
    }
  if (latest.size === 0) return '';
  const ks = [...new Set([...latest.values()].flatMap((v) => Object.keys(v.ks)))].sort((a, b) => Number(a) - Number(b));
  const body = [...latest].map(([dir, v]) => `<tr><td>${esc(dir)}</td>${ks.map((k) => `<td>${fix(num(v.ks[k]))}</td>`).join('')}<td>${esc(`${v.run ? `${v.run} ` : ''}step ${v.step}`)}</td></tr>`);
  return `<table><tr><th>query:gallery</th>${ks.map((k) => `<th>R@${esc(k)}</th>`).join('')}<th>at</th></tr>${body.join('')}</table>`;
}

/** The newest data-summary row of each run ({ data: { read, skipped: {…}, filtered: {…} } }) as a table. */
function dataSummary(runs: readonly RunRows[]): string | null {
  const rows: string[] = [];
  for (const run of runs) {
    const row = [...run.rows].reverse().find((r) => rec(r['data']));
    if (!row) continue;
    const d = rec(row['data'])!;
    const detail = (v: unknown): string => {
      const entries = Object.entries(rec(v) ?? {});
      return entries.length === 0 ? '0' : entries.map(([k, n]) => `${k}: ${String(n)}`).join(', ');
    };
    rows.push(`<tr><td>${esc(run.name || 'run')}</td><td>${esc(String(num(row['step']) ?? '—'))}</td><td>${esc(String(num(d['read']) ?? '—'))}</td><td>${esc(detail(d['skipped']))}</td><td>${esc(detail(d['filtered']))}</td></tr>`);
  }
  if (rows.length === 0) return null;
  return `<div class="block"><h3>Data</h3><table data-table="data-summary"><tr><th>run</th><th>step</th><th>samples read</th><th>skipped (why: count)</th><th>filtered (why: count)</th></tr>${rows.join('')}</table></div>`;
}

/** Pairs some run trained, as 'a-b' (metrics.jsonl's `losses` keys). */
function trainedPairs(runs: readonly RunRows[]): Set<string> {
  return new Set(runs.flatMap((r) => r.rows.filter(isTrain).flatMap((row) => Object.keys(rec(row['losses']) ?? {}))));
}

/** A trained and an untrained pair among the embedded modalities (untrained: text ones first, as the demo's emergent pairs). */
export function choosePairs(mods: readonly string[], trained: ReadonlySet<string>): { trained: [string, string] | null; untrained: [string, string] | null } {
  const all: [string, string][] = mods.flatMap((a, i) => mods.slice(i + 1).map((b) => [a, b] as [string, string]));
  const isTrained = ([a, b]: [string, string]): boolean => trained.has(`${a}-${b}`) || trained.has(`${b}-${a}`);
  const t = all.find(isTrained) ?? null;
  const u = all.filter((p) => !isTrained(p)).sort((p, q) => Number(!p.includes('text')) - Number(!q.includes('text')))[0] ?? null;
  // Orient a trained pair as it was trained.
  return { trained: t && !trained.has(`${t[0]}-${t[1]}`) ? [t[1], t[0]] : t, untrained: u };
}

/** What the colours of a pair's plots mean: classes over the attributes both carry (as retrieval scores them). */
function pairClasses(d: ReportData, a: string, b: string): { attrs: string[]; of: (i: number) => number; names: string[] } | null {
  if (!d.attributes || !d.carries?.[a] || !d.carries[b]) return null;
  const shared = d.carries[a].filter((x) => d.carries![b]!.includes(x));
  const attrs: string[] = [];
  let count = 1;
  for (const x of shared) {
    const n = d.attributes[x]!.values.length;
    if (count * n > MAX_COLOURS && attrs.length > 0) break;
    attrs.push(x);
    count *= n;
  }
  if (attrs.length === 0) return null;
  const of = (i: number): number => attrs.reduce((c, x) => c * d.attributes![x]!.values.length + d.attributes![x]!.of[i]!, 0);
  const names = Array.from({ length: count }, (_, c) => {
    const words: string[] = [];
    for (let k = attrs.length - 1; k >= 0; k--) {
      const vals = d.attributes![attrs[k]!]!.values;
      words.unshift(vals[c % vals.length]!);
      c = Math.floor(c / vals.length);
    }
    return words.join(' ');
  });
  return { attrs, of, names };
}

function embeddingSections(d: ReportData | null, note: string, trained: ReadonlySet<string>): string {
  const open = '<h2>Held-out embeddings</h2>';
  if (!d) return `${open}<p class="muted" data-note="no-embeddings">${esc(note)}</p>`;
  const mods = Object.keys(d.embeddings);
  const chosen = choosePairs(mods, trained);
  const parts = [`${open}<p class="muted">${esc(`${d.samples} held-out samples of ${mods.join(', ')} (${d.dim}-dimensional embeddings)${d.step !== null ? `, computed at step ${d.step}` : ''}.`)}</p>`];
  const heat: string[] = [];
  const proj: string[] = [];
  for (const [kind, pair] of [['trained', chosen.trained], ['untrained', chosen.untrained]] as const) {
    if (!pair) {
      heat.push(`<div class="block"><p data-note="no-${kind}-pair">${esc(`No ${kind} pair among the embedded modalities (${mods.join(', ')}); trained pairs: ${[...trained].join(', ') || 'none'}.`)}</p></div>`);
      continue;
    }
    const [a, b] = pair;
    const classes = pairClasses(d, a, b);
    heat.push(similarityBlock(d, a, b, kind, classes));
    proj.push(projectionBlock(d, a, b, kind, classes));
  }
  parts.push(`<h3>Similarity of a held-out batch</h3><div class="charts">${heat.join('')}</div>`);
  if (proj.length > 0) parts.push(`<h3>2-D projection (PCA)</h3><div class="charts">${proj.join('')}</div>`);
  return parts.join('');
}

function similarityBlock(d: ReportData, a: string, b: string, kind: string, classes: ReturnType<typeof pairClasses>): string {
  const n = Math.min(HEAT_MAP_SAMPLES, d.samples);
  // Samples ordered by class (stable): same-class blocks line up around the diagonal, which stays the matching pairs.
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => (classes ? classes.of(i) - classes.of(j) : 0) || i - j);
  const ea = d.embeddings[a]!;
  const eb = d.embeddings[b]!;
  const unit = (e: readonly number[], i: number): number[] => {
    const v = e.slice(i * d.dim, (i + 1) * d.dim);
    const norm = Math.hypot(...v) || 1;
    return v.map((x) => x / norm);
  };
  const ua = order.map((i) => unit(ea, i));
  const ub = order.map((i) => unit(eb, i));
  const matrix = new Float64Array(n * n);
  let diag = 0;
  let off = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d.dim; k++) s += ua[i]![k]! * ub[j]![k]!;
      matrix[i * n + j] = s;
      if (i === j) diag += s / n;
      else off += s / Math.max(1, n * (n - 1));
    }
  const names = classes ? order.map((i) => classes.names[classes.of(i)]!) : undefined;
  const svg = heatMap({ id: `similarity-${kind}`, title: `${a} × ${b} (${kind} pair)`, matrix, rows: n, cols: n, rowLabel: a, colLabel: b, ...(names ? { rowNames: names, colNames: names } : {}) });
  const caption =
    `Cosine similarity of the first ${n} held-out ${a} embeddings (rows) with the same samples’ ${b} embeddings (columns); the diagonal holds the matching pairs. ` +
    `Mean diagonal ${diag.toFixed(3)} vs off-diagonal ${off.toFixed(3)}.` +
    (classes ? ` Samples ordered by ${classes.attrs.join(' + ')}, so same-class blocks sit along the diagonal.` : '') +
    (kind === 'untrained' ? ` ${a} and ${b} were never trained together.` : '');
  return chartBlock(svg, caption);
}

function projectionBlock(d: ReportData, a: string, b: string, kind: string, classes: ReturnType<typeof pairClasses>): string {
  const n = d.samples;
  const x = [...d.embeddings[a]!, ...d.embeddings[b]!];
  const p = pca(x, 2 * n, d.dim, 2);
  const points = Array.from({ length: 2 * n }, (_, r) => {
    const i = r % n;
    const group = r < n ? 0 : 1;
    const cls = classes ? classes.of(i) : -1;
    return { x: p.coords[2 * r]!, y: p.coords[2 * r + 1]!, colour: cls, group, title: `${group === 0 ? a : b} sample ${i}${classes ? `: ${classes.names[cls]!}` : ''}` };
  });
  const pct = (v: number | undefined): string => `${((v ?? 0) * 100).toFixed(1)}%`;
  const svg = scatter({ id: `projection-${kind}`, title: `PCA of ${a} and ${b} embeddings (${kind} pair)`, xLabel: `PC1 (${pct(p.explained[0])} of variance)`, yLabel: `PC2 (${pct(p.explained[1])} of variance)`, points, classNames: classes?.names ?? [], groupNames: [a, b] });
  const caption =
    `Principal component analysis (PCA, computed in float64 over both modalities’ ${n} held-out embeddings together) onto its first two components. ` +
    `Marker = modality; colour = ${classes ? `class by ${classes.attrs.join(' + ')} (attributes both carry)` : 'one colour (no class labels for this data)'}.`;
  return chartBlock(svg, caption);
}
