// Launcher that fills whole 32-bit words of a buffer with a bit pattern, in windows of at most one binding.

import { dispatch, grid } from '../device/batch.js';
import { gpu } from '../device/gpu.js';
import { UniformWriter } from './operand.js';
import { wgslFile } from './source.js';

const source = wgslFile('fill_words', new URL('./wgsl/fill_words.wgsl', import.meta.url));

export function fillWords(buffer: GPUBuffer, words: number, value: number): void {
  const limit = Math.floor((gpu().info.limits['maxStorageBufferBindingSize'] ?? 2 ** 27) / 256) * 256;
  for (let start = 0; start < words * 4; start += limit) {
    const size = Math.min(limit, buffer.size - start);
    const n = Math.min(words - start / 4, size / 4);
    dispatch({
      kernel: { name: 'fill-words', code: source.text(), bindings: ['write', 'uniform'] },
      buffers: [{ buffer, offset: start, size }],
      uniforms: new UniformWriter().u32(n, value).bytes(),
      workgroups: grid(Math.ceil(n / 256)),
    });
  }
}
