/**
 * The verdict: `AllowlistVerified` for an `allowlistRef` (or a sandbox / GitOps manifest),
 * exactly as the kars controller decides it — and stricter where the controller is lax.
 *
 * Steps: ref checked as the controller does (`InvalidRef`); manifest fetched BY DIGEST and
 * re-hashed, layer fetched and re-hashed (`DigestMismatch`); artifactType, media types and
 * the canonical allowlist strictly checked (`CanonicalFormViolation`); legacy and bundle
 * signatures found and verified by the Sigstore engine; a signature is accepted when it is
 * valid, binds this digest (and, for legacy, this repository) and its signer matches the
 * SignerPolicy. A valid, bound signature by a signer the policy does not name gives
 * `IdentityMismatch`; no valid signature gives `SignatureVerifyFailed`.
 *
 * Registry faults map to `NotFound` / `Unauthorized`; a transient fault (network, 5xx) is
 * returned as status `Unknown` / `TransientError` — never as a verdict.
 *
 * @module
 */
import { signatureTag } from "../cosign/vocabulary.ts";
import { digestBytes } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { checkRegistryAllowed, parseRegistryHost, unionRegistries } from "../oci/registry_host.ts";
import { ALLOWLIST_MEDIA_TYPE, checkLayerBytes, parseAllowlistManifest } from "../oci/artifact.ts";
import { parseCanonicalAllowlist } from "../allowlist/canonical.ts";
import { validateAllowlistRef } from "../gitops/manifest.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import { verifiedCondition } from "./conditions.ts";
import { verdictCacheKey } from "./cache.ts";
import { type AllowlistMaterial, openAllowlistMaterial } from "./material.ts";
import type { VerifyAllowlistOptions } from "./options.ts";
import { isPolicyError, type SignerPolicy } from "./policy.ts";
import { falseResult, resultFromError, type SignatureReport, type VerifyResult } from "./result.ts";
import { checkSignatureCandidate } from "./signature_check.ts";
import { verifyBundle } from "./sigstore/mod.ts";

/**
 * Verifies an allowlist artifact against a SignerPolicy and returns the `AllowlistVerified`
 * condition. Never throws for registry or verification problems: they are in the result (it
 * throws `INPUT` only for a malformed `allowedRegistries` entry, the caller's input).
 *
 * @example
 * ```ts
 * import { verifyAllowlist } from "./verdict.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * const r = await verifyAllowlist({
 *   ref: { registry: "r.example", repository: "p", digest: "sha256:" + "0".repeat(64),
 *     artifactType: "application/vnd.kars.egress-allowlist.v1+yaml" },
 *   target: new MemoryTarget(),
 *   policy: { reason: "SignerPolicyMissing", message: "no policy" },
 *   trustedRoot: {} as never,
 * });
 * r.condition.reason; // "SignerPolicyMissing"
 * ```
 */
export async function verifyAllowlist(options: VerifyAllowlistOptions): Promise<VerifyResult> {
  const pre = preflightAllowlist(options);
  if ("result" in pre) return pre.result;
  const { policy } = pre;
  const key = verdictCacheKey(options.ref, policy.hash, options.trustedRoot);
  const hit = options.cache?.get(key);
  if (hit) return { ...hit, cached: true };
  let result: VerifyResult;
  try {
    result = await judgeAllowlist(await openAllowlistMaterial(options), options, policy);
  } catch (e) {
    result = resultFromError(e, options.ref);
  }
  if (options.cache && result.verdict) options.cache.set(key, result);
  return result;
}

/**
 * The checks made before anything is fetched: a policy error is the verdict, then the ref
 * (`InvalidRef`). Returns the usable policy, or the verdict to report.
 *
 * @example
 * ```ts
 * import { preflightAllowlist } from "./verdict.ts";
 * const p = preflightAllowlist({
 *   ref: { registry: "r.example", repository: "p", digest: "sha256:" + "0".repeat(64),
 *     artifactType: "application/vnd.kars.egress-allowlist.v1+yaml" },
 *   policy: { reason: "SignerPolicyMissing", message: "no policy" },
 * });
 * "result" in p && p.result.condition.reason; // "SignerPolicyMissing"
 * ```
 */
export function preflightAllowlist(
  options: Pick<VerifyAllowlistOptions, "ref" | "policy" | "allowedRegistries">,
): { result: VerifyResult } | { policy: SignerPolicy } {
  const { ref, policy } = options;
  if (isPolicyError(policy)) {
    return { result: falseResult(policy.reason, policy.message, { ref }) };
  }
  const memoKey = wellFormedKey(ref);
  let host = memoKey === undefined ? undefined : wellFormedRefs.get(memoKey);
  if (host === undefined) {
    const problem = refProblem(ref);
    if (problem !== undefined) {
      return {
        result: ref && typeof ref === "object"
          ? falseResult("InvalidRef", problem, { ref })
          : falseResult("InvalidRef", problem),
      };
    }
    host = parseRegistryHost(ref.registry, "registry");
    if (memoKey !== undefined) {
      if (wellFormedRefs.size >= MAX_WELL_FORMED_REFS) wellFormedRefs.clear();
      wellFormedRefs.set(memoKey, host);
    }
  }
  // Decided before any request: where the ref may point (allowed registries, never metadata).
  // (A malformed allowedRegistries entry is the caller's input error: it throws INPUT.)
  const allowed = unionRegistries(
    [options.allowedRegistries, policy.registries],
    "allowed registry",
  );
  const where = checkRegistryAllowed(host, allowed);
  if (!where.ok) {
    return { result: falseResult("InvalidRef", `allowlistRef: ${where.why}`, { ref }) };
  }
  return { policy };
}

