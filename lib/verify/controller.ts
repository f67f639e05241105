/**
 * The kars controller's verdict, predicted: `AllowlistVerified` as the upstream controller
 * (formats.md §8) would set it for an `allowlistRef`, on the same fetched material as our
 * own verdict (`verifyBoth` of `both.ts`: one discovery, two judgements).
 *
 * Its rules, where they differ from ours:
 * - check order: SignerPolicy malformed → `InvalidRef` → `SignerPolicyMissing` → signatures →
 *   bytes (so a badly signed, non-canonical artifact is `IdentityMismatch`);
 * - signatures: the legacy `sha256-<hex>.sig` layout only; keyless only (a Fulcio certificate
 *   verified against the trust material, plus a Rekor bundle); key and KMS signatures are
 *   never accepted (`publicKeys` is ignored); the payload must name the digest;
 * - SAN patterns: an `http(s)://` pattern matches the certificate's URI SAN exactly (a `*` or
 *   `?` is a literal character); any other pattern matches email SANs only, exactly, or as an
 *   UNANCHORED regular expression when it starts with `re:`;
 * - reasons: a missing or invalid signature is `IdentityMismatch` (never
 *   `SignatureVerifyFailed`, never `DigestMismatch`); `Unsigned` only without `allowlistRef`;
 * - canonical form: the structure is checked but not the indentation; `endpoints: []` is a
 *   deny-all allowlist.
 *
 * The real controller trusts only the Sigstore public-good root; when the trust material
 * given here differs, the result carries a note saying so (the verdict is still computed
 * against the given material, so that staging setups can be checked).
 *
 * @module
 */
import { signatureTag } from "../cosign/vocabulary.ts";
import { fromUtf8 } from "../encoding/bytes.ts";
import { type Digest, isDigest } from "../encoding/digest.ts";
import { isKarsError, KarsError } from "../errors.ts";
import { ALLOWLIST_MEDIA_TYPE, MAX_ALLOWLIST_LAYER_BYTES } from "../oci/artifact.ts";
import type { Endpoint } from "../allowlist/canonical.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import { unknownCondition, verifiedCondition } from "./conditions.ts";
import { type VerdictCache, verdictCacheKey } from "./cache.ts";
import { controllerCanonicalAllowlist } from "./controller_canonical.ts";
import { controllerCheckCandidate } from "./controller_signature.ts";
import { type AllowlistMaterial, openAllowlistMaterial } from "./material.ts";
import type { VerifyAllowlistOptions } from "./options.ts";
import { isPolicyError, type SignerPolicy } from "./policy.ts";
import { falseResult, resultFromError, type SignatureReport, type VerifyResult } from "./result.ts";
import { trustNotes, withNotes } from "./trust_note.ts";
import { preflightAllowlist } from "./verdict.ts";

/**
 * The prefix of the controller's verdicts in a shared verdict cache (ours have none).
 *
 * @example
 * ```ts
 * import { CONTROLLER_CACHE_PREFIX } from "./controller.ts";
 * CONTROLLER_CACHE_PREFIX + "key"; // "controller:key"
 * ```
 */
export const CONTROLLER_CACHE_PREFIX = "controller:";

/**
 * The controller's reading of the ref: registry non-empty without whitespace or `/`,
 * repository non-empty, digest `sha256:` + 64 lowercase hex, the allowlist artifact type.
 */
function controllerRefProblem(ref: AllowlistRefInput): string | undefined {
  if (!ref || typeof ref !== "object") return "allowlistRef is missing or not an object";
  const r = ref.registry as unknown;
  if (typeof r !== "string" || r === "" || /[\s/]/.test(r)) {
    return `allowlistRef: registry ${JSON.stringify(r)} is empty or holds whitespace or '/'`;
  }
  if (typeof ref.repository !== "string" || ref.repository === "") {
    return "allowlistRef: repository is empty";
  }
  if (!isDigest(ref.digest)) {
    return `allowlistRef: digest ${
      JSON.stringify(ref.digest)
    } is not sha256: followed by 64 lowercase hex digits`;
  }
  if (ref.artifactType !== ALLOWLIST_MEDIA_TYPE) {
    return `allowlistRef: artifactType is ${
      JSON.stringify(ref.artifactType)
    }, not ${ALLOWLIST_MEDIA_TYPE}`;
  }
  return undefined;
}

