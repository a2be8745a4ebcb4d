// Kernel selection as pure functions over made-up adapter infos (no GPU involved): the adapter class
// (software / integrated / discrete / unknown, subgroup sizes, limits), each site's defaults per class, and
// the order forced → tuned (when well formed and usable) → class default.
import { describe, expect, it } from 'vitest';
import { type AdapterFacts, adapterClass, adapterKind } from '../../src/kernels/adapter-class.js';
import { attentionDefaultFor, attentionKernels, attentionSite, parseAttentionConfig } from '../../src/kernels/attention.js';
import { infoNCEDefaultFor, infoNCESite, parseInfoNCETiles } from '../../src/kernels/infonce.js';
import { matmulDefaultFor, matmulSite, matmulUsableOn, parseMatmulConfig } from '../../src/kernels/matmul.js';
import { wgMatmulCandidates } from '../../src/kernels/matmul-wg.js';
import { type ChoiceSite, selectChoice } from '../../src/kernels/select.js';
import { forceKernel, forcedKernels } from '../../src/kernels/tune.js';

const limits = (storage: number, invocations = 256): Record<string, number> => ({ maxComputeWorkgroupStorageSize: storage, maxComputeInvocationsPerWorkgroup: invocations });

const LLVMPIPE: AdapterFacts = {
  vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)',
  subgroupMinSize: 8, subgroupMaxSize: 8, isFallbackAdapter: true, features: ['shader-f16', 'subgroups', 'timestamp-query'], limits: limits(32768, 1024),
};
const SWIFTSHADER: AdapterFacts = {
  vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader Device (Subzero)', features: [], limits: limits(16384),
};
const RTX: AdapterFacts = {
  vendor: 'nvidia', architecture: 'ada-lovelace', device: '0x2684', description: 'NVIDIA GeForce RTX 4090',
  subgroupMinSize: 32, subgroupMaxSize: 32, features: ['shader-f16', 'subgroups'], limits: limits(49152, 1024),
};
const M2: AdapterFacts = {
  vendor: 'apple', architecture: 'metal-3', device: '', description: 'Apple M2', subgroupMinSize: 4, subgroupMaxSize: 64,
  features: ['shader-f16', 'subgroups'], limits: limits(32768, 1024),
};
const RDNA: AdapterFacts = { vendor: 'amd', architecture: 'rdna-3', device: '0x744c', description: 'AMD Radeon RX 7900 XTX', subgroupMinSize: 32, subgroupMaxSize: 64, features: ['subgroups'], limits: limits(65536, 1024) };
const APU: AdapterFacts = { ...RDNA, architecture: 'rdna-3', description: 'AMD Radeon(TM) Graphics' };
const IRIS: AdapterFacts = { vendor: 'intel', architecture: 'gen-12lp', device: '0x9a49', description: 'Intel(R) Iris(R) Xe Graphics', features: [], limits: limits(16384) };
const ARC: AdapterFacts = { vendor: 'intel', architecture: 'xe-hpg', device: '0x56a0', description: 'Intel(R) Arc(TM) A770 Graphics', features: [], limits: limits(65536, 1024) };
const HIDDEN: AdapterFacts = { vendor: '', architecture: '', device: '', description: '', features: [], limits: {} };

describe('adapter class', () => {
  it('derives the kind from the info alone', () => {
    const kinds = [LLVMPIPE, SWIFTSHADER, RTX, M2, RDNA, APU, IRIS, ARC, HIDDEN].map(adapterKind);
    expect(kinds).toEqual(['software', 'software', 'discrete', 'integrated', 'discrete', 'integrated', 'integrated', 'discrete', 'unknown']);
  });

  it('reads subgroup sizes only with the subgroups feature, and limits with WebGPU defaults', () => {
    expect(adapterClass(LLVMPIPE)).toMatchObject({ kind: 'software', subgroups: { min: 8, max: 8 }, f16: true, workgroupStorage: 32768, invocations: 1024 });
    expect(adapterClass({ ...RTX, features: [] }).subgroups).toBeNull();
    expect(adapterClass(HIDDEN)).toMatchObject({ kind: 'unknown', subgroups: null, f16: false, workgroupStorage: 16384, invocations: 256 });
    // another subgroup size is another class (another tuning-cache key)
    expect(adapterClass({ ...M2, subgroupMinSize: 32, subgroupMaxSize: 32 }).key).not.toBe(adapterClass(M2).key);
  });
});

