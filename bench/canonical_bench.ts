/**
 * Canonicalise + digest the allowlist (normalise, validate, dedup, sort, emit, SHA-256) for
 * 10, 1,000 and 100,000 endpoints, to show the per-endpoint cost stays flat (linear scaling).
 *
 * @module
 */
import { canonicalizeEndpoints, emitCanonicalAllowlist } from "../lib/allowlist/canonical.ts";
import { digestBytes } from "../lib/encoding/digest.ts";
import { type BenchCase, register } from "./harness.ts";

/**
 * `n` raw entries as a KarsSandbox would hold them: mixed case, some default ports, about
 * 5% duplicates, in a scrambled order (deterministic, no randomness).
 *
 * @example
 * ```ts
 * import { rawEndpoints } from "./canonical_bench.ts";
 * rawEndpoints(3).length; // 3
 * ```
 */
export function rawEndpoints(n: number): { host: string; port?: number }[] {
  const out: { host: string; port?: number }[] = [];
  for (let i = 0; i < n; i++) {
    const k = (i * 7919) % n; // scrambled order
    const j = k % 20 === 19 ? k - 1 : k; // ~5% duplicates
    out.push(
      j % 3 === 0
        ? { host: `Svc-${j}.Team${j % 97}.Example.COM` }
        : { host: `svc-${j}.team${j % 97}.example.com`, port: 1024 + (j % 60000) },
    );
  }
  return out;
}

/** The whole canonical path for a list: canonicalise → emit → digest. */
function canonicalDigest(raw: { host: string; port?: number }[]): string {
  const endpoints = canonicalizeEndpoints(raw);
  return digestBytes(emitCanonicalAllowlist({ generation: 1, endpoints }));
}

/** The cases. */
export const cases: BenchCase[] = [10, 1_000, 100_000].map((n) => {
  const raw = rawEndpoints(n);
  return {
    group: "canonicalise+digest",
    name: `${n.toLocaleString("en-US")} endpoints`,
    fn: () => canonicalDigest(raw),
    units: { count: n, label: "endpoint" },
  };
});

register(cases);
