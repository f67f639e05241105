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
import { keyId } from "../cosign/key_id.ts";
import { checkInTotoSubject } from "../cosign/in_toto.ts";
import { fromHex, fromUtf8, toHex } from "../encoding/bytes.ts";
import { type Digest, digestBytes, digestHex } from "../encoding/digest.ts";
import { isKarsError, KarsError } from "../errors.ts";
import type { Target } from "../oci/types.ts";
import { RegistryTarget } from "../oci/registry.ts";
import { checkRegistryAllowed, parseRegistryHost, unionRegistries } from "../oci/registry_host.ts";
import { ALLOWLIST_MEDIA_TYPE, checkLayerBytes, parseAllowlistManifest } from "../oci/artifact.ts";
import { type Endpoint, parseCanonicalAllowlist } from "../allowlist/canonical.ts";
import { validateAllowlistRef } from "../gitops/manifest.ts";
import { parseYamlDocuments } from "../encoding/yaml_read.ts";
import {
  type AllowlistVerifiedCondition,
  falseCondition,
  type FalseReason,
  unknownCondition,
  verifiedCondition,
} from "./conditions.ts";
import { type VerdictCache, verdictCacheKey } from "./cache.ts";
import { type Candidate, type Discovered, discoverSignatures } from "./discover.ts";
import {
  checkSimpleSigningPayload,
  legacyLayerToBundle,
  publicKeysFromRekorBody,
} from "./legacy.ts";
import { isPolicyError, matchIdentity, type PolicyError, type SignerPolicy } from "./policy.ts";
import { type TrustedRoot, type VerifiedSignature, verifyBundle } from "./sigstore/mod.ts";

export type { VerifiedSignature };

/** The engine's entry point (see `lib/verify/sigstore`); injectable for tests of this module. */
export type BundleVerifier = (
  bundle: unknown,
  artifact: { bytes: Uint8Array } | { digest: Uint8Array },
  options: {
    trustedRoot: TrustedRoot;
    publicKeys?: Uint8Array[];
    identity?: { san: string; issuer: string };
    requireTlog?: boolean;
    now?: Date;
  },
) => Promise<VerifiedSignature>;

import type { AllowlistRefInput } from "../model/sandbox.ts";

export type { AllowlistRefInput } from "../model/sandbox.ts";

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

/** What {@link verifyAllowlist} returns. */
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

/** Options of {@link verifyAllowlist}. */
export interface VerifyAllowlistOptions {
  /** The reference to verify. */
  ref: AllowlistRefInput;
  /** Repository holding the artifact (else {@link VerifyAllowlistOptions.openTarget} is called). */
  target?: Target;
  /**
   * Opens the repository named by the ref (e.g. a `RegistryTarget` with credentials). Without
   * `target` and `openTarget`, an anonymous `RegistryTarget` (HTTPS; HTTP for loopback) is used.
   */
  openTarget?: (ref: AllowlistRefInput) => Target | Promise<Target>;
  /** The SignerPolicy, or why there is none. */
  policy: SignerPolicy | PolicyError;
  /** Sigstore trust material. */
  trustedRoot: TrustedRoot;
  /** Verification time (default: now); certificate validity is checked at signing time. */
  now?: Date;
  /** Verdict cache (only verdicts are stored). */
  cache?: VerdictCache<VerifyResult>;
  /** Sigstore engine (default: `verifyBundle` of `lib/verify/sigstore`). */
  verifier?: BundleVerifier;
  /**
   * Registries (`host[:port]`, exact) the ref may name, united with the SignerPolicy's
   * `registries`. When the union is non-empty, any other registry is `False/InvalidRef` before
   * any request; link-local and cloud-metadata hosts are refused always.
   */
  allowedRegistries?: readonly string[];
}

