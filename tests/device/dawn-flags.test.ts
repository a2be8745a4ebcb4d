// The Node package's Dawn flags: timestamp quantisation is turned off (for kiln.profile), and a caller's
// own disable list is extended rather than replaced.
import { describe, expect, it } from 'vitest';
import { dawnFlags } from '../../src/device/gpu.js';

describe('dawnFlags', () => {
  it('adds the timestamp_quantization toggle to the disabled features', () => {
    expect(dawnFlags([])).toEqual(['disable-dawn-features=timestamp_quantization']);
    expect(dawnFlags(['enable-dawn-features=allow_unsafe_apis'])).toEqual(['enable-dawn-features=allow_unsafe_apis', 'disable-dawn-features=timestamp_quantization']);
  });

  it("extends the caller's disable list once", () => {
    expect(dawnFlags(['disable-dawn-features=lazy_clear_resource_on_first_use'])).toEqual(['disable-dawn-features=lazy_clear_resource_on_first_use,timestamp_quantization']);
    expect(dawnFlags(['disable-dawn-features=timestamp_quantization'])).toEqual(['disable-dawn-features=timestamp_quantization']);
  });
});
