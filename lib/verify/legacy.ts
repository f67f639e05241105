/**
 * Legacy cosign signatures (formats.md §4): the `sha256-<hex>.sig` manifest whose layers are
 * simple-signing payloads with the signature, certificate, chain, Rekor bundle and RFC 3161
 * timestamp in layer annotations. Each layer is turned into a Sigstore bundle (v0.1 form:
 * a message signature over the payload, the certificate chain or a public key, the Rekor entry
 * with its inclusion promise) that the Sigstore engine verifies like any other bundle; the
 * payload is then checked to bind this manifest digest and this repository.
 *
 * @module
 */
import {
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_REKOR_BUNDLE,
  ANNOTATION_RFC3161,
  ANNOTATION_SIGNATURE,
} from "../cosign/vocabulary.ts";
import { fromBase64, fromHex, fromUtf8, toBase64 } from "../encoding/bytes.ts";
import { sha256Bytes } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { pemBody, pemScan } from "../encoding/pem.ts";

/** Media type of the bundles built here (v0.1: a tlog entry needs only its inclusion promise). */
export const BUNDLE_V01_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle+json;version=0.1";

/** A Sigstore bundle in its JSON form (the subset built here). */
export interface BundleJson {
  /** Bundle media type. */
  mediaType: string;
  /** Certificate chain or public key, tlog entries, timestamps. */
  verificationMaterial: {
    x509CertificateChain?: { certificates: { rawBytes: string }[] };
    publicKey?: { hint?: string };
    tlogEntries: TlogEntryJson[];
    timestampVerificationData?: { rfc3161Timestamps: { signedTimestamp: string }[] };
  };
  /** The signature over the payload digest. */
  messageSignature: {
    messageDigest: { algorithm: "SHA2_256"; digest: string };
    signature: string;
  };
}

/** A transparency-log entry in bundle JSON form. */
export interface TlogEntryJson {
  /** Log index (decimal string). */
  logIndex: string;
  /** Log id: base64 of the SHA-256 of the log's public key. */
  logId: { keyId: string };
  /** Entry kind and version, from the entry body. */
  kindVersion: { kind: string; version: string };
  /** Integration time, seconds (decimal string). */
  integratedTime: string;
  /** The signed entry timestamp (SET), base64. */
  inclusionPromise: { signedEntryTimestamp: string };
  /** The canonicalized entry body, base64. */
  canonicalizedBody: string;
}

function bad(message: string): KarsError {
  return new KarsError("VERIFY", message, { details: { reason: "SignatureVerifyFailed" } });
}

/**
 * Splits PEM text into the DER bytes of its `CERTIFICATE` blocks (other labels refused).
 *
 * @example
 * ```ts
 * import { pemCertificates } from "./legacy.ts";
 * pemCertificates("").length; // 0
 * ```
 */
export function pemCertificates(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of pemScan(pem)) {
    if (m.label !== "CERTIFICATE" || m.endLabel !== m.label) {
      throw bad(`unexpected PEM block "${m.label}" where a certificate was expected`);
    }
    try {
      out.push(pemBody(m.body));
    } catch {
      throw bad("certificate PEM body is not valid base64");
    }
  }
  return out;
}

/**
 * Turns one legacy signature layer (its payload blob and annotations) into a Sigstore bundle
 * (v0.1 JSON). Throws `KarsError("VERIFY")` (`SignatureVerifyFailed`) when an annotation is
 * missing or malformed.
 *
 * @example
 * ```ts
 * import { legacyLayerToBundle } from "./legacy.ts";
 * const payload = new TextEncoder().encode("{}");
 * const b = legacyLayerToBundle(payload, { "dev.cosignproject.cosign/signature": "MEUCIQ==" });
 * b.verificationMaterial.tlogEntries.length; // 0
 * ```
 */
export function legacyLayerToBundle(
  payload: Uint8Array,
  annotations: Record<string, string> | undefined,
): BundleJson {
  const a = annotations ?? {};
  const sigB64 = a[ANNOTATION_SIGNATURE];
  if (typeof sigB64 !== "string" || sigB64.length === 0) {
    throw bad(`signature layer has no ${ANNOTATION_SIGNATURE} annotation`);
  }
  let sig: Uint8Array;
  try {
    sig = fromBase64(sigB64);
  } catch {
    throw bad(`signature layer: ${ANNOTATION_SIGNATURE} is not valid base64`);
  }
  if (sig.length === 0) throw bad(`signature layer: ${ANNOTATION_SIGNATURE} is empty`);

  const vm: BundleJson["verificationMaterial"] = { tlogEntries: [] };
  const certPem = a[ANNOTATION_CERTIFICATE];
  if (typeof certPem === "string" && certPem.trim() !== "") {
    const leaf = pemCertificates(certPem);
    if (leaf.length !== 1) {
      throw bad(`signature layer: ${ANNOTATION_CERTIFICATE} must hold exactly one certificate`);
    }
    const chain = typeof a[ANNOTATION_CHAIN] === "string"
      ? pemCertificates(a[ANNOTATION_CHAIN])
      : [];
    vm.x509CertificateChain = {
      certificates: [...leaf, ...chain].map((der) => ({ rawBytes: toBase64(der) })),
    };
  } else {
    vm.publicKey = {};
  }

  const rekor = a[ANNOTATION_REKOR_BUNDLE];
  if (typeof rekor === "string" && rekor.trim() !== "") {
    vm.tlogEntries.push(rekorBundleToTlogEntry(rekor));
  }

  const ts = a[ANNOTATION_RFC3161];
  if (typeof ts === "string" && ts.trim() !== "") {
    let signed: unknown;
    try {
      signed = (JSON.parse(ts) as { SignedRFC3161Timestamp?: unknown }).SignedRFC3161Timestamp;
    } catch {
      throw bad(`signature layer: ${ANNOTATION_RFC3161} is not JSON`);
    }
    if (typeof signed !== "string" || signed === "") {
      throw bad(`signature layer: ${ANNOTATION_RFC3161} has no SignedRFC3161Timestamp`);
    }
    vm.timestampVerificationData = {
      rfc3161Timestamps: [{ signedTimestamp: toBase64(fromB64(signed, ANNOTATION_RFC3161)) }],
    };
  }

  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: vm,
    messageSignature: {
      messageDigest: { algorithm: "SHA2_256", digest: toBase64(sha256Bytes(payload)) },
      signature: toBase64(sig),
    },
  };
}

