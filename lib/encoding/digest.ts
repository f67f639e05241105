/**
 * SHA-256 digests in OCI form (`sha256:<64 lowercase hex>`), over bytes or streams.
 *
 * The streaming form feeds chunks to `@noble/hashes` as they arrive, so a digest of a
 * `ReadableStream` never holds the whole input in memory.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "./bytes.ts";

/** An OCI content digest: `sha256:` followed by 64 lowercase hex digits. */
export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/**
 * SHA-256 of bytes, raw.
 *
 * @example
 * ```ts
 * import { sha256Bytes } from "./digest.ts";
 * sha256Bytes(new Uint8Array()).length; // 32
 * ```
 */
export function sha256Bytes(data: Uint8Array): Uint8Array {
  return sha256(data);
}

/**
 * OCI digest (`sha256:<hex>`) of bytes.
 *
 * @example
 * ```ts
 * import { digestBytes } from "./digest.ts";
 * digestBytes(new TextEncoder().encode("{}"));
 * // "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
 * ```
 */
export function digestBytes(data: Uint8Array): Digest {
  return `sha256:${toHex(sha256(data))}`;
}

/**
 * OCI digest of a byte stream, hashed incrementally (constant memory).
 * Resolves with the digest and the number of bytes read.
 *
 * @example
 * ```ts
 * import { digestStream } from "./digest.ts";
 * const { digest, size } = await digestStream(new Blob(["{}"]).stream());
 * // digest === "sha256:44136fa3...", size === 2
 * ```
 */
export async function digestStream(
  stream: ReadableStream<Uint8Array>,
): Promise<{ digest: Digest; size: number }> {
  const h = sha256.create();
  let size = 0;
  for await (const chunk of stream) {
    h.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${toHex(h.digest())}`, size };
}

/**
 * True when `s` is a well-formed sha256 digest (`sha256:` + 64 lowercase hex).
 *
 * @example
 * ```ts
 * import { isDigest } from "./digest.ts";
 * isDigest("sha256:" + "0".repeat(64)); // true
 * isDigest("sha256:ABC"); // false
 * ```
 */
export function isDigest(s: unknown): s is Digest {
  return typeof s === "string" && DIGEST_RE.test(s);
}

/**
 * The 64 hex digits of a digest (throws `TypeError` on a malformed digest).
 *
 * @example
 * ```ts
 * import { digestHex } from "./digest.ts";
 * digestHex("sha256:" + "a".repeat(64)); // "aaaa…"
 * ```
 */
export function digestHex(d: string): string {
  if (!isDigest(d)) throw new TypeError(`not a sha256 digest: ${JSON.stringify(d)}`);
  return d.slice(7);
}
