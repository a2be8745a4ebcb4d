// The run report's charts as inline SVG strings: line charts with axes and a legend, a heat map with its
// colour bar, and a scatter plot with colours and marker shapes. Pure functions of their data; every piece
// of text goes through esc(). Not a plotting library: just the three charts the report draws.

import { escapeAttribute, escapeUTF8 } from 'entities';

/** Text for HTML/SVG content. */
export const esc = (s: string | number): string => escapeUTF8(String(s));
/** Text for an attribute value (always double-quoted here). */
export const escAttr = (s: string | number): string => escapeAttribute(String(s));

/** Distinguishable colours (Tableau 10, then its lighter half), cycled past 20. */
export const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5',
] as const;
export const colourOf = (i: number): string => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]!;

export interface Series {
  readonly name: string;
  /** (x, y) points; null breaks the line (e.g. between two stages of a run). */
  readonly points: readonly (readonly [number, number] | null)[];
  readonly colour?: string;
  readonly dashed?: boolean;
  /** Draw a dot at every point (for series with few points, e.g. evaluations). */
  readonly dots?: boolean;
}

export interface LineChartOptions {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Logarithmic y axis (positive values only; others are dropped). */
  readonly logY?: boolean;
  /** Fixed y range, e.g. [0, 1] for recall. */
  readonly yRange?: readonly [number, number];
  /** Fixed x range (charts of one run share it); default: the data's. */
  readonly xRange?: readonly [number, number];
  /** Vertical markers, e.g. where a stage starts. */
  readonly marks?: readonly { readonly x: number; readonly label: string }[];
}

const W = 620;
const H = 320;
const M = { left: 62, right: 14, top: 30, bottom: 44 };
const fmt = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(4))));
const px = (v: number): string => v.toFixed(1);

