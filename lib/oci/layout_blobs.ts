/**
 * The blob store of an OCI image layout (`blobs/sha256/<hex>`): a blob counts as present
 * only when its bytes hash to its name, reads are checked against digest and size (streams
 * as they flow), and writes are atomic. Paths are checked against symbolic links
 * ({@link LayoutDir.safe}).
 *
 * @module
 */
import { type FileHandle, lstat, open } from "node:fs/promises";
import { type Digest, isDigest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { readFileBounded } from "../io/file_read.ts";

/** Largest layout blob read into memory when the caller states no size (as for a registry). */
const UNSIZED_READ_MAX_BYTES = 64 * 1024 * 1024;
import { checkContent, verifyingStream } from "./content.ts";
import { fsErrorCode, type LayoutDir, writeAtomic } from "./layout_dir.ts";
import type { Descriptor } from "./types.ts";

/**
 * The blobs of the layout `d`.
 *
 * @example
 * ```ts
 * import { LayoutBlobs } from "./layout_blobs.ts";
 * import { LayoutDir } from "./layout_dir.ts";
 * const blobs = new LayoutBlobs(new LayoutDir("./layout"));
 * await blobs.has("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
 * ```
 */
export class LayoutBlobs {
  readonly #d: LayoutDir;

  /**
   * The blob store of the layout `d`.
   *
   * @param d the layout directory
   */
  constructor(d: LayoutDir) {
    this.#d = d;
  }

  /**
   * The path of blob `digest` (checked as {@link LayoutDir.safe} does); `INPUT` when
   * `digest` is not a sha256 digest.
   *
   * @example
   * ```ts
   * import { LayoutBlobs } from "./layout_blobs.ts";
   * import { LayoutDir } from "./layout_dir.ts";
   * await new LayoutBlobs(new LayoutDir("./layout"))
   *   .path("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
   * ```
   */
  path(digest: Digest): Promise<string> {
    if (!isDigest(digest)) {
      return Promise.reject(
        new KarsError(
          "INPUT",
          `${this.#d.location}: ${JSON.stringify(digest)} is not a sha256 digest`,
        ),
      );
    }
    return this.#d.safe("blobs", "sha256", digest.slice(7));
  }

  /**
   * True only when the blob file is a regular file whose bytes hash to `digest` (a
   * corrupted or truncated file counts as absent, so it gets rewritten).
   *
   * @example
   * ```ts
   * import { LayoutBlobs } from "./layout_blobs.ts";
   * import { LayoutDir } from "./layout_dir.ts";
   * await new LayoutBlobs(new LayoutDir("./layout"))
   *   .has("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"); // false
   * ```
   */
  async has(digest: Digest): Promise<boolean> {
    const path = await this.path(digest);
    let fh: FileHandle;
    try {
      const st = await lstat(path);
      if (!st.isFile()) return false;
      fh = await open(path, "r");
    } catch (e) {
      if (fsErrorCode(e) === "ENOENT") return false;
      throw this.#d.fsError(`check blob ${digest}`, e);
    }
    try {
      // node:crypto is loaded by the runs that check a layout's blobs, not by every run.
      const { sha256Hasher } = await import("./layout_hash.ts");
      const h = sha256Hasher();
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
      }
      return `sha256:${h.hex()}` === digest;
    } catch (e) {
      throw this.#d.fsError(`check blob ${digest}`, e);
    } finally {
      await fh.close();
    }
  }

  /**
   * Reads blob `digest` (`what` names it in messages: `blob`, `manifest`), checked against
   * its digest and `size`; `NOT_FOUND` when absent.
   *
   * @example
   * ```ts
   * import { LayoutBlobs } from "./layout_blobs.ts";
   * import { LayoutDir } from "./layout_dir.ts";
   * const blobs = new LayoutBlobs(new LayoutDir("./layout"));
   * // await blobs.read("sha256:...", "manifest", 512);
   * ```
   */
  async read(digest: Digest, what: string, size?: number): Promise<Uint8Array> {
    let bytes: Uint8Array;
    const path = await this.path(digest);
    const limit = size ?? UNSIZED_READ_MAX_BYTES;
    try {
      // Bounded: never more than the descriptor's size (or 64 MiB without one) is read.
      bytes = await readFileBounded(path, { maxBytes: limit });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "NOT_FOUND" || fsErrorCode(e) === "ENOENT") {
        throw new KarsError("NOT_FOUND", `${this.#d.location}: ${what} ${digest} not found`);
      }
      if (code === "INPUT") {
        throw new KarsError(
          "REGISTRY",
          `${this.#d.location}: ${what} ${digest} has more than ${limit} bytes${
            size === undefined ? "" : `, expected ${size}`
          }`,
          { cause: e, details: { reason: "DigestMismatch", expected: digest, expectedSize: size } },
        );
      }
      if (e instanceof KarsError) throw e;
      throw this.#d.fsError(`read ${what} ${digest}`, e);
    }
    checkContent(this.#d.location, what, digest, bytes, size);
    return bytes;
  }

  /**
   * Streams blob `digest` from disk (constant memory); the stream errors with
   * `REGISTRY`/`DigestMismatch` at its end when the file does not match `digest` (or `size`).
   *
   * @example
   * ```ts
   * import { LayoutBlobs } from "./layout_blobs.ts";
   * import { LayoutDir } from "./layout_dir.ts";
   * const blobs = new LayoutBlobs(new LayoutDir("./layout"));
   * // const s = await blobs.stream("sha256:...", 2);
   * ```
   */
  async stream(digest: Digest, size?: number): Promise<ReadableStream<Uint8Array>> {
    let fh: FileHandle;
    const path = await this.path(digest);
    try {
      fh = await open(path, "r");
    } catch (e) {
      if (fsErrorCode(e) === "ENOENT") {
        throw new KarsError("NOT_FOUND", `${this.#d.location}: blob ${digest} not found`);
      }
      if (e instanceof KarsError) throw e;
      throw this.#d.fsError(`read blob ${digest}`, e);
    }
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await fh.close();
    };
    const source = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const buf = new Uint8Array(64 * 1024);
          const { bytesRead } = await fh.read(buf, 0, buf.length, null);
          if (bytesRead === 0) {
            await close();
            controller.close();
          } else controller.enqueue(buf.subarray(0, bytesRead));
        } catch (e) {
          await close().catch(() => {});
          controller.error(e);
        }
      },
      cancel: () => close(),
    });
    return verifyingStream(source, digest, size, `${this.#d.location}: blob ${digest}`);
  }

  /**
   * Stores a blob (checked against `desc` first) unless an intact copy is there; a
   * corrupted file of that name is replaced atomically. Creates the layout when absent.
   *
   * @example
   * ```ts
   * import { LayoutBlobs } from "./layout_blobs.ts";
   * import { LayoutDir } from "./layout_dir.ts";
   * await new LayoutBlobs(new LayoutDir("./layout")).write(
   *   { digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2 },
   *   new TextEncoder().encode("{}"),
   * );
   * ```
   */
  async write(desc: Pick<Descriptor, "digest" | "size">, data: Uint8Array): Promise<void> {
    checkContent(this.#d.location, "blob to push", desc.digest, data, desc.size);
    await this.#d.ensure();
    if (await this.has(desc.digest)) return;
    try {
      // Replaces a corrupted file of that name atomically.
      await writeAtomic(await this.path(desc.digest), data);
    } catch (e) {
      if (e instanceof KarsError) throw e;
      throw this.#d.fsError(`write blob ${desc.digest}`, e);
    }
  }
}
