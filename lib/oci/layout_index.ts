/**
 * The `index.json` of an OCI image layout: read strictly, and changed only by
 * read-modify-write under a lock (serialized within the process, and across processes by
 * the `index.json.lock` file lock with stale-lock recovery, `lib/io/lock.ts`), the new index
 * replacing the old one atomically.
 *
 * @module
 */
import { readFileBounded } from "../io/file_read.ts";
import { MANIFEST_MAX_BYTES } from "../io/body.ts";
import { utf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import { fsErrorCode, type LayoutDir, writeAtomic } from "./layout_dir.ts";
import { type Descriptor, type ImageIndex, OCI_INDEX } from "./types.ts";

/**
 * The `index.json` of the layout `d`.
 *
 * @example
 * ```ts
 * import { LayoutDir } from "./layout_dir.ts";
 * import { LayoutIndex } from "./layout_index.ts";
 * const index = new LayoutIndex(new LayoutDir("./layout"));
 * (await index.read()).manifests.length;
 * ```
 */
export class LayoutIndex {
  readonly #d: LayoutDir;
  #lock: Promise<unknown> = Promise.resolve();

  /**
   * The index of the layout `d`.
   *
   * @param d the layout directory
   */
  constructor(d: LayoutDir) {
    this.#d = d;
  }

  /**
   * The current `index.json` (an empty index when there is none); `INPUT` when it is not an
   * OCI image index.
   *
   * @example
   * ```ts
   * import { LayoutDir } from "./layout_dir.ts";
   * import { LayoutIndex } from "./layout_index.ts";
   * const index = await new LayoutIndex(new LayoutDir("./layout")).read();
   * ```
   */
  async read(): Promise<ImageIndex> {
    let text: string;
    const path = await this.#d.safe("index.json");
    try {
      // Bounded like a manifest (4 MiB).
      text = new TextDecoder().decode(
        await readFileBounded(path, { maxBytes: MANIFEST_MAX_BYTES }),
      );
    } catch (e) {
      if (fsErrorCode(e) === "ENOENT" || fsErrorCode(e) === "NOT_FOUND") {
        return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
      }
      if (e instanceof KarsError && e.code === "INPUT" && e.details?.limit !== undefined) {
        throw new KarsError(
          "INPUT",
          `${this.#d.location}: index.json is larger than ${MANIFEST_MAX_BYTES} bytes ` +
            `(${MANIFEST_MAX_BYTES / 1048576} MiB), ` +
            "more than an OCI layout index this tool reads; is this the right layout? Remove " +
            "stale tags from the layout (or start a new layout directory)",
          { cause: e, details: { limit: MANIFEST_MAX_BYTES } },
        );
      }
      // readFileBounded's errors name the file and what is wrong (a directory, …).
      if (e instanceof KarsError) throw e;
      throw this.#d.fsError("read index.json", e);
    }
    let j: ImageIndex;
    try {
      j = JSON.parse(text);
    } catch (cause) {
      throw new KarsError("INPUT", `${this.#d.location}: index.json is not JSON`, { cause });
    }
    if (j?.schemaVersion !== 2 || !Array.isArray(j.manifests)) {
      throw new KarsError("INPUT", `${this.#d.location}: index.json is not an OCI image index`);
    }
    return j;
  }

  /** Runs `fn` (an index.json read-modify-write) after the previous one finished. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /**
   * One `index.json` read-modify-write: serialized within this process, and across processes
   * by the `index.json.lock` file lock; the new index replaces the old one atomically. `fn`
   * returns the new list of manifests, or `null` to leave the index as it is.
   *
   * @example
   * ```ts
   * import { LayoutDir } from "./layout_dir.ts";
   * import { LayoutIndex } from "./layout_index.ts";
   * await new LayoutIndex(new LayoutDir("./layout")).update((manifests) => manifests);
   * ```
   */
  async update(fn: (manifests: Descriptor[]) => Descriptor[] | null): Promise<void> {
    await this.#serial(async () => {
      await this.#d.ensure();
      const lockPath = await this.#d.safe("index.json.lock");
      // The lock (node:os, node:process) is loaded by the runs that write a layout.
      const { withFileLock } = await import("../io/lock.ts");
      await withFileLock(lockPath, async () => {
        const index = await this.read();
        const next = fn(index.manifests);
        if (!next) return;
        const out: ImageIndex = {
          ...index,
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: next,
        };
        try {
          await writeAtomic(await this.#d.safe("index.json"), utf8(JSON.stringify(out)));
        } catch (e) {
          if (e instanceof KarsError) throw e;
          throw this.#d.fsError("write index.json", e);
        }
      }, { what: `${this.#d.location}: index.json` });
    });
  }
}