/**
 * The controller's checks before anything is fetched, in its order: a malformed SignerPolicy,
 * then the ref (`InvalidRef`), then a missing policy. A ref our own verifier refuses to fetch
 * is `Unknown/Error` (not predicted). Returns the usable policy, or the result to report.
 *
 * @example
 * ```ts
 * import { preflightController } from "./controller.ts";
 * const p = preflightController({
 *   ref: { registry: "r.example", repository: "p", digest: "sha256:" + "0".repeat(64),
 *     artifactType: "application/vnd.kars.egress-allowlist.v1+yaml" },
 *   policy: { reason: "SignerPolicyMissing", message: "no policy" },
 * });
 * "result" in p && p.result.condition.reason; // "SignerPolicyMissing"
 * ```
 */
export function preflightController(
  options: Pick<VerifyAllowlistOptions, "ref" | "policy" | "allowedRegistries">,
): { result: VerifyResult } | { policy: SignerPolicy } {
  const { ref, policy } = options;
  const refObj = ref && typeof ref === "object" ? { ref } : {};
  if (isPolicyError(policy) && policy.reason === "SignerPolicyMalformed") {
    return { result: falseResult(policy.reason, policy.message, refObj) };
  }
  const problem = controllerRefProblem(ref);
  if (problem !== undefined) return { result: falseResult("InvalidRef", problem, refObj) };
  if (isPolicyError(policy)) return { result: falseResult(policy.reason, policy.message, refObj) };
  // The controller would fetch it; we never fetch what our own verifier refuses to (a
  // malformed ref, a registry not allowed, link-local / cloud-metadata addresses).
  const ours = preflightAllowlist(options);
  if ("result" in ours) {
    const err = new KarsError(
      "VERIFY",
      `controller verdict not predicted: our verifier refuses to fetch this reference (${ours.result.condition.message})`,
    );
    return {
      result: {
        condition: unknownCondition("Error", err.message),
        verdict: false,
        signatures: [],
        ref,
        error: err,
      },
    };
  }
  return { policy };
}

/** Options of {@link predictControllerVerdict}: those of `verifyAllowlist`. */
export type PredictOptions = VerifyAllowlistOptions;

/**
 * Predicts the kars controller's `AllowlistVerified` for an `allowlistRef` (formats.md §8).
 * Same options and result as `verifyAllowlist`; call as `predictControllerVerdict(options)`
 * or `predictControllerVerdict(ref, optionsWithoutRef)`. Never throws for registry or
 * verification problems. To get both verdicts from one fetch, use `verifyBoth` of `both.ts`.
 *
 * @example
 * ```ts
 * import { predictControllerVerdict } from "./controller.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * const r = await predictControllerVerdict(
 *   { registry: "r.example", repository: "p", digest: "sha256:" + "0".repeat(64),
 *     artifactType: "application/vnd.kars.egress-allowlist.v1+yaml" },
 *   { target: new MemoryTarget(), policy: { reason: "SignerPolicyMissing", message: "none" },
 *     trustedRoot: {} as never },
 * );
 * r.condition.reason; // "SignerPolicyMissing"
 * ```
 */
export async function predictControllerVerdict(
  refOrOptions: AllowlistRefInput | VerifyAllowlistOptions,
  rest?: Omit<VerifyAllowlistOptions, "ref">,
): Promise<VerifyResult> {
  const options: VerifyAllowlistOptions = rest
    ? { ...rest, ref: refOrOptions as AllowlistRefInput }
    : refOrOptions as VerifyAllowlistOptions;
  const pre = preflightController(options);
  if ("result" in pre) return withNotes(pre.result, trustNotes(options.trustedRoot));
  const key = CONTROLLER_CACHE_PREFIX +
    verdictCacheKey(options.ref, pre.policy.hash, options.trustedRoot);
  const cache = options.cache as VerdictCache<VerifyResult> | undefined;
  const hit = cache?.get(key);
  if (hit) return { ...hit, cached: true };
  let result: VerifyResult;
  try {
    result = await judgeController(await openAllowlistMaterial(options), options, pre.policy);
  } catch (e) {
    result = withNotes(resultFromError(e, options.ref), trustNotes(options.trustedRoot));
  }
  if (cache && result.verdict) cache.set(key, result);
  return result;
}

/**
 * The controller's verdict on fetched material (after its preflight). Never throws.
 *
 * @example
 * ```ts
 * import { judgeController } from "./controller.ts";
 * // const r = await judgeController(material, options, policy);
 * ```
 */
