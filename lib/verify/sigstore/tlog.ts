/**
 * Transparency log entries: the body must match the bundle (hashedrekord 0.0.1/0.0.2,
 * dsse 0.0.1/0.0.2, intoto 0.0.2), the signed entry timestamp (Rekor v1 SET) must verify,
 * and the inclusion proof must lead to a checkpoint signed by the log.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import {
  bytesEqual,
  fromBase64,
  fromHex,
  fromUtf8,
  toBase64,
  toHex,
  utf8,
} from "../../encoding/bytes.ts";
import { pemDecode } from "../../encoding/pem.ts";
import type { TlogEntry } from "./bundle.ts";
import { parseCheckpoint, verifyCheckpoint } from "./checkpoint.ts";
import { verifyError } from "./fail.ts";
import { verifyMessage } from "./keys.ts";
import { leafHash, verifyInclusion } from "./merkle.ts";
import { inRange, type TransparencyLog, type TrustedRoot } from "./trust_root.ts";

/** What the log entry must have recorded. */
export interface LoggedSignature {
  /** The signature bytes (message signature, or the DSSE envelope's signature). */
  signature: Uint8Array;
  /** The signer: the certificate (DER) or the public key (SPKI DER). */
  signer: { certificate: Uint8Array } | { publicKey: Uint8Array };
  /** For message signatures: SHA-256 of the artifact. */
  artifactDigest?: Uint8Array;
  /** For DSSE: the envelope. */
  dsse?: { payloadType: string; payload: Uint8Array; pae: Uint8Array };
}

/** What a verified entry proved. */
export interface VerifiedEntry {
  /** The integrated time, when a SET vouched for it. */
  integratedTime?: Date;
  /** The log that holds the entry. */
  log: TransparencyLog;
  /** Whether an inclusion proof and checkpoint were verified. */
  inclusionProof: boolean;
}

type Json = Record<string, unknown>;

function tlogFail(message: string, cause?: unknown): never {
  throw verifyError("TlogInvalid", `tlog entry: ${message}`, cause);
}

function get(o: unknown, ...path: string[]): unknown {
  let v = o;
  for (const p of path) {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
    v = (v as Json)[p];
  }
  return v;
}

function b64OrUndefined(v: unknown): Uint8Array | undefined {
  if (typeof v !== "string") return undefined;
  try {
    return fromBase64(v);
  } catch {
    return undefined;
  }
}

function textOrUndefined(b: Uint8Array): string | undefined {
  try {
    return fromUtf8(b);
  } catch {
    return undefined;
  }
}

/** The DER inside a base64-encoded PEM (as Rekor v1 bodies store keys and certificates). */
function pemB64Der(v: unknown): Uint8Array | undefined {
  const raw = b64OrUndefined(v);
  if (!raw) return undefined;
  try {
    const text = textOrUndefined(raw);
    return text === undefined ? undefined : pemDecode(text)?.der;
  } catch {
    return undefined;
  }
}

function signerDer(s: LoggedSignature["signer"]): Uint8Array {
  return "certificate" in s ? s.certificate : s.publicKey;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && bytesEqual(a, b);
}

/** Rekor v2 `verifier` object: x509Certificate.rawBytes or publicKey.rawBytes. */
function v2Verifier(v: unknown): Uint8Array | undefined {
  return b64OrUndefined(get(v, "x509Certificate", "rawBytes")) ??
    b64OrUndefined(get(v, "publicKey", "rawBytes"));
}

function hexEq(v: unknown, b: Uint8Array): boolean {
  if (typeof v !== "string") return false;
  try {
    return bytesEqual(fromHex(v), b);
  } catch {
    return false;
  }
}

/**
 * Checks that the entry's body records this signature (throws reason `TlogInvalid`).
 *
 * @example
 * ```ts
 * import { checkBody } from "./tlog.ts";
 * // checkBody(entry, { signature, signer: { certificate: der }, artifactDigest })
 * ```
 */
