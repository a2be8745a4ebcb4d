// The shape of `onProgress` callbacks for long operations (loadWeights, iteratePth/loadPth, tuneMatmul).
// A callback that throws aborts the operation with that error.

export interface Progress {
  /** Units finished so far (0 at the first call), ≤ total. */
  readonly done: number;
  /** Units in all; for tuneMatmul an upper bound (slow candidates are dropped early). */
  readonly total: number;
  /** What is counted. */
  readonly unit: 'tensors' | 'runs';
  /** The item just finished: a tensor's name, or the candidate configuration timed. */
  readonly name?: string;
}

export type ProgressCallback = (p: Progress) => void;