describe('defaults per class', () => {
  const big = { M: 1024, K: 1024, N: 1024 };
  it('matmul: the subgroup kernel on llvmpipe, the workgroup-memory kernel on GPUs, register tiles for thin products', () => {
    expect(matmulDefaultFor(adapterClass(LLVMPIPE), big)).toEqual({ kernel: 'subgroup', wg: 8, tm: 4, tn: 16 });
    expect(matmulDefaultFor(adapterClass(SWIFTSHADER), big).kernel).toBe('tiled'); // no subgroups
    for (const gpu of [RTX, M2, RDNA, IRIS, HIDDEN]) {
      expect(matmulDefaultFor(adapterClass(gpu), big), gpu.description).toEqual(wgMatmulCandidates[0]);
      expect(matmulDefaultFor(adapterClass(gpu), { M: 8, N: 1024 }).kernel).toBe('tiled');
    }
    // a 16 KiB adapter cannot hold the 128×128 tiles (32 KiB), a 48 KiB one can
    const large = wgMatmulCandidates.find((c) => c.bm === 128 && c.bn === 128)!;
    expect([matmulUsableOn(large, adapterClass(IRIS)), matmulUsableOn(large, adapterClass(RTX))]).toEqual([false, true]);
    // subgroup kernel: 8-lane subgroups tile a workgroup of 8; 32-lane ones do not
    expect([matmulUsableOn({ kernel: 'subgroup', wg: 8, tm: 4, tn: 16 }, adapterClass(LLVMPIPE)), matmulUsableOn({ kernel: 'subgroup', wg: 8, tm: 4, tn: 16 }, adapterClass(RTX))]).toEqual([true, false]);
  });

  it('attention: register kernels on llvmpipe, workgroup-memory tiles on GPUs', () => {
    expect(attentionDefaultFor(adapterClass(LLVMPIPE))).toEqual({ wg: 16, bk: 16, sg: 'reg' });
    expect(attentionDefaultFor(adapterClass(RTX))).toEqual({ wg: 64, bk: 16, shared: true });
    expect(attentionDefaultFor(adapterClass(HIDDEN))).toEqual({ wg: 64, bk: 16, shared: true }); // 16 KiB is enough
    // a forced 'reg' on a GPU, or 'shared' tiles larger than the workgroup storage, run the plain kernels
    expect(attentionKernels({ wg: 64, bk: 16, sg: 'reg' }, adapterClass(RTX))).toBe('none');
    expect(attentionKernels({ wg: 64, bk: 32, shared: true }, adapterClass(IRIS))).toBe('none');
    expect(attentionKernels({ wg: 64, bk: 32, shared: true }, adapterClass(RTX))).toBe('shared');
  });

  it('infoNCE: one-pass kernels with 8-lane subgroups, plain per-side kernels otherwise', () => {
    expect(infoNCEDefaultFor(adapterClass(LLVMPIPE), 512)).toEqual({ wg: 8, tm: 4, tn: 16, sg: true });
    expect(infoNCEDefaultFor(adapterClass(SWIFTSHADER), 100)).toEqual({ wg: 8, tm: 4, tn: 4 }); // shrunk for small n
    expect(infoNCEDefaultFor(adapterClass(SWIFTSHADER), 4096)).toEqual({ wg: 64, tm: 4, tn: 4 });
    expect(infoNCEDefaultFor(adapterClass(M2), 512)).toEqual({ wg: 64, tm: 2, tn: 8 });
  });
});

