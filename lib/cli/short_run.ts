/**
 * Start-up tuning for one-shot CLI runs. noble builds a table of multiples of the P-256 base
 * point on the first multiplication; its default window (6) makes that table large (about
 * 2,000 points with scalar blinding), which pays off over thousands of signatures or
 * verifications in a long-lived process, but dominates a run that signs two or three times
 * and exits. A window of 3 builds a table of 348 points (87 windows × 4) and costs 87
 * additions per multiplication (constant-time: as many again unused): for the three base-point
 * multiplications of a keyless signing run (key, proof of possession, payload signature) or
 * the few verifications of a repeat it is the cheapest window (table and uses: ~870 point
 * operations; window 4: ~910; window 2: ~1,030). Measured on Node 20 (three times 15
 * interleaved runs of key generation + two signatures + four verifications, CPU time): window
 * 3 66–87 ms median, window 4 70–102 ms. For the same reason a one-shot run builds no per-key
 * tables for trust-root keys
 * (lib/verify/sigstore/keys.ts). Long-running commands (the admission webhook, fleet audit,
 * status watch) keep the defaults.
 *
 * @module
 */

/** Window size of the P-256 base-point table for one-shot runs. */
export const SHORT_RUN_WINDOW = 3;

/** Commands (first words) that sign or verify a handful of times and exit. */
const ONE_SHOT = new Set(["egress", "demo", "verify-blob"]);
/** Subcommands of `egress` that verify many times or run until stopped. */
const LONG_RUNNING = new Set(["audit", "status", "webhook"]);

/**
 * Whether `args` (the CLI arguments) start a one-shot run that signs or verifies a few times.
 *
 * @example
 * ```ts
 * import { isOneShotCryptoRun } from "./short_run.ts";
 * isOneShotCryptoRun(["egress", "my-agent", "--enforce"]); // true
 * isOneShotCryptoRun(["egress", "audit"]); // false
 * isOneShotCryptoRun(["--help"]); // false
 * ```
 */
export function isOneShotCryptoRun(args: readonly string[]): boolean {
  if (!ONE_SHOT.has(args[0] ?? "")) return false;
  if (args.includes("--help") || args.includes("-h")) return false;
  return !(args[0] === "egress" && LONG_RUNNING.has(args[1] ?? ""));
}

/**
 * For a one-shot run, sets noble's P-256 base-point window to {@link SHORT_RUN_WINDOW}
 * (before its first use); otherwise does nothing and loads nothing.
 *
 * @example
 * ```ts
 * import { tuneForShortRun } from "./short_run.ts";
 * await tuneForShortRun(["egress", "my-agent"]);
 * ```
 */
export async function tuneForShortRun(args: readonly string[]): Promise<boolean> {
  if (!isOneShotCryptoRun(args)) return false;
  const { p256 } = await import("@noble/curves/nist.js");
  p256.Point.BASE.precompute(SHORT_RUN_WINDOW);
  // No per-key tables either: a trust-root key's table (window 6) costs ~15 ms of CPU to build
  // and saves under 1 ms per verification; a one-shot run verifies with each key once or twice.
  const { setKeyTableMinUses } = await import("../verify/sigstore/keys.ts");
  setKeyTableMinUses(Infinity);
  return true;
}
