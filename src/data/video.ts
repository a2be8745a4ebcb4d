// Video clips as ImageBind's video path builds them from decoded frames: clip windows, uniform temporal
// subsampling, /255, bilinear short-side scale (no antialias), Normalize, crop. Decoding a container (MP4,
// WebM) is out of scope: pass frames decoded elsewhere (e.g. WebCodecs, ffmpeg) as RGB images.

import { maxBinding } from '../kernels/windows.js';
import { empty } from '../tensor/alloc.js';
import type { Tensor } from '../tensor/tensor.js';
import { runResizeBilinear } from '../kernels/resize.js';
import type { DecodedImage } from './decode.js';
import { CLIP_MEAN, CLIP_STD } from './image.js';
import { intOption, numberOption } from './options.js';
import { shortSideScaleSize } from './resize.js';

export interface VideoClipOptions {
  /** Clips per video (default 5, ImageBind's clips_per_video). */
  readonly clips?: number;
  /** Frames kept per clip by uniform temporal subsampling (default 2). */
  readonly framesPerClip?: number;
  /**
   * Frame rate of `frames`. With it, clip i spans [i·max(D − clipDuration, 0)/(clips − 1), + clipDuration)
   * seconds of the D = frames.length / fps second video (pytorchvideo's ConstantClipsPerVideoSampler) and
   * takes the frames whose time k / fps falls inside. Without it, the frames are cut into `clips` equal
   * consecutive windows.
   */
  readonly fps?: number;
  /** Seconds per clip when `fps` is given (default 2). */
  readonly clipDuration?: number;
  /** 1: center crop (default); 3: ImageBind's SpatialCrop (left/center/right or top/center/bottom) per clip. */
  readonly spatialCrops?: 1 | 3;
  /** Short side after scaling and crop side (default 224). */
  readonly size?: number;
}

/** Frame indices of each clip window. */
function clipWindows(n: number, clips: number, opts: VideoClipOptions): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < clips; i++) {
    if (opts.fps === undefined) {
      const lo = Math.min(Math.floor((i * n) / clips), n - 1);
      out.push([lo, Math.max(Math.floor(((i + 1) * n) / clips), lo + 1)]);
      continue;
    }
    const dur = opts.clipDuration ?? 2;
    const start = (i * Math.max(n / opts.fps - dur, 0)) / Math.max(clips - 1, 1);
    // Frames with start ≤ k / fps < start + dur (a small epsilon absorbs rounding of k / fps).
    const lo = Math.max(Math.ceil(start * opts.fps - 1e-9), 0);
    const hi = Math.min(Math.ceil((start + dur) * opts.fps - 1e-9), n);
    if (hi <= lo) throw new Error(`videoClips: clip ${i} [${start}s, ${start + dur}s) holds no frame at ${opts.fps} fps`);
    out.push([lo, hi]);
  }
  return out;
}

/** pytorchvideo's UniformTemporalSubsample: trunc(linspace(0, t − 1, k)) in float32 as torch computes it. */
function subsample(t: number, k: number): number[] {
  if (k === 1) return [0];
  const step = Math.fround((t - 1) / (k - 1));
  return Array.from({ length: k }, (_, j) => {
    const v = j < k / 2 ? Math.fround(step * j) : Math.fround(t - 1 - Math.fround(step * (k - j - 1)));
    return Math.min(Math.max(Math.trunc(v), 0), t - 1);
  });
}

/**
 * Clips of a video from its decoded RGB frames, as ImageBind's load_and_transform_video_data does after
 * decoding: per clip, `framesPerClip` frames, pixels / 255, ShortSideScale(224) with bilinear
 * interpolation (align_corners = false, no antialias), Normalize(CLIP mean, std), then a 224 crop (center,
 * offsets rounded up, or ImageBind's three spatial crops). Returns [clips·spatialCrops, 3, framesPerClip,
 * 224, 224] f32, clip-major (all crops of clip 0 first).
 * @example const v = kiln.data.videoClips(frames, { clips: 5, framesPerClip: 2, fps: 30 });
 */
export function videoClips(frames: readonly DecodedImage[], opts: VideoClipOptions = {}): Tensor {
  const op = 'videoClips';
  const clips = intOption(op, 'clips', opts.clips, 5, 1, 1024);
  const T = intOption(op, 'framesPerClip', opts.framesPerClip, 2, 1, 1024);
  const size = intOption(op, 'size', opts.size, 224, 1, 4096);
  const crops = opts.spatialCrops ?? 1;
  if (crops !== 1 && crops !== 3) throw new Error(`${op}: spatialCrops must be 1 or 3, got ${String(crops)}`);
  if (opts.fps !== undefined) numberOption(op, 'fps', opts.fps, 1, { min: 0, minOpen: true });
  if (opts.clipDuration !== undefined) numberOption(op, 'clipDuration', opts.clipDuration, 2, { min: 0, minOpen: true });
  if (frames.length === 0) throw new Error('videoClips: no frames');
  const { width: w, height: h } = frames[0]!;
  frames.forEach((f, i) => {
    if (f.width !== w || f.height !== h || f.channels !== 3 || f.data.length !== w * h * 3)
      throw new Error(`videoClips: frame ${i} is ${f.width}x${f.height}x${f.channels}; frame 0 is ${w}x${h}x3 and all must match`);
  });
  // Each frame is one binding, and so is the output: refused before any GPU work when either cannot be.
  const limit = maxBinding(op);
  if (w * h * 3 > limit) throw new Error(`${op}: frames of ${w}x${h} (${w * h * 3} bytes) exceed the ${limit}-byte binding limit`);
  if (clips * crops * 3 * T * size * size * 4 > limit)
    throw new Error(`${op}: ${clips * crops} clips of ${T} frames at ${size}x${size} exceed the ${limit}-byte binding limit of one output`);
  const r = shortSideScaleSize(w, h, size);
  const yc = Math.ceil((r.height - size) / 2);
  const xc = Math.ceil((r.width - size) / 2);
  // uniform_crop: spatial index 0/1/2 moves along the long side.
  const offsets = (crops === 1 ? [1] : [0, 1, 2]).map((k) => {
    const edge = k === 0 ? 0 : k === 2 ? (r.height > r.width ? r.height : r.width) - size : -1;
    if (edge < 0) return { x0: xc, y0: yc };
    return r.height > r.width ? { x0: xc, y0: edge } : { x0: edge, y0: yc };
  });
  const windows = clipWindows(frames.length, clips, opts);
  const out = empty([clips * crops, 3, T, size, size], 'f32', 'videoClips');
  const uploaded = new Map<number, Tensor>();
  const plane = size * size;
  try {
    windows.forEach(([lo, hi], i) => {
      subsample(hi - lo, T).forEach((k, t) => {
        const f = lo + k;
        let src = uploaded.get(f);
        if (!src) {
          src = empty([Math.ceil((w * h * 3) / 4)], 'u32', 'videoClips');
          src.writeBytes_(frames[f]!.data);
          uploaded.set(f, src);
        }
        offsets.forEach(({ x0, y0 }, s) => {
          runResizeBilinear(out.operand('videoClips'), src.operand('videoClips'), {
            inW: w, inH: h, channels: 3, outW: size, outH: size, x0, y0,
            sx: Math.fround(w / r.width), sy: Math.fround(h / r.height),
            oOff: ((i * crops + s) * 3 * T + t) * plane, cStride: T * plane,
          }, { mean: CLIP_MEAN, std: CLIP_STD });
        });
      });
    });
  } catch (e) {
    out.dispose();
    throw e;
  } finally {
    for (const t of uploaded.values()) t.dispose();
  }
  return out;
}
