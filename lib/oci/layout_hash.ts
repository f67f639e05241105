/**
 * The streaming SHA-256 a layout's blob check uses (node:crypto, native speed on large files).
 * A module of its own so that node:crypto is loaded by the runs that check a layout's blobs,
 * not by every run (the standalone binary cannot import a `node:` built-in dynamically, but
 * it can load this module lazily).
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * A SHA-256 hasher fed chunk by chunk; `hex()` returns the lowercase hex digest.
 *
 * @example
 * ```ts
 * import { sha256Hasher } from "./layout_hash.ts";
 * const h = sha256Hasher();
 * h.update(new TextEncoder().encode("{}"));
 * h.hex(); // "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
 * ```
 */
export function sha256Hasher(): { update(b: Uint8Array): void; hex(): string } {
  const h = createHash("sha256");
  return {
    update: (b) => void h.update(b),
    hex: () => h.digest("hex"),
  };
}
