/**
 * Reading a whole stream (standard input) with a size cap enforced while reading: more than
 * `maxBytes` is refused as soon as it arrives, never buffered whole.
 *
 * @module
 */
import { KarsError } from "../errors.ts";

/** Options of {@link readStreamBounded}. */
export interface ReadStreamBoundedOptions {
  /** Most bytes accepted. */
  maxBytes: number;
  /** What the stream is, for messages (default `"<stdin>"`). */
  what?: string;
  /** The error for input over the cap (default: `INPUT` `<what>: larger than N bytes`). */
  tooLarge?: () => Error;
}

/**
 * Reads `stream` to its end, refusing more than `maxBytes` (the stream is cancelled then).
 * Over the cap: `KarsError("INPUT")` with `details.limit`, or `options.tooLarge()`.
 *
 * @example
 * ```ts
 * import { readStreamBounded } from "./stream_read.ts";
 * const bytes = await readStreamBounded(new Blob(["secret\n"]).stream(), { maxBytes: 1024 });
 * bytes.length; // 7
 * ```
 */
export async function readStreamBounded(
  stream: ReadableStream<Uint8Array>,
  options: ReadStreamBoundedOptions,
): Promise<Uint8Array> {
  const max = options.maxBytes;
  const tooLarge = options.tooLarge ?? (() =>
    new KarsError(
      "INPUT",
      `${options.what ?? "<stdin>"}: larger than ${max} bytes; is it the right input?`,
      { details: { limit: max } },
    ));
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) throw tooLarge();
      chunks.push(value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0];
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return all;
}