export function checkBody(entry: TlogEntry, logged: LoggedSignature): void {
  let body: unknown;
  try {
    body = JSON.parse(fromUtf8(entry.canonicalizedBody));
  } catch (e) {
    tlogFail("canonicalizedBody is not JSON", e);
  }
  const kind = get(body, "kind");
  const apiVersion = get(body, "apiVersion");
  if (kind !== entry.kind || apiVersion !== entry.version) {
    tlogFail(`body is ${kind}/${apiVersion} but kindVersion says ${entry.kind}/${entry.version}`);
  }
  const signer = signerDer(logged.signer);
  const key = `${kind}/${apiVersion}`;
  switch (key) {
    case "hashedrekord/0.0.1": {
      const spec = get(body, "spec");
      if (!logged.artifactDigest || logged.dsse) {
        tlogFail("hashedrekord 0.0.1 entry for a DSSE bundle");
      }
      if (get(spec, "data", "hash", "algorithm") !== "sha256") {
        tlogFail("hashedrekord hash is not sha256");
      }
      if (!hexEq(get(spec, "data", "hash", "value"), logged.artifactDigest)) {
        tlogFail("hashedrekord digest does not match the artifact");
      }
      if (!sameBytes(b64OrUndefined(get(spec, "signature", "content")), logged.signature)) {
        tlogFail("hashedrekord signature does not match the bundle's signature");
      }
      if (!sameBytes(pemB64Der(get(spec, "signature", "publicKey", "content")), signer)) {
        tlogFail("hashedrekord key/certificate does not match the bundle's");
      }
      return;
    }
    case "hashedrekord/0.0.2": {
      const spec = get(body, "spec", "hashedRekordV002");
      if (get(spec, "data", "algorithm") !== "SHA2_256") {
        tlogFail("hashedrekord digest is not SHA2_256");
      }
      const expected = logged.dsse ? sha256(logged.dsse.pae) : logged.artifactDigest!;
      if (!sameBytes(b64OrUndefined(get(spec, "data", "digest")), expected)) {
        tlogFail(
          logged.dsse
            ? "hashedrekord digest does not match the DSSE envelope"
            : "hashedrekord digest does not match the artifact",
        );
      }
      if (!sameBytes(b64OrUndefined(get(spec, "signature", "content")), logged.signature)) {
        tlogFail("hashedrekord signature does not match the bundle's signature");
      }
      if (!sameBytes(v2Verifier(get(spec, "signature", "verifier")), signer)) {
        tlogFail("hashedrekord verifier does not match the bundle's key/certificate");
      }
      return;
    }
    case "dsse/0.0.1": {
      if (!logged.dsse) tlogFail("dsse entry for a message signature bundle");
      const spec = get(body, "spec");
      if (get(spec, "payloadHash", "algorithm") !== "sha256") {
        tlogFail("dsse payload hash is not sha256");
      }
      if (!hexEq(get(spec, "payloadHash", "value"), sha256(logged.dsse.payload))) {
        tlogFail("dsse payload hash does not match the envelope");
      }
      const sigs = get(spec, "signatures");
      if (!Array.isArray(sigs) || sigs.length !== 1) tlogFail("dsse entry must hold one signature");
      if (!sameBytes(b64OrUndefined(get(sigs[0], "signature")), logged.signature)) {
        tlogFail("dsse signature does not match the envelope's");
      }
      if (!sameBytes(pemB64Der(get(sigs[0], "verifier")), signer)) {
        tlogFail("dsse verifier does not match the bundle's key/certificate");
      }
      return;
    }
    case "dsse/0.0.2": {
      if (!logged.dsse) tlogFail("dsse entry for a message signature bundle");
      const spec = get(body, "spec", "dsseV002");
      if (get(spec, "payloadHash", "algorithm") !== "SHA2_256") {
        tlogFail("dsse payload hash is not SHA2_256");
      }
      if (
        !sameBytes(b64OrUndefined(get(spec, "payloadHash", "digest")), sha256(logged.dsse.payload))
      ) {
        tlogFail("dsse payload hash does not match the envelope");
      }
      const sigs = get(spec, "signatures");
      if (!Array.isArray(sigs) || sigs.length !== 1) tlogFail("dsse entry must hold one signature");
      if (!sameBytes(b64OrUndefined(get(sigs[0], "content")), logged.signature)) {
        tlogFail("dsse signature does not match the envelope's");
      }
      if (!sameBytes(v2Verifier(get(sigs[0], "verifier")), signer)) {
        tlogFail("dsse verifier does not match the bundle's key/certificate");
      }
      return;
    }
    case "intoto/0.0.2": {
      if (!logged.dsse) tlogFail("intoto entry for a message signature bundle");
      const content = get(body, "spec", "content");
      if (get(content, "payloadHash", "algorithm") !== "sha256") {
        tlogFail("intoto payload hash is not sha256");
      }
      if (!hexEq(get(content, "payloadHash", "value"), sha256(logged.dsse.payload))) {
        tlogFail("intoto payload hash does not match the envelope");
      }
      const sigs = get(content, "envelope", "signatures");
      if (!Array.isArray(sigs) || sigs.length !== 1) {
        tlogFail("intoto entry must hold one signature");
      }
      // The intoto type stores the signature base64-encoded twice.
      const once = b64OrUndefined(get(sigs[0], "sig"));
      const sig = once ? b64OrUndefined(textOrUndefined(once)) : undefined;
      if (!sameBytes(sig, logged.signature)) {
        tlogFail("intoto signature does not match the envelope's");
      }
      if (!sameBytes(pemB64Der(get(sigs[0], "publicKey")), signer)) {
        tlogFail("intoto public key does not match the bundle's key/certificate");
      }
      return;
    }
    default:
      throw verifyError("Unsupported", `tlog entry: unsupported entry type ${key}`);
  }
}

