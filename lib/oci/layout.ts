/**
 * A {@link Target} over an OCI image layout directory (`oci-layout`, `index.json`,
 * `blobs/sha256/<hex>`), readable by `skopeo copy oci:DIR:TAG` and `oras --oci-layout`.
 * Tags are `org.opencontainers.image.ref.name` annotations of `index.json` entries; every
 * manifest pushed is listed in `index.json` (untagged ones without the annotation), so that
 * referrers can be found by scanning `subject`. Every file is written atomically (temporary
 * file in the same directory, then rename). Uses `node:fs` only.
 *
 * Safe with concurrent writers and hostile content:
 * - every `index.json` read-modify-write holds a cross-process lock (`index.json.lock`,
 *   created with `O_EXCL`; stale-lock recovery in `lib/io/lock.ts`), and tags can be moved
 *   with a compare-and-swap ({@link LayoutTarget.pushManifestIf});
 * - an existing blob counts as present only when its bytes hash to its name; a corrupted one
 *   is rewritten on push;
 * - a symbolic link anywhere below the layout directory (`blobs`, `blobs/sha256`, a blob,
 *   `index.json`, `oci-layout`, the lock) is refused (`FILE`, reason `Symlink`), so nothing
 *   is read from or written outside the layout. (The layout directory itself may be a link:
 *   that is the operator's choice.) The checks are `lstat`s right before each access: a
 *   process that can write into the layout concurrently can still race them.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { type FileHandle, lstat, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { withFileLock } from "../io/lock.ts";
import { fromUtf8, toHex, utf8 } from "../encoding/bytes.ts";
import { type Digest, digestBytes, isDigest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { validateTag } from "./reference.ts";
import {
  filterReferrers,
  parseReferrersIndex,
  referrerDescriptor,
  referrersTag,
  subjectOf,
} from "./referrers.ts";
import { checkContent, verifyingStream } from "./content.ts";
import {
  type Descriptor,
  type FetchedManifest,
  type ImageIndex,
  OCI_INDEX,
  OCI_MANIFEST,
  type Target,
} from "./types.ts";

/**
 * The annotation that names a tag in `index.json`.
 *
 * @example
 * ```ts
 * import { REF_NAME } from "./layout.ts";
 * const entry = { annotations: { [REF_NAME]: "latest" } };
 * ```
 */
export const REF_NAME = "org.opencontainers.image.ref.name";

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory, flushed,
 * then renamed over `path`.
 *
 * @example
 * ```ts
 * import { writeAtomic } from "./layout.ts";
 * await writeAtomic("/tmp/x.json", new TextEncoder().encode("{}"));
 * ```
 */
