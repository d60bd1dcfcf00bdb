/** "Did you mean ...?" hints: the closest known word within a small edit distance. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  // The distance is quadratic in the lengths; nobody mistypes a 1 MB name.
  if (word.length > MAX_HINT_LENGTH) return undefined;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

const MAX_HINT_LENGTH = 100;

/**
 * `closest` for many words against one list (every unknown task id of a file against its tasks):
 * each word looked up once, and at most `budget` comparisons in all, so 10,000 misspellings
 * against 10,000 tasks cost no more than a few.
 */
export function hints(candidates: readonly string[], budget = 200_000): (word: string) => string | undefined {
  const memo = new Map<string, string | undefined>();
  let left = budget;
  return (word) => {
    if (memo.has(word)) return memo.get(word);
    if (left < candidates.length) return undefined;
    left -= candidates.length;
    const hint = closest(word, candidates);
    memo.set(word, hint);
    return hint;
  };
}

export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Math.abs(a.length - b.length);
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
