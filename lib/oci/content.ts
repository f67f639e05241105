/**
 * Content checks: bytes, or a stream as it flows, against the digest (and size) a descriptor
 * names. Every read from a `Target` and every blob about to be pushed goes through one
 * of these, so content that does not match its name is never accepted or stored. A mismatch
 * is `KarsError("REGISTRY")` with `details.reason` `DigestMismatch`.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "../encoding/bytes.ts";
import { type Digest, digestBytes, isDigest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";

/**
 * Throws `REGISTRY` with `details.reason` `DigestMismatch` when `bytes` do not match
 * `digest` (and `size`); `INPUT` when `digest` is malformed.
 *
 * @example
 * ```ts
 * import { checkContent } from "./content.ts";
 * checkContent("here", "blob", "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", new TextEncoder().encode("{}"), 2);
 * ```
 */
export function checkContent(
  where: string,
  what: string,
  digest: Digest,
  bytes: Uint8Array,
  size?: number,
): void {
  if (!isDigest(digest)) {
    throw new KarsError(
      "INPUT",
      `${where}: ${what}: ${JSON.stringify(digest)} is not a sha256 digest`,
    );
  }
  if (size !== undefined && bytes.length !== size) {
    throw new KarsError(
      "REGISTRY",
      `${where}: ${what} ${digest} has ${bytes.length} bytes, expected ${size}`,
      {
        details: {
          reason: "DigestMismatch",
          expected: digest,
          expectedSize: size,
          actualSize: bytes.length,
        },
      },
    );
  }
  const actual = digestBytes(bytes);
  if (actual !== digest) {
    throw new KarsError(
      "REGISTRY",
      `${where}: ${what} content has digest ${actual}, expected ${digest}`,
      { details: { reason: "DigestMismatch", expected: digest, actual } },
    );
  }
}

/**
 * Wraps `source` so that it errors (instead of ending) when its bytes do not hash to
 * `digest`, or exceed / fall short of `size` when given. Constant memory.
 *
 * @example
 * ```ts
 * import { verifyingStream } from "./content.ts";
 * const s = verifyingStream(new Blob(["{}"]).stream(),
 *   "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 2, "example");
 * await new Response(s).text(); // "{}"
 * ```
 */
export function verifyingStream(
  source: ReadableStream<Uint8Array>,
  digest: Digest,
  size: number | undefined,
  where: string,
): ReadableStream<Uint8Array> {
  const h = sha256.create();
  let n = 0;
  const mismatch = (msg: string, details: Record<string, unknown>) =>
    new KarsError("REGISTRY", `${where}: ${msg}`, {
      details: { reason: "DigestMismatch", expected: digest, ...details },
    });
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        n += chunk.length;
        if (size !== undefined && n > size) {
          controller.error(
            mismatch(`more than the expected ${size} bytes for ${digest}`, { actualSize: n }),
          );
          return;
        }
        h.update(chunk);
        controller.enqueue(chunk);
      },
      flush(controller) {
        if (size !== undefined && n !== size) {
          controller.error(
            mismatch(`${n} bytes for ${digest}, expected ${size}`, { actualSize: n }),
          );
          return;
        }
        const actual = `sha256:${toHex(h.digest())}`;
        if (actual !== digest) {
          controller.error(
            mismatch(`content has digest ${actual}, expected ${digest}`, { actual }),
          );
        }
      },
    }),
  );
}
