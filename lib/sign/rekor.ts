/**
 * Rekor v1 transparency-log uploads: `hashedrekord` v0.0.1 (the legacy cosign layout) and
 * `dsse` v0.0.1 (bundles). The returned {@link TlogEntry} keeps everything a verifier
 * needs offline: the signed entry timestamp (SET), the inclusion proof and its checkpoint.
 *
 * @module
 */
import { concatBytes, fromBase64, fromHex, toBase64, toHex, utf8 } from "../encoding/bytes.ts";
import { sha256Bytes } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { callService, type FetchFn, parseServiceJson } from "./http.ts";

/** A Rekor log entry as returned on upload. */
export interface TlogEntry {
  /** `hashedrekord` or `dsse`. */
  kind: "hashedrekord" | "dsse";
  /** Entry API version (`0.0.1`). */
  version: string;
  /** Entry UUID. */
  uuid: string;
  /** Canonicalized entry body, base64. */
  body: string;
  /** Integration time (seconds). */
  integratedTime: number;
  /** Global log index. */
  logIndex: number;
  /** Log ID, hex (SHA-256 of the log's public key). */
  logID: string;
  /** Signed entry timestamp, base64. */
  signedEntryTimestamp: string;
  /** Inclusion proof, when the log returned one. */
  inclusionProof?: {
    /** Index in the tree. */
    logIndex: number;
    /** Root hash, hex. */
    rootHash: string;
    /** Tree size. */
    treeSize: number;
    /** Audit path, hex. */
    hashes: string[];
    /** Signed checkpoint note. */
    checkpoint: string;
  };
}

/** Common options of the uploads. */
export interface RekorOptions {
  /** Rekor base URL, e.g. `https://rekor.sigstore.dev`. */
  rekorUrl: string;
  /** Transport. */
  fetch?: FetchFn;
}

/**
 * Uploads a `hashedrekord` v0.0.1 entry: SHA-256 of `data`, the DER signature and the
 * verifier PEM (leaf certificate or public key).
 *
 * @example
 * ```ts
 * import { uploadHashedRekord } from "./rekor.ts";
 * declare const payload: Uint8Array, sig: Uint8Array, certPem: string;
 * const entry = await uploadHashedRekord({ rekorUrl: "https://rekor.sigstore.dev" }, payload, sig, certPem);
 * entry.signedEntryTimestamp; // base64 SET
 * ```
 */
export function uploadHashedRekord(
  opts: RekorOptions,
  data: Uint8Array,
  signature: Uint8Array,
  verifierPem: string,
): Promise<TlogEntry> {
  const proposed = {
    apiVersion: "0.0.1",
    kind: "hashedrekord",
    spec: {
      data: { hash: { algorithm: "sha256", value: toHex(sha256Bytes(data)) } },
      signature: {
        content: toBase64(signature),
        publicKey: { content: toBase64(utf8(verifierPem)) },
      },
    },
  };
  return upload(opts, proposed, "hashedrekord", toBase64(signature));
}

/**
 * Uploads a `dsse` v0.0.1 entry for a DSSE envelope (its JSON text) and verifier PEM.
 *
 * @example
 * ```ts
 * import { uploadDsse } from "./rekor.ts";
 * declare const envelopeJson: string, certPem: string;
 * await uploadDsse({ rekorUrl: "https://rekor.sigstore.dev" }, envelopeJson, certPem);
 * ```
 */
export function uploadDsse(
  opts: RekorOptions,
  envelopeJson: string,
  verifierPem: string,
): Promise<TlogEntry> {
  const env = JSON.parse(envelopeJson);
  const proposed = {
    apiVersion: "0.0.1",
    kind: "dsse",
    spec: {
      proposedContent: { envelope: envelopeJson, verifiers: [toBase64(utf8(verifierPem))] },
    },
  };
  return upload(opts, proposed, "dsse", env.signatures?.[0]?.sig);
}

