/**
 * What a verification returns: the `AllowlistVerified` condition with the evidence (who
 * signed, what each signature found gave), and how a fault becomes a result — a verdict
 * (`NotFound`, `Unauthorized`, …) or status `Unknown`, never `True`.
 *
 * @module
 */
import { isKarsError, KarsError } from "../errors.ts";
import type { Endpoint } from "../allowlist/canonical.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import {
  type AllowlistVerifiedCondition,
  falseCondition,
  type FalseReason,
  unknownCondition,
} from "./conditions.ts";

/** Who signed the accepted signature. */
export type SignerIdentity =
  | { kind: "keyless"; san: string; issuer: string; format: "legacy" | "bundle"; id: string }
  | { kind: "key"; keyId: string; format: "legacy" | "bundle"; id: string };

/** The outcome for one signature found. */
export interface SignatureReport {
  /** Where it was found (`sha256-….sig layer 0`, `referrer sha256:…`). */
  where: string;
  /** `accepted`, `identity-mismatch` (valid, bound, signer not allowed) or `invalid`. */
  outcome: "accepted" | "identity-mismatch" | "invalid";
  /** Why. */
  message: string;
  /** The signer, when the signature is valid. */
  signer?: SignerIdentity;
}

/** What a verification (`verifyAllowlist`, `verifyBoth`, …) returns. */
export interface VerifyResult {
  /** The `AllowlistVerified` condition (status `Unknown` for a fault: not a verdict). */
  condition: AllowlistVerifiedCondition;
  /** True when the condition is a verdict (`True` or `False`), false for a fault. */
  verdict: boolean;
  /** The reference checked (when there is one). */
  ref?: AllowlistRefInput;
  /** Generation of the verified allowlist. */
  generation?: number;
  /** Verified endpoints (only when `True`). */
  endpoints?: Endpoint[];
  /** The accepted signer (only when `True`). */
  signer?: SignerIdentity;
  /** Per-signature outcomes. */
  signatures: SignatureReport[];
  /** True when this result came from the cache. */
  cached?: boolean;
  /** The fault, for status `Unknown`. */
  error?: KarsError;
  /** Remarks that do not change the verdict (e.g. trust material differing from the cluster's). */
  notes?: string[];
}

/**
 * A `False` verdict (status `False`, `verdict: true`) with `extra` fields.
 *
 * @example
 * ```ts
 * import { falseResult } from "./result.ts";
 * falseResult("Unsigned", "no signature found").condition.status; // "False"
 * ```
 */
export function falseResult(
  reason: FalseReason,
  message: string,
  extra: Partial<VerifyResult> = {},
): VerifyResult {
  return { condition: falseCondition(reason, message), verdict: true, signatures: [], ...extra };
}

/**
 * Maps a fault to a result: `NOT_FOUND` → `NotFound`, `AUTH` → `Unauthorized`,
 * `details.reason` `DigestMismatch` / `CanonicalFormViolation` → those verdicts, `TRANSIENT`
 * → `Unknown/TransientError`, anything else → `Unknown/Error` (fail closed, never `True`).
 *
 * @example
 * ```ts
 * import { resultFromError } from "./result.ts";
 * import { KarsError } from "../errors.ts";
 * resultFromError(new KarsError("AUTH", "denied")).condition.reason; // "Unauthorized"
 * ```
 */
export function resultFromError(e: unknown, ref?: AllowlistRefInput): VerifyResult {
  const base = { signatures: [] as SignatureReport[], ...(ref ? { ref } : {}) };
  if (isKarsError(e)) {
    const reason = e.details?.reason;
    if (reason === "DigestMismatch") {
      return { ...base, ...falseResult("DigestMismatch", e.message) };
    }
    if (reason === "CanonicalFormViolation") {
      return { ...base, ...falseResult("CanonicalFormViolation", e.message) };
    }
    if (e.code === "NOT_FOUND") return { ...base, ...falseResult("NotFound", e.message) };
    if (e.code === "AUTH") return { ...base, ...falseResult("Unauthorized", e.message) };
    if (e.code === "TRANSIENT") {
      return {
        ...base,
        condition: unknownCondition("TransientError", e.message),
        verdict: false,
        error: e,
      };
    }
    return { ...base, condition: unknownCondition("Error", e.message), verdict: false, error: e };
  }
  const err = new KarsError(
    "INTERNAL",
    `verification failed unexpectedly: ${(e as Error)?.message ?? e}`,
    {
      cause: e,
    },
  );
  return { ...base, condition: unknownCondition("Error", err.message), verdict: false, error: err };
}
