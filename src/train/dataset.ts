// The dataset interface the trainer reads (samples by index, randomness from (seed, epoch, index)), the
// loader that shuffles, batches and collates per modality with a position that can be saved and restored,
// and a small class-structured random dataset for tests. The synthetic six-modality dataset plugs in here.

import { type Tensor, tensor } from '../public.js';

/** The shape and type of one modality's sample (without the batch dimension). */
export interface InputSpec {
  readonly shape: readonly number[];
  readonly dtype: 'f32' | 'i32';
  /** Token ids: the vocabulary size (the end token is the largest id, as CLIP's argmax pooling expects). */
  readonly vocab?: number;
}

export type Sample = Readonly<Record<string, Float32Array | Int32Array>>;

/** What the trainer trains on. A sample's randomness must depend only on (seed, epoch, index). */
export interface Dataset {
  readonly size: number;
  /** Input layout per modality name; samples carry these modalities. */
  readonly inputs: Readonly<Record<string, InputSpec>>;
  /** Sample `index` (0 ≤ index < size) as seen in `epoch`. */
  get(index: number, epoch: number): Sample;
}

/** Where the loader stands: the epoch and the number of batches of it already handed out. */
export interface DataPosition {
  readonly epoch: number;
  readonly batch: number;
  /** File-backed data: samples of the epoch's order consumed (read, skipped or filtered) so far. */
  readonly cursor?: number;
  /** File-backed data: what was read, skipped and filtered so far (kept across resumes). */
  readonly counts?: DataCounts;
}

/** File-backed data's tally: samples read, and those skipped (missing, corrupt, …) or filtered, by reason. */
export interface DataCounts {
  readonly read: number;
  readonly skipped: Readonly<Record<string, number>>;
  readonly filtered: Readonly<Record<string, number>>;
}

/** One batch: a GPU tensor [B, ...] per modality, the epoch it belongs to and its samples' indices. */
export interface Batch {
  readonly inputs: Record<string, Tensor>;
  readonly epoch: number;
  readonly indices: Int32Array;
}

/** What the loop reads batches from: the in-memory Loader, or the streaming loader of file-backed data. */
export interface BatchLoader {
  readonly stepsPerEpoch: number;
  position(): DataPosition;
  restore(p: DataPosition): void;
  next(): Batch | Promise<Batch>;
}