/**
 * Refs already found well-formed ({@link refProblem}), by their four strings, with the parsed
 * registry host: a cached verdict is answered without re-running the same string checks
 * (a bounded memo, emptied when full). Only refs whose fields are all strings are memoized.
 */
const wellFormedRefs = new Map<string, string>();
const MAX_WELL_FORMED_REFS = 4096;

function wellFormedKey(ref: AllowlistRefInput): string | undefined {
  if (!ref || typeof ref !== "object") return undefined;
  const { registry, repository, digest, artifactType } = ref;
  if (
    typeof registry !== "string" || typeof repository !== "string" ||
    typeof digest !== "string" || typeof artifactType !== "string"
  ) {
    return undefined;
  }
  return JSON.stringify([registry, repository, digest, artifactType]);
}

/**
 * Why our verifier refuses to fetch anything for `ref` (the message of its `InvalidRef`),
 * or `undefined` when the ref is well-formed.
 *
 * @example
 * ```ts
 * import { refProblem } from "./verdict.ts";
 * refProblem({ registry: "r/x", repository: "p", digest: "sha256:1", artifactType: "t" }) !== undefined; // true
 * ```
 */
export function refProblem(ref: AllowlistRefInput): string | undefined {
  if (!ref || typeof ref !== "object") return "allowlistRef is missing or not an object";
  try {
    if (ref.artifactType === undefined || ref.artifactType === null) {
      throw new KarsError("INPUT", `artifactType is missing; it must be ${ALLOWLIST_MEDIA_TYPE}`);
    }
    validateAllowlistRef(ref);
  } catch (e) {
    return `allowlistRef: ${(e as Error).message}`;
  }
  return undefined;
}

/**
 * Our verdict on fetched material (after {@link preflightAllowlist}): digests, strict
 * manifest and canonical form, then signatures. Registry faults are in the result.
 *
 * @example
 * ```ts
 * import { judgeAllowlist } from "./verdict.ts";
 * import { openAllowlistMaterial } from "./material.ts";
 * // const r = await judgeAllowlist(await openAllowlistMaterial(options), options, policy);
 * ```
 */
export async function judgeAllowlist(
  material: AllowlistMaterial,
  options: VerifyAllowlistOptions,
  policy: SignerPolicy,
): Promise<VerifyResult> {
  try {
    return await judgeUncaught(material, options, policy);
  } catch (e) {
    return resultFromError(e, options.ref);
  }
}

async function judgeUncaught(
  material: AllowlistMaterial,
  options: VerifyAllowlistOptions,
  policy: SignerPolicy,
): Promise<VerifyResult> {
  const { ref } = options;
  const digest = material.digest;
  const at = material.at;

  // 1. Manifest, fetched by digest and re-hashed here (never trusting the Target).
  const manifestBytes = await material.manifest();
  const got = digestBytes(manifestBytes);
  if (got !== digest) {
    return falseResult(
      "DigestMismatch",
      `${at}: the registry served a manifest whose bytes hash to ${got}`,
      { ref },
    );
  }
  const parsed = parseAllowlistManifest(manifestBytes, { expectedDigest: digest });

  // 2. Layer, fetched and re-hashed.
  const layerBytes = await material.layer(parsed.layer.digest, parsed.layer.size);
  checkLayerBytes(parsed.layer, layerBytes);

  // 3. Strict canonical parse.
  const allowlist = parseCanonicalAllowlist(layerBytes);

  // 4. Signatures.
  const found = await material.signatures();
  const reports: SignatureReport[] = found.problems.map((p) => ({
    where: p.where,
    outcome: "invalid" as const,
    message: p.message,
  }));
  const verifier = options.verifier ?? verifyBundle;
  for (const c of found.candidates) {
    const r = await checkSignatureCandidate(c, {
      ref,
      digest,
      policy,
      options,
      verifier,
      material,
    });
    reports.push(r);
    if (r.outcome === "accepted") {
      return {
        condition: verifiedCondition(digest, allowlist.generation),
        verdict: true,
        ref,
        generation: allowlist.generation,
        endpoints: allowlist.endpoints,
        signer: r.signer,
        signatures: reports,
      };
    }
  }
  const mismatch = reports.find((r) => r.outcome === "identity-mismatch");
  if (mismatch) {
    return falseResult("IdentityMismatch", `${at}: ${mismatch.message}`, {
      ref,
      generation: allowlist.generation,
      signatures: reports,
    });
  }
  if (reports.length === 0) {
    // Nothing signed to verify (formats.md §6): Unsigned, as the --no-sign warning says.
    return falseResult(
      "Unsigned",
      `${at}: no signature found (looked for tag ${
        signatureTag(digest)
      } and ${"Sigstore bundle referrers"}); sign it with kars egress`,
      { ref, generation: allowlist.generation, signatures: reports },
    );
  }
  return falseResult(
    "SignatureVerifyFailed",
    `${at}: no valid signature: ${reports.map((r) => `${r.where}: ${r.message}`).join("; ")}`,
    { ref, generation: allowlist.generation, signatures: reports },
  );
}
