// IMU input for ImageBind's IMU encoder: 6 channels (accelerometer xyz, gyroscope xyz) × 2000 samples, read
// from a NumPy .npy array or a CSV. No resampling, filtering or normalisation (ImageBind has no loader).

import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { isNpy, readNpy } from './npy.js';

const CHANNELS = 6;
const SAMPLES = 2000;

export interface ImuOptions {
  /** 'npy' or 'csv'; by default a .npy signature selects npy and anything else is read as CSV. */
  readonly format?: 'csv' | 'npy';
  /** Named in error messages. */
  readonly name?: string;
}

/** Parses a CSV of numbers (comma, semicolon, tab or space separated; one non-numeric header row allowed). */
export function readCsv(text: string, name: string): { rows: number; cols: number; data: Float64Array } {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const split = (l: string): string[] => l.split(/\s*[,;\t]\s*|\s+/);
  if (lines.length > 0 && split(lines[0]!).some((c) => c !== '' && Number.isNaN(Number(c)))) lines.shift();
  const rows = lines.length;
  const cols = rows > 0 ? split(lines[0]!).length : 0;
  const data = new Float64Array(rows * cols);
  lines.forEach((l, r) => {
    const cells = split(l);
    if (cells.length !== cols) throw new Error(`loadImu: '${name}' row ${r + 1} has ${cells.length} values, the first row ${cols}`);
    cells.forEach((c, k) => {
      const v = c === '' ? NaN : Number(c);
      if (Number.isNaN(v) && c.toLowerCase() !== 'nan') throw new Error(`loadImu: '${name}' row ${r + 1}, column ${k + 1}: '${c}' is not a number`);
      data[r * cols + k] = v;
    });
  });
  return { rows, cols, data };
}

/** [rows, cols] values as [6, 2000] f32: taken as is when 6 × 2000, transposed when 2000 × 6. */
export function toChannels(rows: number, cols: number, data: ArrayLike<number>, name: string): Float32Array {
  const out = new Float32Array(CHANNELS * SAMPLES);
  if (rows === CHANNELS && cols === SAMPLES) out.set(data);
  else if (rows === SAMPLES && cols === CHANNELS) {
    for (let t = 0; t < SAMPLES; t++) for (let c = 0; c < CHANNELS; c++) out[c * SAMPLES + t] = data[t * CHANNELS + c]!;
  } else throw new Error(`loadImu: '${name}' is ${rows} × ${cols}; expected 6 × 2000 (channels × samples) or 2000 × 6`);
  return out;
}

/**
 * IMU data for ImageBind: [6, 2000] f32 (channels × samples). A .npy array of shape (6, 2000) or
 * (2000, 6) ('<f4' or '<f8', C order), or a CSV of 2000 rows × 6 columns (one row per sample, an optional
 * header row) or 6 rows × 2000 columns.
 * @example const imu = kiln.data.loadImu(await fs.readFile('walk.npy'));
 */
export function loadImu(input: Uint8Array | ArrayBuffer | string, opts: ImuOptions = {}): Tensor {
  const name = opts.name ?? (typeof input === 'string' ? 'csv' : 'imu');
  const bytes = typeof input === 'string' ? null : input instanceof Uint8Array ? input : new Uint8Array(input);
  const format = opts.format ?? (bytes !== null && isNpy(bytes) ? 'npy' : 'csv');
  let values: Float32Array;
  if (format === 'npy') {
    if (bytes === null) throw new Error(`loadImu: '${name}': format 'npy' needs bytes, got a string`);
    const a = readNpy(bytes, name);
    if (a.shape.length !== 2) throw new Error(`loadImu: '${name}' has shape (${a.shape.join(', ')}); expected (6, 2000) or (2000, 6)`);
    values = toChannels(a.shape[0]!, a.shape[1]!, a.data, name);
  } else {
    const text = typeof input === 'string' ? input : new TextDecoder().decode(bytes!);
    const c = readCsv(text, name);
    values = toChannels(c.rows, c.cols, c.data, name);
  }
  return tensor(values, { shape: [CHANNELS, SAMPLES] });
}
