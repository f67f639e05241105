/**
 * Reading a whole file with a size cap enforced while reading: an oversized file, or one that
 * never ends (`/dev/zero`, a FIFO), is refused after at most `maxBytes + 1` bytes, never read
 * whole into memory.
 *
 * @module
 */
import { open } from "node:fs/promises";
import { KarsError } from "../errors.ts";

/** Default cap of {@link readFileBounded}: 4 MiB (the input cap of the YAML reader). */
export const FILE_READ_MAX_BYTES = 4 * 1024 * 1024;

/** An error of {@link readFileBounded}: `<name>: <problem>`, the problem also in `details`. */
function failure(
  code: "NOT_FOUND" | "FILE" | "INPUT",
  name: string,
  problem: string,
  extra: { cause?: unknown; limit?: number } = {},
): KarsError {
  return new KarsError(code, `${name}: ${problem}`, {
    cause: extra.cause,
    details: { problem, ...(extra.limit !== undefined ? { limit: extra.limit } : {}) },
  });
}

/**
 * What went wrong in a {@link readFileBounded} error, without the file's name (for a caller
 * that names the file itself): e.g. `"is a directory, not a file"`, `"no such file"`;
 * `undefined` for any other error.
 *
 * @example
 * ```ts
 * import { readFileBounded, readProblem } from "./file_read.ts";
 * try {
 *   await readFileBounded("/");
 * } catch (e) {
 *   readProblem(e); // "is a directory, not a file"
 * }
 * ```
 */
export function readProblem(e: unknown): string | undefined {
  const p = e instanceof KarsError ? e.details?.problem : undefined;
  return typeof p === "string" ? p : undefined;
}

/** Options of {@link readFileBounded}. */
export interface ReadFileBoundedOptions {
  /** Most bytes accepted (default {@link FILE_READ_MAX_BYTES}). */
  maxBytes?: number;
  /** What the file is, for messages (e.g. `"CA file"`); the path is always named. */
  what?: string;
}

/**
 * Reads `path` whole, refusing more than `maxBytes`. Errors are `KarsError`s naming the file:
 * `NOT_FOUND` (no such file), `INPUT` (larger than the cap; `details.limit`), `FILE` (a
 * directory, or another read error); each carries the problem without the file's name
 * ({@link readProblem}).
 *
 * @example
 * ```ts
 * import { readFileBounded } from "./file_read.ts";
 * const bytes = await readFileBounded("/etc/hostname", { maxBytes: 4096, what: "host name file" });
 * ```
 */
export async function readFileBounded(
  path: string,
  options: ReadFileBoundedOptions = {},
): Promise<Uint8Array> {
  const max = options.maxBytes ?? FILE_READ_MAX_BYTES;
  const name = options.what ? `${options.what} ${path}` : path;
  let fh;
  try {
    fh = await open(path, "r");
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") throw failure("NOT_FOUND", name, "no such file", { cause: e });
    throw failure("FILE", name, `cannot open (${code ?? (e as Error).message})`, { cause: e });
  }
  const tooLarge = () =>
    failure("INPUT", name, `larger than ${max} bytes; is it the right file?`, { limit: max });
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw failure("FILE", name, "is a directory, not a file");
    if (st.isFile() && st.size > max) throw tooLarge();
    // A regular file is read in one buffer of its size (+1 to see growth); anything else in
    // chunks, each step bounded by what is still allowed.
    const chunks: Uint8Array[] = [];
    let total = 0;
    const size = st.isFile() ? st.size + 1 : 64 * 1024;
    while (true) {
      const buf = new Uint8Array(Math.min(size, max + 1 - total) || 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > max) throw tooLarge();
      chunks.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    }
    if (chunks.length === 1) return chunks[0];
    const all = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      all.set(c, off);
      off += c.length;
    }
    return all;
  } catch (e) {
    if (e instanceof KarsError) throw e;
    throw failure("FILE", name, `cannot read (${(e as Error).message})`, { cause: e });
  } finally {
    await fh.close();
  }
}
