/**
 * The legacy cosign signature layout (what the kars controller and cosign v2 read): the
 * simple-signing payload, byte-identical to cosign's, and the signature layer's
 * annotations. Also converts a stored legacy layer into a Sigstore bundle (v0.1, the
 * version whose Rekor evidence is the SET alone), so Sigstore verifiers can check it.
 *
 * @module
 */
import type { SerializedBundle } from "@sigstore/bundle";
import { fromBase64, fromHex, fromUtf8, toBase64, utf8 } from "../bytes.ts";
import { type Digest, digestBytes, isDigest, sha256Bytes } from "../digest.ts";
import { KarsError } from "../errors.ts";
import type { Descriptor } from "../oci/types.ts";
import { pemDecodeAll } from "../pem.ts";
import type { TlogEntry } from "./rekor.ts";
import type { Signature } from "./signer.ts";

/** Media type of a simple-signing payload layer. */
export const SIMPLESIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
/** Annotation: base64 DER signature. */
export const ANN_SIGNATURE = "dev.cosignproject.cosign/signature";
/** Annotation: PEM leaf certificate. */
export const ANN_CERTIFICATE = "dev.sigstore.cosign/certificate";
/** Annotation: PEM chain (intermediates and root). */
export const ANN_CHAIN = "dev.sigstore.cosign/chain";
/** Annotation: Rekor bundle (SET + entry). */
export const ANN_BUNDLE = "dev.sigstore.cosign/bundle";
/** Annotation: RFC 3161 timestamp. */
export const ANN_RFC3161 = "dev.sigstore.cosign/rfc3161timestamp";

/**
 * The simple-signing payload cosign signs for an image, byte for byte (Go `json.Marshal`
 * of cosign's struct: fixed key order, `"optional":null`, no trailing newline).
 *
 * @example
 * ```ts
 * import { simpleSigningPayload } from "./legacy.ts";
 * new TextDecoder().decode(simpleSigningPayload("r.io/a/b", "sha256:" + "0".repeat(64)));
 * // '{"critical":{"identity":{"docker-reference":"r.io/a/b"},"image":{…},"type":"cosign container image signature"},"optional":null}'
 * ```
 */
export function simpleSigningPayload(dockerReference: string, manifestDigest: Digest): Uint8Array {
  if (!isDigest(manifestDigest)) throw new KarsError("INPUT", `not a digest: ${manifestDigest}`);
  return utf8(
    `{"critical":{"identity":{"docker-reference":${goJson(dockerReference)}},` +
      `"image":{"docker-manifest-digest":${goJson(manifestDigest)}},` +
      `"type":"cosign container image signature"},"optional":null}`,
  );
}

