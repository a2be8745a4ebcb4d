// The smallest cosine similarity between corresponding rows of two [rows, E] arrays: how the reduced
// precision paths (f16, int8) are held to their f32 embeddings.
export function minRowCosine(a: ArrayLike<number>, b: ArrayLike<number>, E: number): number {
  let worst = 1;
  for (let r = 0; r < a.length / E; r++) {
    let [ab, aa, bb] = [0, 0, 0];
    for (let i = r * E; i < (r + 1) * E; i++) [ab, aa, bb] = [ab + a[i]! * b[i]!, aa + a[i]! ** 2, bb + b[i]! ** 2];
    worst = Math.min(worst, ab / Math.sqrt(aa * bb));
  }
  return worst;
}