/** The sample order of epoch e: a Fisher–Yates permutation of 0 … size−1 drawn from (seed, e). */
export function epochPermutation(size: number, seed: number, epoch: number): Int32Array {
  const perm = Int32Array.from({ length: size }, (_, i) => i);
  const u = uniformStream(hash32(seed, 0x5107, epoch));
  for (let i = perm.length - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return perm;
}

// ---- counter-based randomness on the CPU -----------------------------------------------------------------

/** A 32-bit hash of a few integers (murmur3's finaliser over a running mix). */
export function hash32(...xs: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** mulberry32 seeded by `seed`: uniform floats in [0, 1). */
export function uniformStream(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normals by Box–Muller over a uniform stream. */
export function normalStream(seed: number): () => number {
  const u = uniformStream(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

// ---- the loader ------------------------------------------------------------------------------------------

/** Shuffles each epoch from (seed, epoch), drops the last partial batch, collates per modality onto the GPU. */
export class Loader implements BatchLoader {
  readonly stepsPerEpoch: number;
  private pos: DataPosition = { epoch: 0, batch: 0 };
  private order: Int32Array | null = null;
  private orderEpoch = -1;

  constructor(readonly dataset: Dataset, readonly batchSize: number, readonly seed: number, readonly modalities: readonly string[]) {
    this.stepsPerEpoch = Math.floor(dataset.size / batchSize);
    if (this.stepsPerEpoch < 1) throw new Error(`Loader: batchSize ${batchSize} exceeds the dataset's ${dataset.size} samples`);
    for (const m of modalities) if (!(m in dataset.inputs)) throw new Error(`Loader: the dataset has no modality '${m}' (it has ${Object.keys(dataset.inputs).join(', ')})`);
  }

  position(): DataPosition {
    return { ...this.pos };
  }

  restore(p: DataPosition): void {
    if (!Number.isSafeInteger(p.epoch) || !Number.isSafeInteger(p.batch) || p.epoch < 0 || p.batch < 0 || p.batch > this.stepsPerEpoch)
      throw new Error(`Loader: invalid data position ${JSON.stringify(p)}`);
    this.pos = { ...p };
  }

  /** The permutation of epoch e (Fisher–Yates from (seed, e)). */
  private permutation(epoch: number): Int32Array {
    if (this.orderEpoch !== epoch || !this.order) {
      this.order = epochPermutation(this.dataset.size, this.seed, epoch);
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  /** The next batch: one GPU tensor [B, ...shape] per modality, and the epoch it belongs to. */
  next(): Batch {
    if (this.pos.batch >= this.stepsPerEpoch) this.pos = { epoch: this.pos.epoch + 1, batch: 0 };
    const { epoch, batch } = this.pos;
    const indices = this.permutation(epoch).slice(batch * this.batchSize, (batch + 1) * this.batchSize);
    const samples = [...indices].map((i) => this.dataset.get(i, epoch));
    const inputs: Record<string, Tensor> = {};
    for (const m of this.modalities) inputs[m] = collate(samples, m, this.dataset.inputs[m]!);
    this.pos = { epoch, batch: batch + 1 };
    return { inputs, epoch, indices };
  }
}

/** Stacks one modality of `samples` into a [B, ...shape] tensor (one upload). */
export function collate(samples: readonly Sample[], m: string, spec: InputSpec): Tensor {
  const per = spec.shape.reduce((a, b) => a * b, 1);
  const out = spec.dtype === 'i32' ? new Int32Array(per * samples.length) : new Float32Array(per * samples.length);
  samples.forEach((s, i) => {
    const x = s[m];
    if (!x || x.length !== per || (spec.dtype === 'i32') !== x instanceof Int32Array)
      throw new Error(`collate: sample ${i} of modality '${m}' must be ${spec.dtype} with ${per} elements, got ${x ? `${x.constructor.name}(${x.length})` : 'nothing'}`);
    out.set(x, i * per);
  });
  return tensor(out, { shape: [samples.length, ...spec.shape] });
}

// ---- a random, class-structured dataset --------------------------------------------------------------------

export interface RandomDatasetOptions {
  readonly size: number;
  readonly classes: number;
  /** Standard deviation of the noise around each class prototype (text: chance of a random token ≈ noise/4). */
  readonly noise: number;
  readonly seed: number;
}

/**
 * Samples of `classes` classes: every modality of a sample is its class's prototype plus noise drawn from
 * (seed, epoch, index), so pairs of one class are alike and contrastive training has something to learn.
 */
export class RandomDataset implements Dataset {
  readonly size: number;
  private readonly protos = new Map<string, Float32Array | Int32Array>();

  constructor(readonly inputs: Readonly<Record<string, InputSpec>>, readonly opts: RandomDatasetOptions) {
    this.size = opts.size;
  }

  /** The class of sample `index` (fixed across epochs). */
  classOf(index: number): number {
    return hash32(this.opts.seed, 0xc1a55, index) % this.opts.classes;
  }

  private prototype(m: string, mi: number, c: number): Float32Array | Int32Array {
    const key = `${m}/${c}`;
    let p = this.protos.get(key);
    if (!p) {
      const spec = this.inputs[m]!;
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (spec.dtype === 'i32') {
        const vocab = spec.vocab ?? 2;
        const u = uniformStream(hash32(this.opts.seed, 0x7e47, mi, c));
        // Tokens 1 … vocab−2, the end token (vocab−1, the largest id) last: argmax pooling finds it.
        p = Int32Array.from({ length: n }, (_, j) => (j === n - 1 ? vocab - 1 : 1 + Math.floor(u() * Math.max(1, vocab - 2))));
      } else {
        const g = normalStream(hash32(this.opts.seed, 0x9807, mi, c));
        p = Float32Array.from({ length: n }, g);
      }
      this.protos.set(key, p);
    }
    return p;
  }

  get(index: number, epoch: number): Sample {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) throw new Error(`RandomDataset: index ${index} out of range [0, ${this.size})`);
    const c = this.classOf(index);
    const out: Record<string, Float32Array | Int32Array> = {};
    Object.keys(this.inputs).forEach((m, mi) => {
      const proto = this.prototype(m, mi, c);
      const seed = hash32(this.opts.seed, epoch, index, mi);
      if (proto instanceof Int32Array) {
        const u = uniformStream(seed);
        const vocab = this.inputs[m]!.vocab ?? 2;
        out[m] = proto.map((t, j) => (j < proto.length - 1 && u() < this.opts.noise / 4 ? 1 + Math.floor(u() * Math.max(1, vocab - 2)) : t));
      } else {
        const g = normalStream(seed);
        out[m] = proto.map((v) => v + this.opts.noise * g());
      }
    });
    return out;
  }
}