/** Go's `json.Marshal` of a string (escapes <, >, & and U+2028/2029 as Go does). */
function goJson(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * The `dev.sigstore.cosign/bundle` annotation value for a Rekor entry.
 *
 * @example
 * ```ts
 * import { rekorBundleAnnotation } from "./legacy.ts";
 * declare const entry: import("./rekor.ts").TlogEntry;
 * JSON.parse(rekorBundleAnnotation(entry)).Payload.logIndex; // entry.logIndex
 * ```
 */
export function rekorBundleAnnotation(entry: TlogEntry): string {
  return JSON.stringify({
    SignedEntryTimestamp: entry.signedEntryTimestamp,
    Payload: {
      body: entry.body,
      integratedTime: entry.integratedTime,
      logIndex: entry.logIndex,
      logID: entry.logID,
    },
  });
}

/**
 * The annotations of a legacy signature layer.
 *
 * @example
 * ```ts
 * import { legacyAnnotations } from "./legacy.ts";
 * declare const sig: import("./signer.ts").Signature;
 * legacyAnnotations(sig)["dev.cosignproject.cosign/signature"]; // base64 DER
 * ```
 */
export function legacyAnnotations(
  sig: Signature,
  tlog?: TlogEntry,
  timestamp?: Uint8Array,
): Record<string, string> {
  const a: Record<string, string> = { [ANN_SIGNATURE]: toBase64(sig.signature) };
  if (sig.key.kind === "certificate") {
    a[ANN_CERTIFICATE] = sig.key.chainPem[0];
    a[ANN_CHAIN] = sig.key.chainPem.slice(1).join("");
  }
  if (tlog) a[ANN_BUNDLE] = rekorBundleAnnotation(tlog);
  if (timestamp) a[ANN_RFC3161] = JSON.stringify({ SignedRFC3161Timestamp: toBase64(timestamp) });
  return a;
}

/**
 * The layer descriptor for a payload and its annotations.
 *
 * @example
 * ```ts
 * import { legacyLayer } from "./legacy.ts";
 * legacyLayer(new Uint8Array([1]), {}).mediaType; // "application/vnd.dev.cosign.simplesigning.v1+json"
 * ```
 */
export function legacyLayer(payload: Uint8Array, annotations: Record<string, string>): Descriptor {
  return {
    mediaType: SIMPLESIGNING_MEDIA_TYPE,
    digest: digestBytes(payload),
    size: payload.length,
    annotations,
  };
}

/**
 * The `.sig` tag of a manifest digest: `sha256-<hex>.sig`.
 *
 * @example
 * ```ts
 * import { signatureTag } from "./legacy.ts";
 * signatureTag("sha256:" + "a".repeat(64)); // "sha256-aaaa….sig"
 * ```
 */
export function signatureTag(manifestDigest: Digest): string {
  return `${manifestDigest.replace(":", "-")}.sig`;
}

/**
 * Converts a legacy layer (payload bytes + annotations) into a Sigstore bundle v0.1 JSON
 * (message signature over the payload; certificate chain or public-key hint; the Rekor
 * entry with its SET as inclusion promise; RFC 3161 timestamp). Throws `KarsError("VERIFY")`
 * when the annotations are incomplete or malformed.
 *
 * @example
 * ```ts
 * import { legacyLayerToBundle } from "./legacy.ts";
 * declare const payload: Uint8Array, annotations: Record<string, string>;
 * legacyLayerToBundle(payload, annotations).mediaType;
 * // "application/vnd.dev.sigstore.bundle+json;version=0.1"
 * ```
 */
export function legacyLayerToBundle(
  payload: Uint8Array,
  annotations: Record<string, string>,
  publicKeyHint = "",
): SerializedBundle {
  const bad = (what: string, cause?: unknown) =>
    new KarsError("VERIFY", `legacy signature layer: ${what}`, { cause });
  const sig = annotations[ANN_SIGNATURE];
  if (!sig) throw bad(`missing ${ANN_SIGNATURE}`);
  try {
    fromBase64(sig);
  } catch (e) {
    throw bad("signature is not base64", e);
  }
  const tlogEntries: SerializedBundle["verificationMaterial"]["tlogEntries"] = [];
  if (annotations[ANN_BUNDLE]) {
    try {
      const rb = JSON.parse(annotations[ANN_BUNDLE]);
      const p = rb.Payload;
      const body = JSON.parse(fromUtf8(fromBase64(p.body)));
      tlogEntries.push({
        logIndex: String(p.logIndex),
        logId: { keyId: toBase64(fromHex(p.logID)) },
        kindVersion: { kind: body.kind, version: body.apiVersion },
        integratedTime: String(p.integratedTime),
        inclusionPromise: { signedEntryTimestamp: rb.SignedEntryTimestamp },
        inclusionProof: undefined,
        canonicalizedBody: p.body,
      });
    } catch (e) {
      throw bad(`malformed ${ANN_BUNDLE}`, e);
    }
  }
  let timestampVerificationData: SerializedBundle["verificationMaterial"][
    "timestampVerificationData"
  ] = undefined;
  if (annotations[ANN_RFC3161]) {
    try {
      const ts = JSON.parse(annotations[ANN_RFC3161]).SignedRFC3161Timestamp;
      fromBase64(ts);
      timestampVerificationData = { rfc3161Timestamps: [{ signedTimestamp: ts }] };
    } catch (e) {
      throw bad(`malformed ${ANN_RFC3161}`, e);
    }
  }
  const certPem = annotations[ANN_CERTIFICATE];
  const messageSignature = {
    messageDigest: { algorithm: "SHA2_256", digest: toBase64(sha256Bytes(payload)) },
    signature: sig,
  };
  if (certPem) {
    const certs = pemDecodeAll(certPem + (annotations[ANN_CHAIN] ?? ""));
    return {
      mediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1",
      verificationMaterial: {
        x509CertificateChain: {
          certificates: certs.map((c) => ({ rawBytes: toBase64(c.der) })),
        },
        tlogEntries,
        timestampVerificationData,
      },
      messageSignature,
    } as SerializedBundle;
  }
  return {
    mediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1",
    verificationMaterial: {
      publicKey: { hint: publicKeyHint },
      tlogEntries,
      timestampVerificationData,
    },
    messageSignature,
  } as SerializedBundle;
}
