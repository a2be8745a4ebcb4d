// Learns byte-level BPE merges from a text corpus, with CLIP's cleaning, pre-tokeniser and `</w>` word
// ends, so Tokenizer.fromMerges(result.merges) splits the corpus the way training did. Not the file
// writer (merges-file.ts) nor the command line (src/cli/bpe-train.ts).

import { END_OF_WORD, EOT, SOT, pretokenize } from './pretokenize.js';
import type { Merge } from './merges-file.js';

export interface TrainBpeOptions {
  /** Merges to learn at most; default 4000. */
  readonly merges?: number;
  /** Stop when the best pair occurs fewer times than this; default 2. */
  readonly minFrequency?: number;
}

export interface TrainBpeResult {
  /** The learned merges, best first. */
  readonly merges: Merge[];
  /** Distinct words (after pre-tokenisation) and all their occurrences. */
  readonly uniqueWords: number;
  readonly totalWords: number;
  /** Occurrences of each merged pair when it was chosen. */
  readonly counts: number[];
}

// A pair of symbol ids as one number: a·2^21 + b (exact in a double for up to 2M symbols).
const SHIFT = 2 ** 21;
const key = (a: number, b: number): number => a * SHIFT + b;

interface Entry {
  readonly count: number;
  readonly key: number;
  readonly tie: string;
}

/** Most frequent first; ties go to the pair `left right` that sorts first (code-unit order). */
const better = (x: Entry, y: Entry): boolean => x.count > y.count || (x.count === y.count && x.tie < y.tie);

/** A binary max-heap of pair counts; stale entries are skipped when popped. */
class PairHeap {
  private readonly items: Entry[] = [];
  get size(): number {
    return this.items.length;
  }
  push(e: Entry): void {
    const h = this.items;
    h.push(e);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!better(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Entry | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    h[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && better(h[l]!, h[m]!)) m = l;
      if (r < h.length && better(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
    return top;
  }
}

/**
 * Learns merges: counts words once, then repeatedly merges the most frequent adjacent pair, updating the
 * pair counts only in the words that contain it (so each merge costs the size of those words).
 * @example const { merges } = trainBpe(corpusText, { merges: 4000 });
 */
export function trainBpe(corpus: string | Iterable<string>, opts: TrainBpeOptions = {}): TrainBpeResult {
  const numMerges = opts.merges ?? 4000;
  const minFrequency = opts.minFrequency ?? 2;
  if (!Number.isInteger(numMerges) || numMerges < 0) throw new Error(`trainBpe: merges must be a non-negative integer, got ${numMerges}`);

  // 1. Word counts, as the tokeniser pre-tokenises (line by line, so a caption per line is cleaned alone).
  const wordCounts = new Map<string, number>();
  let totalWords = 0;
  for (const line of typeof corpus === 'string' ? corpus.split('\n') : corpus) {
    for (const w of pretokenize(line)) {
      if (w === SOT || w === EOT) continue;
      wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
      totalWords++;
    }
  }

  // 2. Words as arrays of symbol ids; the last symbol carries the `</w>` marker.
  const symbols: string[] = [];
  const symbolIds = new Map<string, number>();
  const intern = (s: string): number => {
    let id = symbolIds.get(s);
    if (id === undefined) symbolIds.set(s, (id = symbols.push(s) - 1));
    return id;
  };
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [w, f] of wordCounts) {
    words.push([...w.slice(0, -1)].map(intern).concat(intern(w.slice(-1) + END_OF_WORD)));
    freq.push(f);
  }

  // 3. Pair counts and, for each pair, the words it may occur in (appended to, never pruned: checked on use).
  const counts = new Map<number, number>();
  const where = new Map<number, number[]>();
  words.forEach((word, w) => {
    for (let i = 0; i + 1 < word.length; i++) {
      const k = key(word[i]!, word[i + 1]!);
      counts.set(k, (counts.get(k) ?? 0) + freq[w]!);
      const list = where.get(k);
      if (list) list.push(w);
      else where.set(k, [w]);
    }
  });
  const heap = new PairHeap();
  const entry = (k: number, count: number): Entry => ({ count, key: k, tie: `${symbols[Math.floor(k / SHIFT)]!} ${symbols[k % SHIFT]!}` });
  for (const [k, c] of counts) heap.push(entry(k, c));

  // 4. Merge the best pair, numMerges times.
  const merges: Merge[] = [];
  const chosenCounts: number[] = [];
  const seen = new Int32Array(words.length).fill(-1);
  while (merges.length < numMerges) {
    const top = heap.pop();
    if (top === undefined) break;
    if (counts.get(top.key) !== top.count) continue; // stale
    if (top.count < minFrequency || top.count <= 0) break;
    const a = Math.floor(top.key / SHIFT);
    const b = top.key % SHIFT;
    const merged = intern(symbols[a]! + symbols[b]!);
    const m = merges.push([symbols[a]!, symbols[b]!]) - 1;
    chosenCounts.push(top.count);

    const delta = new Map<number, number>();
    const add = (k: number, d: number): void => void delta.set(k, (delta.get(k) ?? 0) + d);
    for (const w of where.get(top.key) ?? []) {
      if (seen[w] === m) continue;
      seen[w] = m;
      const word = words[w]!;
      const f = freq[w]!;
      const next: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (word[i] === a && word[i + 1] === b) {
          next.push(merged);
          i++;
        } else {
          next.push(word[i]!);
        }
      }
      if (next.length === word.length) continue; // the pair left this word in an earlier merge
      for (let i = 0; i + 1 < word.length; i++) add(key(word[i]!, word[i + 1]!), -f);
      for (let i = 0; i + 1 < next.length; i++) {
        const k = key(next[i]!, next[i + 1]!);
        add(k, f);
        if (next[i] === merged || next[i + 1] === merged) {
          const list = where.get(k);
          if (list) list.push(w);
          else where.set(k, [w]);
        }
      }
      words[w] = next;
    }
    where.delete(top.key);
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const c = (counts.get(k) ?? 0) + d;
      if (c > 0) {
        counts.set(k, c);
        heap.push(entry(k, c));
      } else {
        counts.delete(k);
      }
    }
  }
  return { merges, uniqueWords: words.length, totalWords, counts: chosenCounts };
}