export async function writeAtomic(path: string, data: Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${toHex(new Uint8Array(randomBytes(8)))}`);
  const fh = await open(tmp, "wx", 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

function errCode(e: unknown): string | undefined {
  return (e as { code?: string })?.code;
}

/**
 * An OCI image layout directory as a {@link Target}. The directory is created on first write.
 *
 * @example
 * ```ts
 * import { LayoutTarget } from "./layout.ts";
 * const t = new LayoutTarget("./layout");
 * const blob = new TextEncoder().encode("{}");
 * await t.pushBlob({ digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2 }, blob);
 * await t.listTags(); // []
 * ```
 */
export class LayoutTarget implements Target {
  /** `oci:<dir>`. */
  readonly location: string;
  /** The layout directory. */
  readonly dir: string;
  /**
   * Files on disk can change behind our back: pushes re-hash existing blobs even when the
   * manifest is already tagged (read by `pushArtifact`).
   */
  readonly recheckBlobs = true;
  #lock: Promise<unknown> = Promise.resolve();

  /**
   * Opens (lazily: nothing is read or created until first use) the layout at `dir`.
   *
   * @param dir the layout directory
   */
  constructor(dir: string) {
    this.dir = dir;
    this.location = `oci:${dir}`;
  }

  #blobPath(digest: Digest): Promise<string> {
    if (!isDigest(digest)) {
      return Promise.reject(
        new KarsError(
          "INPUT",
          `${this.location}: ${JSON.stringify(digest)} is not a sha256 digest`,
        ),
      );
    }
    return this.#safe("blobs", "sha256", digest.slice(7));
  }

  /**
   * The path of `parts` below the layout directory, after checking with `lstat` that no
   * existing component is a symbolic link (absent components are fine).
   */
  async #safe(...parts: string[]): Promise<string> {
    let p = this.dir;
    for (let i = 0; i < parts.length; i++) {
      p = join(p, parts[i]);
      let st;
      try {
        st = await lstat(p);
      } catch (e) {
        if (errCode(e) === "ENOENT") return join(p, ...parts.slice(i + 1));
        throw this.#fsError(`inspect ${p}`, e);
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

  #fsError(what: string, e: unknown): KarsError {
    return new KarsError(
      "FILE",
      `${this.location}: cannot ${what}: ${
        errCode(e) ?? (e as Error)?.message
      }; check the directory and its permissions`,
      { cause: e },
    );
  }

  async #ensureLayout(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      for (const sub of [["blobs"], ["blobs", "sha256"]]) {
        try {
          await mkdir(await this.#safe(...sub)); // checked first: never through a symlink
        } catch (e) {
          if (errCode(e) !== "EEXIST") throw e;
          await this.#safe(...sub); // appeared meanwhile: check it again
        }
      }
      const marker = await this.#safe("oci-layout");
      try {
        const raw = JSON.parse(await readFile(marker, "utf8"));
        if (typeof raw?.imageLayoutVersion !== "string") throw new Error("bad oci-layout");
      } catch (e) {
        if (errCode(e) !== "ENOENT") {
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
      throw this.#fsError("create the layout", e);
    }
  }

  async #readIndex(): Promise<ImageIndex> {
    let text: string;
    const path = await this.#safe("index.json");
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      if (errCode(e) === "ENOENT") return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
      throw this.#fsError("read index.json", e);
    }
    let j: ImageIndex;
    try {
      j = JSON.parse(text);
    } catch (cause) {
      throw new KarsError("INPUT", `${this.location}: index.json is not JSON`, { cause });
    }
    if (j?.schemaVersion !== 2 || !Array.isArray(j.manifests)) {
      throw new KarsError("INPUT", `${this.location}: index.json is not an OCI image index`);
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
   * by the `index.json.lock` file lock; the new index replaces the old one atomically.
   */
  async #updateIndex(fn: (manifests: Descriptor[]) => Descriptor[] | null): Promise<void> {
    await this.#serial(async () => {
      await this.#ensureLayout();
      const lockPath = await this.#safe("index.json.lock");
      await withFileLock(lockPath, async () => {
        const index = await this.#readIndex();
        const next = fn(index.manifests);
        if (!next) return;
        const out: ImageIndex = {
          ...index,
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: next,
        };
        try {
          await writeAtomic(await this.#safe("index.json"), utf8(JSON.stringify(out)));
        } catch (e) {
          if (e instanceof KarsError) throw e;
          throw this.#fsError("write index.json", e);
        }
      }, { what: `${this.location}: index.json` });
    });
  }

  /**
   * See {@link Target.blobExists}: true only when the blob file is a regular file whose bytes
   * hash to `digest` (a corrupted or truncated file counts as absent, so it gets rewritten).
   */
  async blobExists(digest: Digest): Promise<boolean> {
    const path = await this.#blobPath(digest);
    let fh: FileHandle;
    try {
      const st = await lstat(path);
      if (!st.isFile()) return false;
      fh = await open(path, "r");
    } catch (e) {
      if (errCode(e) === "ENOENT") return false;
      throw this.#fsError(`check blob ${digest}`, e);
    }
    try {
      const h = createHash("sha256");
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
      }
      return `sha256:${h.digest("hex")}` === digest;
    } catch (e) {
      throw this.#fsError(`check blob ${digest}`, e);
    } finally {
      await fh.close();
    }
  }

  async #read(digest: Digest, what: string, size?: number): Promise<Uint8Array> {
    let bytes: Uint8Array;
    const path = await this.#blobPath(digest);
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (e) {
      if (errCode(e) === "ENOENT") {
        throw new KarsError("NOT_FOUND", `${this.location}: ${what} ${digest} not found`);
      }
      if (e instanceof KarsError) throw e;
      throw this.#fsError(`read ${what} ${digest}`, e);
    }
    checkContent(this.location, what, digest, bytes, size);
    return bytes;
  }

  /** See {@link Target.fetchBlob}. */
  fetchBlob(digest: Digest, size?: number): Promise<Uint8Array> {
    return this.#read(digest, "blob", size);
  }

  /**
   * Streams a blob from disk (constant memory); the stream errors with
   * `REGISTRY`/`DigestMismatch` at its end when the file does not match `digest` (or `size`).
   *
   * @example
   * ```ts
   * import { LayoutTarget } from "./layout.ts";
   * const t = new LayoutTarget("./layout");
   * // const s = await t.fetchBlobStream("sha256:...", 2);
   * ```
   */
  async fetchBlobStream(digest: Digest, size?: number): Promise<ReadableStream<Uint8Array>> {
    let fh: FileHandle;
    const path = await this.#blobPath(digest);
    try {
      fh = await open(path, "r");
    } catch (e) {
      if (errCode(e) === "ENOENT") {
        throw new KarsError("NOT_FOUND", `${this.location}: blob ${digest} not found`);
      }
      if (e instanceof KarsError) throw e;
      throw this.#fsError(`read blob ${digest}`, e);
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
    return verifyingStream(source, digest, size, `${this.location}: blob ${digest}`);
  }

  /** See {@link Target.pushBlob}. */
  async pushBlob(desc: Pick<Descriptor, "digest" | "size">, data: Uint8Array): Promise<void> {
    checkContent(this.location, "blob to push", desc.digest, data, desc.size);
    await this.#ensureLayout();
    if (await this.blobExists(desc.digest)) return;
    try {
      // Replaces a corrupted file of that name atomically.
      await writeAtomic(await this.#blobPath(desc.digest), data);
    } catch (e) {
      if (e instanceof KarsError) throw e;
      throw this.#fsError(`write blob ${desc.digest}`, e);
    }
  }

  /** See {@link Target.resolve}. */
  async resolve(reference: string): Promise<Descriptor | null> {
    const index = await this.#readIndex();
    if (isDigest(reference)) {
      const entry = index.manifests.find((d) => d.digest === reference);
      if (!(await this.blobExists(reference))) return null;
      const bytes = await this.#read(reference, "manifest");
      const mediaType = entry?.mediaType ?? mediaTypeOf(bytes);
      if (!mediaType) return null; // a blob, not a manifest
      return referrerDescriptor(bytes, mediaType, reference);
    }
    const entry = index.manifests.find((d) => d.annotations?.[REF_NAME] === reference);
    if (!entry) return null;
    return { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
  }

  /** See {@link Target.fetchManifest}. */
  async fetchManifest(reference: string): Promise<FetchedManifest> {
    const d = await this.resolve(reference);
    if (!d) throw new KarsError("NOT_FOUND", `${this.location}: manifest ${reference} not found`);
    const bytes = await this.#read(d.digest, "manifest", d.size);
    return {
      descriptor: referrerDescriptor(bytes, mediaTypeOf(bytes) || d.mediaType, d.digest),
      bytes,
    };
  }

  /** See {@link Target.pushManifest}. */
  async pushManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    if (tag !== undefined) validateTag(tag);
    const digest = digestBytes(bytes);
    await this.pushBlob({ digest, size: bytes.length }, bytes);
    const desc = referrerDescriptor(bytes, mediaType, digest);
    await this.#record(desc, tag);
    return desc;
  }

  /**
   * See {@link Target.pushManifestIf}: under the `index.json` lock, `tag` moves to the new
   * manifest only when it still points at `expected` (`null`: untagged); otherwise `null`.
   *
   * @example
   * ```ts
   * import { LayoutTarget } from "./layout.ts";
   * const t = new LayoutTarget("./layout");
   * declare const bytes: Uint8Array;
   * const d = await t.pushManifestIf(bytes, "application/vnd.oci.image.manifest.v1+json", "v1", null);
   * ```
   */
  async pushManifestIf(
    bytes: Uint8Array,
    mediaType: string,
    tag: string,
    expected: Digest | null,
  ): Promise<Descriptor | null> {
    validateTag(tag);
    const digest = digestBytes(bytes);
    await this.pushBlob({ digest, size: bytes.length }, bytes);
    const desc = referrerDescriptor(bytes, mediaType, digest);
    return (await this.#record(desc, tag, expected)) ? desc : null;
  }

  /** Records `desc` in index.json (tagged when `tag`); false when `expected` did not hold. */
  async #record(desc: Descriptor, tag?: string, expected?: Digest | null): Promise<boolean> {
    const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
    if (desc.artifactType) entry.artifactType = desc.artifactType;
    let ok = true;
    await this.#updateIndex((manifests) => {
      if (expected !== undefined && tag !== undefined) {
        const now = manifests.find((d) => d.annotations?.[REF_NAME] === tag)?.digest ?? null;
        if (now !== expected) {
          ok = false;
          return null;
        }
      }
      if (tag === undefined) {
        if (manifests.some((d) => d.digest === desc.digest)) return null;
        return [...manifests, entry];
      }
      const current = manifests.find((d) => d.annotations?.[REF_NAME] === tag);
      if (current?.digest === desc.digest) return null;
      const rest = manifests.filter((d) =>
        d.annotations?.[REF_NAME] !== tag &&
        !(d.digest === desc.digest && !d.annotations?.[REF_NAME])
      );
      return [...rest, { ...entry, annotations: { [REF_NAME]: tag } }];
    });
    return ok;
  }

  /** See {@link Target.tag}. */
  async tag(desc: Descriptor, tag: string): Promise<void> {
    validateTag(tag);
    const bytes = await this.#read(desc.digest, "manifest");
    await this.#record(
      referrerDescriptor(bytes, mediaTypeOf(bytes) || desc.mediaType, desc.digest),
      tag,
    );
  }

  /** See {@link Target.listTags}. */
  async listTags(): Promise<string[]> {
    const index = await this.#readIndex();
    const tags = index.manifests.map((d) => d.annotations?.[REF_NAME]).filter((t): t is string =>
      typeof t === "string"
    );
    return [...new Set(tags)].sort();
  }

  /**
   * See {@link Target.referrers}: every manifest listed in `index.json` whose `subject` is
   * `subject`, plus the entries of a `sha256-<hex>` fallback index if one was copied in.
   */
  async referrers(subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    const index = await this.#readIndex();
    const out: Descriptor[] = [];
    const seen = new Set<string>();
    for (const d of index.manifests) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      if (d.size > 4 * 1024 * 1024) continue;
      let bytes: Uint8Array;
      try {
        bytes = await this.#read(d.digest, "manifest", d.size);
      } catch (e) {
        if (e instanceof KarsError && e.code === "NOT_FOUND") continue;
        throw e;
      }
      if (subjectOf(bytes) === subject) {
        out.push(referrerDescriptor(bytes, mediaTypeOf(bytes) || d.mediaType, d.digest));
      }
    }
    const fb = index.manifests.find((d) => d.annotations?.[REF_NAME] === referrersTag(subject));
    if (fb) {
      const bytes = await this.#read(fb.digest, "manifest", fb.size);
      out.push(
        ...parseReferrersIndex(bytes, `${this.location}:${referrersTag(subject)}`, fb.mediaType)
          .manifests,
      );
    }
    return filterReferrers(out, artifactType);
  }
}

function mediaTypeOf(bytes: Uint8Array): string {
  try {
    const m = JSON.parse(fromUtf8(bytes));
    if (m?.schemaVersion !== 2) return "";
    if (typeof m.mediaType === "string") return m.mediaType;
    return Array.isArray(m.manifests) ? OCI_INDEX : m.config ? OCI_MANIFEST : "";
  } catch {
    return "";
  }
}
