/**
 * The kars controller's verdict, predicted: `AllowlistVerified` as the upstream controller
 * (formats.md §8) would set it for an `allowlistRef`, on the same fetched material as our
 * own verdict ({@link verifyBoth}: one discovery, two judgements).
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
import {
  ANNOTATION_CERTIFICATE,
  ANNOTATION_REKOR_BUNDLE,
  signatureTag,
} from "../cosign/vocabulary.ts";
import { fromUtf8, toHex } from "../encoding/bytes.ts";
import { type Digest, isDigest } from "../encoding/digest.ts";
import { isKarsError, KarsError } from "../errors.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../oci/artifact.ts";
import type { Endpoint } from "../allowlist/canonical.ts";
import { parseYamlDocuments } from "../encoding/yaml_read.ts";
import { falseCondition, unknownCondition, verifiedCondition } from "./conditions.ts";
import { type VerdictCache, verdictCacheKey } from "./cache.ts";
import type { Candidate } from "./discover.ts";
import { isPolicyError, type SignerPolicy } from "./policy.ts";
import { compileSanPattern, type SanMatcher, sanRegexEngineLoaded } from "./san_match.ts";
import { quoteForMessage } from "../encoding/quote.ts";
import { productionTrustedRoot, type TrustedRoot, verifyBundle } from "./sigstore/mod.ts";
import {
  type AllowlistMaterial,
  type AllowlistRefInput,
  judgeAllowlist,
  openAllowlistMaterial,
  preflightAllowlist,
  resultFromError,
  sandboxAllowlistRef,
  type SignatureReport,
  type SignerIdentity,
  type VerifyAllowlistOptions,
  type VerifyResult,
  type VerifySandboxOptions,
} from "./verdict.ts";

/** Both verdicts on one artifact. */
export interface BothVerdicts {
  /** Our verdict ({@link verifyAllowlist} of `verdict.ts`). */
  ours: VerifyResult;
  /** The kars controller's verdict, predicted. */
  controller: VerifyResult;
}

const CONTROLLER_CACHE_PREFIX = "controller:";

function verdictFalse(
  reason: Parameters<typeof falseCondition>[0],
  message: string,
  extra: Partial<VerifyResult> = {},
): VerifyResult {
  return { condition: falseCondition(reason, message), verdict: true, signatures: [], ...extra };
}

function withNotes(r: VerifyResult, notes: string[]): VerifyResult {
  return notes.length === 0 ? r : { ...r, notes: [...(r.notes ?? []), ...notes] };
}

// ---- the regular-expression engine (one call, swappable) ---------------------------------

/**
 * True when `regex` matches somewhere in `text` (unanchored search, as Rust's
 * `Regex::is_match`). The one place the controller profile runs a regular expression.
 */
function regexFind(regex: string, text: string): boolean {
  let m = regexCache.get(regex);
  if (m === undefined) {
    try {
      // re2js (RE2 = the Rust regex crate's syntax), linear in the SAN: the SAN is chosen by
      // the signer, so no backtracking engine may see it.
      m = compileSanPattern(`re:${regex}`, { anchored: false });
    } catch {
      if (!sanRegexEngineLoaded()) return false; // never reached: the policy loaded it
      m = null; // an expression that does not compile matches nothing
    }
    if (regexCache.size >= 1000) regexCache.clear();
    regexCache.set(regex, m);
  }
  return m !== null && m.test(text);
}

const regexCache = new Map<string, SanMatcher | null>();

// ---- SAN patterns as the controller reads them --------------------------------------------

/** How the controller reads one SAN pattern. */
export type ControllerPatternKind = "uri-exact" | "email-exact" | "email-regex";

/**
 * The controller's reading of a SAN pattern: `http(s)://…` is an exact URI, `re:…` an
 * unanchored regex over email SANs, anything else an exact email.
 *
 * @example
 * ```ts
 * import { controllerPatternKind } from "./controller.ts";
 * controllerPatternKind("https://github.com/acme/*"); // "uri-exact"
 * controllerPatternKind("re:@acme\\.example$"); // "email-regex"
 * ```
 */
export function controllerPatternKind(pattern: string): ControllerPatternKind {
  if (pattern.startsWith("https://") || pattern.startsWith("http://")) return "uri-exact";
  if (pattern.startsWith("re:")) return "email-regex";
  return "email-exact";
}

/**
 * True when a certificate SAN is an email address (an rfc822Name), not a URI.
 *
 * @example
 * ```ts
 * import { isEmailSan } from "./controller.ts";
 * isEmailSan("dev@acme.example"); // true
 * isEmailSan("https://github.com/acme/x/.github/workflows/a.yml@refs/heads/main"); // false
 * ```
 */
