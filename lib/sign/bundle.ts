/**
 * Sigstore bundle v0.3 (`application/vnd.dev.sigstore.bundle.v0.3+json`) with a DSSE
 * envelope of an in-toto Statement v1, as cosign v3 stores it for an image: predicate type
 * `https://sigstore.dev/cosign/sign/v1`, empty predicate, subject = the manifest digest.
 *
 * @module
 */
import type { SerializedBundle, SerializedEnvelope } from "@sigstore/bundle";
import { fromHex, toBase64 } from "../encoding/bytes.ts";
import { pemDecode } from "../encoding/pem.ts";
import { publicKeyHint } from "../cosign/key_id.ts";
import { INTOTO_PAYLOAD_TYPE } from "../cosign/vocabulary.ts";
import type { TlogEntry } from "./rekor.ts";
import type { Signature } from "./signer.ts";

/** Bundle v0.3 media type. */
export const BUNDLE_V03_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
export { COSIGN_SIGN_PREDICATE, INTOTO_PAYLOAD_TYPE } from "../cosign/vocabulary.ts";
export { cosignStatement } from "../cosign/in_toto.ts";
export { publicKeyHint } from "../cosign/key_id.ts";

/** DSSE pre-authentication encoding; the one definition is `preAuthEncoding` (verify/sigstore/dsse.ts). */
export { preAuthEncoding as pae } from "../verify/sigstore/dsse.ts";

/**
 * The DSSE envelope JSON for a payload and its signature (over {@link pae}).
 *
 * @example
 * ```ts
 * import { dsseEnvelope } from "./bundle.ts";
 * dsseEnvelope(new Uint8Array([1]), new Uint8Array([2])).signatures[0].sig; // "Ag=="
 * ```
 */
export function dsseEnvelope(payload: Uint8Array, signature: Uint8Array): SerializedEnvelope {
  return {
    payload: toBase64(payload),
    payloadType: INTOTO_PAYLOAD_TYPE,
    signatures: [{ sig: toBase64(signature), keyid: "" }],
  };
}

/**
 * The bundle-JSON form of a Rekor entry (with inclusion proof and checkpoint when present).
 *
 * @example
 * ```ts
 * import { tlogEntryJson } from "./bundle.ts";
 * declare const entry: import("./rekor.ts").TlogEntry;
 * tlogEntryJson(entry).kindVersion; // { kind: "dsse", version: "0.0.1" }
 * ```
 */
export function tlogEntryJson(
  e: TlogEntry,
): SerializedBundle["verificationMaterial"]["tlogEntries"][number] {
  return {
    logIndex: String(e.logIndex),
    logId: { keyId: toBase64(fromHex(e.logID)) },
    kindVersion: { kind: e.kind, version: e.version },
    integratedTime: String(e.integratedTime),
    inclusionPromise: { signedEntryTimestamp: e.signedEntryTimestamp },
    inclusionProof: e.inclusionProof
      ? {
        logIndex: String(e.inclusionProof.logIndex),
        rootHash: toBase64(fromHex(e.inclusionProof.rootHash)),
        treeSize: String(e.inclusionProof.treeSize),
        hashes: e.inclusionProof.hashes.map((h) => toBase64(fromHex(h))),
        checkpoint: { envelope: e.inclusionProof.checkpoint },
      }
      : undefined,
    canonicalizedBody: e.body,
  };
}

/**
 * Assembles a bundle v0.3 around a DSSE envelope. The v0.3 certificate form holds the
 * leaf only. `tlog` is one or more entries: Rekor v1 entries as uploaded, or Rekor v2 entries
 * in bundle-JSON form; `timestamp` one or more RFC 3161 responses.
 *
 * @example
 * ```ts
 * import { buildDsseBundle } from "./bundle.ts";
 * declare const env: import("@sigstore/bundle").SerializedEnvelope, sig: import("./signer.ts").Signature;
 * buildDsseBundle(env, sig).mediaType; // "application/vnd.dev.sigstore.bundle.v0.3+json"
 * ```
 */
export function buildDsseBundle(
  envelope: SerializedEnvelope,
  sig: Signature,
  tlog?: TlogEntry | Record<string, unknown> | Array<TlogEntry | Record<string, unknown>>,
  timestamp?: Uint8Array | Uint8Array[],
): SerializedBundle {
  const tlogs = tlog === undefined ? [] : Array.isArray(tlog) ? tlog : [tlog];
  const stamps = timestamp === undefined ? [] : Array.isArray(timestamp) ? timestamp : [timestamp];
  const key = sig.key.kind === "certificate"
    ? { certificate: { rawBytes: toBase64(pemDecode(sig.key.chainPem[0])!.der) } }
    : { publicKey: { hint: publicKeyHint(sig.key.spkiDer) } };
  return {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: {
      ...key,
      // Rekor v1 entries are converted; Rekor v2 entries arrive in bundle-JSON form already.
      tlogEntries: tlogs.map((t) => "kindVersion" in t ? t : tlogEntryJson(t as TlogEntry)),
      timestampVerificationData: stamps.length > 0
        ? { rfc3161Timestamps: stamps.map((t) => ({ signedTimestamp: toBase64(t) })) }
        : undefined,
    },
    dsseEnvelope: envelope,
  } as SerializedBundle;
}