/** [min, max] of a non-empty list, without spreading it into arguments (a long run has many points). */
export function extent(xs: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function svgOpen(id: string, title: string, w = W, h = H): string {
  return `<svg data-chart="${escAttr(id)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${escAttr(title)}" xmlns="http://www.w3.org/2000/svg"><title>${esc(title)}</title>`;
}

function empty(id: string, title: string, why: string): string {
  return `${svgOpen(id, title, W, 80)}<text x="${W / 2}" y="44" text-anchor="middle" class="muted">${esc(why)}</text></svg>`;
}

/** A line chart of one or more series over a shared x axis; an SVG string (a note in place of the plot when there is no data). */
export function lineChart(o: LineChartOptions): string {
  const ok = (y: number): boolean => Number.isFinite(y) && (!o.logY || y > 0);
  // A dropped point (non-finite, or ≤ 0 on a log axis) breaks the line like null.
  const series = o.series.map((s) => ({ ...s, points: s.points.map((p) => (p && Number.isFinite(p[0]) && ok(p[1]) ? p : null)) })).filter((s) => s.points.some((p) => p));
  if (series.length === 0) return empty(o.id, o.title, `${o.title}: no data in this run`);
  const all = series.flatMap((s) => s.points.filter((p): p is readonly [number, number] => p !== null));
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => (o.logY ? Math.log10(y) : y));
  let [x0, x1] = o.xRange ? [...o.xRange] : extent(xs);
  let [y0, y1] = o.yRange ? [...o.yRange] : extent(ys);
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - (Math.abs(y0) || 1) * 0.1, y1 + (Math.abs(y1) || 1) * 0.1];
  else if (!o.yRange) [y0, y1] = [y0 - (y1 - y0) * 0.05, y1 + (y1 - y0) * 0.05];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const pad = (x1 - x0) * 0.02; // points at either end stay whole inside the frame
  const sx = (x: number): number => M.left + ((x - x0 + pad) / (x1 - x0 + 2 * pad)) * pw;
  const sy = (y: number): number => M.top + ph - (((o.logY ? Math.log10(y) : y) - y0) / (y1 - y0)) * ph;
  const parts = [svgOpen(o.id, o.title), `<text x="${M.left}" y="18" class="chart-title">${esc(o.title)}</text>`];
  // Axes and grid
  const yTicks = o.logY ? logTicks(y0, y1) : niceTicks(y0, y1).map((v) => ({ at: v, label: fmt(v) }));
  for (const t of yTicks) {
    const y = M.top + ph - ((t.at - y0) / (y1 - y0)) * ph;
    parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${px(y)}" y2="${px(y)}" class="grid"/><text x="${M.left - 6}" y="${px(y + 4)}" text-anchor="end" class="tick">${esc(t.label)}</text>`);
  }
  for (const v of niceTicks(x0, x1, 6)) parts.push(`<line x1="${px(sx(v))}" x2="${px(sx(v))}" y1="${M.top + ph}" y2="${M.top + ph + 4}" class="axis"/><text x="${px(sx(v))}" y="${M.top + ph + 16}" text-anchor="middle" class="tick">${esc(fmt(v))}</text>`);
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" class="frame"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 6}" text-anchor="middle" class="label">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" class="label">${esc(o.yLabel)}${o.logY ? ' (log)' : ''}</text>`);
  for (const m of o.marks ?? [])
    if (m.x >= x0 && m.x <= x1) parts.push(`<line x1="${px(sx(m.x))}" x2="${px(sx(m.x))}" y1="${M.top}" y2="${M.top + ph}" class="mark"/><text x="${px(sx(m.x) + 3)}" y="${M.top + 11}" class="tick">${esc(m.label)}</text>`);
  // Lines, clipped to the frame
  const clip = `clip-${o.id.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
  parts.push(`<clipPath id="${escAttr(clip)}"><rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}"/></clipPath><g clip-path="url(#${escAttr(clip)})">`);
  series.forEach((s, i) => {
    const colour = s.colour ?? colourOf(i);
    let d = '';
    let pen = 'M';
    for (const p of s.points) {
      if (p) d += `${pen}${px(sx(p[0]))} ${px(sy(p[1]))}`;
      pen = p ? 'L' : 'M';
    }
    parts.push(`<path d="${d}" fill="none" stroke="${escAttr(colour)}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''} class="series"><title>${esc(s.name)}</title></path>`);
    const points = s.points.filter((p): p is readonly [number, number] => p !== null);
    if (s.dots || points.length === 1)
      for (const [x, y] of points) parts.push(`<circle cx="${px(sx(x))}" cy="${px(sy(y))}" r="3" fill="${escAttr(colour)}"><title>${esc(`${s.name}: ${fmt(y)} at ${fmt(x)}`)}</title></circle>`);
  });
  parts.push('</g>');
  return parts.join('') + '</svg>' + legend(series.map((s, i) => ({ name: s.name, colour: s.colour ?? colourOf(i), dashed: s.dashed ?? false })));
}

function logTicks(l0: number, l1: number): { at: number; label: string }[] {
  const out: { at: number; label: string }[] = [];
  for (let e = Math.floor(l0); e <= Math.ceil(l1); e++)
    for (const f of l1 - l0 < 2 ? [1, 2, 5] : [1]) {
      const at = e + Math.log10(f);
      if (at >= l0 && at <= l1) out.push({ at, label: fmt(f * 10 ** e) });
    }
  return out.length > 0 ? out : [{ at: l0, label: fmt(10 ** l0) }];
}

/** An HTML legend below a chart: a swatch and a name per entry. */
function legend(entries: readonly { name: string; colour: string; dashed: boolean; marker?: string }[]): string {
  const items = entries.map(
    (e) => `<span class="key"><svg width="22" height="10" aria-hidden="true">${e.marker ?? `<line x1="1" x2="21" y1="5" y2="5" stroke="${escAttr(e.colour)}" stroke-width="2.5"${e.dashed ? ' stroke-dasharray="5 3"' : ''}/>`}</svg>${esc(e.name)}</span>`,
  );
  return `<div class="legend">${items.join('')}</div>`;
}