export function isEmailSan(san: string): boolean {
  return !san.includes(":") && /^[^@\s]+@[^@\s]+$/.test(san);
}

/**
 * True when the controller's reading of `pattern` accepts `san`.
 *
 * @example
 * ```ts
 * import { controllerSanMatches } from "./controller.ts";
 * const san = "https://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/main";
 * controllerSanMatches(san, san); // true
 * controllerSanMatches("https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main", san); // false
 * controllerSanMatches("re:@acme\\.example", "dev@acme.example.org"); // true (unanchored)
 * ```
 */
export function controllerSanMatches(pattern: string, san: string): boolean {
  switch (controllerPatternKind(pattern)) {
    case "uri-exact":
      return !isEmailSan(san) && san === pattern;
    case "email-regex":
      return isEmailSan(san) && regexFind(pattern.slice(3), san);
    default:
      return isEmailSan(san) && san === pattern;
  }
}

/**
 * True when the controller accepts the identity: issuer listed (exact) and SAN matched by
 * one pattern under the controller's reading.
 *
 * @example
 * ```ts
 * import { controllerMatchIdentity } from "./controller.ts";
 * import { signerPolicyFromEnv } from "./policy.ts";
 * const policy = signerPolicyFromEnv({
 *   KARS_SIGNER_FULCIO_ISSUERS: "https://token.actions.githubusercontent.com",
 *   KARS_SIGNER_SAN_PATTERNS: "https://github.com/acme/*",
 * });
 * controllerMatchIdentity(policy, { san: "https://github.com/acme/x",
 *   issuer: "https://token.actions.githubusercontent.com" }); // false: the glob is literal there
 * ```
 */
export function controllerMatchIdentity(
  policy: SignerPolicy,
  id: { san: string; issuer: string },
): boolean {
  if (!policy.fulcioIssuers.includes(id.issuer)) return false;
  return policy.sanPatterns.some((p) => controllerSanMatches(p.source, id.san));
}

// ---- trust material ------------------------------------------------------------------------

function rootFingerprints(root: TrustedRoot): { cas: Set<string>; logs: Set<string> } {
  const cas = new Set<string>();
  for (const ca of root.certificateAuthorities ?? []) {
    for (const c of ca.certChain ?? []) cas.add(toHex(c.raw));
  }
  const logs = new Set<string>((root.tlogs ?? []).map((t) => toHex(t.logId)));
  return { cas, logs };
}

/**
 * True when `root` trusts nothing beyond the Sigstore public-good root embedded here (every
 * Fulcio certificate and Rekor log it lists is a public-good one), as the kars controller does.
 *
 * @example
 * ```ts
 * import { isPublicGoodRoot } from "./controller.ts";
 * import { productionTrustedRoot } from "./sigstore/mod.ts";
 * isPublicGoodRoot(productionTrustedRoot()); // true
 * ```
 */
export function isPublicGoodRoot(root: TrustedRoot): boolean {
  const prod = productionTrustedRoot();
  if (root === prod) return true;
  try {
    const a = rootFingerprints(root);
    const b = rootFingerprints(prod);
    return [...a.cas].every((x) => b.cas.has(x)) && [...a.logs].every((x) => b.logs.has(x));
  } catch {
    return false;
  }
}

/** The note added when the trust material is not the public-good root. */
export const TRUST_ROOT_NOTE =
  "the trust material used differs from the Sigstore public-good root the kars controller trusts: " +
  "there, certificates from another Fulcio or entries from another Rekor are refused " +
  "(IdentityMismatch)";

function trustNotes(root: TrustedRoot): string[] {
  return isPublicGoodRoot(root) ? [] : [TRUST_ROOT_NOTE];
}

// ---- the controller's canonical-form check ------------------------------------------------

/**
 * Checks allowlist bytes the way the controller does (formats.md §8): no `\r`, final `\n`,
 * no comment lines, keys apiVersion/kind/metadata/spec in order, `metadata.generation` an
 * integer > 0 (`metadata.name` ignored), endpoints `{host, port}` exactly, host
 * `[a-z0-9.-]` without a trailing dot, port 1–65535, strictly sorted, `[]` accepted;
 * indentation is not checked. Throws `KarsError("VERIFY")` with `details.reason`
 * `CanonicalFormViolation`.
 *
 * @example
 * ```ts
 * import { controllerCanonicalAllowlist } from "./controller.ts";
 * const text = "apiVersion: kars.dev/v1alpha1\nkind: EgressAllowlist\nmetadata:\n  generation: 1\nspec:\n  endpoints: []\n";
 * controllerCanonicalAllowlist(new TextEncoder().encode(text)).endpoints.length; // 0
 * ```
 */
