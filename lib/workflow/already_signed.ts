/**
 * Idempotent signing: before a run signs an allowlist, it looks at the signatures already
 * attached to the digest (legacy `.sig` layers and bundle referrers). A format counts as
 * already signed when one of its signatures verifies — with the trust root the run would sign
 * against, bound to the same `<registry>/<repository>` and digest — and was made by the same
 * signer identity:
 *
 * - key file: the same public key (its fingerprint);
 * - KMS: the same key version's public key (the pinned version, else the current one);
 * - keyless: the SAN and issuer the identity token will yield (predicted from its claims,
 *   before Fulcio is contacted).
 *
 * The check is the verifier itself (`verifyAllowlist`) run against a SignerPolicy that admits
 * only that identity, so "already signed" never accepts what verification would refuse.
 *
 * @module
 */
import { pemEncode } from "../encoding/pem.ts";
import { signatureTag } from "../cosign/vocabulary.ts";
import { type Digest, isDigest } from "../encoding/digest.ts";
import { isKarsError } from "../errors.ts";
import { BUNDLE_V03_MEDIA_TYPE } from "../verify/discover.ts";
import type { Descriptor, FetchedManifest, Target } from "../oci/types.ts";
import type { ExpectedSigner } from "../sign/signer.ts";
import { exactSanPattern, type SignerPolicy } from "../verify/policy.ts";
import { parsePublicKeys } from "../verify/policy_keys.ts";
import type { TrustedRoot } from "../verify/sigstore/mod.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import { verifyAllowlist } from "../verify/verdict.ts";

/** Signature layouts. */
export type SignatureLayout = "legacy" | "bundle";

/** What {@link findOwnSignatures} found. */
export interface OwnSignatures {
  /** Layouts in which a valid signature by the expected signer is already attached. */
  formats: SignatureLayout[];
  /** The signer id as the verifier reports it (`keyless:<SAN>`, `key:<id>`), when found. */
  identity?: string;
}

/**
 * A SignerPolicy that admits exactly one signer.
 *
 * @example
 * ```ts
 * import { policyForSigner } from "./already_signed.ts";
 * const p = policyForSigner({ kind: "keyless", san: "a@example.com", issuer: "https://i.example" });
 * p.fulcioIssuers; // ["https://i.example"]
 * ```
 */
export function policyForSigner(expected: ExpectedSigner): SignerPolicy {
  if (expected.kind === "key") {
    return {
      fulcioIssuers: [],
      sanPatterns: [],
      publicKeys: parsePublicKeys(pemEncode("PUBLIC KEY", expected.spkiDer), "signing key"),
      source: "configmap",
      hash: "sha256:idempotent-signing-key",
    };
  }
  return {
    fulcioIssuers: [expected.issuer],
    sanPatterns: [exactSanPattern(expected.san)],
    publicKeys: [],
    source: "configmap",
    hash: "sha256:idempotent-signing-keyless",
  };
}

/**
 * Which of the requested layouts already carry a valid signature by `expected` on `ref`.
 * Never throws for registry faults: a fault means "not known to be signed" (the run signs).
 *
 * @example
 * ```ts
 * import { findOwnSignatures } from "./already_signed.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * import { productionTrustedRoot } from "../verify/sigstore/mod.ts";
 * const found = await findOwnSignatures({
 *   target: new MemoryTarget(),
 *   ref: { registry: "r.example", repository: "p", digest: "sha256:" + "0".repeat(64),
 *     artifactType: "application/vnd.kars.egress-allowlist.v1+yaml" },
 *   expected: { kind: "keyless", san: "a@example.com", issuer: "https://i.example" },
 *   trustedRoot: productionTrustedRoot(),
 *   formats: ["legacy"],
 * });
 * found.formats; // []
 * ```
 */
