/**
 * The annotations of a legacy cosign signature layer (signature, certificate and chain,
 * Rekor bundle, RFC 3161 timestamp) and the layer descriptor that carries them.
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
} from "./vocabulary.ts";
import { toBase64 } from "../encoding/bytes.ts";
import { digestBytes } from "../encoding/digest.ts";
import type { Descriptor } from "../oci/types.ts";
import type { TlogEntry } from "../sign/rekor.ts";
import type { Signature } from "../sign/signer.ts";

/**
 * The `dev.sigstore.cosign/bundle` annotation value for a Rekor entry.
 *
 * @example
 * ```ts
 * import { rekorBundleAnnotation } from "./annotations.ts";
 * declare const entry: import("../sign/rekor.ts").TlogEntry;
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
 * import { legacyAnnotations } from "./annotations.ts";
 * declare const sig: import("../sign/signer.ts").Signature;
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
 * import { legacyLayer } from "./annotations.ts";
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
