/**
 * Atomic file writes: the bytes go to a temporary file in the target's directory, are
 * flushed to disk, and are then moved into place, so readers see the old file or the new
 * one, never a torn one.
 *
 * Symlinks: if the target path itself is a symbolic link, writing is refused, even with
 * `force` (replacing the link would silently change what it points to, and writing through
 * it would write somewhere else). Symlinked parent directories are followed (that is the
 * operator's own layout). Without `force`, an existing file is never replaced: the final
 * step is a hard link, which fails atomically if the name appeared meanwhile.
 *
 * @module
 */
import { link, lstat, mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { KarsError } from "../errors.ts";
import { toHex } from "../encoding/bytes.ts";

/** Options of {@link writeFileAtomic} and {@link checkWritable}. */
export interface WriteOptions {
  /** Replace an existing regular file. */
  force?: boolean;
  /** File mode for a new file (default 0o644). */
  mode?: number;
}

function code(e: unknown): string | undefined {
  return (e as { code?: string })?.code;
}

/**
 * Checks, without writing anything, that `path` may be written: it is absent, or it is a
 * regular file and `force` is set; it is never a symlink or a directory; the nearest
 * existing ancestor is a directory. Lets the CLI refuse before any network work.
 * Throws `KarsError("FILE")`; an existing file without `force` is `KarsError("INPUT")`
 * `refusing to overwrite existing file <path>` with `details.reason` `AlreadyExists`.
 *
 * @example
 * ```ts
 * import { checkWritable } from "./fs_atomic.ts";
 * await checkWritable("./gitops/my-agent-allowlist.yaml", { force: false });
 * ```
 */
export async function checkWritable(path: string, options: WriteOptions = {}): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if (code(e) !== "ENOENT" && code(e) !== "ENOTDIR") {
      throw new KarsError("FILE", `cannot write ${path}: ${code(e) ?? (e as Error).message}`, {
        cause: e,
      });
    }
  }
  if (st) {
    if (st.isSymbolicLink()) {
      throw new KarsError(
        "FILE",
        `refusing to write ${path}: it is a symbolic link (write to the real path instead)`,
      );
    }
    if (st.isDirectory()) {
      throw new KarsError("FILE", `refusing to write ${path}: it is a directory`);
    }
    if (!st.isFile()) {
      throw new KarsError("FILE", `refusing to write ${path}: it is not a regular file`);
    }
    if (!options.force) throw alreadyExists(path);
    return;
  }
  // The nearest existing ancestor (followed if it is a symlink) must be a directory.
  let dir = dirname(path);
  for (;;) {
    try {
      if (!(await stat(dir)).isDirectory()) {
        throw new KarsError("FILE", `cannot write ${path}: ${dir} exists and is not a directory`);
      }
      return;
    } catch (e) {
      if (e instanceof KarsError) throw e;
      if (code(e) !== "ENOENT" && code(e) !== "ENOTDIR") {
        throw new KarsError(
          "FILE",
          `cannot write ${path}: ${dir}: ${code(e) ?? (e as Error).message}`,
          {
            cause: e,
          },
        );
      }
      const up = dirname(dir);
      if (up === dir) return;
      dir = up;
    }
  }
}

/**
 * Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename),
 * creating parent directories. Refuses to overwrite without `force`
 * (`refusing to overwrite existing file <path>`) and refuses a symlink target always.
 * The temporary file is removed on failure. Throws `KarsError("FILE")` (the overwrite refusal:
 * `INPUT`, `details.reason` `AlreadyExists`).
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./fs_atomic.ts";
 * await writeFileAtomic("./out/a.yaml", new TextEncoder().encode("a: 1\n"), { force: true });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  options: WriteOptions = {},
): Promise<void> {
  await checkWritable(path, options);
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new KarsError(
      "FILE",
      `cannot create directory ${dir}: ${code(e) ?? (e as Error).message}`,
      { cause: e },
    );
  }
  const rnd = new Uint8Array(6);
  crypto.getRandomValues(rnd);
  const tmp = join(dir, `.${basename(path)}.${toHex(rnd)}.tmp`);
  try {
    const fh = await open(tmp, "wx", options.mode ?? 0o644);
    try {
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    // Re-check right before placing (the path may have changed since checkWritable).
    await checkWritable(path, options);
    if (options.force) {
      await rename(tmp, path);
    } else {
      try {
        await link(tmp, path); // fails with EEXIST if the name appeared meanwhile
      } catch (e) {
        if (code(e) === "EEXIST") {
          throw alreadyExists(path);
        }
        if (!["EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "ENOSYS"].includes(code(e) ?? "")) throw e;
        await rename(tmp, path); // file system without hard links
      }
    }
    try {
      const dh = await open(dir, "r");
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch {
      // Directory fsync is best effort (not supported everywhere).
    }
  } catch (e) {
    if (e instanceof KarsError) throw e;
    throw new KarsError("FILE", `cannot write ${path}: ${code(e) ?? (e as Error).message}`, {
      cause: e,
    });
  } finally {
    await unlink(tmp).catch(() => {}); // after link(): removes the extra name; on failure: cleans up
  }
}

/**
 * The overwrite refusal: `INPUT` (the caller chose an existing path), with
 * `details.reason` `AlreadyExists` so a CLI can name its overwrite flag.
 */
function alreadyExists(path: string): KarsError {
  return new KarsError("INPUT", `refusing to overwrite existing file ${path}`, {
    details: { reason: "AlreadyExists", path },
  });
}

/**
 * Proves that `path` can be created by creating and removing a temporary file in its
 * directory — or, when that directory does not exist yet, in its nearest existing ancestor
 * (where the directory would be created). Catches what permission bits alone do not show
 * (read-only mounts, ACLs, a full disk of inodes). Throws `KarsError("FILE")` with
 * `details.reason === "NotWritable"` naming the directory.
 *
 * @example
 * ```ts
 * import { proveWritable } from "./fs_atomic.ts";
 * await proveWritable("./gitops/my-agent-allowlist.yaml");
 * ```
 */
export async function proveWritable(path: string): Promise<void> {
  let dir = dirname(path);
  for (let i = 0; i < 4096; i++) {
    try {
      if ((await stat(dir)).isDirectory()) break;
    } catch (e) {
      if (code(e) !== "ENOENT" && code(e) !== "ENOTDIR") break;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const rnd = new Uint8Array(6);
  crypto.getRandomValues(rnd);
  const probe = join(dir, `.${basename(path)}.${toHex(rnd)}.probe`);
  try {
    const fh = await open(probe, "wx", 0o600);
    await fh.close();
  } catch (e) {
    throw new KarsError(
      "FILE",
      `cannot write ${path}: the directory ${dir} is not writable (${
        code(e) ?? (e as Error).message
      }); choose a writable location or fix its permissions`,
      { cause: e, details: { reason: "NotWritable", path, directory: dir } },
    );
  }
  await unlink(probe).catch(() => {});
}