export function controllerCanonicalAllowlist(
  bytes: Uint8Array,
): { generation: number; endpoints: Endpoint[] } {
  const fail = (why: string): never => {
    throw new KarsError(
      "VERIFY",
      `allowlist is not in the form the kars controller accepts: ${why}`,
      {
        details: { reason: "CanonicalFormViolation", problem: why },
      },
    );
  };
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    return fail("not valid UTF-8");
  }
  if (text.includes("\r")) fail("contains a carriage return");
  if (!text.endsWith("\n")) fail("does not end with a newline");
  if (text.split("\n").some((l) => l.trimStart().startsWith("#"))) fail("has a comment line");
  let docs: unknown[];
  try {
    docs = parseYamlDocuments(text, "allowlist");
  } catch (e) {
    return fail(`not YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (docs.length !== 1) fail(`expected one YAML document, found ${docs.length}`);
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const doc = docs[0];
  if (!isObj(doc)) return fail("not a mapping");
  const keys = Object.keys(doc).join(",");
  if (keys !== "apiVersion,kind,metadata,spec") {
    fail(`top-level keys are ${keys}, expected apiVersion,kind,metadata,spec in this order`);
  }
  if (doc.apiVersion !== "kars.dev/v1alpha1") fail("apiVersion is not kars.dev/v1alpha1");
  if (doc.kind !== "EgressAllowlist") fail("kind is not EgressAllowlist");
  const meta = doc.metadata;
  if (!isObj(meta)) return fail("metadata is not a mapping");
  const generation = meta.generation;
  if (typeof generation !== "number" || !Number.isSafeInteger(generation) || generation < 1) {
    fail("metadata.generation is not an integer > 0");
  }
  const spec = doc.spec;
  if (!isObj(spec) || !Array.isArray(spec.endpoints)) return fail("spec.endpoints is not a list");
  const endpoints: Endpoint[] = [];
  (spec.endpoints as unknown[]).forEach((e, i) => {
    const where = `spec.endpoints[${i}]`;
    if (!isObj(e) || Object.keys(e).join(",") !== "host,port") {
      fail(`${where} must have exactly host then port`);
    }
    const { host, port } = e as { host: unknown; port: unknown };
    if (
      typeof host !== "string" || host === "" || !/^[a-z0-9.-]+$/.test(host) || host.endsWith(".")
    ) {
      fail(`${where}.host ${JSON.stringify(host)} is not [a-z0-9.-] without a trailing dot`);
    }
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
      fail(`${where}.port is not an integer 1-65535`);
    }
    const ep = { host: host as string, port: port as number };
    const prev = endpoints[endpoints.length - 1];
    if (prev && (prev.host > ep.host || (prev.host === ep.host && prev.port >= ep.port))) {
      fail(`${where} is not strictly after the previous entry (sorted by host, port)`);
    }
    endpoints.push(ep);
  });
  return { generation: generation as number, endpoints };
}

// ---- the judgement ------------------------------------------------------------------------

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

type PreControllerResult = { result: VerifyResult } | { policy: SignerPolicy };

function preflightController(options: VerifyAllowlistOptions): PreControllerResult {
  const { ref, policy } = options;
  const refObj = ref && typeof ref === "object" ? { ref } : {};
  if (isPolicyError(policy) && policy.reason === "SignerPolicyMalformed") {
    return { result: verdictFalse(policy.reason, policy.message, refObj) };
  }
  const problem = controllerRefProblem(ref);
  if (problem !== undefined) return { result: verdictFalse("InvalidRef", problem, refObj) };
  if (isPolicyError(policy)) return { result: verdictFalse(policy.reason, policy.message, refObj) };
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
 * verification problems. To get both verdicts from one fetch, use {@link verifyBoth}.
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
  const key = CONTROLLER_CACHE_PREFIX + verdictCacheKey(options.ref, pre.policy.hash);
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
 * Both verdicts — ours and the controller's prediction — from one fetch of the artifact and
 * its signatures. The cache (when given) holds each verdict under its own key.
 *
 * @example
 * ```ts
 * import { verifyBoth } from "./controller.ts";
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
  const oursKey = "policy" in preOurs ? verdictCacheKey(options.ref, preOurs.policy.hash) : "";
  const ctlKey = "policy" in preCtl
    ? CONTROLLER_CACHE_PREFIX + verdictCacheKey(options.ref, preCtl.policy.hash)
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
    return verdictFalse(
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
    return verdictFalse("CanonicalFormViolation", `${at}: the manifest is not JSON`, {
      ref,
      signatures: reports,
    });
  }
  const layers = Array.isArray(m?.layers) ? m.layers as Record<string, unknown>[] : [];
  if (layers.length === 0 || layers.some((l) => l?.mediaType !== ALLOWLIST_MEDIA_TYPE)) {
    return verdictFalse(
      "CanonicalFormViolation",
      `${at}: the manifest's layers are not all of type ${ALLOWLIST_MEDIA_TYPE}`,
      { ref, signatures: reports },
    );
  }
  const layer = layers[0];
  if (!isDigest(layer.digest) || !Number.isSafeInteger(layer.size)) {
    return verdictFalse("CanonicalFormViolation", `${at}: the layer descriptor is malformed`, {
      ref,
      signatures: reports,
    });
  }
  const bytes = await material.layer(layer.digest as Digest, layer.size as number);
  let allowlist: { generation: number; endpoints: Endpoint[] };
  try {
    allowlist = controllerCanonicalAllowlist(bytes);
  } catch (e) {
    return verdictFalse("CanonicalFormViolation", `${at}: ${(e as Error).message}`, {
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

/** Why the controller refuses a bundle-only signature. */
export const LEGACY_ONLY = "the kars controller reads only the legacy .sig signatures";
/** Why the controller refuses a keyless signature without a Rekor bundle. */
export const REKOR_REQUIRED = "the kars controller requires one";
/** The fix for a SAN the controller reads differently. */
export const EXACT_SAN_FIX = "list the exact SAN";

/** Why the controller refuses a key signature. */
export const KEYLESS_ONLY =
  "the kars controller accepts only keyless signatures (a Fulcio certificate with a Rekor entry); " +
  "key and KMS signatures, and the SignerPolicy publicKeys, are ignored there";

async function controllerCheckCandidate(
  c: Candidate,
  material: AllowlistMaterial,
  policy: SignerPolicy,
  options: VerifyAllowlistOptions,
): Promise<SignatureReport> {
  const digest = material.digest;
  const where = c.where;
  if (c.format !== "legacy") {
    return {
      where,
      outcome: "invalid",
      message: `a Sigstore bundle (referrer); ${LEGACY_ONLY}`,
    };
  }
  const a = c.annotations;
  if (!a[ANNOTATION_CERTIFICATE]?.trim()) {
    return { where, outcome: "invalid", message: `a key signature; ${KEYLESS_ONLY}` };
  }
  if (!a[ANNOTATION_REKOR_BUNDLE]?.trim()) {
    return {
      where,
      outcome: "invalid",
      message: `keyless signature without a Rekor bundle; ${REKOR_REQUIRED}`,
    };
  }
  const verifier = options.verifier ?? verifyBundle;
  try {
    const v = await material.verifyLegacyCertificate(c, verifier, {
      trustedRoot: options.trustedRoot,
      ...(options.now ? { now: options.now } : {}),
    });
    if (v.kind !== "certificate" || typeof v.san !== "string" || typeof v.issuer !== "string") {
      return { where, outcome: "invalid", message: "no certificate identity" };
    }
    if (v.tlog !== "verified") {
      return { where, outcome: "invalid", message: "no verified Rekor entry" };
    }
    payloadDigestCheck(c.payload, digest);
    const signer: SignerIdentity = {
      kind: "keyless",
      san: v.san,
      issuer: v.issuer,
      format: "legacy",
      id: `keyless:${v.san}`,
    };
    if (controllerMatchIdentity(policy, { san: v.san, issuer: v.issuer })) {
      return {
        where,
        outcome: "accepted",
        message: `signed by ${v.san} (issuer ${v.issuer})`,
        signer,
      };
    }
    return {
      where,
      outcome: "identity-mismatch",
      message:
        `signer ${v.san} (issuer ${v.issuer}) is not accepted under the controller's reading ` +
        `of the SignerPolicy (${identityHint(policy, v.san, v.issuer)})`,
      signer,
    };
  } catch (e) {
    if (isKarsError(e) && (e.code === "TRANSIENT" || e.code === "AUTH")) throw e;
    return { where, outcome: "invalid", message: (e as Error).message };
  }
}

function identityHint(policy: SignerPolicy, san: string, issuer: string): string {
  if (!policy.fulcioIssuers.includes(issuer)) return `issuer ${issuer} is not in fulcioIssuers`;
  const ours = policy.sanPatterns.find((p) => p.test(san));
  if (ours) {
    const kind = controllerPatternKind(ours.source);
    const reading = kind === "uri-exact"
      ? "an exact string there (no globs)"
      : kind === "email-regex"
      ? "a regular expression over email SANs only there"
      : "an exact email there";
    return `our reading matches it through ${quoteForMessage(ours.source)}, which is ${reading}; ` +
      `${EXACT_SAN_FIX} ${quoteForMessage(san)}`;
  }
  return "no sanPatterns entry names it";
}

function payloadDigestCheck(payload: Uint8Array, digest: Digest): void {
  let p: { critical?: { image?: { "docker-manifest-digest"?: unknown } } };
  try {
    p = JSON.parse(fromUtf8(payload));
  } catch {
    throw new KarsError("VERIFY", "signature payload is not JSON");
  }
  const d = p?.critical?.image?.["docker-manifest-digest"];
  if (d !== digest) {
    throw new KarsError("VERIFY", `signature is over ${JSON.stringify(d)}, not over ${digest}`);
  }
}

/**
 * Both verdicts for a KarsSandbox or GitOps manifest (see `verifySandbox`): an inline-only
 * sandbox is `Unsigned` for both; a non-object `allowlistRef` is `InvalidRef` (for the
 * controller after a malformed SignerPolicy, in its check order).
 *
 * @example
 * ```ts
 * import { verifySandboxBoth } from "./controller.ts";
 * const r = await verifySandboxBoth({ kind: "KarsSandbox", spec: {} },
 *   { policy: { reason: "SignerPolicyMissing", message: "none" }, trustedRoot: {} as never });
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
    ? verdictFalse(policy.reason, policy.message)
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
 * import { decide } from "./controller.ts";
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

/** What to do about a controller refusal. */
export type ControllerFix = "keyless" | "legacy-format" | "rekor" | "exact-san" | "issuer";

/**
 * The fixes a controller `False` verdict calls for, read from its per-signature outcomes:
 * sign keylessly, sign in the legacy `.sig` format, keep the Rekor entry, list exact SANs, or
 * list the issuer.
 *
 * @example
 * ```ts
 * import { controllerFixes } from "./controller.ts";
 * import { falseCondition } from "./conditions.ts";
 * controllerFixes({ condition: falseCondition("IdentityMismatch", "x"), verdict: true,
 *   signatures: [{ where: "l0", outcome: "invalid", message: "a key signature" }] }); // []
 * ```
 */
export function controllerFixes(r: VerifyResult): ControllerFix[] {
  const out = new Set<ControllerFix>();
  if (r.condition.status !== "False" || r.condition.reason !== "IdentityMismatch") return [];
  for (const s of r.signatures) {
    if (s.message.includes(KEYLESS_ONLY)) out.add("keyless");
    else if (s.message.includes(LEGACY_ONLY)) out.add("legacy-format");
    else if (s.message.includes(REKOR_REQUIRED)) out.add("rekor");
    else if (s.outcome === "identity-mismatch") {
      out.add(s.message.includes("is not in fulcioIssuers") ? "issuer" : "exact-san");
    }
  }
  if (r.signatures.length === 0) out.add("keyless");
  return [...out];
}

/**
 * The signing-time warning for a key or KMS signer (`keyRef`: a key file path or an
 * `azurekms://` URI): the kars controller refuses such signatures.
 *
 * @example
 * ```ts
 * import { controllerSignerWarning } from "./controller.ts";
 * controllerSignerWarning("cosign.key").includes("keyless"); // true
 * ```
 */
export function controllerSignerWarning(keyRef: string): string {
  const what = keyRef.startsWith("azurekms://") ? "an Azure Key Vault key" : "a key file";
  return `⚠ signing with ${what}: the kars controller accepts only keyless signatures, so a ` +
    "cluster will refuse this artifact (AllowlistVerified=False/IdentityMismatch) whatever the " +
    "SignerPolicy says; sign keylessly (an OIDC identity through Fulcio, with a Rekor entry) " +
    "and list that identity's exact SAN in the SignerPolicy";
}

/** The signing-time warning for a bundle-only signature (the controller reads `.sig` only). */
export const CONTROLLER_FORMAT_WARNING =
  "⚠ storing only a Sigstore bundle: the kars controller reads only the legacy " +
  "sha256-<hex>.sig signatures, so a cluster will refuse this artifact " +
  "(AllowlistVerified=False/IdentityMismatch); store the legacy format too";
