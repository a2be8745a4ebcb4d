// The config of the file-backed data kinds (csv, jsonl, coco, folders, webdataset): their fields, defaults
// and validation. config.ts lists them in DATA_KINDS, handing over its validators (this file imports only
// its types, so there is no import cycle).

/** Data-quality filters (the ImageBind guide's): a sample failing one is dropped and counted under its name. */
export interface DataFilters {
  /** Fewest tokens a caption may have (SOT and EOT not counted); 0 = off. */
  readonly minCaptionTokens: number;
  /** Lowest audio SNR in dB (data.estimateSnrDb: frame energies against the quietest 10 %); null = off. */
  readonly minSnrDb: number | null;
  /** Largest |t_a − t_b| in seconds between a sample's timestamped streams (`times` columns); null = off. */
  readonly maxTimeOffset: number | null;
}

/** Training-time augmentations, drawn from each sample's (seed, epoch, index); none in evaluation. */
export interface DataAugment {
  /** RandomResizedCrop's area fraction range (OpenCLIP: [0.9, 1.0], bicubic); null = resize + center crop. */
  readonly cropScale: readonly [number, number] | null;
  /** Horizontal flip with probability 0.5. */
  readonly flip: boolean;
  /** ColorJitter strength for brightness, contrast and saturation (torchvision's factor range [1 − s, 1 + s]); 0 = off. */
  readonly colorJitter: number;
  /** Standard deviation of Gaussian noise added to the waveform (in [−1, 1] units); 0 = off. */
  readonly audioNoise: number;
}

interface StreamCommon {
  /** Decode worker threads (0: decode on the main thread). */
  readonly workers: number;
  /** A missing or corrupt file: 'skip' the sample and count it, or 'stop' the run. */
  readonly onError: 'skip' | 'stop';
  /** A merges file for the tokenizer; null = Kiln's default. */
  readonly tokenizer: string | null;
  /** Shuffle each epoch (manifests: a full permutation; shards: shard order and a sample buffer). */
  readonly shuffle: boolean;
  /** Manifest kinds: the last `heldOut` records are kept out of training for evaluation. */
  readonly heldOut: number;
  readonly filters: DataFilters;
  readonly augment: DataAugment;
}

/** Columns (keys) per modality: the text column holds the caption, the others a path relative to `root`. */
interface ManifestFields {
  /** Modality → column; {} = OpenCLIP's { image: 'filepath', text: 'title' } (csv) or { image: 'image', text: 'caption' } (jsonl). */
  readonly columns: Readonly<Record<string, string>>;
  /** Modality → column holding that stream's timestamp in seconds (for filters.maxTimeOffset). */
  readonly times: Readonly<Record<string, string>>;
  /** The directory paths are relative to; null = the manifest's directory. */
  readonly root: string | null;
}

/** A CSV or TSV manifest with a header row (OpenCLIP's --csv-img-key filepath, --csv-caption-key title). */
export interface CsvDataSection extends StreamCommon, ManifestFields {
  readonly kind: 'csv';
  readonly file: string;
  /** Cell separator; null = a tab for .tsv/.tab files, else a comma (OpenCLIP's --csv-separator). */
  readonly separator: string | null;
}

/** One JSON object per line. */
export interface JsonlDataSection extends StreamCommon, ManifestFields {
  readonly kind: 'jsonl';
  readonly file: string;
}

/** COCO captions JSON (images + annotations): one sample per image, a caption drawn per epoch. */
export interface CocoDataSection extends StreamCommon {
  readonly kind: 'coco';
  readonly file: string;
  /** The image directory; null = the JSON's directory. */
  readonly root: string | null;
}

/** One folder per modality, files matched by stem (`a/0001.png` with `b/0001.wav`); text files hold captions. */
export interface FoldersDataSection extends StreamCommon {
  readonly kind: 'folders';
  readonly dirs: Readonly<Record<string, string>>;
}

/** WebDataset tar shards streamed from disk. */
export interface WebDatasetDataSection extends StreamCommon {
  readonly kind: 'webdataset';
  /** Shard paths; `{000..009}` ranges expand (OpenCLIP's brace notation). */
  readonly shards: readonly string[];
  /** Modality → extensions (';'-separated, first present wins); {} = { image: 'png;jpg;jpeg', text: 'txt' }. */
  readonly extensions: Readonly<Record<string, string>>;
  /** Samples held in the shuffle buffer (OpenCLIP: 5000); it is filled and drained within each shard. */
  readonly shuffleBuffer: number;
  /** Largest member read, in bytes (larger ones make their sample skipped as 'tooLarge'). */
  readonly maxMemberBytes: number;
}

export type StreamDataSection = CsvDataSection | JsonlDataSection | CocoDataSection | FoldersDataSection | WebDatasetDataSection;
export type StreamKind = StreamDataSection['kind'];

/** The validators config.ts hands over (each throws a ConfigError naming the field and the value). */
export interface Validators {
  obj(v: unknown, path: string, known: readonly string[]): Record<string, unknown>;
  num(v: unknown, path: string, min?: number, max?: number, what?: string): number;
  int(v: unknown, path: string, min: number): number;
  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T;
  str(v: unknown, path: string): string;
  bool(v: unknown, path: string): boolean;
  nullable<T>(v: unknown, check: (v: unknown) => T): T | null;
  list(v: unknown, path: string): unknown[];
  fail(path: string, expected: string, v: unknown): never;
}

const COMMON = {
  workers: 2,
  onError: 'skip',
  tokenizer: null,
  shuffle: true,
  heldOut: 0,
  filters: { minCaptionTokens: 0, minSnrDb: null, maxTimeOffset: null },
  augment: { cropScale: [0.9, 1.0], flip: false, colorJitter: 0, audioNoise: 0 },
} as const satisfies StreamCommon;
const MANIFEST = { columns: {}, times: {}, root: null } as const;