function fromB64(s: string, what: string): Uint8Array {
  try {
    return fromBase64(s);
  } catch {
    throw bad(`signature layer: ${what} holds invalid base64`);
  }
}

/**
 * Converts cosign's Rekor bundle annotation
 * (`{"SignedEntryTimestamp":…,"Payload":{"body":…,"integratedTime":…,"logIndex":…,"logID":…}}`)
 * into a bundle tlog entry with an inclusion promise; kind and version come from the entry body.
 *
 * @example
 * ```ts
 * import { rekorBundleToTlogEntry } from "./legacy.ts";
 * const body = btoa(JSON.stringify({ apiVersion: "0.0.1", kind: "hashedrekord", spec: {} }));
 * rekorBundleToTlogEntry(JSON.stringify({
 *   SignedEntryTimestamp: "AAAA",
 *   Payload: { body, integratedTime: 1, logIndex: 2, logID: "00" },
 * })).kindVersion.kind; // "hashedrekord"
 * ```
 */
export function rekorBundleToTlogEntry(annotation: string): TlogEntryJson {
  let rb: {
    SignedEntryTimestamp?: unknown;
    Payload?: { body?: unknown; integratedTime?: unknown; logIndex?: unknown; logID?: unknown };
  };
  try {
    rb = JSON.parse(annotation);
  } catch {
    throw bad(`signature layer: ${ANNOTATION_REKOR_BUNDLE} is not JSON`);
  }
  const p = rb?.Payload;
  if (
    typeof rb?.SignedEntryTimestamp !== "string" || !p || typeof p.body !== "string" ||
    !Number.isSafeInteger(p.integratedTime) || !Number.isSafeInteger(p.logIndex) ||
    typeof p.logID !== "string"
  ) {
    throw bad(
      `signature layer: ${ANNOTATION_REKOR_BUNDLE} lacks SignedEntryTimestamp or Payload.{body,integratedTime,logIndex,logID}`,
    );
  }
  let logId: Uint8Array;
  try {
    logId = fromHex(p.logID);
  } catch {
    throw bad(`signature layer: ${ANNOTATION_REKOR_BUNDLE} Payload.logID is not hex`);
  }
  const body = fromB64(p.body, `${ANNOTATION_REKOR_BUNDLE} Payload.body`);
  let kind = "hashedrekord";
  let version = "0.0.1";
  try {
    const parsed = JSON.parse(fromUtf8(body)) as { kind?: unknown; apiVersion?: unknown };
    if (typeof parsed.kind === "string") kind = parsed.kind;
    if (typeof parsed.apiVersion === "string") version = parsed.apiVersion;
  } catch {
    throw bad(`signature layer: ${ANNOTATION_REKOR_BUNDLE} Payload.body is not a Rekor entry`);
  }
  return {
    logIndex: String(p.logIndex),
    logId: { keyId: toBase64(logId) },
    kindVersion: { kind, version },
    integratedTime: String(p.integratedTime),
    inclusionPromise: {
      signedEntryTimestamp: toBase64(fromB64(rb.SignedEntryTimestamp, "SignedEntryTimestamp")),
    },
    canonicalizedBody: toBase64(body),
  };
}

/**
 * The public keys (SPKI DER) named in a Rekor entry body (`hashedrekord`: the signature's
 * public key; `dsse`: each signature's verifier), skipping certificates. Used to tell a valid
 * signature by a key the policy does not pin (`IdentityMismatch`) from an invalid one.
 *
 * @example
 * ```ts
 * import { publicKeysFromRekorBody } from "./legacy.ts";
 * publicKeysFromRekorBody(btoa("{}")).length; // 0
 * ```
 */
export function publicKeysFromRekorBody(bodyB64: string): Uint8Array[] {
  let body: {
    kind?: string;
    spec?: {
      signature?: { publicKey?: { content?: unknown } };
      signatures?: { verifier?: unknown }[];
    };
  };
  try {
    body = JSON.parse(fromUtf8(fromBase64(bodyB64)));
  } catch {
    return [];
  }
  const pems: unknown[] = [];
  if (body?.kind === "hashedrekord") pems.push(body.spec?.signature?.publicKey?.content);
  if (body?.kind === "dsse" && Array.isArray(body.spec?.signatures)) {
    for (const s of body.spec.signatures) pems.push(s?.verifier);
  }
  const out: Uint8Array[] = [];
  for (const p of pems) {
    if (typeof p !== "string") continue;
    let pem: string;
    try {
      pem = fromUtf8(fromBase64(p));
    } catch {
      continue;
    }
    const m = [...pemScan(pem)].find((b) => b.label === "PUBLIC KEY" && b.endLabel === b.label);
    if (!m) continue;
    try {
      out.push(pemBody(m.body));
    } catch {
      continue;
    }
  }
  return out;
}
