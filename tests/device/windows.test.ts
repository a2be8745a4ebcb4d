// Tensors larger than maxStorageBufferBindingSize (128 MiB on the software adapter) are bound in windows.
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';

describe('buffers larger than one binding', () => {
  it('runs elementwise ops and copies over a tensor past maxStorageBufferBindingSize', async () => {
    const limit = kiln.deviceInfo().limits['maxStorageBufferBindingSize']!;
    const rows = Math.ceil(limit / 4 / 1000) + 37; // a little over the limit, rows of 1000 f32
    const x = kiln.arange(rows, undefined, 1, { dtype: 'f32' }).unsqueeze(1).expand([rows, 1000]).add(0); // [rows, 1000], contiguous
    expect(x.numel() * 4).toBeGreaterThan(limit);
    const y = x.mul(2).add(kiln.arange(1000, undefined, 1, { dtype: 'f32' })); // broadcast row vector
    const tail = y.slice(0, rows - 3).contiguous(); // a copy out of the big tensor's last window
    const d = await tail.data();
    for (let r = 0; r < 3; r++) for (const c of [0, 1, 999]) expect(d[r * 1000 + c]).toBe(2 * (rows - 3 + r) + c);
    const head = await y.slice(0, 0, 2).contiguous().data();
    expect(head[1001]).toBe(2 + 1);
    for (const t of [x, y, tail]) t.dispose();
  });
});
