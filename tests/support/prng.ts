/**
 * A small seeded PRNG (mulberry32) for deterministic generated tests.
 *
 * @module
 */

/** A deterministic random source. */
export interface Prng {
  /** Float in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T;
  /** A shuffled copy of `xs` (Fisher–Yates). */
  shuffle<T>(xs: readonly T[]): T[];
}

/**
 * Creates a PRNG from a 32-bit seed.
 *
 * @example
 * ```ts
 * import { prng } from "./prng.ts";
 * const r = prng(42);
 * r.int(10); // same value every run
 * ```
 */
export function prng(seed: number): Prng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: (xs) => xs[int(xs.length)],
    shuffle: (xs) => {
      const out = [...xs];
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}