function verdictFalse(
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
 * import { resultFromError } from "./verdict.ts";
 * import { KarsError } from "../errors.ts";
 * resultFromError(new KarsError("AUTH", "denied")).condition.reason; // "Unauthorized"
 * ```
 */
export function resultFromError(e: unknown, ref?: AllowlistRefInput): VerifyResult {
  const base = { signatures: [] as SignatureReport[], ...(ref ? { ref } : {}) };
  if (isKarsError(e)) {
    const reason = e.details?.reason;
    if (reason === "DigestMismatch") {
      return { ...base, ...verdictFalse("DigestMismatch", e.message) };
    }
    if (reason === "CanonicalFormViolation") {
      return { ...base, ...verdictFalse("CanonicalFormViolation", e.message) };
    }
    if (e.code === "NOT_FOUND") return { ...base, ...verdictFalse("NotFound", e.message) };
    if (e.code === "AUTH") return { ...base, ...verdictFalse("Unauthorized", e.message) };
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
  const key = verdictCacheKey(options.ref, policy.hash);
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
 *   trustedRoot: {} as never,
 * });
 * "result" in p && p.result.condition.reason; // "SignerPolicyMissing"
 * ```
 */
export function preflightAllowlist(
  options: VerifyAllowlistOptions,
): { result: VerifyResult } | { policy: SignerPolicy } {
  const { ref, policy } = options;
  if (isPolicyError(policy)) {
    return { result: verdictFalse(policy.reason, policy.message, { ref }) };
  }
  const problem = refProblem(ref);
  if (problem !== undefined) {
    return {
      result: ref && typeof ref === "object"
        ? verdictFalse("InvalidRef", problem, { ref })
        : verdictFalse("InvalidRef", problem),
    };
  }
  // Decided before any request: where the ref may point (allowed registries, never metadata).
  // (A malformed allowedRegistries entry is the caller's input error: it throws INPUT.)
  const allowed = unionRegistries(
    [options.allowedRegistries, policy.registries],
    "allowed registry",
  );
  const where = checkRegistryAllowed(parseRegistryHost(ref.registry, "registry"), allowed);
  if (!where.ok) {
    return { result: verdictFalse("InvalidRef", `allowlistRef: ${where.why}`, { ref }) };
  }
  return { policy };
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
 * What one verification reads from the registry, fetched lazily and at most once: the
 * manifest (by digest), the layer, and the signatures. Several judgements (ours, the
 * controller's prediction) share one instance, so nothing is fetched twice. Failures are
 * remembered too (the same error is thrown to every caller).
 *
 * @example
 * ```ts
 * import { AllowlistMaterial } from "./verdict.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * const m = new AllowlistMaterial(new MemoryTarget(), {
 *   registry: "r.example", repository: "p", digest: "sha256:" + "0".repeat(64),
 *   artifactType: "application/vnd.kars.egress-allowlist.v1+yaml" });
 * // await m.manifest() // throws NOT_FOUND
 * ```
 */
export class AllowlistMaterial {
  /** Repository holding the artifact. */
  readonly target: Target;
  /** The reference verified. */
  readonly ref: AllowlistRefInput;
  /** Its manifest digest. */
  readonly digest: Digest;
  #manifest?: Promise<Uint8Array>;
  #layers = new Map<string, Promise<Uint8Array>>();
  #signatures?: Promise<Discovered>;

  /** Material of `ref` in `target` (nothing is fetched yet). */
  constructor(target: Target, ref: AllowlistRefInput) {
    this.target = target;
    this.ref = ref;
    this.digest = ref.digest as Digest;
  }

  /** `<registry>/<repository>@<digest>`, for messages. */
  get at(): string {
    return `${this.ref.registry}/${this.ref.repository}@${this.digest}`;
  }

  /** The manifest bytes served for the digest (not re-hashed here). */
  manifest(): Promise<Uint8Array> {
    return this.#manifest ??= this.target.fetchManifest(this.digest).then((f) => f.bytes);
  }

  /** The bytes of a layer (the Target checks size and digest). */
  layer(digest: Digest, size: number): Promise<Uint8Array> {
    const key = `${digest}|${size}`;
    let p = this.#layers.get(key);
    if (!p) {
      p = this.target.fetchBlob(digest, size);
      this.#layers.set(key, p);
    }
    return p;
  }

  /** The legacy and bundle signatures of the digest. */
  signatures(): Promise<Discovered> {
    return this.#signatures ??= discoverSignatures(this.target, this.digest);
  }

  #certificateChecks = new WeakMap<
    Candidate,
    {
      verifier: BundleVerifier;
      trustedRoot: TrustedRoot;
      now?: Date;
      result: Promise<VerifiedSignature>;
    }
  >();

  /**
   * Verifies the certificate signature of a legacy candidate once (Rekor entry required),
   * however many judgements ask with the same verifier, trust material and time.
   */
  verifyLegacyCertificate(
    c: Candidate,
    verifier: BundleVerifier,
    options: { trustedRoot: TrustedRoot; now?: Date },
  ): Promise<VerifiedSignature> {
    if (c.format !== "legacy") {
      return Promise.reject(new TypeError("verifyLegacyCertificate takes a legacy candidate"));
    }
    const hit = this.#certificateChecks.get(c);
    if (
      hit && hit.verifier === verifier && hit.trustedRoot === options.trustedRoot &&
      hit.now?.getTime() === options.now?.getTime()
    ) {
      return hit.result;
    }
    const result =
      (async () =>
        await verifier(legacyLayerToBundle(c.payload, c.annotations), { bytes: c.payload }, {
          trustedRoot: options.trustedRoot,
          requireTlog: true,
          ...(options.now ? { now: options.now } : {}),
        }))();
    result.catch(() => {}); // a failure is read by each caller
    this.#certificateChecks.set(c, { verifier, ...options, result });
    return result;
  }
}

/**
 * Opens the repository named by the options (`target`, else `openTarget`, else an anonymous
 * `RegistryTarget`) and returns the (not yet fetched) material of `options.ref`.
 *
 * @example
 * ```ts
 * import { openAllowlistMaterial } from "./verdict.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * const m = await openAllowlistMaterial({
 *   ref: { registry: "r.example", repository: "p", digest: "sha256:" + "0".repeat(64),
 *     artifactType: "application/vnd.kars.egress-allowlist.v1+yaml" },
 *   target: new MemoryTarget(),
 *   policy: { reason: "SignerPolicyMissing", message: "no policy" },
 *   trustedRoot: {} as never,
 * });
 * m.digest; // "sha256:000…"
 * ```
 */
export async function openAllowlistMaterial(
  options: VerifyAllowlistOptions,
): Promise<AllowlistMaterial> {
  const { ref } = options;
  let target = options.target;
  if (!target) {
    target = options.openTarget
      ? await options.openTarget(ref)
      : new RegistryTarget({ registry: ref.registry, repository: ref.repository });
  }
  return new AllowlistMaterial(target, ref);
}

/**
 * Our verdict on fetched material (after {@link preflightAllowlist}): digests, strict
 * manifest and canonical form, then signatures. Registry faults are in the result.
 *
 * @example
 * ```ts
 * import { judgeAllowlist, openAllowlistMaterial } from "./verdict.ts";
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
    return verdictFalse(
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
    const r = await checkCandidate(c, { ref, digest, policy, options, verifier, material });
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
    return verdictFalse("IdentityMismatch", `${at}: ${mismatch.message}`, {
      ref,
      generation: allowlist.generation,
      signatures: reports,
    });
  }
  if (reports.length === 0) {
    // Nothing signed to verify (formats.md §6): Unsigned, as the --no-sign warning says.
    return verdictFalse(
      "Unsigned",
      `${at}: no signature found (looked for tag ${
        signatureTag(digest)
      } and ${"Sigstore bundle referrers"}); sign it with kars egress`,
      { ref, generation: allowlist.generation, signatures: reports },
    );
  }
  return verdictFalse(
    "SignatureVerifyFailed",
    `${at}: no valid signature: ${reports.map((r) => `${r.where}: ${r.message}`).join("; ")}`,
    { ref, generation: allowlist.generation, signatures: reports },
  );
}

interface CheckContext {
  ref: AllowlistRefInput;
  digest: Digest;
  policy: SignerPolicy;
  options: VerifyAllowlistOptions;
  verifier: BundleVerifier;
  material: AllowlistMaterial;
}

/** An error of one signature: it makes that signature invalid, never the whole run. */
function isSignatureFault(e: unknown): boolean {
  return !(isKarsError(e) && (e.code === "TRANSIENT" || e.code === "AUTH"));
}

async function checkCandidate(c: Candidate, ctx: CheckContext): Promise<SignatureReport> {
  const where = c.where;
  try {
    let bundle: unknown;
    let artifact: { bytes: Uint8Array } | { digest: Uint8Array };
    let bind: (v: VerifiedSignature) => void;
    if (c.format === "legacy") {
      bundle = legacyLayerToBundle(c.payload, c.annotations);
      artifact = { bytes: c.payload };
      bind = () =>
        checkSimpleSigningPayload(c.payload, {
          digest: ctx.digest,
          registry: ctx.ref.registry,
          repository: ctx.ref.repository,
        });
    } else {
      bundle = c.bundle;
      artifact = { digest: fromHex(digestHex(ctx.digest)) };
      bind = (v) => checkInTotoSubject(bundle, v, ctx.digest);
    }
    return { where, ...(await checkSignature(bundle, artifact, bind, c, ctx)) };
  } catch (e) {
    if (!isSignatureFault(e)) throw e;
    return { where, outcome: "invalid", message: (e as Error).message };
  }
}

function hasCertificate(bundle: unknown): boolean {
  const vm = (bundle as { verificationMaterial?: Record<string, unknown> })?.verificationMaterial;
  return !!vm && (vm.certificate !== undefined || vm.x509CertificateChain !== undefined);
}

function tlogBodies(bundle: unknown): string[] {
  const entries =
    (bundle as { verificationMaterial?: { tlogEntries?: { canonicalizedBody?: unknown }[] } })
      ?.verificationMaterial?.tlogEntries;
  if (!Array.isArray(entries)) return [];
  return entries.map((e) => e?.canonicalizedBody).filter((b): b is string => typeof b === "string");
}

async function checkSignature(
  bundle: unknown,
  artifact: { bytes: Uint8Array } | { digest: Uint8Array },
  bind: (v: VerifiedSignature) => void,
  c: Candidate,
  ctx: CheckContext,
): Promise<Omit<SignatureReport, "where">> {
  const format = c.format;
  const { trustedRoot, now } = ctx.options;
  const base = { trustedRoot, ...(now ? { now } : {}) };
  if (hasCertificate(bundle)) {
    const v = c.format === "legacy"
      ? await ctx.material.verifyLegacyCertificate(c, ctx.verifier, base)
      : await ctx.verifier(bundle, artifact, { ...base, requireTlog: true });
    if (v.kind !== "certificate" || typeof v.san !== "string" || typeof v.issuer !== "string") {
      return {
        outcome: "invalid",
        message: "certificate signature verified without a certificate identity",
      };
    }
    if (v.tlog !== "verified") {
      return {
        outcome: "invalid",
        message: "keyless signature has no verified Rekor entry (SET or inclusion proof)",
      };
    }
    bind(v);
    const signer: SignerIdentity = {
      kind: "keyless",
      san: v.san,
      issuer: v.issuer,
      format,
      id: `keyless:${v.san}`,
    };
    if (matchIdentity(ctx.policy, { san: v.san, issuer: v.issuer })) {
      return { outcome: "accepted", message: `signed by ${v.san} (issuer ${v.issuer})`, signer };
    }
    return {
      outcome: "identity-mismatch",
      message:
        `signer ${v.san} (issuer ${v.issuer}) is not allowed by the SignerPolicy (fulcioIssuers × sanPatterns); update the SignerPolicy or sign with an allowed identity`,
      signer,
    };
  }
  // Key signature: accepted only through a pinned key; tlog optional, but verified if present.
  let lastError: unknown;
  for (const k of ctx.policy.publicKeys) {
    let v: VerifiedSignature;
    try {
      v = await ctx.verifier(bundle, artifact, {
        ...base,
        publicKeys: [k.spki],
        requireTlog: false,
      });
    } catch (e) {
      if (!isSignatureFault(e)) throw e;
      const reason = isKarsError(e) ? e.details?.reason : undefined;
      if (reason !== "SignatureVerifyFailed") {
        // The key matched but something else failed (e.g. a Rekor entry that does not verify).
        return { outcome: "invalid", message: (e as Error).message };
      }
      lastError = e;
      continue;
    }
    bind(v); // a valid signature over something else: refused with the binding's reason
    const signer: SignerIdentity = { kind: "key", keyId: k.keyId, format, id: `key:${k.keyId}` };
    return { outcome: "accepted", message: `signed by pinned key ${k.keyId}`, signer };
  }
  // Not a pinned key: is it a valid signature by a key named in its (verified) Rekor entry?
  for (const body of tlogBodies(bundle)) {
    for (const spki of publicKeysFromRekorBody(body)) {
      if (ctx.policy.publicKeys.some((k) => toHex(k.spki) === toHex(spki))) continue;
      let v: VerifiedSignature;
      try {
        v = await ctx.verifier(bundle, artifact, {
          ...base,
          publicKeys: [spki],
          requireTlog: true,
        });
      } catch (e) {
        if (!isSignatureFault(e)) throw e;
        continue;
      }
      if (v.tlog !== "verified") continue;
      bind(v);
      const id = keyId(spki);
      return {
        outcome: "identity-mismatch",
        message:
          `signed by key ${id}, which is not one of the SignerPolicy publicKeys; add its PEM to publicKeys or sign with a pinned key`,
        signer: { kind: "key", keyId: id, format, id: `key:${id}` },
      };
    }
  }
  return {
    outcome: "invalid",
    message: ctx.policy.publicKeys.length === 0
      ? "key signature (no certificate) and the SignerPolicy has no publicKeys"
      : `signature does not verify with any SignerPolicy publicKeys${
        lastError ? ` (${(lastError as Error).message})` : ""
      }`,
  };
}

/** Options of {@link verifySandbox}: those of {@link verifyAllowlist} without the ref. */
export type VerifySandboxOptions = Omit<VerifyAllowlistOptions, "ref"> & {
  /** Name of the input for messages. */
  source?: string;
};

/**
 * Verifies a KarsSandbox (object) or a GitOps manifest / KarsSandbox YAML (bytes): an
 * inline-only sandbox (no `allowlistRef`) is `False/Unsigned`; a malformed ref `InvalidRef`;
 * otherwise {@link verifyAllowlist} on its `allowlistRef`.
 *
 * @example
 * ```ts
 * import { verifySandbox } from "./verdict.ts";
 * const r = await verifySandbox({ apiVersion: "kars.azure.com/v1alpha1", kind: "KarsSandbox",
 *   metadata: { name: "a" }, spec: { networkPolicy: { allowedEndpoints: [{ host: "x.example" }] } } },
 *   { policy: { reason: "SignerPolicyMissing", message: "none" }, trustedRoot: {} as never });
 * r.condition.reason; // "Unsigned"
 * ```
 */
export async function verifySandbox(
  input: Uint8Array | Record<string, unknown>,
  options: VerifySandboxOptions,
): Promise<VerifyResult> {
  const found = sandboxAllowlistRef(input, options.source ?? "sandbox");
  if ("result" in found) return found.result;
  const { source: _s, ...rest } = options;
  return await verifyAllowlist({ ...rest, ref: found.ref });
}

/**
 * The `allowlistRef` of a KarsSandbox (object) or a GitOps manifest / KarsSandbox YAML
 * (bytes), or the verdict when there is none (`Unsigned`) or it is not an object
 * (`InvalidRef`). Throws `KarsError("INPUT")` when the input is not one KarsSandbox.
 *
 * @example
 * ```ts
 * import { sandboxAllowlistRef } from "./verdict.ts";
 * const r = sandboxAllowlistRef({ kind: "KarsSandbox", spec: {} }, "a.yaml");
 * "result" in r && r.result.condition.reason; // "Unsigned"
 * ```
 */
export function sandboxAllowlistRef(
  input: Uint8Array | Record<string, unknown>,
  source: string,
): { ref: AllowlistRefInput } | { result: VerifyResult } {
  let doc: unknown = input;
  if (input instanceof Uint8Array) {
    let text: string;
    try {
      text = fromUtf8(input);
    } catch {
      throw new KarsError("INPUT", `${source}: not valid UTF-8`);
    }
    const docs = parseYamlDocuments(text, source).filter((d) => d !== null && d !== undefined);
    const sandboxes = docs.filter((d) => (d as { kind?: unknown })?.kind === "KarsSandbox");
    if (sandboxes.length !== 1) {
      throw new KarsError(
        "INPUT",
        `${source}: expected exactly one KarsSandbox document, found ${sandboxes.length}`,
      );
    }
    doc = sandboxes[0];
  }
  const d = doc as { kind?: unknown; spec?: { networkPolicy?: { allowlistRef?: unknown } } };
  if (!d || typeof d !== "object" || d.kind !== "KarsSandbox") {
    throw new KarsError("INPUT", `${source}: not a KarsSandbox`);
  }
  const ref = d.spec?.networkPolicy?.allowlistRef;
  if (ref === undefined || ref === null) {
    return {
      result: verdictFalse(
        "Unsigned",
        `${source}: inline allowlist only (no spec.networkPolicy.allowlistRef); sign it with kars egress --enforce`,
      ),
    };
  }
  if (typeof ref !== "object" || Array.isArray(ref)) {
    return {
      result: verdictFalse(
        "InvalidRef",
        `${source}: spec.networkPolicy.allowlistRef is not an object`,
      ),
    };
  }
  return { ref: ref as AllowlistRefInput };
}
