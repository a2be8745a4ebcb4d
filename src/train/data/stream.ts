// The streaming loader of file-backed data: the epochs' samples in order (sources.ts), decoded ahead on the
// decode workers, taken back in order (each result awaited in sample order, so neither the batches nor the
// position depend on the number of workers), prepared on the main thread, filtered and batched. Its
// position is (epoch, batch, cursor — samples of the epoch's order consumed — and the counts so far).

import { type Tensor, stack, tensor } from '../../public.js';
import type { Batch, BatchLoader, DataCounts, DataPosition } from '../dataset.js';
import type { Decoder } from './pool.js';
import { type PrepareOptions, type Prepared, type Rejection, decodeFiles, prepare } from './prepare.js';
import type { RawSample, Source } from './sources.js';

interface Pending {
  readonly epoch: number;
  readonly index: number;
  readonly sample: RawSample;
  readonly result: Promise<{ decoded: import('../../public.js').data.DecodedFile[] } | { problem: Rejection }>;
}

export interface StreamLoaderOptions {
  readonly batchSize: number;
  readonly modalities: readonly string[];
  readonly onError: 'skip' | 'stop';
  /** Samples decoded ahead (default 4 per worker, at least a batch). */
  readonly prefetch?: number;
  /** Counts of rows the manifest could not use, reported with the rest (not part of the position). */
  readonly manifestSkips?: Readonly<Record<string, number>>;
}

const add = (m: Readonly<Record<string, number>>, k: string, n = 1): Record<string, number> => ({ ...m, [k]: (m[k] ?? 0) + n });

export class StreamLoader implements BatchLoader {
  readonly stepsPerEpoch: number;
  private pos: { epoch: number; batch: number; cursor: number } = { epoch: 0, batch: 0, cursor: 0 };
  private tally: DataCounts = { read: 0, skipped: {}, filtered: {} };
  private queue: Pending[] = [];
  private feed: AsyncGenerator<{ epoch: number; index: number; sample: RawSample }> | null = null;
  private nextId = 0;
  private readonly prefetch: number;

  constructor(readonly source: Source, readonly decoder: Decoder, readonly prep: PrepareOptions, readonly opts: StreamLoaderOptions) {
    this.stepsPerEpoch = Math.floor(source.size / opts.batchSize);
    if (this.stepsPerEpoch < 1) throw new Error(`data: batchSize ${opts.batchSize} exceeds the ${source.size} samples of an epoch`);
    this.prefetch = opts.prefetch ?? Math.max(opts.batchSize, 4 * decoder.workers);
  }

  position(): DataPosition {
    return { ...this.pos, counts: this.tally };
  }

  restore(p: DataPosition): void {
    if (!Number.isSafeInteger(p.epoch) || !Number.isSafeInteger(p.batch) || p.epoch < 0 || p.batch < 0) throw new Error(`data: invalid data position ${JSON.stringify(p)}`);
    const cursor = p.cursor ?? p.batch * this.opts.batchSize; // a position from another loader: nothing was skipped
    if (!Number.isSafeInteger(cursor) || cursor < 0 || cursor > this.source.size) throw new Error(`data: invalid cursor in data position ${JSON.stringify(p)}`);
    this.pos = { epoch: p.epoch, batch: p.batch, cursor };
    this.tally = p.counts ?? { read: 0, skipped: {}, filtered: {} };
    this.reset();
  }

  /** The counts so far, with the manifest's unusable rows among the skipped. */
  counts(): DataCounts {
    let skipped = this.tally.skipped;
    for (const [k, n] of Object.entries(this.opts.manifestSkips ?? {})) skipped = add(skipped, k, n);
    return { ...this.tally, skipped };
  }

  private reset(): void {
    void this.feed?.return(undefined);
    this.feed = null;
    this.queue = [];
  }

  /** The samples from the position on, epoch after epoch. */
  private async *samples(): AsyncGenerator<{ epoch: number; index: number; sample: RawSample }> {
    for (let epoch = this.pos.epoch, cursor = this.pos.cursor; ; epoch++, cursor = 0) {
      let index = cursor;
      for await (const sample of this.source.samples(epoch, cursor)) yield { epoch, index: index++, sample };
    }
  }

