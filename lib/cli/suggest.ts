/**
 * "Did you mean …?" for unknown commands and flags: the nearest known word by edit distance.
 *
 * @module
 */

/** Levenshtein distance, bounded by the inputs' lengths (both are short CLI words). */
function distance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Math.max(a.length, b.length);
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The known word closest to `word` (at most 2 edits, or a unique word it is a prefix of), or
 * `undefined`. Ties go to the first in `known`.
 *
 * @example
 * ```ts
 * import { suggest } from "./suggest.ts";
 * suggest("--emit-manfest", ["--emit-manifest", "--force"]); // "--emit-manifest"
 * suggest("xyz", ["egress"]); // undefined
 * ```
 */
export function suggest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(word, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  const limit = word.replace(/^-+/, "").length <= 4 ? 1 : 2;
  if (best !== undefined && bestD <= limit && bestD > 0) return best;
  const prefixed = known.filter((k) => k.startsWith(word) && word.replace(/^-+/, "").length >= 3);
  return prefixed.length === 1 ? prefixed[0] : undefined;
}