/**
 * The canonical JSON that a Rekor v1 SET signs.
 *
 * @example
 * ```ts
 * import { setPayload } from "./tlog.ts";
 * // setPayload(entry) === '{"body":"…","integratedTime":1,"logID":"…","logIndex":2}'
 * ```
 */
export function setPayload(entry: TlogEntry): Uint8Array {
  return utf8(
    `{"body":${JSON.stringify(toBase64(entry.canonicalizedBody))},"integratedTime":${
      entry.integratedTime ?? 0n
    },"logID":${JSON.stringify(toHex(entry.logId))},"logIndex":${entry.logIndex}}`,
  );
}

function findLog(root: TrustedRoot, logId: Uint8Array): TransparencyLog {
  const log = root.tlogs.find((t) => bytesEqual(t.logId, logId));
  if (!log) tlogFail(`log ${toBase64(logId)} is not in the trusted root`);
  if (!log.key) {
    throw verifyError("Unsupported", `tlog entry: log ${log.baseUrl} uses an unsupported key type`);
  }
  return log;
}

/**
 * Verifies a tlog entry: body, SET (when present) and inclusion proof with checkpoint (when
 * present). Throws reason `TlogInvalid` on any failure.
 *
 * @example
 * ```ts
 * import { verifyTlogEntry } from "./tlog.ts";
 * // const { integratedTime } = verifyTlogEntry(entry, logged, trustedRoot);
 * ```
 */
export function verifyTlogEntry(
  entry: TlogEntry,
  logged: LoggedSignature,
  root: TrustedRoot,
): VerifiedEntry {
  checkBody(entry, logged);
  const log = findLog(root, entry.logId);
  const result: VerifiedEntry = { log, inclusionProof: false };
  if (entry.inclusionPromise) {
    if (entry.integratedTime === undefined || entry.integratedTime === 0n) {
      tlogFail("inclusion promise without an integrated time");
    }
    const t = new Date(Number(entry.integratedTime) * 1000);
    if (!inRange(log.validFor, t)) {
      tlogFail(`log key of ${log.baseUrl} is not valid at the integrated time`);
    }
    if (!verifyMessage(log.key!, undefined, setPayload(entry), entry.inclusionPromise)) {
      tlogFail("inclusion promise (SET) does not verify under the log's key");
    }
    result.integratedTime = t;
  }
  const proof = entry.inclusionProof;
  if (proof) {
    if (
      !verifyInclusion(
        proof.logIndex,
        proof.treeSize,
        leafHash(entry.canonicalizedBody),
        proof.hashes,
        proof.rootHash,
      )
    ) {
      tlogFail("inclusion proof does not lead to its root hash");
    }
    if (proof.checkpoint !== "") {
      let cp;
      try {
        cp = parseCheckpoint(proof.checkpoint);
      } catch (e) {
        tlogFail(`checkpoint is malformed: ${(e as Error).message}`, e);
      }
      if (cp.size !== proof.treeSize || !bytesEqual(cp.rootHash, proof.rootHash)) {
        tlogFail("checkpoint does not match the inclusion proof's tree");
      }
      if (!verifyCheckpoint(cp, log)) tlogFail("checkpoint has no valid signature from the log");
      result.inclusionProof = true;
    }
  }
  if (!result.integratedTime && !result.inclusionProof) {
    tlogFail("entry has neither a verified inclusion promise nor a verified inclusion proof");
  }
  return result;
}
