/**
 * Test vectors made here: signers (P-256 with noble, RSA with WebCrypto), a transparency log
 * of our own (SETs, Merkle trees, checkpoints) and key-signed bundles with hashedrekord
 * entries, plus trusted roots naming our log.
 *
 * @module
 */
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, fromHex, toBase64, toHex, utf8 } from "../../../lib/encoding/bytes.ts";
import { decodeDer, readBitString } from "../../../lib/encoding/der.ts";
import { pemEncode } from "../../../lib/encoding/pem.ts";
import { leafHash } from "../../../lib/verify/sigstore/merkle.ts";

/** A signer: its SPKI and a signing function (over the message, hashing with SHA-256). */
export interface Signer {
  spki: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

const P256_SPKI_PREFIX = fromHex("3059301306072a8648ce3d020106082a8648ce3d030107034200");

/** A fresh P-256 signer (ECDSA, DER signatures). */
export function p256Signer(): Signer {
  const priv = p256.utils.randomSecretKey();
  return {
    spki: concatBytes(P256_SPKI_PREFIX, p256.getPublicKey(priv, false)),
    sign: (m) => Promise.resolve(p256.sign(sha256(m), priv, { prehash: false, format: "der" })),
  };
}

/** A fresh RSA-2048 PKCS#1 v1.5 SHA-256 signer from WebCrypto. */
export async function rsaSigner(): Promise<Signer & { pkcs1: Uint8Array }> {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const pkcs1 = readBitString(decodeDer(spki).children[1]);
  return {
    spki,
    pkcs1,
    sign: async (m) =>
      new Uint8Array(
        await crypto.subtle.sign("RSASSA-PKCS1-v1_5", pair.privateKey, m as BufferSource),
      ),
  };
}

/** RFC 6962 Merkle tree hash of leaves[lo, hi). */
export function treeHash(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(
    concatBytes(new Uint8Array([1]), treeHash(leaves.slice(0, k)), treeHash(leaves.slice(k))),
  );
}

/** RFC 6962 audit path for leaf m in leaves. */
export function auditPath(m: number, leaves: Uint8Array[]): Uint8Array[] {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k
    ? [...auditPath(m, leaves.slice(0, k)), treeHash(leaves.slice(k))]
    : [...auditPath(m - k, leaves.slice(k)), treeHash(leaves.slice(0, k))];
}

/** Our own transparency log. */
export interface TestLog {
  signer: Signer;
  baseUrl: string;
  logId: Uint8Array;
  /** keyDetails for the trusted root. */
  keyDetails: string;
  /** rawBytes for the trusted root (PKCS#1 for RSA, SPKI otherwise). */
  rawBytes: Uint8Array;
}

/** A log with a P-256 key (like Rekor v1). */
export function p256Log(baseUrl = "https://rekor.test.example"): TestLog {
  const signer = p256Signer();
  return {
    signer,
    baseUrl,
    logId: sha256(signer.spki),
    keyDetails: "PKIX_ECDSA_P256_SHA_256",
    rawBytes: signer.spki,
  };
}

/** A log with an RSA key stored as PKCS#1 in the trusted root. */
export async function rsaLog(baseUrl = "https://rekor-rsa.test.example"): Promise<TestLog> {
  const signer = await rsaSigner();
  return {
    signer,
    baseUrl,
    logId: sha256(signer.spki),
    keyDetails: "PKCS1_RSA_PKCS1V5",
    rawBytes: signer.pkcs1,
  };
}

/** The trusted-root JSON entry for a log. */
export function tlogJson(
  log: TestLog,
  validFor: { start: string; end?: string } = { start: "2020-01-01T00:00:00Z" },
) {
  return {
    baseUrl: log.baseUrl,
    hashAlgorithm: "SHA2_256",
    publicKey: { rawBytes: toBase64(log.rawBytes), keyDetails: log.keyDetails, validFor },
    logId: { keyId: toBase64(log.logId) },
  };
}

/** A trusted root holding only these logs. */
export function trustRootJson(logs: TestLog[]) {
  return {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: logs.map((l) => tlogJson(l)),
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
}

/** The SET payload Rekor v1 signs. */
export function setPayload(
  body: Uint8Array,
  integratedTime: number,
  logId: Uint8Array,
  logIndex: number,
) {
  return utf8(
    `{"body":${JSON.stringify(toBase64(body))},"integratedTime":${integratedTime},"logID":"${
      toHex(logId)
    }","logIndex":${logIndex}}`,
  );
}

/** A signed checkpoint for a tree. */
export async function checkpoint(
  log: TestLog,
  size: number,
  root: Uint8Array,
  extraLines: string[] = [],
) {
  const name = new URL(log.baseUrl).host;
  const text = `${name} - 42\n${size}\n${toBase64(root)}\n`;
  const sig = await log.signer.sign(utf8(text));
  const line = `\u2014 ${name} ${toBase64(concatBytes(log.logId.subarray(0, 4), sig))}\n`;
  return `${text}\n${[...extraLines, line].join("")}`;
}

/** Options of {@link keyBundle}. */
export interface KeyBundleOptions {
  artifact: Uint8Array;
  signer: Signer;
  log: TestLog;
  integratedTime?: number;
  /** Number of leaves in the log tree (our entry is the last but one, or the only one). */
  treeSize?: number;
  /** Body override (e.g. for another artifact). */
  bodyDigest?: Uint8Array;
  /** Sign the SET with this signer instead of the log's. */
  setSigner?: Signer;
  /** Sign the checkpoint as this log instead. */
  checkpointLog?: TestLog;
}

/** A v0.3 bundle signed by a key, with a hashedrekord 0.0.1 entry (SET + inclusion proof). */
export async function keyBundle(o: KeyBundleOptions): Promise<Record<string, unknown>> {
  const signature = await o.signer.sign(o.artifact);
  const digest = sha256(o.artifact);
  const body = utf8(JSON.stringify({
    apiVersion: "0.0.1",
    kind: "hashedrekord",
    spec: {
      data: { hash: { algorithm: "sha256", value: toHex(o.bodyDigest ?? digest) } },
      signature: {
        content: toBase64(signature),
        publicKey: { content: toBase64(utf8(pemEncode("PUBLIC KEY", o.signer.spki))) },
      },
    },
  }));
  const integratedTime = o.integratedTime ?? 1_700_000_000;
  const size = o.treeSize ?? 5;
  const index = size >= 2 ? size - 2 : 0;
  const leaves = Array.from({ length: size }, (_, i) => leafHash(utf8(`other entry ${i}`)));
  leaves[index] = leafHash(body);
  const root = treeHash(leaves);
  const set = await (o.setSigner ?? o.log.signer).sign(
    setPayload(body, integratedTime, o.log.logId, index),
  );
  return {
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: {
      publicKey: { hint: "" },
      tlogEntries: [{
        logIndex: String(index),
        logId: { keyId: toBase64(o.log.logId) },
        kindVersion: { kind: "hashedrekord", version: "0.0.1" },
        integratedTime: String(integratedTime),
        inclusionPromise: { signedEntryTimestamp: toBase64(set) },
        inclusionProof: {
          logIndex: String(index),
          rootHash: toBase64(root),
          treeSize: String(size),
          hashes: auditPath(index, leaves).map(toBase64),
          checkpoint: { envelope: await checkpoint(o.checkpointLog ?? o.log, size, root) },
        },
        canonicalizedBody: toBase64(body),
      }],
    },
    messageSignature: {
      messageDigest: { algorithm: "SHA2_256", digest: toBase64(digest) },
      signature: toBase64(signature),
    },
  };
}
