// What a run reports: rows appended to `<out>/metrics.jsonl` (one JSON object per line, per logged step),
// and a progress display — a redrawn bar on a TTY, plain lines otherwise.

import { appendFile } from 'node:fs/promises';

/** One logged step in metrics.jsonl. `samplesPerSec` and `elapsed` are wall-clock; the rest are exact. */
export interface MetricsRow {
  readonly step: number;
  readonly epoch: number;
  /** The weighted total loss of this step. */
  readonly loss: number;
  /** Each pair's loss ('vision-text': …). */
  readonly losses: Readonly<Record<string, number>>;
  /** The learning rate of each parameter group at this step. */
  readonly lr: Readonly<Record<string, number>>;
  /** Global L2 norm of the gradients before clipping. */
  readonly gradNorm: number;
  /** The same per tower (modality), to see one dominate. */
  readonly gradNorms: Readonly<Record<string, number>>;
  /** Steps skipped for a non-finite loss or gradient since the start of the run. */
  readonly skipped: number;
  readonly samplesPerSec: number;
  /** Seconds since this process started training. */
  readonly elapsed: number;
  /** Seconds spent waiting for data (reading, decoding, preprocessing) since the previous logged row. */
  readonly dataWait: number;
}

/** Fields that depend on the wall clock (left out when runs are compared). */
export const WALL_CLOCK_FIELDS = ['samplesPerSec', 'elapsed', 'dataWait'] as const;

export async function appendMetrics(file: string, row: object): Promise<void> {
  await appendFile(file, `${JSON.stringify(row)}\n`);
}

const fmt = (x: number): string => (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toPrecision(4) : x.toExponential(2));

function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/** Prints progress: a bar redrawn in place when `tty`, else one line per logged step. */
export class Progress {
  constructor(
    readonly total: number,
    readonly print: (line: string) => void,
    readonly tty: { write: (s: string) => void; columns: number } | null,
    /** The step this process started at (a resumed run's ETA uses only the steps it ran itself). */
    readonly startStep = 0,
  ) {}

  update(row: MetricsRow): void {
    const lr = Object.values(row.lr)[0] ?? 0;
    const eta = (this.total - row.step) * (row.elapsed / Math.max(1, row.step - this.startStep));
    const text = `step ${row.step}/${this.total} loss ${fmt(row.loss)} lr ${fmt(lr)} ${fmt(row.samplesPerSec)} samples/s ETA ${duration(eta)}${row.skipped ? ` skipped ${row.skipped}` : ''}`;
    if (!this.tty) return this.print(text);
    const width = Math.max(10, Math.min(40, this.tty.columns - text.length - 4));
    const done = Math.round((width * row.step) / this.total);
    this.tty.write(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${text}\x1b[K${row.step === this.total ? '\n' : ''}`);
  }

  /** A message on its own line (moves past the bar first). */
  note(line: string): void {
    if (this.tty) this.tty.write('\n');
    this.print(line);
  }
}
