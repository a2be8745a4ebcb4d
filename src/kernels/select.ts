// The one mechanism behind every kernel choice (matmul tiles, attention and InfoNCE variants): a launcher
// asks `choose(site, shape)` and gets, in this order, a forced choice (`forceKernel`, or the site's
// environment knob — for tests and benchmarks), this adapter's tuned choice from the tuning cache
// (tune.ts), or the site's default for the adapter class (adapter-class.ts). `selectChoice` is the pure
// core, unit-tested with made-up adapter infos. Not the kernels, not the measuring (tune.ts).

import { env } from '../device/host.js';
import { type AdapterClass, currentAdapterClass } from './adapter-class.js';
import type { WgslSource } from './source.js';
import { type TuneKey, forcedByApi, registerForceable, sourceHash, tuned, tuningEnabled } from './tune.js';

/** One place where a kernel family picks a variant: its candidates' parsing, validity and defaults. */
export interface ChoiceSite<C, S> {
  /** Kernel family, the tuning cache's and forceKernel's name for it ('matmul', 'attention', 'infonce'). */
  readonly kernel: string;
  /** Environment variable that forces a choice (tests, benchmarks); parsed by `parse`. */
  readonly knob: string;
  /** The knob's text as a choice; throws naming the knob and the text when it is malformed. */
  parse(text: string): C;
  /** Whether a value (from the cache file, say) is a well-formed choice of this site. */
  valid(c: unknown): c is C;
  /** Whether this adapter class can run `c`. */
  usable(c: C, cls: AdapterClass): boolean;
  /** The choice for this class and problem when nothing is forced or tuned: measured per class where stated. */
  defaultFor(cls: AdapterClass, shape: S): C;
  /** The tuning cache's key of a problem (source hash and shape class). */
  tuneKey(shape: S): TuneKey;
}

export type ChoiceOrigin = 'forced' | 'tuned' | 'default';

/** Declares a choice site: `forceKernel` then knows its family and checks forced values with its `valid`. */
export function defineSite<C, S>(site: ChoiceSite<C, S>): ChoiceSite<C, S> {
  registerForceable(site.kernel, (c) => site.valid(c));
  return site;
}

/**
 * The pure selection: `forced` wins (even when unusable: the launcher falls back where it must, and a test
 * that forces a variant must see it run or fail); a cached choice counts only when well formed and usable
 * on this class; else the class default.
 */
export function selectChoice<C, S>(site: ChoiceSite<C, S>, cls: AdapterClass, shape: S, found: { forced?: C | undefined; cached?: unknown }): { choice: C; origin: ChoiceOrigin } {
  if (found.forced !== undefined) return { choice: found.forced, origin: 'forced' };
  const c = found.cached;
  if (c !== undefined && site.valid(c) && site.usable(c, cls)) return { choice: c, origin: 'tuned' };
  return { choice: site.defaultFor(cls, shape), origin: 'default' };
}

const parsedKnobs = new Map<string, { text: string; choice: unknown }>();

/** The site's forced choice: forceKernel's, else its knob's (parsed once per distinct text). */
function forcedChoice<C, S>(site: ChoiceSite<C, S>): C | undefined {
  if (forcedByApi.has(site.kernel)) {
    const c = forcedByApi.get(site.kernel);
    if (!site.valid(c)) throw new Error(`${site.kernel}: forced choice ${JSON.stringify(c)} is not a valid ${site.kernel} configuration`);
    return c;
  }
  const text = env(site.knob);
  if (!text) return undefined;
  const memo = parsedKnobs.get(site.knob);
  if (memo?.text === text) return memo.choice as C;
  const choice = site.parse(text);
  parsedKnobs.set(site.knob, { text, choice });
  return choice;
}

/** The choice for a launch of `site` on a problem of `shape`: forced, tuned or the class default. */
export function choose<C, S>(site: ChoiceSite<C, S>, shape: S): C {
  return chooseWithOrigin(site, shape).choice;
}

/** `choose`, saying where the choice came from (the bench prints it). */
export function chooseWithOrigin<C, S>(site: ChoiceSite<C, S>, shape: S): { choice: C; origin: ChoiceOrigin } {
  const cls = currentAdapterClass();
  const forced = forcedChoice(site);
  const cached = forced === undefined && tuningEnabled() ? tuned<unknown>(site.tuneKey(shape), () => undefined) : undefined;
  return selectChoice(site, cls, shape, { forced, cached });
}

/** `sourceHash` of WGSL files, computed once (the texts do not change after init): a per-launch cache key. */
export function sourcesHash(files: readonly WgslSource[]): () => string {
  let h: string | null = null;
  return () => (h ??= sourceHash(...files.map((f) => f.text())));
}
