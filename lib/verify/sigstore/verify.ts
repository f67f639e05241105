/**
 * `verifyBundle`: verification of a Sigstore bundle against trust material, with all
 * cryptography in pure TypeScript (noble curves and hashes, BigInt RSA), so it runs
 * unchanged on Deno, Node, Bun and edge runtimes.
 *
 * What is checked, in order (each failure throws `KarsError("VERIFY")` with
 * `details.reason`, see `fail.ts`):
 * 1. the bundle's form and version (`CanonicalFormViolation`);
 * 2. the artifact: message digest hint equals the artifact's SHA-256, or for DSSE the
 *    artifact is a subject of the in-toto statement (`SignatureVerifyFailed`);
 * 3. the signature over the artifact / DSSE PAE with the certificate's key or one of the
 *    accepted public keys (`SignatureVerifyFailed`);
 * 4. every tlog entry: body matches the bundle, SET, inclusion proof and checkpoint
 *    (`TlogInvalid`); at least one entry unless `requireTlog: false`;
 * 5. every RFC 3161 timestamp: imprint, TSA signature and chain in the trusted root at its
 *    time (`TimestampInvalid`);
 * 6. for certificates: at least one verified time (SET integrated time or TSA time); at every
 *    verified time the leaf is valid and chains to a Fulcio CA valid at that time; code
 *    signing EKU; at least one SCT verified against a CT log (`CertificateInvalid`);
 * 7. the expected identity, exact SAN and OIDC issuer (`IdentityMismatch`).
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesEqual } from "../../encoding/bytes.ts";
import { KarsError } from "../../errors.ts";
import { parseBundle, type ParsedBundle } from "./bundle.ts";
import { IN_TOTO_PAYLOAD_TYPE, inTotoSubjectDigests, preAuthEncoding } from "./dsse.ts";
import { verifyError } from "./fail.ts";
import {
  defaultHash,
  hash,
  keyIdOf,
  parseSpki,
  type PublicKey,
  verifyDigest,
  verifyMessage,
} from "./keys.ts";
import { verifyTimestamp } from "./rfc3161.ts";
import { verifiedSctCount } from "./sct.ts";
import { type LoggedSignature, type VerifiedEntry, verifyTlogEntry } from "./tlog.ts";
import { type CertificateAuthority, inRange, type TrustedRoot } from "./trust_root.ts";
import {
  type Certificate,
  extKeyUsages,
  fulcioIssuer,
  isCA,
  isIssuedBy,
  subjectAltNames,
  validAt,
  X509_OID,
} from "./x509.ts";

/** The artifact: its bytes, or only its SHA-256 digest. */
export type ArtifactInput = { bytes: Uint8Array } | { digest: Uint8Array };

/** Options of {@link verifyBundle}. */
export interface VerifyBundleOptions {
  /** Trust material (Fulcio CAs, Rekor logs, CT logs, TSAs). */
  trustedRoot: TrustedRoot;
  /** Accepted key signers, SPKI DER (for bundles signed with a key). */
  publicKeys?: Uint8Array[];
  /** Expected certificate identity, exact match (for certificate bundles). */
  identity?: { san: string; issuer: string };
  /** Require at least one tlog entry (default true). Entries present are always verified. */
  requireTlog?: boolean;
  /** The current time (default: now); times later than this plus 5 minutes are refused. */
  now?: Date;
}

/** What a successful verification established. */
export interface VerifiedSignature {
  /** Signed with a Fulcio certificate or with a key. */
  kind: "certificate" | "key";
  /** Certificate SAN (the first one). */
  san?: string;
  /** Certificate OIDC issuer. */
  issuer?: string;
  /** First 16 hex digits of SHA-256 of the signing key's SPKI DER. */
  keyId?: string;
  /** Earliest verified signing time. */
  signedAt?: Date;
  /** Whether a tlog entry was verified. */
  tlog: "verified" | "absent";
  /** Every verified time (SET integrated times, then RFC 3161 times). */
  timestamps: Date[];
  /** The DSSE payload, for DSSE bundles. */
  payload?: Uint8Array;
}

