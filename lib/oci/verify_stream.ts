/**
 * Streams that check content against a digest as it flows: the bytes pass through
 * unchanged, a SHA-256 is computed incrementally, and the stream errors at its end with a
 * `KarsError("REGISTRY")` (`details.reason` `DigestMismatch`) when digest or size differ.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "../encoding/bytes.ts";
import type { Digest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";

/**
 * Wraps `source` so that it errors (instead of ending) when its bytes do not hash to
 * `digest`, or exceed / fall short of `size` when given. Constant memory.
 *
 * @example
 * ```ts
 * import { verifyingStream } from "./verify_stream.ts";
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