export interface HeatMapOptions {
  readonly id: string;
  readonly title: string;
  /** [rows, cols] row-major values in [-1, 1] (cosine similarities). */
  readonly matrix: ArrayLike<number>;
  readonly rows: number;
  readonly cols: number;
  readonly rowLabel: string;
  readonly colLabel: string;
  /** Per row/column: a short label for the tooltip (e.g. the sample's class). */
  readonly rowNames?: readonly string[];
  readonly colNames?: readonly string[];
}

/** Cosine in [-1, 1] → a diverging colour: blue (−1), white (0), red (+1). */
export function divergingColour(v: number): string {
  const t = Math.max(-1, Math.min(1, Number.isFinite(v) ? v : 0));
  const [r, g, b] = t >= 0 ? [255, 255 - 200 * t, 255 - 210 * t] : [255 + 200 * t, 255 + 150 * t, 255];
  return `rgb(${Math.round(r)},${Math.round(g)},${Math.round(b)})`;
}

/** A heat map of a similarity matrix with a colour bar from −1 to 1. */
export function heatMap(o: HeatMapOptions): string {
  if (o.rows === 0 || o.cols === 0) return empty(o.id, o.title, `${o.title}: no data`);
  const size = 300;
  const left = 44;
  const top = 30;
  const cw = size / o.cols;
  const ch = size / o.rows;
  const w = left + size + 70;
  const h = top + size + 40;
  const parts = [svgOpen(o.id, o.title, w, h), `<text x="${left}" y="18" class="chart-title">${esc(o.title)}</text>`];
  for (let i = 0; i < o.rows; i++)
    for (let j = 0; j < o.cols; j++) {
      const v = o.matrix[i * o.cols + j]!;
      const tip = `${o.rowLabel} ${i}${o.rowNames ? ` (${o.rowNames[i]})` : ''} · ${o.colLabel} ${j}${o.colNames ? ` (${o.colNames[j]})` : ''}: ${v.toFixed(3)}`;
      parts.push(`<rect x="${px(left + j * cw)}" y="${px(top + i * ch)}" width="${px(cw + 0.3)}" height="${px(ch + 0.3)}" fill="${divergingColour(v)}" class="cell"><title>${esc(tip)}</title></rect>`);
    }
  parts.push(`<rect x="${left}" y="${top}" width="${size}" height="${size}" class="frame"/>`);
  parts.push(`<text x="${left + size / 2}" y="${top + size + 18}" text-anchor="middle" class="label">${esc(o.colLabel)} sample →</text>`);
  parts.push(`<text transform="translate(16 ${top + size / 2}) rotate(-90)" text-anchor="middle" class="label">← ${esc(o.rowLabel)} sample</text>`);
  // Colour bar
  const bx = left + size + 18;
  for (let k = 0; k < 40; k++) {
    const v = 1 - (2 * k) / 39;
    parts.push(`<rect x="${bx}" y="${px(top + (k * size) / 40)}" width="14" height="${px(size / 40 + 0.5)}" fill="${divergingColour(v)}"/>`);
  }
  for (const [v, y] of [[1, top], [0, top + size / 2], [-1, top + size]] as const) parts.push(`<text x="${bx + 18}" y="${y + 4}" class="tick">${v}</text>`);
  parts.push(`<text x="${bx - 2}" y="${top + size + 18}" class="tick">cosine</text>`);
  return parts.join('') + '</svg>';
}

export const MARKERS = ['circle', 'triangle', 'square', 'diamond', 'cross', 'star'] as const;

