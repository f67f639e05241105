/**
 * The exit-code contract of the `kars` CLI, in one table (contract C4): every command and the
 * dispatcher decide exit codes here and nowhere else.
 *
 * | exit | meaning | from |
 * |---|---|---|
 * | 0 | ok (for verification: `True`) | |
 * | 1 | the operation failed | `FILE`, `REGISTRY`, `AUTH`, `SIGN`, `VERIFY`, `KUBE`, `UNAVAILABLE`, `INTERNAL`, any other error |
 * | 2 | usage or input error | `USAGE`, `INPUT`, `NOT_FOUND` (a file or name the user gave) |
 * | 3 | verdict `False` on the content | a verification result, never an error code |
 * | 4 | lossy migration | `kars migrate` without `--allow-lossy` |
 * | 5 | transient fault, worth a retry | `TRANSIENT` |
 *
 * `NOT_FOUND` reaches the CLI only for things the user named (an input file, a sandbox in a
 * file or cluster); an artifact that is not found during verification is the verdict
 * `False/NotFound` (exit 3), and registry reads inside the egress flow are wrapped as `REGISTRY`.
 *
 * @module
 */
import type { ErrorCode } from "../errors.ts";
import { KarsError } from "../errors.ts";

/** Exit codes of the `kars` CLI. */
export const EXIT = {
  /** Success (for verification: the condition is `True`). */
  OK: 0,
  /** The operation failed (registry refused, signing failed, file system, our credentials). */
  FAILURE: 1,
  /** Usage error or bad input (flags, missing or unreadable inputs, wrong password, overwrite). */
  USAGE: 2,
  /** Verification verdict `False` on the content. */
  VERDICT_FALSE: 3,
  /** `migrate`: the translation dropped data and `--allow-lossy` was not given. */
  LOSSY: 4,
  /** A transient fault (timeout, 5xx, 429 after retries, connection refused): retry. */
  TRANSIENT: 5,
} as const;

/** The one table: error code → exit code. */
export const EXIT_CODE_OF_ERROR: Readonly<Record<ErrorCode, number>> = {
  USAGE: EXIT.USAGE,
  INPUT: EXIT.USAGE,
  NOT_FOUND: EXIT.USAGE,
  TRANSIENT: EXIT.TRANSIENT,
  FILE: EXIT.FAILURE,
  REGISTRY: EXIT.FAILURE,
  AUTH: EXIT.FAILURE,
  SIGN: EXIT.FAILURE,
  VERIFY: EXIT.FAILURE,
  KUBE: EXIT.FAILURE,
  UNAVAILABLE: EXIT.FAILURE,
  INTERNAL: EXIT.FAILURE,
};

/**
 * The exit code of an error: {@link EXIT_CODE_OF_ERROR} for a `KarsError`, 1 for anything else.
 *
 * @example
 * ```ts
 * import { exitCodeOf } from "./exit_codes.ts";
 * import { KarsError } from "../errors.ts";
 * exitCodeOf(new KarsError("TRANSIENT", "x")); // 5
 * ```
 */
export function exitCodeOf(e: unknown): number {
  if (e instanceof KarsError) return EXIT_CODE_OF_ERROR[e.code] ?? EXIT.FAILURE;
  return EXIT.FAILURE;
}

/**
 * The exit code of a verification condition: `True` → 0, `False` → 3, `Unknown` (a fault, not
 * a verdict) → 5.
 *
 * @example
 * ```ts
 * import { exitCodeOfCondition } from "./exit_codes.ts";
 * exitCodeOfCondition({ status: "False" }); // 3
 * ```
 */
export function exitCodeOfCondition(c: { status: string }): number {
  if (c.status === "True") return EXIT.OK;
  if (c.status === "False") return EXIT.VERDICT_FALSE;
  return EXIT.TRANSIENT;
}

/**
 * The error code of a verdict that is not about the content: `False/Unauthorized` is our own
 * credentials being refused (exit 1, reason still printed), `Unknown` is a transient fault
 * (exit 5). Any other condition is a verdict (`undefined`).
 *
 * @example
 * ```ts
 * import { faultOfCondition } from "./exit_codes.ts";
 * faultOfCondition({ status: "False", reason: "Unauthorized" }); // "AUTH"
 * faultOfCondition({ status: "False", reason: "IdentityMismatch" }); // undefined
 * ```
 */
export function faultOfCondition(c: { status: string; reason: string }): ErrorCode | undefined {
  if (c.status === "Unknown") return "TRANSIENT";
  if (c.status === "False" && c.reason === "Unauthorized") return "AUTH";
  return undefined;
}