function common(o: Record<string, unknown>, v: Validators): StreamCommon {
  const f = v.obj(o['filters'], 'data.filters', Object.keys(COMMON.filters));
  const a = v.obj(o['augment'], 'data.augment', Object.keys(COMMON.augment));
  const cropScale = v.nullable(a['cropScale'], (x) => {
    const s = v.list(x, 'data.augment.cropScale');
    if (s.length !== 2) v.fail('data.augment.cropScale', '[min, max] area fractions', x);
    const lo = v.num(s[0], 'data.augment.cropScale[0]', 1e-6, 1);
    return [lo, v.num(s[1], 'data.augment.cropScale[1]', lo, 1)] as const;
  });
  return {
    workers: v.int(o['workers'], 'data.workers', 0),
    onError: v.oneOf(o['onError'], 'data.onError', ['skip', 'stop']),
    tokenizer: v.nullable(o['tokenizer'], (x) => v.str(x, 'data.tokenizer')),
    shuffle: v.bool(o['shuffle'], 'data.shuffle'),
    heldOut: v.int(o['heldOut'], 'data.heldOut', 0),
    filters: {
      minCaptionTokens: v.int(f['minCaptionTokens'], 'data.filters.minCaptionTokens', 0),
      minSnrDb: v.nullable(f['minSnrDb'], (x) => v.num(x, 'data.filters.minSnrDb')),
      maxTimeOffset: v.nullable(f['maxTimeOffset'], (x) => v.num(x, 'data.filters.maxTimeOffset', 0)),
    },
    augment: { cropScale, flip: v.bool(a['flip'], 'data.augment.flip'), colorJitter: v.num(a['colorJitter'], 'data.augment.colorJitter', 0, 1), audioNoise: v.num(a['audioNoise'], 'data.augment.audioNoise', 0) },
  };
}

function names(o: Record<string, unknown>, field: string, v: Validators): Record<string, string> {
  const m = v.obj(o[field], `data.${field}`, Object.keys(o[field] ?? {}));
  return Object.fromEntries(Object.entries(m).map(([k, x]) => [k, v.str(x, `data.${field}.${k}`)]));
}

function manifest(o: Record<string, unknown>, v: Validators): ManifestFields {
  return { columns: names(o, 'columns', v), times: names(o, 'times', v), root: v.nullable(o['root'], (x) => v.str(x, 'data.root')) };
}

/** Expands OpenCLIP's brace ranges: 'shards/{000..002}.tar' → shards/000.tar, shards/001.tar, shards/002.tar. */
export function expandShards(pattern: string): string[] {
  const m = /\{(\d+)\.\.(\d+)\}/.exec(pattern);
  if (!m) return [pattern];
  const [a, b] = [Number(m[1]), Number(m[2])];
  if (b < a || b - a > 1e6) throw new Error(`data.shards: bad range {${m[1]}..${m[2]}} in ${pattern}`);
  const width = m[1]!.length;
  return Array.from({ length: b - a + 1 }, (_, i) => pattern.slice(0, m.index) + String(a + i).padStart(width, '0') + pattern.slice(m.index + m[0].length)).flatMap(expandShards);
}

/** DATA_KINDS' entries for the file-backed kinds. */
export function streamKinds(v: Validators): { readonly [K in StreamKind]: { readonly defaults: Extract<StreamDataSection, { kind: K }>; readonly check: (o: Record<string, unknown>) => StreamDataSection } } {
  return {
    csv: {
      defaults: { kind: 'csv', file: '', separator: null, ...MANIFEST, ...COMMON },
      check: (o) => ({ kind: 'csv', file: v.str(o['file'], 'data.file'), separator: v.nullable(o['separator'], (x) => v.str(x, 'data.separator')), ...manifest(o, v), ...common(o, v) }),
    },
    jsonl: {
      defaults: { kind: 'jsonl', file: '', ...MANIFEST, ...COMMON },
      check: (o) => ({ kind: 'jsonl', file: v.str(o['file'], 'data.file'), ...manifest(o, v), ...common(o, v) }),
    },
    coco: {
      defaults: { kind: 'coco', file: '', root: null, ...COMMON },
      check: (o) => ({ kind: 'coco', file: v.str(o['file'], 'data.file'), root: v.nullable(o['root'], (x) => v.str(x, 'data.root')), ...common(o, v) }),
    },
    folders: {
      defaults: { kind: 'folders', dirs: {}, ...COMMON },
      check: (o) => {
        const dirs = names(o, 'dirs', v);
        if (Object.keys(dirs).length < 2) v.fail('data.dirs', 'a folder for each of at least two modalities', o['dirs']);
        return { kind: 'folders', dirs, ...common(o, v) };
      },
    },
    webdataset: {
      defaults: { kind: 'webdataset', shards: [], extensions: {}, shuffleBuffer: 1000, maxMemberBytes: 64 << 20, ...COMMON },
      check: (o) => {
        const given = typeof o['shards'] === 'string' ? [o['shards']] : v.list(o['shards'], 'data.shards');
        const shards = given.map((s, i) => v.str(s, `data.shards[${i}]`)).flatMap(expandShards);
        if (shards.length === 0) v.fail('data.shards', 'at least one shard path', o['shards']);
        return {
          kind: 'webdataset',
          shards,
          extensions: names(o, 'extensions', v),
          shuffleBuffer: v.int(o['shuffleBuffer'], 'data.shuffleBuffer', 1),
          maxMemberBytes: v.int(o['maxMemberBytes'], 'data.maxMemberBytes', 1),
          ...common(o, v),
        };
      },
    },
  };
}
