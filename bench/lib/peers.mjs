// Loads the peer engines from bench/peers (a separate package installed by `npm run bench:peers`); a peer
// that is not installed or cannot start is skipped with the reason, never a crash.

const MODULES = {
  tfjs: { file: 'tfjs.mjs', name: 'TensorFlow.js (webgpu)', pkg: '@tensorflow/tfjs-backend-webgpu' },
  jax: { file: 'jax.mjs', name: 'jax-js (webgpu)', pkg: '@jax-js/jax' },
  ort: { file: 'ort.mjs', name: 'ONNX Runtime (WebGPU EP)', pkg: 'onnxruntime-node' },
  gpujs: { file: 'gpujs.mjs', name: 'gpu.js (webgpu)', pkg: 'gpu.js' },
};

export const peerName = (id) => MODULES[id]?.name ?? id;

/** Returns { engine } or { skipped: reason } for the peer `id`. */
export async function loadPeer(id, log) {
  const m = MODULES[id];
  let mod;
  try {
    mod = await import(new URL(`../peers/engines/${m.file}`, import.meta.url).href);
  } catch (e) {
    if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(m.pkg.split('/')[0]))
      return { skipped: `not installed (${m.pkg}): run \`npm run bench:peers\` to install the peer engines` };
    return { skipped: `failed to load: ${e?.message ?? e}` };
  }
  try {
    const t0 = performance.now();
    const engine = await mod.load();
    log(`  ${engine.name} ${engine.version ?? ''}: ${engine.confirmed} (${((performance.now() - t0) / 1000).toFixed(1)} s to start)`);
    return { engine };
  } catch (e) {
    return { skipped: `could not start on WebGPU: ${e?.message ?? e}` };
  }
}