export async function judgeController(
  material: AllowlistMaterial,
  options: VerifyAllowlistOptions,
  policy: SignerPolicy,
): Promise<VerifyResult> {
  const notes = trustNotes(options.trustedRoot);
  try {
    return withNotes(await judgeControllerUncaught(material, options, policy), notes);
  } catch (e) {
    if (isKarsError(e) && e.details?.reason === "DigestMismatch") {
      const err = new KarsError(
        "VERIFY",
        `${material.at}: controller verdict not predictable: ${e.message} (the controller does not re-hash what the registry serves)`,
        { cause: e },
      );
      return withNotes({
        condition: unknownCondition("Error", err.message),
        verdict: false,
        signatures: [],
        ref: options.ref,
        error: err,
      }, notes);
    }
    return withNotes(resultFromError(e, options.ref), notes);
  }
}

async function judgeControllerUncaught(
  material: AllowlistMaterial,
  options: VerifyAllowlistOptions,
  policy: SignerPolicy,
): Promise<VerifyResult> {
  const { ref } = options;
  const at = material.at;
  // The artifact must exist (NotFound / Unauthorized come from the registry's answer).
  const manifestBytes = await material.manifest();

  // 1. Signatures (before the bytes): legacy, keyless, Rekor bundle, policy as it reads it.
  const found = await material.signatures();
  const reports: SignatureReport[] = found.problems.map((p) => ({
    where: p.where,
    outcome: "invalid" as const,
    message: p.message,
  }));
  let accepted: SignatureReport | undefined;
  for (const c of found.candidates) {
    const r = await controllerCheckCandidate(c, material, policy, options);
    reports.push(r);
    if (r.outcome === "accepted") {
      accepted = r;
      break;
    }
  }
  if (!accepted) {
    const why = reports.length === 0
      ? `no signature at tag ${signatureTag(material.digest)} (the only layout it reads)`
      : reports.map((r) => `${r.where}: ${r.message}`).join("; ");
    return falseResult(
      "IdentityMismatch",
      `${at}: no signature the kars controller accepts: ${why}`,
      { ref, signatures: reports },
    );
  }

  // 2. Bytes: layers of the allowlist type (count, config and sizes unchecked), structure.
  let m: { layers?: unknown };
  try {
    m = JSON.parse(fromUtf8(manifestBytes));
  } catch {
    return falseResult("CanonicalFormViolation", `${at}: the manifest is not JSON`, {
      ref,
      signatures: reports,
    });
  }
  const layers = Array.isArray(m?.layers) ? m.layers as Record<string, unknown>[] : [];
  if (layers.length === 0 || layers.some((l) => l?.mediaType !== ALLOWLIST_MEDIA_TYPE)) {
    return falseResult(
      "CanonicalFormViolation",
      `${at}: the manifest's layers are not all of type ${ALLOWLIST_MEDIA_TYPE}`,
      { ref, signatures: reports },
    );
  }
  const layer = layers[0];
  if (!isDigest(layer.digest) || !Number.isSafeInteger(layer.size)) {
    return falseResult("CanonicalFormViolation", `${at}: the layer descriptor is malformed`, {
      ref,
      signatures: reports,
    });
  }
  // A signed manifest may still announce any size: never fetch (or allocate) more than an
  // allowlist layer can be.
  if ((layer.size as number) < 1 || (layer.size as number) > MAX_ALLOWLIST_LAYER_BYTES) {
    return falseResult(
      "CanonicalFormViolation",
      `${at}: the layer's size ${layer.size} is outside 1-${MAX_ALLOWLIST_LAYER_BYTES} bytes`,
      { ref, signatures: reports },
    );
  }
  const bytes = await material.layer(layer.digest as Digest, layer.size as number);
  let allowlist: { generation: number; endpoints: Endpoint[] };
  try {
    allowlist = controllerCanonicalAllowlist(bytes);
  } catch (e) {
    return falseResult("CanonicalFormViolation", `${at}: ${(e as Error).message}`, {
      ref,
      signatures: reports,
    });
  }
  return {
    condition: verifiedCondition(material.digest, allowlist.generation),
    verdict: true,
    ref,
    generation: allowlist.generation,
    endpoints: allowlist.endpoints,
    signer: accepted.signer,
    signatures: reports,
  };
}
