/**
 * One judgement of an `allowlistRef` for the cluster commands: our verdict and the kars
 * controller's predicted verdict (formats.md §8, `verifyBoth` of `lib/verify/both.ts`,
 * contract C2), from one fetch of the artifact and its signatures.
 *
 * @module
 */
import type { AllowlistVerifiedCondition } from "../verify/conditions.ts";
import { verifyBoth } from "../verify/both.ts";
import { preflightAllowlist } from "../verify/verdict.ts";
import type { TargetOpener, VerifyAllowlistOptions } from "../verify/options.ts";
import type { VerifyResult } from "../verify/result.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import { RegistryTarget } from "../oci/registry.ts";

/** Both verdicts on one ref. */
export interface Judgement {
  /** Ours (strict). */
  ours: VerifyResult;
  /** The controller's, predicted; null when it could not be told (a transient fault). */
  controller: { condition: AllowlistVerifiedCondition; notes?: string[] } | null;
}

/**
 * The cluster commands' opener when their caller gives none: an anonymous `RegistryTarget`
 * for the ref's registry and repository (HTTPS; HTTP for loopback).
 *
 * @example
 * ```ts
 * import { anonymousRegistryTarget } from "./judge.ts";
 * anonymousRegistryTarget({ registry: "r.example", repository: "p",
 *   digest: "sha256:" + "0".repeat(64), artifactType: "t" });
 * ```
 */
export const anonymousRegistryTarget: TargetOpener = (ref: AllowlistRefInput) =>
  new RegistryTarget({ registry: ref.registry, repository: ref.repository });

/** A judge: verifies one ref both ways. */
export type Judge = (options: VerifyAllowlistOptions) => Promise<Judgement>;

/**
 * The default judge: ours and the controller's prediction on the same fetched material.
 *
 * @example
 * ```ts
 * import { judgeBoth } from "./judge.ts";
 * // const { ours, controller } = await judgeBoth({ ref, policy, trustedRoot, cache });
 * ```
 */
export const judgeBoth: Judge = async (options): Promise<Judgement> => {
  // Our refusals before any request (malformed ref, a registry that is not allowed) stand for
  // both: the controller's preflight does not apply the allowed-registry guard, and nothing
  // may be fetched from a registry we refuse.
  const pre = preflightAllowlist(options);
  if ("result" in pre && pre.result.condition.reason === "InvalidRef") {
    return { ours: pre.result, controller: null };
  }
  const { ours, controller } = await verifyBoth(options);
  return { ours, controller: controller.verdict ? controller : null };
};
