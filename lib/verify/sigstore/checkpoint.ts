/**
 * Checkpoints: C2SP signed notes (`tlog-checkpoint`, `signed-note`) as carried in Sigstore
 * inclusion proofs, for Rekor v1 (ECDSA) and Rekor v2 (Ed25519, with witness cosignatures).
 *
 * A checkpoint verifies when at least one of its signature lines is the log's own: its key
 * hint (first 4 bytes) equals the first 4 bytes of the log's id (or checkpoint key id), its
 * key name is the log's host or the checkpoint origin, and the signature verifies under the
 * log's key. Other lines (witness cosignatures, unknown keys) are ignored.
 *
 * @module
 */
import { bytesEqual, fromBase64, utf8 } from "../../encoding/bytes.ts";
import { verifyMessage } from "./keys.ts";
import type { TransparencyLog } from "./trust_root.ts";

/** A parsed checkpoint. */
export interface Checkpoint {
  /** The log origin (first line). */
  origin: string;
  /** Tree size. */
  size: bigint;
  /** Root hash. */
  rootHash: Uint8Array;
  /** Extension lines after the root hash. */
  extensions: string[];
  /** The signed text (body lines, each ending in a newline). */
  text: string;
  /** Signature lines. */
  signatures: Array<{ name: string; keyHint: Uint8Array; signature: Uint8Array }>;
}

/**
 * Parses a signed-note checkpoint. Throws `TypeError` when malformed (missing origin, size
 * or root hash, no signature, bad signature line).
 *
 * @example
 * ```ts
 * import { parseCheckpoint } from "./checkpoint.ts";
 * // parseCheckpoint(entry.inclusionProof.checkpoint).size
 * ```
 */
export function parseCheckpoint(envelope: string): Checkpoint {
  const sep = envelope.indexOf("\n\n");
  if (sep < 0) throw new TypeError("checkpoint: no blank line before the signatures");
  const text = envelope.slice(0, sep + 1);
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new TypeError("checkpoint: needs origin, size and root hash lines");
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin.length === 0) throw new TypeError("checkpoint: empty origin");
  if (!/^(0|[1-9]\d*)$/.test(sizeLine)) throw new TypeError("checkpoint: bad tree size");
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootLine);
  } catch {
    throw new TypeError("checkpoint: bad root hash");
  }
  if (rootHash.length !== 32) throw new TypeError("checkpoint: root hash is not 32 bytes");
  const sigText = envelope.slice(sep + 2);
  if (!sigText.endsWith("\n")) throw new TypeError("checkpoint: signatures must end in a newline");
  const signatures = sigText.slice(0, -1).split("\n").map((line) => {
    const m = line.match(/^\u2014 (\S+) (\S+)$/);
    if (!m) throw new TypeError("checkpoint: bad signature line");
    const raw = fromBase64(m[2]);
    if (raw.length < 5) throw new TypeError("checkpoint: signature too short");
    return { name: m[1], keyHint: raw.subarray(0, 4), signature: raw.subarray(4) };
  });
  if (signatures.length === 0) throw new TypeError("checkpoint: no signatures");
  return { origin, size: BigInt(sizeLine), rootHash, extensions, text, signatures };
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/**
 * True when the checkpoint carries a valid signature of `log`.
 *
 * @example
 * ```ts
 * import { parseCheckpoint, verifyCheckpoint } from "./checkpoint.ts";
 * // verifyCheckpoint(parseCheckpoint(text), tlog)
 * ```
 */
export function verifyCheckpoint(cp: Checkpoint, log: TransparencyLog): boolean {
  if (!log.key) return false;
  const id = log.checkpointKeyId ?? log.logId;
  const names = new Set([cp.origin, hostOf(log.baseUrl)].filter((n): n is string => !!n));
  const text = utf8(cp.text);
  return cp.signatures.some((s) =>
    names.has(s.name) && bytesEqual(s.keyHint, id.subarray(0, 4)) &&
    verifyMessage(log.key!, undefined, text, s.signature)
  );
}
