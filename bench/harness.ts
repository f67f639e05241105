/**
 * The benchmark harness shared by `bench/*_bench.ts` and `bench/run.ts`.
 *
 * Each bench file exports its cases and registers them with `Deno.bench` (so
 * `deno bench bench/` runs them as usual); `bench/run.ts` imports the same files (where
 * `Deno.bench` is a no-op) and times the same functions itself, to report **medians**,
 * which `deno bench --json` does not give.
 *
 * @module
 */

/** One benchmark case. */
export interface BenchCase {
  /** Group in the results table, e.g. `canonicalise+digest`. */
  group: string;
  /** Case name, e.g. `1,000 endpoints`. */
  name: string;
  /** The measured work (one operation). */
  fn: () => unknown | Promise<unknown>;
  /** Units one operation stands for (e.g. endpoints or bytes), for per-unit figures. */
  units?: { count: number; label: string };
}

/** A measured case. */
export interface BenchResult {
  /** The case. */
  case: BenchCase;
  /** Median wall time of one operation, in milliseconds. */
  medianMs: number;
  /** Operations timed in total. */
  ops: number;
  /** Samples (batches) taken. */
  samples: number;
}

/**
 * Registers cases with `Deno.bench` (a no-op outside `deno bench`).
 *
 * @example
 * ```ts
 * import { register } from "./harness.ts";
 * register([{ group: "g", name: "noop", fn: () => {} }]);
 * ```
 */
export function register(cases: readonly BenchCase[]): void {
  for (const c of cases) {
    Deno.bench({
      name: `${c.group}: ${c.name}`,
      group: c.group,
      fn: async () => void await c.fn(),
    });
  }
}

/** The median of numbers (mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times a case: a warm-up, then `samples` batches, each of enough operations to last at
 * least `minBatchMs`; returns the median per-operation time over the batches.
 *
 * @example
 * ```ts
 * import { measure } from "./harness.ts";
 * const r = await measure({ group: "g", name: "noop", fn: () => {} });
 * r.medianMs >= 0; // true
 * ```
 */
export async function measure(
  c: BenchCase,
  opts: { samples?: number; minBatchMs?: number; maxMs?: number } = {},
): Promise<BenchResult> {
  const samples = opts.samples ?? 15;
  const minBatchMs = opts.minBatchMs ?? 20;
  const maxMs = opts.maxMs ?? 8000;
  // Warm-up and batch sizing.
  let t = performance.now();
  await c.fn();
  let one = performance.now() - t;
  if (one < minBatchMs) {
    t = performance.now();
    await c.fn();
    one = Math.max(performance.now() - t, 1e-4);
  }
  const batch = Math.max(1, Math.ceil(minBatchMs / one));
  const n = Math.max(3, Math.min(samples, Math.floor(maxMs / (one * batch))));
  const per: number[] = [];
  for (let s = 0; s < n; s++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) await c.fn();
    per.push((performance.now() - t0) / batch);
  }
  return { case: c, medianMs: median(per), ops: n * batch, samples: n };
}
