/**
 * The legacy cosign signature layout (what the kars controller and cosign v2 read): the
 * simple-signing payload, byte-identical to cosign's, and the signature layer's
 * annotations. Also converts a stored legacy layer into a Sigstore bundle (v0.1, the
 * version whose Rekor evidence is the SET alone), so Sigstore verifiers can check it.
 *
 * @module
 */
import {
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_REKOR_BUNDLE,
  ANNOTATION_RFC3161,
  ANNOTATION_SIGNATURE,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from "../cosign.ts";
import { toBase64, utf8 } from "../bytes.ts";
import { type Digest, digestBytes, isDigest } from "../digest.ts";
import { KarsError } from "../errors.ts";
import type { Descriptor } from "../oci/types.ts";
import type { TlogEntry } from "./rekor.ts";
import type { Signature } from "./signer.ts";

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
  const a: Record<string, string> = { [ANNOTATION_SIGNATURE]: toBase64(sig.signature) };
  if (sig.key.kind === "certificate") {
    a[ANNOTATION_CERTIFICATE] = sig.key.chainPem[0];
    a[ANNOTATION_CHAIN] = sig.key.chainPem.slice(1).join("");
  }
  if (tlog) a[ANNOTATION_REKOR_BUNDLE] = rekorBundleAnnotation(tlog);
  if (timestamp) {
    a[ANNOTATION_RFC3161] = JSON.stringify({ SignedRFC3161Timestamp: toBase64(timestamp) });
  }
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
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    digest: digestBytes(payload),
    size: payload.length,
    annotations,
  };
}
