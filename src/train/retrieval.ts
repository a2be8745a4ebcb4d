// Retrieval and classification metrics on the CPU from a similarity matrix: ranks by cosine with ties
// broken by index (as OpenCLIP's argsort), Recall@k and median rank, and the chance level of each figure
// under "a retrieval is correct when its label equals the query's". Pure functions, float64 throughout.

export interface RetrievalMetrics {
  /** Recall@k by k: the share of queries with a correct item among the first k. */
  readonly recall: Readonly<Record<string, number>>;
  /** Median over queries of the 1-based rank of the first correct item (OpenCLIP: floor(median(rank₀)) + 1). */
  readonly medianRank: number;
  /** What a random ranking scores: Recall@k and the median of each query's expected first-correct rank. */
  readonly chance: { readonly recall: Readonly<Record<string, number>>; readonly medianRank: number };
  readonly queries: number;
}

export const DEFAULT_KS = [1, 5, 10] as const;

/**
 * Ranks `sim` [nq, ng] row by row (higher first; equal scores by gallery index) and scores it: a retrieval is
 * correct when `galleryLabels[j] === queryLabels[i]`. Queries without any correct item are refused.
 */
export function retrievalMetrics(sim: ArrayLike<number>, nq: number, ng: number, queryLabels: ArrayLike<number>, galleryLabels: ArrayLike<number>, ks: readonly number[] = DEFAULT_KS): RetrievalMetrics {
  if (sim.length !== nq * ng) throw new Error(`retrievalMetrics: sim has ${sim.length} values, expected ${nq} × ${ng}`);
  if (queryLabels.length !== nq || galleryLabels.length !== ng) throw new Error(`retrievalMetrics: ${queryLabels.length} query and ${galleryLabels.length} gallery labels for a ${nq} × ${ng} matrix`);
  const ranks: number[] = [];
  const hits = ks.map(() => 0);
  const chanceHits = ks.map(() => 0);
  const chanceRanks: number[] = [];
  for (let i = 0; i < nq; i++) {
    const label = queryLabels[i]!;
    let matches = 0;
    for (let j = 0; j < ng; j++) if (galleryLabels[j] === label) matches++;
    if (matches === 0) throw new Error(`retrievalMetrics: query ${i} (label ${label}) has no correct item in the gallery`);
    // Rank of the best correct item: the number of items ranked before it, plus one.
    let best = -1;
    for (let j = 0; j < ng; j++) if (galleryLabels[j] === label && (best < 0 || before(sim, i * ng, j, best))) best = j;
    let rank = 1;
    for (let j = 0; j < ng; j++) if (before(sim, i * ng, j, best)) rank++;
    ranks.push(rank);
    ks.forEach((k, t) => {
      if (rank <= k) hits[t]!++;
      chanceHits[t]! += chanceRecall(ng, matches, k);
    });
    chanceRanks.push((ng + 1) / (matches + 1));
  }
  const rec = (h: readonly number[]): Record<string, number> => Object.fromEntries(ks.map((k, t) => [String(k), h[t]! / nq]));
  return { recall: rec(hits), medianRank: Math.floor(median(ranks.map((r) => r - 1))) + 1, chance: { recall: rec(chanceHits), medianRank: median(chanceRanks) }, queries: nq };
}

/** Whether gallery item j ranks before item b in the row starting at `row`: higher score, or equal and lower index. */
function before(sim: ArrayLike<number>, row: number, j: number, b: number): boolean {
  const sj = sim[row + j]!;
  const sb = sim[row + b]!;
  return sj > sb || (sj === sb && j < b);
}

/** P(at least one of `m` correct items among the first k of a random ordering of n) = 1 − C(n−m, k)/C(n, k). */
export function chanceRecall(n: number, m: number, k: number): number {
  if (k >= n) return 1;
  let miss = 1;
  for (let j = 0; j < k; j++) miss *= (n - m - j) / (n - j);
  return 1 - Math.max(0, miss);
}

/** numpy's median: the mean of the two middle values of an even count. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** Top-1 accuracy of rows of `sim` [n, classes] against labels (ties to the lower class), and chance 1/classes. */
export function classification(sim: ArrayLike<number>, n: number, classes: number, labels: ArrayLike<number>): { accuracy: number; chance: number } {
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (sim[i * classes + c]! > sim[i * classes + best]!) best = c;
    if (best === labels[i]) right++;
  }
  return { accuracy: right / n, chance: 1 / classes };
}

/** Mean cosine between distinct samples of the same class and of different classes ([n, n] similarities). */
export function intraClass(sim: ArrayLike<number>, n: number, labels: ArrayLike<number>): { same: number; different: number } {
  let same = 0;
  let ns = 0;
  let diff = 0;
  let nd = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      if (labels[i] === labels[j]) {
        same += sim[i * n + j]!;
        ns++;
      } else {
        diff += sim[i * n + j]!;
        nd++;
      }
    }
  return { same: ns ? same / ns : NaN, different: nd ? diff / nd : NaN };
}

/** Mean of the diagonal and of the off-diagonal of a square [n, n] similarity matrix. */
export function diagonalContrast(sim: ArrayLike<number>, n: number): { diagonal: number; offDiagonal: number } {
  let d = 0;
  let o = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      if (i === j) d += sim[i * n + j]!;
      else o += sim[i * n + j]!;
    }
  return { diagonal: d / n, offDiagonal: n > 1 ? o / (n * (n - 1)) : NaN };
}