  /** Starts decoding the next sample of the order (its files are read and decoded while earlier ones are used). */
  private async enqueue(): Promise<void> {
    this.feed ??= this.samples();
    const n = await this.feed.next();
    if (n.done) throw new Error('data: the sample stream ended');
    const { epoch, index, sample } = n.value;
    const result = (async () => {
      const job = decodeFiles(this.prep, epoch, sample, await sample.load());
      if ('problem' in job) return job;
      const r = await this.decoder.decode({ id: this.nextId++, files: job.files });
      return r.ok ? { decoded: [...r.files] } : { problem: { kind: 'skipped' as const, reason: 'corrupt', message: `${sample.name}: ${r.error}` } };
    })();
    result.catch(() => undefined); // awaited in order below; a rejection before then is not unhandled
    this.queue.push({ epoch, index, sample, result });
  }

  private count(r: Rejection): void {
    if (this.opts.onError === 'stop' && r.kind === 'skipped') throw new Error(`data: ${r.message} [${r.reason}] (data.onError is 'stop'; 'skip' skips and counts such samples)`);
    this.tally = r.kind === 'skipped' ? { ...this.tally, skipped: add(this.tally.skipped, r.reason) } : { ...this.tally, filtered: add(this.tally.filtered, r.reason) };
  }

  async next(): Promise<Batch> {
    const B = this.opts.batchSize;
    let taken: { prepared: Prepared; key: number }[] = [];
    let epoch = this.pos.epoch;
    let consumedInEpoch = 0;
    const drop = (): void => {
      for (const t of taken) for (const v of Object.values(t.prepared)) if (!(v instanceof Int32Array)) v.dispose();
      taken = [];
    };
    try {
      while (taken.length < B) {
        while (this.queue.length < this.prefetch) await this.enqueue();
        const p = this.queue.shift()!;
        if (p.epoch !== epoch) {
          // The epoch ran out before this batch filled: its last partial batch is dropped, as the Loader does.
          // An epoch that made no batch at all will not make one next time either: stop instead of spinning.
          if (this.pos.batch === 0 && consumedInEpoch > 0)
            throw new Error(`data: epoch ${epoch} has fewer than batchSize (${B}) usable samples; read, skipped and filtered so far: ${JSON.stringify(this.counts())}`);
          drop();
          epoch = p.epoch;
          this.pos = { epoch, batch: 0, cursor: 0 };
          consumedInEpoch = 0;
        }
        consumedInEpoch++;
        const r = await p.result;
        this.pos = { ...this.pos, cursor: p.index + 1 };
        const out = 'problem' in r ? r.problem : prepare(this.prep, p.epoch, p.sample, r.decoded);
        if (!('inputs' in out)) this.count(out);
        else {
          this.tally = { ...this.tally, read: this.tally.read + 1 };
          taken.push({ prepared: out.inputs, key: p.sample.key.reduce((a, b) => a * 1000003 + b, 0) });
        }
      }
    } catch (e) {
      drop();
      this.reset();
      throw e;
    }
    const inputs: Record<string, Tensor> = {};
    for (const m of this.opts.modalities) {
      const parts = taken.map((t) => t.prepared[m]!);
      if (parts[0] instanceof Int32Array) {
        const per = parts[0].length;
        const ids = new Int32Array(per * parts.length);
        parts.forEach((x, i) => ids.set(x as Int32Array, i * per));
        inputs[m] = tensor(ids, { shape: [parts.length, per] });
      } else {
        inputs[m] = stack(parts as Tensor[]);
        for (const t of parts as Tensor[]) t.dispose();
      }
    }
    this.pos = { ...this.pos, epoch, batch: this.pos.batch + 1 };
    return { inputs, epoch, indices: Int32Array.from(taken, (t) => t.key | 0) };
  }

  /** Ends the workers and the stream. */
  async close(): Promise<void> {
    this.reset();
    await this.decoder.close();
  }
}
