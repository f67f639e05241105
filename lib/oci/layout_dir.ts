/**
 * The directory of an OCI image layout: paths below it that are checked, component by
 * component, not to be symbolic links (so nothing is read from or written outside it),
 * atomic file writes, the `oci-layout` marker, and file-system errors as `FILE`.
 *
 * @module
 */
import { readFileBounded } from "../io/file_read.ts";
import { lstat, mkdir, open, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { toHex, utf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory, flushed,
 * then renamed over `path`.
 *
 * @example
 * ```ts
 * import { writeAtomic } from "./layout_dir.ts";
 * await writeAtomic("/tmp/x.json", new TextEncoder().encode("{}"));
 * ```
 */
export async function writeAtomic(path: string, data: Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${toHex(crypto.getRandomValues(new Uint8Array(8)))}`);
  const fh = await open(tmp, "wx", 0o644);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    // A failed write (disk full, I/O error) or rename leaves no temporary file behind.
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/**
 * The `code` of a Node file-system error (`ENOENT`, `EEXIST`, …), if any.
 *
 * @example
 * ```ts
 * import { fsErrorCode } from "./layout_dir.ts";
 * fsErrorCode(Object.assign(new Error("x"), { code: "ENOENT" })); // "ENOENT"
 * ```
 */
export function fsErrorCode(e: unknown): string | undefined {
  return (e as { code?: string })?.code;
}

/**
 * The layout directory `dir` (which may itself be a symbolic link: that is the operator's
 * choice); nothing is read or created until first use.
 *
 * @example
 * ```ts
 * import { LayoutDir } from "./layout_dir.ts";
 * const d = new LayoutDir("./layout");
 * d.location; // "oci:./layout"
 * ```
 */
export class LayoutDir {
  /** The layout directory. */
  readonly dir: string;
  /** `oci:<dir>`, for messages. */
  readonly location: string;

  /**
   * Names the layout at `dir`.
   *
   * @param dir the layout directory
   */
  constructor(dir: string) {
    this.dir = dir;
    this.location = `oci:${dir}`;
  }

  /**
   * The path of `parts` below the layout directory, after checking with `lstat` that no
   * existing component is a symbolic link (absent components are fine); `FILE` with
   * `details.reason` `Symlink` otherwise.
   *
   * @example
   * ```ts
   * import { LayoutDir } from "./layout_dir.ts";
   * const path = await new LayoutDir("./layout").safe("blobs", "sha256");
   * ```
   */
  async safe(...parts: string[]): Promise<string> {
    let p = this.dir;
    for (let i = 0; i < parts.length; i++) {
      p = join(p, parts[i]);
      let st;
      try {
        st = await lstat(p);
      } catch (e) {
        if (fsErrorCode(e) === "ENOENT") return join(p, ...parts.slice(i + 1));
        throw this.fsError(`inspect ${p}`, e);
      }
      if (st.isSymbolicLink()) {
        throw new KarsError(
          "FILE",
          `${this.location}: refusing to use ${p}: it is a symbolic link, and nothing in an OCI ` +
            `layout may point outside it; replace the link with the real directory or file`,
          { details: { reason: "Symlink", path: p } },
        );
      }
    }
    return p;
  }

  /**
   * The `FILE` error for a failed file-system step `what` (e.g. `read index.json`).
   *
   * @example
   * ```ts
   * import { LayoutDir } from "./layout_dir.ts";
   * const e = new LayoutDir("./layout").fsError("read index.json", new Error("EACCES"));
   * e.code; // "FILE"
   * ```
   */
  fsError(what: string, e: unknown): KarsError {
    return new KarsError(
      "FILE",
      `${this.location}: cannot ${what}: ${
        fsErrorCode(e) ?? (e as Error)?.message
      }; check the directory and its permissions`,
      { cause: e },
    );
  }

  /**
   * Creates the layout when absent (`blobs/sha256`, the `oci-layout` marker), never
   * through a symbolic link; `INPUT` when an existing `oci-layout` marker is not valid.
   *
   * @example
   * ```ts
   * import { LayoutDir } from "./layout_dir.ts";
   * await new LayoutDir("./layout").ensure();
   * ```
   */
  async ensure(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      for (const sub of [["blobs"], ["blobs", "sha256"]]) {
        try {
          await mkdir(await this.safe(...sub)); // checked first: never through a symlink
        } catch (e) {
          if (fsErrorCode(e) !== "EEXIST") throw e;
          await this.safe(...sub); // appeared meanwhile: check it again
        }
      }
      const marker = await this.safe("oci-layout");
      try {
        // The marker is a one-line JSON object: bounded.
        const raw = JSON.parse(
          new TextDecoder().decode(await readFileBounded(marker, { maxBytes: 64 * 1024 })),
        );
        if (typeof raw?.imageLayoutVersion !== "string") throw new Error("bad oci-layout");
      } catch (e) {
        if (fsErrorCode(e) !== "ENOENT" && fsErrorCode(e) !== "NOT_FOUND") {
          throw new KarsError(
            "INPUT",
            `${this.location}: oci-layout is not a valid OCI layout marker; is this an OCI layout directory?`,
            { cause: e },
          );
        }
        await writeAtomic(marker, utf8('{"imageLayoutVersion":"1.0.0"}'));
      }
    } catch (e) {
      if (e instanceof KarsError) throw e;
      throw this.fsError("create the layout", e);
    }
  }
}