async function upload(
  opts: RekorOptions,
  proposed: unknown,
  kind: TlogEntry["kind"],
  signatureB64: string,
): Promise<TlogEntry> {
  const base = opts.rekorUrl.replace(/\/+$/, "");
  const body = await callService(`${base}/api/v1/log/entries`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(proposed),
  }, {
    service: "Rekor",
    hint: "check the Rekor URL, or for key/KMS signatures turn the transparency-log upload off",
    fixOptions: ["rekorUrl", "tlogUpload"],
    ok: [200, 201],
    fetch: opts.fetch,
  });
  // deno-lint-ignore no-explicit-any
  const json = parseServiceJson(body, "Rekor") as any;
  const uuids = json && typeof json === "object" ? Object.keys(json) : [];
  if (uuids.length !== 1) throw bad("expected exactly one log entry in the response");
  const uuid = uuids[0];
  const e = json[uuid];
  if (
    typeof e?.body !== "string" || !Number.isSafeInteger(e.integratedTime) ||
    !Number.isSafeInteger(e.logIndex) || typeof e.logID !== "string" ||
    typeof e.verification?.signedEntryTimestamp !== "string"
  ) {
    throw bad("the log entry lacks body, integratedTime, logIndex, logID or SET");
  }
  // The logged body must be the entry we proposed (same kind, same signature).
  let logged;
  try {
    logged = JSON.parse(new TextDecoder().decode(fromBase64(e.body)));
    fromHex(e.logID);
  } catch {
    throw bad("the log entry body is not base64 JSON");
  }
  const loggedSig = kind === "hashedrekord"
    ? logged?.spec?.signature?.content
    : logged?.spec?.signatures?.[0]?.signature;
  if (logged?.kind !== kind || loggedSig !== signatureB64) {
    throw bad(`the logged entry is not the ${kind} entry that was sent`);
  }
  const p = e.verification.inclusionProof;
  const entry: TlogEntry = {
    kind,
    version: typeof logged.apiVersion === "string" ? logged.apiVersion : "0.0.1",
    uuid,
    body: e.body,
    integratedTime: e.integratedTime,
    logIndex: e.logIndex,
    logID: e.logID,
    signedEntryTimestamp: e.verification.signedEntryTimestamp,
  };
  if (p && typeof p.checkpoint === "string" && typeof p.rootHash === "string") {
    entry.inclusionProof = {
      logIndex: p.logIndex,
      rootHash: p.rootHash,
      treeSize: p.treeSize,
      hashes: Array.isArray(p.hashes) ? p.hashes : [],
      checkpoint: p.checkpoint,
    };
    checkInclusionProof(entry);
  }
  return entry;
}

/**
 * The root hash an RFC 9162 inclusion proof (audit path) leads to from a leaf hash; throws
 * `Error` when index, size and path length do not fit together.
 *
 * @example
 * ```ts
 * import { inclusionRoot } from "./rekor.ts";
 * declare const leafHash: Uint8Array;
 * inclusionRoot(leafHash, 0, 1, []); // leafHash (a one-leaf tree)
 * ```
 */
export function inclusionRoot(
  leafHash: Uint8Array,
  index: number,
  size: number,
  path: Uint8Array[],
): Uint8Array {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new Error("index out of range");
  }
  let hash = leafHash;
  let fn = index, sn = size - 1;
  for (const h of path) {
    if (sn === 0) throw new Error("path too long");
    if (fn % 2 === 1 || fn === sn) {
      hash = sha256Bytes(concatBytes(new Uint8Array([1]), h, hash));
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      hash = sha256Bytes(concatBytes(new Uint8Array([1]), hash, h));
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("path too short");
  return hash;
}

/**
 * Checks that an entry's inclusion proof leads from its body to the proof's root hash
 * (RFC 6962 / 9162 audit path) and that the checkpoint names that root. Signatures (SET,
 * checkpoint) are the verifier's business: they need the log's trusted key.
 */
function checkInclusionProof(e: TlogEntry): void {
  const p = e.inclusionProof!;
  let root: Uint8Array;
  try {
    const leaf = sha256Bytes(concatBytes(new Uint8Array([0]), fromBase64(e.body)));
    root = inclusionRoot(leaf, p.logIndex, p.treeSize, p.hashes.map((x) => fromHex(x)));
  } catch (err) {
    throw bad(`the inclusion proof is malformed (${(err as Error).message})`);
  }
  if (toHex(root) !== p.rootHash.toLowerCase()) {
    throw bad("the inclusion proof does not lead to its root hash");
  }
  const lines = p.checkpoint.split("\n");
  if (lines[2] !== toBase64(root)) throw bad("the checkpoint names another root hash");
}

function bad(what: string): KarsError {
  return new KarsError("SIGN", `Rekor returned an unusable response: ${what}`, {
    details: { service: "Rekor" },
  });
}