describe('selectChoice', () => {
  const cases: [string, ChoiceSite<unknown, unknown>, unknown, unknown, unknown][] = [
    ['matmul', matmulSite, { M: 512, K: 512, N: 512 }, wgMatmulCandidates[1], { kernel: 'subgroup', wg: 8, tm: 4, tn: 16 }],
    ['attention', attentionSite, null, { wg: 32, bk: 8, sg: 'none' }, { wg: 16, bk: 16, sg: 'reg' }],
    ['infonce', infoNCESite, 512, { wg: 16, tm: 4, tn: 4 }, { wg: 8, tm: 4, tn: 16, sg: true }],
  ];
  it.each(cases)('%s: forced, then a usable tuned entry, then the class default', (_, site, shape, tunedChoice, softwareDefault) => {
    const cls = adapterClass(LLVMPIPE);
    expect(selectChoice(site, cls, shape, {})).toEqual({ choice: softwareDefault, origin: 'default' });
    expect(selectChoice(site, cls, shape, { cached: tunedChoice })).toEqual({ choice: tunedChoice, origin: 'tuned' });
    expect(selectChoice(site, cls, shape, { cached: { bogus: 1 } }).origin).toBe('default'); // a stale or foreign cache entry
    expect(selectChoice(site, cls, shape, { forced: tunedChoice, cached: softwareDefault })).toEqual({ choice: tunedChoice, origin: 'forced' });
  });

  it('a tuned entry this class cannot run falls back to the default', () => {
    const cls = adapterClass(IRIS); // 16 KiB of workgroup storage
    const large = wgMatmulCandidates.find((c) => c.bm === 128 && c.bn === 128)!;
    expect(selectChoice(matmulSite, cls, { M: 512, K: 512, N: 512 }, { cached: large })).toEqual({ choice: wgMatmulCandidates[0], origin: 'default' });
    expect(selectChoice(infoNCESite, cls, 512, { cached: { wg: 8, tm: 4, tn: 16, sg: true } }).origin).toBe('default'); // no 8-lane subgroups
  });

  it('parses the forcing knobs, naming the knob and the text when malformed', () => {
    expect(parseMatmulConfig('wg:64:64:16:4:4')).toEqual(wgMatmulCandidates[0]);
    expect(parseMatmulConfig('naive').kernel).toBe('naive');
    expect(() => parseMatmulConfig('wg:64:64:10:4:4')).toThrow(/KILN_MATMUL .*got 'wg:64:64:10:4:4'/);
    expect(parseAttentionConfig('16:16')).toEqual({ wg: 16, bk: 16, sg: 'reg' });
    expect(parseAttentionConfig('64:16:shared')).toEqual({ wg: 64, bk: 16, shared: true });
    expect(() => parseAttentionConfig('16:64')).toThrow(/KILN_ATTENTION .*got '16:64'/);
    expect(parseInfoNCETiles('8,4,16,sg,2')).toEqual({ wg: 8, tm: 4, tn: 16, sg: true, slots: 2 });
    expect(() => parseInfoNCETiles('64,4,8')).toThrow(/KILN_INFONCE_TILES .*got '64,4,8'/);
  });

  it('forceKernel refuses an unknown family or a malformed choice at once, forcing nothing', () => {
    expect(() => forceKernel('matmu', wgMatmulCandidates[0])).toThrow(/forceKernel: unknown kernel family "matmu" \(known: .*matmul.*\)/);
    expect(() => forceKernel('matmul', { kernel: 'wg', bm: 'big' })).toThrow(/forceKernel: .*"bm":"big".* is not a valid matmul configuration/);
    expect(forcedKernels()).toEqual({});
    forceKernel('matmul', wgMatmulCandidates[0]);
    expect(forcedKernels()).toEqual({ matmul: wgMatmulCandidates[0] });
    forceKernel('matmul', null);
    expect(forcedKernels()).toEqual({});
  });
});
