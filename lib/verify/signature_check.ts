/**
 * Our judgement of one signature found for an allowlist: verified by the Sigstore engine,
 * bound to this digest (and, for legacy, this repository) by the cosign checks of
 * `lib/cosign/`, and its signer matched against the SignerPolicy — keyless by issuer × SAN
 * pattern, key signatures only through a pinned key.
 *
 * @module
 */
import { keyId } from "../cosign/key_id.ts";
import { checkInTotoSubject } from "../cosign/in_toto.ts";
import { checkSimpleSigningPayload } from "../cosign/simple_signing.ts";
import { fromHex, toHex } from "../encoding/bytes.ts";
import { type Digest, digestHex } from "../encoding/digest.ts";
import { isKarsError } from "../errors.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import type { Candidate } from "./discover.ts";
import { publicKeysFromRekorBody } from "./legacy.ts";
import type { AllowlistMaterial } from "./material.ts";
import type { BundleVerifier, VerifyAllowlistOptions } from "./options.ts";
import { matchIdentity, matchKey, type SignerPolicy } from "./policy.ts";
import type { SignatureReport, SignerIdentity } from "./result.ts";
import type { VerifiedSignature } from "./sigstore/mod.ts";

/** What {@link checkSignatureCandidate} judges a signature against. */
export interface CandidateContext {
  /** The reference verified. */
  ref: AllowlistRefInput;
  /** Its manifest digest. */
  digest: Digest;
  /** The SignerPolicy. */
  policy: SignerPolicy;
  /** The verification's options (trust material, time). */
  options: VerifyAllowlistOptions;
  /** The Sigstore engine. */
  verifier: BundleVerifier;
  /** The material (legacy certificate checks are shared through it). */
  material: AllowlistMaterial;
}

/**
 * True when an error belongs to one signature (it makes that signature invalid), false for a
 * fault of the whole run (`TRANSIENT`, `AUTH`).
 *
 * @example
 * ```ts
 * import { isSignatureFault } from "./signature_check.ts";
 * import { KarsError } from "../errors.ts";
 * isSignatureFault(new KarsError("TRANSIENT", "timeout")); // false
 * ```
 */
export function isSignatureFault(e: unknown): boolean {
  return !(isKarsError(e) && (e.code === "TRANSIENT" || e.code === "AUTH"));
}

/**
 * Our outcome for one signature candidate: `accepted`, `identity-mismatch` (valid and bound,
 * signer not allowed) or `invalid`. Throws only faults of the whole run (`TRANSIENT`, `AUTH`).
 *
 * @example
 * ```ts
 * import { checkSignatureCandidate, type CandidateContext } from "./signature_check.ts";
 * import type { Candidate } from "./discover.ts";
 * declare const candidate: Candidate;
 * declare const ctx: CandidateContext;
 * const report = await checkSignatureCandidate(candidate, ctx);
 * report.outcome; // "accepted" | "identity-mismatch" | "invalid"
 * ```
 */
export async function checkSignatureCandidate(
  c: Candidate,
  ctx: CandidateContext,
): Promise<SignatureReport> {
  const where = c.where;
  try {
    let bundle: unknown;
    let artifact: { bytes: Uint8Array } | { digest: Uint8Array };
    let bind: (v: VerifiedSignature) => void;
    if (c.format === "legacy") {
      bundle = ctx.material.legacyBundle(c);
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
  ctx: CandidateContext,
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
  // Only a diagnosis (the verdict is False either way), and the bundle is the pusher's: each
  // distinct key is tried once, at most MAX_DIAGNOSED_KEYS of them.
  for (const spki of diagnosedKeys(bundle, ctx.policy)) {
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
  return {
    outcome: "invalid",
    message: ctx.policy.publicKeys.length === 0
      ? "key signature (no certificate) and the SignerPolicy has no publicKeys"
      : `signature does not verify with any SignerPolicy publicKeys${
        lastError ? ` (${(lastError as Error).message})` : ""
      }`,
  };
}

/** At most this many keys named by a bundle's Rekor entries are tried for the diagnosis. */
const MAX_DIAGNOSED_KEYS = 4;

/** The distinct keys a bundle's Rekor entries name that are not SignerPolicy keys (bounded). */
function diagnosedKeys(bundle: unknown, policy: SignerPolicy): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const body of tlogBodies(bundle)) {
    for (const spki of publicKeysFromRekorBody(body)) {
      const hex = toHex(spki);
      if (seen.has(hex) || matchKey(policy, spki)) continue;
      seen.add(hex);
      out.push(spki);
      if (out.length >= MAX_DIAGNOSED_KEYS) return out;
    }
  }
  return out;
}