const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

function fail(reason: Parameters<typeof verifyError>[0], message: string): never {
  throw verifyError(reason, message);
}

function artifactDigest(artifact: ArtifactInput): Uint8Array {
  if ("bytes" in artifact) return sha256(artifact.bytes);
  if (!(artifact.digest instanceof Uint8Array) || artifact.digest.length !== 32) {
    throw new KarsError("INPUT", "artifact digest must be a 32-byte SHA-256 digest");
  }
  return artifact.digest;
}

function checkContent(b: ParsedBundle, artifact: ArtifactInput, digest: Uint8Array): void {
  const c = b.content;
  if (c.kind === "message") {
    const md = c.messageDigest;
    if (!md) return;
    const algs: Record<string, "sha256" | "sha384" | "sha512"> = {
      SHA2_256: "sha256",
      SHA2_384: "sha384",
      SHA2_512: "sha512",
    };
    const alg = algs[md.algorithm];
    if (!alg) fail("Unsupported", `bundle: unsupported messageDigest algorithm ${md.algorithm}`);
    let expected: Uint8Array;
    if (alg === "sha256") expected = digest;
    else if ("bytes" in artifact) expected = hash(alg, artifact.bytes);
    else {fail(
        "Unsupported",
        `bundle: a ${md.algorithm} messageDigest needs the artifact, not its digest`,
      );}
    if (!bytesEqual(md.digest, expected)) {
      fail("SignatureVerifyFailed", "bundle: messageDigest does not match the artifact's digest");
    }
    return;
  }
  if (c.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    fail("Unsupported", `bundle: DSSE payloadType ${c.payloadType} is not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  let subjects: Uint8Array[];
  try {
    subjects = inTotoSubjectDigests(c.payload);
  } catch (e) {
    throw verifyError("SignatureVerifyFailed", `bundle: DSSE payload: ${(e as Error).message}`, e);
  }
  if (!subjects.some((s) => bytesEqual(s, digest))) {
    fail("SignatureVerifyFailed", "bundle: the artifact is not a subject of the in-toto statement");
  }
}

function signatureVerifies(
  b: ParsedBundle,
  key: PublicKey,
  artifact: ArtifactInput,
  digest: Uint8Array,
  pae: Uint8Array | undefined,
): boolean {
  const c = b.content;
  if (c.kind === "dsse") return verifyMessage(key, defaultHash(key), pae!, c.signature);
  if ("bytes" in artifact) return verifyMessage(key, defaultHash(key), artifact.bytes, c.signature);
  if (defaultHash(key) !== "sha256") {
    fail(
      "Unsupported",
      `a ${key.algorithm} message signature can only be verified with the artifact, not its digest`,
    );
  }
  return verifyDigest(key, "sha256", digest, c.signature);
}

/**
 * Signatures between a trust root's own certificates (an intermediate by its root, a root by
 * itself), checked once per pair of parsed certificate objects: they are trust material, the
 * same for every verdict under that root. The leaf's signature is checked every time.
 */
const caSignatures = new WeakMap<Certificate, WeakMap<Certificate, boolean>>();

function caIssuedBy(cert: Certificate, issuer: Certificate): boolean {
  let byIssuer = caSignatures.get(cert);
  if (!byIssuer) caSignatures.set(cert, byIssuer = new WeakMap());
  let ok = byIssuer.get(issuer);
  if (ok === undefined) byIssuer.set(issuer, ok = isIssuedBy(cert, issuer));
  return ok;
}

function chainsAt(leaf: Certificate, ca: CertificateAuthority, t: Date): boolean {
  if (!inRange(ca.validFor, t)) return false;
  const chain = [leaf, ...ca.certChain];
  for (let i = 0; i < chain.length; i++) {
    if (!validAt(chain[i], t)) return false;
    const issuer = chain[i + 1] ?? chain[i];
    if (!(i === 0 ? isIssuedBy(leaf, issuer) : caIssuedBy(chain[i], issuer))) return false;
  }
  return true;
}

function verifyCertificate(leaf: Certificate, times: Date[], root: TrustedRoot): Certificate {
  if (times.length === 0) {
    fail(
      "TimestampInvalid",
      "certificate: no verified signing time (neither a tlog SET nor an RFC 3161 timestamp)",
    );
  }
  if (isCA(leaf)) {
    fail("CertificateInvalid", "certificate: the signing certificate is a CA certificate");
  }
  if (!extKeyUsages(leaf).includes(X509_OID.ekuCodeSigning)) {
    fail("CertificateInvalid", "certificate: no code signing extended key usage");
  }
  let issuer: Certificate | undefined;
  for (const t of times) {
    if (!validAt(leaf, t)) {
      fail(
        "CertificateInvalid",
        `certificate: not valid at signing time ${t.toISOString()} (valid ${leaf.notBefore.toISOString()} to ${leaf.notAfter.toISOString()})`,
      );
    }
    const ca = root.certificateAuthorities.find((a) => chainsAt(leaf, a, t));
    if (!ca) {
      fail(
        "CertificateInvalid",
        `certificate: does not chain to a trusted Fulcio CA valid at ${t.toISOString()}`,
      );
    }
    issuer = ca.certChain[0];
  }
  let scts: number;
  try {
    scts = verifiedSctCount(leaf, issuer!, root);
  } catch (e) {
    throw verifyError(
      "CertificateInvalid",
      `certificate: malformed SCT list: ${(e as Error).message}`,
      e,
    );
  }
  if (scts < 1) fail("CertificateInvalid", "certificate: no SCT verifies against a trusted CT log");
  return issuer!;
}

/**
 * Verifies a Sigstore bundle for an artifact (its bytes, or its SHA-256 digest).
 * Resolves to what was verified; rejects with `KarsError("VERIFY", …, { details: { reason } })`.
 *
 * @example
 * ```ts
 * import { productionTrustedRoot, verifyBundle } from "./mod.ts";
 * // const v = await verifyBundle(JSON.parse(bundleText), { bytes: artifact }, {
 * //   trustedRoot: productionTrustedRoot(),
 * //   identity: { san: "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main",
 * //               issuer: "https://token.actions.githubusercontent.com" },
 * // });
 * // v.kind === "certificate"
 * ```
 */
export function verifyBundle(
  bundle: unknown,
  artifact: ArtifactInput,
  options: VerifyBundleOptions,
): Promise<VerifiedSignature> {
  try {
    return Promise.resolve(verifyBundleSync(bundle, artifact, options));
  } catch (e) {
    if (e instanceof KarsError) return Promise.reject(e);
    // Fail closed on anything unforeseen (e.g. a malformed certificate extension).
    return Promise.reject(
      verifyError("SignatureVerifyFailed", `verification failed: ${(e as Error)?.message ?? e}`, e),
    );
  }
}

function verifyBundleSync(
  bundle: unknown,
  artifact: ArtifactInput,
  options: VerifyBundleOptions,
): VerifiedSignature {
  const root = options.trustedRoot;
  const now = options.now ?? new Date();
  const b = parseBundle(bundle);
  const digest = artifactDigest(artifact);
  checkContent(b, artifact, digest);
  const pae = b.content.kind === "dsse"
    ? preAuthEncoding(b.content.payloadType, b.content.payload)
    : undefined;

  // Signer and signature.
  let signerKey: PublicKey;
  let signer: LoggedSignature["signer"];
  if (b.material.kind === "certificate") {
    const leaf = b.material.certificate;
    try {
      signerKey = parseSpki(leaf.spki);
    } catch (e) {
      throw verifyError(
        "Unsupported",
        `certificate: unsupported public key: ${(e as Error).message}`,
        e,
      );
    }
    if (!signatureVerifies(b, signerKey, artifact, digest, pae)) {
      fail("SignatureVerifyFailed", "signature does not verify with the certificate's key");
    }
    signer = { certificate: leaf.raw };
  } else {
    if (options.identity) {
      fail(
        "IdentityMismatch",
        "bundle is signed with a key, not a certificate for the expected identity",
      );
    }
    const keys = (options.publicKeys ?? []).map((k) => {
      try {
        return parseSpki(k);
      } catch (e) {
        throw new KarsError("INPUT", `public key: ${(e as Error).message}`, { cause: e });
      }
    });
    if (keys.length === 0) {
      throw new KarsError(
        "VERIFY",
        "bundle is signed with a key but no public key was given to verify it with",
        { details: { reason: "SignatureVerifyFailed", fixOptions: ["publicKeys"] } },
      );
    }
    const found = keys.find((k) => signatureVerifies(b, k, artifact, digest, pae));
    if (!found) {
      fail("SignatureVerifyFailed", "signature does not verify with any of the given public keys");
    }
    signerKey = found;
    signer = { publicKey: found.spki };
  }
  const logged: LoggedSignature = {
    signature: b.content.signature,
    signer,
    artifactDigest: b.content.kind === "message" ? digest : undefined,
    dsse: b.content.kind === "dsse"
      ? { payloadType: b.content.payloadType, payload: b.content.payload, pae: pae! }
      : undefined,
  };

  // Transparency log.
  const entries: VerifiedEntry[] = b.tlogEntries.map((e) => verifyTlogEntry(e, logged, root));
  if (entries.length === 0 && options.requireTlog !== false) {
    fail("TlogInvalid", "bundle has no transparency log entry");
  }

  // Timestamps.
  const tsaTimes = b.rfc3161Timestamps.map((t) => verifyTimestamp(t, b.content.signature, root));
  const setTimes = entries.flatMap((e) => (e.integratedTime ? [e.integratedTime] : []));
  const times = [...setTimes, ...tsaTimes];
  for (const t of times) {
    if (t.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) {
      fail("TimestampInvalid", `signing time ${t.toISOString()} is in the future`);
    }
  }
  for (const e of entries) {
    if (!e.integratedTime && !tsaTimes.some((t) => inRange(e.log.validFor, t))) {
      fail(
        tsaTimes.length === 0 ? "TimestampInvalid" : "TlogInvalid",
        tsaTimes.length === 0
          ? "tlog entry has no integrated time and the bundle has no RFC 3161 timestamp"
          : `log key of ${e.log.baseUrl} is not valid at any verified timestamp`,
      );
    }
  }

  const result: VerifiedSignature = {
    kind: b.material.kind === "certificate" ? "certificate" : "key",
    keyId: keyIdOf(signerKey.spki),
    tlog: entries.length > 0 ? "verified" : "absent",
    timestamps: times,
    signedAt: times.length ? new Date(Math.min(...times.map((t) => t.getTime()))) : undefined,
    payload: b.content.kind === "dsse" ? b.content.payload : undefined,
  };

  if (b.material.kind === "certificate") {
    const leaf = b.material.certificate;
    verifyCertificate(leaf, times, root);
    let issuer: string | undefined;
    try {
      issuer = fulcioIssuer(leaf);
    } catch (e) {
      throw verifyError("CertificateInvalid", `certificate: ${(e as Error).message}`, e);
    }
    const sans = subjectAltNames(leaf);
    result.san = sans[0];
    result.issuer = issuer;
    const want = options.identity;
    if (want && (!sans.includes(want.san) || issuer !== want.issuer)) {
      fail(
        "IdentityMismatch",
        `certificate identity ${JSON.stringify(sans[0] ?? "")} (issuer ${
          JSON.stringify(issuer ?? "")
        }) ` +
          `is not the expected ${JSON.stringify(want.san)} (issuer ${JSON.stringify(want.issuer)})`,
      );
    }
  }
  return result;
}