/** An SVG marker of a shape centred at (x, y). */
function marker(shape: number, x: number, y: number, colour: string, title: string, r = 3.6): string {
  const fill = `fill="${escAttr(colour)}" class="point"`;
  const t = title ? `<title>${esc(title)}</title>` : '';
  switch (MARKERS[shape % MARKERS.length]!) {
    case 'circle':
      return `<circle cx="${px(x)}" cy="${px(y)}" r="${r}" ${fill}>${t}</circle>`;
    case 'square':
      return `<rect x="${px(x - r * 0.85)}" y="${px(y - r * 0.85)}" width="${px(r * 1.7)}" height="${px(r * 1.7)}" ${fill}>${t}</rect>`;
    case 'triangle':
      return `<path d="M${px(x)} ${px(y - r * 1.1)}L${px(x + r)} ${px(y + r * 0.8)}L${px(x - r)} ${px(y + r * 0.8)}Z" ${fill}>${t}</path>`;
    case 'diamond':
      return `<path d="M${px(x)} ${px(y - r * 1.2)}L${px(x + r)} ${px(y)}L${px(x)} ${px(y + r * 1.2)}L${px(x - r)} ${px(y)}Z" ${fill}>${t}</path>`;
    case 'cross':
      return `<path d="M${px(x - r)} ${px(y - r)}L${px(x + r)} ${px(y + r)}M${px(x - r)} ${px(y + r)}L${px(x + r)} ${px(y - r)}" stroke="${escAttr(colour)}" stroke-width="1.8" class="point">${t}</path>`;
    case 'star':
      return `<path d="M${px(x)} ${px(y - r * 1.2)}L${px(x + r * 0.35)} ${px(y - r * 0.35)}L${px(x + r * 1.2)} ${px(y)}L${px(x + r * 0.35)} ${px(y + r * 0.35)}L${px(x)} ${px(y + r * 1.2)}L${px(x - r * 0.35)} ${px(y + r * 0.35)}L${px(x - r * 1.2)} ${px(y)}L${px(x - r * 0.35)} ${px(y - r * 0.35)}Z" ${fill}>${t}</path>`;
  }
}

export interface ScatterOptions {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** x, y, colour class (index into classNames; -1: no class), marker group (index into groupNames). */
  readonly points: readonly { readonly x: number; readonly y: number; readonly colour: number; readonly group: number; readonly title?: string }[];
  readonly classNames: readonly string[];
  readonly groupNames: readonly string[];
}

/** A scatter plot: colour = class, marker shape = group (modality); legends for both. */
export function scatter(o: ScatterOptions): string {
  if (o.points.length === 0) return empty(o.id, o.title, `${o.title}: no data`);
  const size = 400;
  const left = 44;
  const top = 30;
  const xs = o.points.map((p) => p.x);
  const ys = o.points.map((p) => p.y);
  // One scale for both axes: distances in the plane are distances in the projection.
  const [xa, xb] = extent(xs);
  const [ya, yb] = extent(ys);
  const cx = (xa + xb) / 2;
  const cy = (ya + yb) / 2;
  const half = Math.max(xb - xa, yb - ya, 1e-12) * 0.54;
  const sx = (x: number): number => left + ((x - cx + half) / (2 * half)) * size;
  const sy = (y: number): number => top + size - ((y - cy + half) / (2 * half)) * size;
  const parts = [svgOpen(o.id, o.title, left + size + 10, top + size + 40), `<text x="${left}" y="18" class="chart-title">${esc(o.title)}</text>`];
  parts.push(`<rect x="${left}" y="${top}" width="${size}" height="${size}" class="frame"/>`);
  parts.push(`<text x="${left + size / 2}" y="${top + size + 18}" text-anchor="middle" class="label">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${top + size / 2}) rotate(-90)" text-anchor="middle" class="label">${esc(o.yLabel)}</text>`);
  for (const p of o.points) parts.push(marker(p.group, sx(p.x), sy(p.y), p.colour < 0 ? '#555' : colourOf(p.colour), p.title ?? ''));
  const svg = parts.join('') + '</svg>';
  const groups = legend(o.groupNames.map((g, i) => ({ name: g, colour: '#333', dashed: false, marker: marker(i, 11, 5, '#333', '', 4) })));
  const classes = o.classNames.length > 0 ? legend(o.classNames.map((c, i) => ({ name: c, colour: colourOf(i), dashed: false, marker: `<rect x="6" y="0" width="10" height="10" fill="${escAttr(colourOf(i))}"/>` }))) : '';
  return svg + groups + classes;
}
