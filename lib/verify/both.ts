/**
 * Both verdicts on one artifact — ours and the kars controller's prediction — from one fetch
 * of the artifact and its signatures, and the decision over them.
 *
 * @module
 */
import { isPolicyError, type SignerPolicy } from "./policy.ts";
import { verdictCacheKey } from "./cache.ts";
import { CONTROLLER_CACHE_PREFIX, judgeController, preflightController } from "./controller.ts";
import { type AllowlistMaterial, openAllowlistMaterial } from "./material.ts";
import type { VerifyAllowlistOptions, VerifySandboxOptions } from "./options.ts";
import { falseResult, resultFromError, type VerifyResult } from "./result.ts";
import { sandboxAllowlistRef } from "./sandbox.ts";
import { trustNotes, withNotes } from "./trust_note.ts";
import { judgeAllowlist, preflightAllowlist } from "./verdict.ts";

/** Both verdicts on one artifact. */
export interface BothVerdicts {
  /** Our verdict (`verifyAllowlist` of `verdict.ts`). */
  ours: VerifyResult;
  /** The kars controller's verdict, predicted. */
  controller: VerifyResult;
}

/**
 * Both verdicts — ours and the controller's prediction — from one fetch of the artifact and
 * its signatures. The cache (when given) holds each verdict under its own key.
 *
 * @example
 * ```ts
 * import { verifyBoth } from "./both.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * const { ours, controller } = await verifyBoth({
 *   ref: { registry: "r.example", repository: "p", digest: "sha256:" + "0".repeat(64),
 *     artifactType: "application/vnd.kars.egress-allowlist.v1+yaml" },
 *   target: new MemoryTarget(),
 *   policy: { reason: "SignerPolicyMissing", message: "none" },
 *   trustedRoot: {} as never,
 * });
 * [ours.condition.reason, controller.condition.reason]; // ["SignerPolicyMissing", "SignerPolicyMissing"]
 * ```
 */
export async function verifyBoth(options: VerifyAllowlistOptions): Promise<BothVerdicts> {
  const preOurs = preflightAllowlist(options);
  const preCtl = preflightController(options);
  const notes = trustNotes(options.trustedRoot);
  const cache = options.cache;
  const oursKey = "policy" in preOurs
    ? verdictCacheKey(options.ref, preOurs.policy.hash, options.trustedRoot)
    : "";
  const ctlKey = "policy" in preCtl
    ? CONTROLLER_CACHE_PREFIX +
      verdictCacheKey(options.ref, preCtl.policy.hash, options.trustedRoot)
    : "";
  const oursHit = "policy" in preOurs ? cache?.get(oursKey) : undefined;
  const ctlHit = "policy" in preCtl ? cache?.get(ctlKey) : undefined;
  let material: AllowlistMaterial | undefined;
  let openError: unknown;
  if (("policy" in preOurs && !oursHit) || ("policy" in preCtl && !ctlHit)) {
    try {
      material = await openAllowlistMaterial(options);
    } catch (e) {
      openError = e;
    }
  }
  const judge = async (
    pre: { result: VerifyResult } | { policy: SignerPolicy },
    hit: VerifyResult | undefined,
    key: string,
    run: (m: AllowlistMaterial, p: SignerPolicy) => Promise<VerifyResult>,
  ): Promise<VerifyResult> => {
    if ("result" in pre) return pre.result;
    if (hit) return { ...hit, cached: true };
    const r = material ? await run(material, pre.policy) : resultFromError(openError, options.ref);
    if (cache && r.verdict) cache.set(key, r);
    return r;
  };
  // Sequential on purpose: the material fetched for ours is reused by the controller's.
  const ours = await judge(preOurs, oursHit, oursKey, (m, p) => judgeAllowlist(m, options, p));
  const controller = await judge(
    preCtl,
    ctlHit,
    ctlKey,
    (m, p) => judgeController(m, options, p),
  );
  return { ours, controller: withNotes(controller, controller.notes ? [] : notes) };
}

/**
 * Both verdicts for a KarsSandbox or GitOps manifest (see `verifySandbox`): an inline-only
 * sandbox is `Unsigned` for both; a non-object `allowlistRef` is `InvalidRef` (for the
 * controller after a malformed SignerPolicy, in its check order).
 *
 * @example
 * ```ts
 * import { verifySandboxBoth } from "./both.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * const r = await verifySandboxBoth({ kind: "KarsSandbox", spec: {} },
 *   { target: new MemoryTarget(), policy: { reason: "SignerPolicyMissing", message: "none" },
 *     trustedRoot: {} as never });
 * r.controller.condition.reason; // "Unsigned"
 * ```
 */
export async function verifySandboxBoth(
  input: Uint8Array | Record<string, unknown>,
  options: VerifySandboxOptions,
): Promise<BothVerdicts> {
  const found = sandboxAllowlistRef(input, options.source ?? "sandbox");
  const { source: _s, ...rest } = options;
  if ("ref" in found) return await verifyBoth({ ...rest, ref: found.ref });
  const ours = found.result;
  const policy = options.policy;
  const controller = ours.condition.reason === "InvalidRef" && isPolicyError(policy) &&
      policy.reason === "SignerPolicyMalformed"
    ? falseResult(policy.reason, policy.message)
    : ours;
  return { ours, controller: withNotes(controller, trustNotes(options.trustedRoot)) };
}

/** Which verdicts decide: `both` (default), `ours` or `controller`. */
export type DecidedBy = "both" | "ours" | "controller";

/** The decision over {@link BothVerdicts}. */
export interface Decision {
  /** The deciding result: the first `False` (ours first), else the first non-verdict, else `True`. */
  result: VerifyResult;
  /** Which verdict it is. */
  from: "ours" | "controller";
  /** True when every deciding verdict is `True`. */
  verified: boolean;
}

/**
 * Decides over both verdicts: with `both`, `False` when either is `False`; with `ours` or
 * `controller`, that verdict alone.
 *
 * @example
 * ```ts
 * import { decide } from "./both.ts";
 * import { falseCondition, verifiedCondition } from "./conditions.ts";
 * const ours = { condition: verifiedCondition("sha256:" + "a".repeat(64), 1), verdict: true, signatures: [] };
 * const controller = { condition: falseCondition("IdentityMismatch", "key"), verdict: true, signatures: [] };
 * decide({ ours, controller }, "both").from; // "controller"
 * decide({ ours, controller }, "ours").verified; // true
 * ```
 */
export function decide(both: BothVerdicts, by: DecidedBy = "both"): Decision {
  const order: ("ours" | "controller")[] = by === "both" ? ["ours", "controller"] : [by];
  const pick = (status: string) => order.find((k) => both[k].condition.status === status);
  const from = pick("False") ?? pick("Unknown") ?? order[0];
  return {
    result: both[from],
    from,
    verified: order.every((k) => both[k].condition.status === "True"),
  };
}