export async function findOwnSignatures(opts: {
  target: Target;
  ref: AllowlistRefInput;
  expected: ExpectedSigner;
  trustedRoot: TrustedRoot;
  formats: readonly SignatureLayout[];
}): Promise<OwnSignatures> {
  const formats: SignatureLayout[] = [];
  let identity: string | undefined;
  // The lookup writes nothing: the `.sig` tag its first look resolved is what the verifier's
  // discovery would resolve a moment later, so the discovery reuses it (one HEAD, not two).
  const target = lookupView(opts.target);
  // One verification per layout, each seeing only that layout's signatures (the verifier
  // stops at the first accepted signature).
  for (const format of opts.formats) {
    // Cheap first look (one request): nothing in this layout, nothing to verify. A fresh push
    // then costs a HEAD of the .sig tag, not a manifest and blob fetch.
    if (!(await anySignature(target, opts.ref.digest as Digest, format))) continue;
    const result = await verifyAllowlist({
      ref: opts.ref,
      target: layoutView(target, format),
      policy: policyForSigner(opts.expected),
      trustedRoot: opts.trustedRoot,
    });
    const s = result.condition.status === "True" ? result.signer : undefined;
    if (
      !s || s.format !== format || (s.kind === "keyless") !== (opts.expected.kind === "keyless")
    ) {
      continue;
    }
    formats.push(format);
    identity ??= s.id;
  }
  return { formats, identity };
}

/** Whether `t` holds anything in this signature layout for `digest` (faults: assume so). */
async function anySignature(t: Target, digest: Digest, format: SignatureLayout): Promise<boolean> {
  try {
    if (format === "legacy") return (await t.resolve(signatureTag(digest))) !== null;
    return (await t.referrers(digest, BUNDLE_V03_MEDIA_TYPE)).length > 0;
  } catch (e) {
    return !isKarsError(e, "NOT_FOUND");
  }
}

/**
 * A read-only view of `t` for one lookup: each tag is resolved at most once (the lookup's
 * first look and the verifier's discovery see the same answer); writes are refused.
 *
 * A tag is resolved with one GET rather than a HEAD: the discovery that follows a found tag
 * fetches that very manifest, so the GET's bytes (checked against the digest computed from
 * them) answer its fetch, and a repeat run costs one request less. A GET refused for what it
 * returned (too large, a digest mismatch, an odd media type) falls back to the HEAD, whose
 * answer the lookup had before; a transient fault or refused credentials are passed on as they
 * are (the GET already spent its retries: a HEAD would only repeat them).
 */
function lookupView(t: Target): Target {
  const resolved = new Map<string, Promise<Descriptor | null>>();
  const fetched = new Map<string, FetchedManifest>();
  const byGet = async (r: string): Promise<Descriptor | null> => {
    if (isDigest(r)) return await t.resolve(r);
    let m: FetchedManifest;
    try {
      m = await t.fetchManifest(r);
    } catch (e) {
      if (isKarsError(e, "NOT_FOUND")) return null;
      if (isKarsError(e, "TRANSIENT") || isKarsError(e, "AUTH")) throw e;
      return await t.resolve(r);
    }
    fetched.set(m.descriptor.digest, m);
    return m.descriptor;
  };
  return {
    ...layoutView(t, "both"),
    resolve: (r) => {
      let p = resolved.get(r);
      if (!p) {
        p = byGet(r);
        resolved.set(r, p);
        p.catch(() => resolved.delete(r)); // a fault is not remembered
      }
      return p.then((d) => d && { ...d });
    },
    fetchManifest: (r) => {
      const m = fetched.get(r);
      if (!m) return t.fetchManifest(r);
      return Promise.resolve({ descriptor: { ...m.descriptor }, bytes: m.bytes.slice() });
    },
  };
}

/** A read-only view of `t` in which only one signature layout is visible. */
function layoutView(t: Target, only: SignatureLayout | "both"): Target {
  const readOnly = () => Promise.reject(new Error("read-only view"));
  return {
    location: t.location,
    blobExists: (d) => t.blobExists(d),
    fetchBlob: (d, size) => t.fetchBlob(d, size),
    pushBlob: readOnly,
    resolve: (r) => only === "bundle" && r.endsWith(".sig") ? Promise.resolve(null) : t.resolve(r),
    fetchManifest: (r) => t.fetchManifest(r),
    pushManifest: readOnly,
    tag: readOnly,
    listTags: () => t.listTags(),
    referrers: (d, a) => only === "legacy" ? Promise.resolve([]) : t.referrers(d, a),
  };
}
