// Prints the WebGPU adapter Node finds through Dawn, or exits 1 with how to get one.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.error('no WebGPU adapter: install a GPU driver, or on Debian 12 libvulkan1 + mesa-vulkan-drivers from bookworm-backports');
  process.exit(1);
}
const i = adapter.info;
console.log(`adapter: ${i.vendor} ${i.architecture} ${i.description}; features: ${[...adapter.features].sort().join(', ')}`);
globalThis.__keep = gpu;
process.exit(0);
