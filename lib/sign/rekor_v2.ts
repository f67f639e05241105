/**
 * Rekor v2 uploads (`POST /api/v2/log/entries`): `hashedRekordRequestV002` for message
 * signatures and `dsseRequestV002` for DSSE envelopes. The log answers with a
 * `TransparencyLogEntry` (inclusion proof and a C2SP signed checkpoint; no integrated time and no
 * SET). Before the entry is used, it is checked exactly as a verifier will check it: the logged
 * body records this signature, the inclusion proof leads to the checkpoint's root, and the
 * checkpoint is signed by the log's key from the trusted root. A log that is not in the trusted
 * root, or any mismatch, is refused (`KarsError("SIGN")`) before anything is written.
 *
 * @module
 */
import { toBase64 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import { pemDecode } from "../encoding/pem.ts";
import { parseTlogEntry } from "../verify/sigstore/bundle.ts";
import { isKarsError } from "../errors.ts";
import { type LoggedSignature, verifyTlogEntry } from "../verify/sigstore/tlog.ts";
import type { TrustedRoot } from "../verify/sigstore/trust_root.ts";
import { callService, type FetchFn, parseServiceJson } from "./http.ts";
import type { SignatureKey } from "./signer.ts";

/** The bundle-JSON form of a transparency log entry, as Rekor v2 returns it. */
export type TransparencyLogEntryJson = Record<string, unknown>;

/** Options of the Rekor v2 uploads. */
export interface RekorV2Options {
  /** The log's base URL (from the signing config). */
  rekorUrl: string;
  /** Trust material holding the log's key: the entry is checked against it. */
  trustedRoot: TrustedRoot;
  /** Transport. */
  fetch?: FetchFn;
}

/** The keyDetails every signer of this package produces (ECDSA P-256 over SHA-256). */
const KEY_DETAILS = "PKIX_ECDSA_P256_SHA_256";

function verifierJson(key: SignatureKey): Record<string, unknown> {
  if (key.kind === "certificate") {
    const der = pemDecode(key.chainPem[0])?.der;
    if (!der) throw new KarsError("SIGN", "signer returned an unreadable certificate");
    return { x509Certificate: { rawBytes: toBase64(der) }, keyDetails: KEY_DETAILS };
  }
  return { publicKey: { rawBytes: toBase64(key.spkiDer) }, keyDetails: KEY_DETAILS };
}

function signerOf(key: SignatureKey): LoggedSignature["signer"] {
  if (key.kind === "publicKey") return { publicKey: key.spkiDer };
  return { certificate: pemDecode(key.chainPem[0])!.der };
}

/**
 * Uploads a `hashedrekord` v0.0.2 entry: the SHA-256 digest of the signed message, the
 * signature and its verifier. Returns the checked entry in bundle-JSON form.
 *
 * @example
 * ```ts
 * import { uploadHashedRekordV2 } from "./rekor_v2.ts";
 * declare const digest: Uint8Array, signature: Uint8Array, trustedRoot: import("../verify/sigstore/trust_root.ts").TrustedRoot;
 * declare const key: import("./signer.ts").SignatureKey;
 * const tle = await uploadHashedRekordV2(
 *   { rekorUrl: "https://log2025-1.rekor.sigstore.dev", trustedRoot }, digest, signature, key,
 * );
 * tle.kindVersion; // { kind: "hashedrekord", version: "0.0.2" }
 * ```
 */
export function uploadHashedRekordV2(
  opts: RekorV2Options,
  digest: Uint8Array,
  signature: Uint8Array,
  key: SignatureKey,
): Promise<TransparencyLogEntryJson> {
  const request = {
    hashedRekordRequestV002: {
      digest: toBase64(digest),
      signature: { content: toBase64(signature), verifier: verifierJson(key) },
    },
  };
  return upload(opts, request, "hashedrekord", {
    signature,
    signer: signerOf(key),
    artifactDigest: digest,
  });
}

/**
 * Uploads a `dsse` v0.0.2 entry for a DSSE envelope (one signature) and its verifier. Returns
 * the checked entry in bundle-JSON form.
 *
 * @example
 * ```ts
 * import { uploadDsseV2 } from "./rekor_v2.ts";
 * declare const trustedRoot: import("../verify/sigstore/trust_root.ts").TrustedRoot;
 * declare const key: import("./signer.ts").SignatureKey;
 * declare const envelope: { payload: string; payloadType: string; signatures: { sig: string; keyid: string }[] };
 * declare const pae: Uint8Array, payload: Uint8Array, signature: Uint8Array;
 * await uploadDsseV2({ rekorUrl: "https://log2025-1.rekor.sigstore.dev", trustedRoot }, envelope, key, {
 *   payload, pae, signature,
 * });
 * ```
 */
export function uploadDsseV2(
  opts: RekorV2Options,
  envelope: { payload: string; payloadType: string; signatures: { sig: string; keyid: string }[] },
  key: SignatureKey,
  signed: { payload: Uint8Array; pae: Uint8Array; signature: Uint8Array },
): Promise<TransparencyLogEntryJson> {
  const request = {
    dsseRequestV002: {
      envelope: {
        payload: envelope.payload,
        payloadType: envelope.payloadType,
        signatures: envelope.signatures.map((s) => ({ sig: s.sig, keyid: s.keyid ?? "" })),
      },
      verifiers: [verifierJson(key)],
    },
  };
  return upload(opts, request, "dsse", {
    signature: signed.signature,
    signer: signerOf(key),
    dsse: { payloadType: envelope.payloadType, payload: signed.payload, pae: signed.pae },
  });
}

async function upload(
  opts: RekorV2Options,
  request: unknown,
  kind: "hashedrekord" | "dsse",
  logged: LoggedSignature,
): Promise<TransparencyLogEntryJson> {
  const base = opts.rekorUrl.replace(/\/+$/, "");
  const body = await callService(`${base}/api/v2/log/entries`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(request),
  }, {
    service: "Rekor v2",
    hint: "check the signing config's Rekor v2 log, or sign to Rekor v1",
    fixOptions: ["signingConfig", "rekorV2"],
    ok: [200, 201],
    fetch: opts.fetch,
  });
  const json = parseServiceJson(body, "Rekor v2");
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw bad(base, "the response is not a TransparencyLogEntry object");
  }
  const tle = json as TransparencyLogEntryJson;
  const kv = tle.kindVersion as { kind?: unknown; version?: unknown } | undefined;
  if (kv?.kind !== kind || kv?.version !== "0.0.2") {
    throw bad(
      base,
      `expected a ${kind} 0.0.2 entry, got ${String(kv?.kind)} ${String(kv?.version)}`,
    );
  }
  // Keep only the fields a bundle carries, in the protobuf-specs order.
  const entry: TransparencyLogEntryJson = {
    logIndex: tle.logIndex,
    logId: tle.logId,
    kindVersion: { kind, version: "0.0.2" },
    inclusionProof: tle.inclusionProof,
    canonicalizedBody: tle.canonicalizedBody,
  };
  let parsed;
  try {
    parsed = parseTlogEntry(entry, "Rekor v2 response", "0.3");
  } catch (e) {
    throw bad(base, (e as Error).message, e);
  }
  try {
    verifyTlogEntry(parsed, logged, opts.trustedRoot);
  } catch (e) {
    if (isKarsError(e, "VERIFY") || isKarsError(e, "INPUT")) throw bad(base, e.message, e);
    throw e;
  }
  // The checked entry: a checkpoint signed by a log of the trusted root, over a tree that
  // includes exactly the body we asked for.
  if (!parsed.inclusionProof?.checkpoint) throw bad(base, "no signed checkpoint");
  return entry;
}

function bad(url: string, what: string, cause?: unknown): KarsError {
  return new KarsError("SIGN", `Rekor v2 log ${url} returned an unusable entry: ${what}`, {
    cause,
    details: { service: "Rekor v2", url },
  });
}
