/**
 * A {@link Target} over the OCI distribution spec v1.1 HTTP API: one repository of a remote
 * registry, reached with `fetch`.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, toHex } from "../encoding/bytes.ts";
import { type Digest, digestBytes, isDigest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { MANIFEST_MAX_BYTES, readBody, readBodyPrefix, SMALL_BODY_MAX_BYTES } from "../io/body.ts";
import { repositoryScope } from "./auth.ts";
import { type OpContext, RegistryClient, type RegistryClientOptions } from "./client.ts";
import { validateRepository, validateTag } from "./reference.ts";
import { withRetries } from "./retry.ts";
import { checkContent, verifyingStream } from "./content.ts";
import { writeConfirmed } from "./confirm_write.ts";
import {
  addToReferrersIndex,
  filterReferrers,
  parseReferrersIndex,
  referrerDescriptor,
  referrersTag,
  subjectOf,
} from "./referrers.ts";
import {
  type Descriptor,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  type FetchedManifest,
  type ImageIndex,
  OCI_INDEX,
  OCI_MANIFEST,
  type RequestOptions,
  type Target,
} from "./types.ts";

/**
 * `Accept` for manifests: OCI and Docker, image and index.
 *
 * @example
 * ```ts
 * import { MANIFEST_ACCEPT } from "./registry.ts";
 * const headers = { accept: MANIFEST_ACCEPT };
 * ```
 */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST]
  .join(", ");

/**
 * Largest blob read into memory when the caller states no size (64 MiB); with a size, a blob
 * is read to at most that size.
 */
export const MAX_UNSIZED_BLOB_BYTES = 64 * 1024 * 1024;

/** Options of {@link RegistryTarget}. */
export interface RegistryTargetOptions extends RegistryClientOptions {
  /** Repository, e.g. `policy/egress-allowlist/web`. */
  repository: string;
  /** Share a client (tokens, learnt auth scheme) between repositories of one registry. */
  client?: RegistryClient;
  /** Blobs larger than this are uploaded in chunks (PATCH); default 16 MiB. */
  chunkThreshold?: number;
  /** Chunk size for chunked uploads; default 8 MiB. */
  chunkSize?: number;
  /**
   * Try the single-request upload (`POST ?digest=` with the body). When the registry answers
   * 202 instead of 201 (docker-registry 2.8), the upload is finished with a PUT and the client
   * stops trying it. Default false (POST then PUT).
   */
  singlePostUpload?: boolean;
}

/** Options of {@link RegistryTarget.uploadBlob}. */
export interface UploadOptions extends RequestOptions {
  /**
   * Try a cross-repository mount from this repository of the same registry first. Without
   * it, a repository the (shared) client has seen the blob in is used, if any.
   */
  mountFrom?: string;
}

/**
 * One repository of a remote registry as a {@link Target}.
 *
 * Plain HTTP is used automatically for `localhost`, `127.0.0.1` and `[::1]`, otherwise only
 * with `plainHttp: true`. Pass `fetch` to carry TLS options (custom CA), `credentials` for
 * auth (see `credentialChain` in `docker_config.ts`), `log` to see every request.
 *
 * @example
 * ```ts
 * import { RegistryTarget } from "./registry.ts";
 * const log: string[] = [];
 * const t = new RegistryTarget({
 *   registry: "127.0.0.1:5000",
 *   repository: "policy/egress-allowlist/web",
 *   log: (e) => log.push(`${e.method} ${e.url} ${e.status}`),
 * });
 * const blob = new TextEncoder().encode("{}");
 * await t.pushBlob({ digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2 }, blob);
 * ```
 */
export class RegistryTarget implements Target {
  /** `host[:port]/repository`. */
  readonly location: string;
  /** `host[:port]`. */
  readonly registry: string;
  /** Repository path. */
  readonly repository: string;
  /** The HTTP client (shareable with other repositories of the same registry). */
  readonly client: RegistryClient;
  readonly #chunkThreshold: number;
  readonly #chunkSize: number;
  #singlePost: boolean;
  #push = false;
  #referrersApi: boolean | undefined;

  /**
   * Opens one repository of a registry (no request is made until first use).
   *
   * @param opts see {@link RegistryTargetOptions}
   */
  constructor(opts: RegistryTargetOptions) {
    validateRepository(opts.repository);
    this.client = opts.client ?? new RegistryClient(opts);
    this.registry = this.client.registry;
    this.repository = opts.repository;
    this.location = `${this.registry}/${this.repository}`;
    this.#chunkThreshold = opts.chunkThreshold ?? 16 * 1024 * 1024;
    this.#chunkSize = Math.max(1, opts.chunkSize ?? 8 * 1024 * 1024);
    this.#singlePost = opts.singlePostUpload ?? false;
  }

  /**
   * Declares that this target will be written: tokens are then requested with
   * `pull,push` from the first request, saving a second token round trip.
   */
  willPush(): void {
    this.#push = true;
  }

  #scopes(push = false, extra: string[] = []): string[] {
    return [
      repositoryScope(this.repository, push || this.#push ? ["pull", "push"] : ["pull"]),
      ...extra,
    ];
  }

  #path(kind: "blobs" | "manifests" | "tags" | "referrers", ref = ""): string {
    return `/v2/${this.repository}/${kind}/${ref}`;
  }

  #op<T>(op: string, fn: (ctx: OpContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.client.operation(this.repository, op, fn, { signal });
  }

  /** See {@link Target.blobExists}. */
  blobExists(digest: Digest, options: RequestOptions = {}): Promise<boolean> {
    return this.#op(`check blob ${digest}`, async (ctx) => {
      const res = await this.client.send(ctx, {
        method: "HEAD",
        url: this.#path("blobs", digest),
        scopes: this.#scopes(),
        idempotent: true,
      });
      await res.body?.cancel();
      if (res.status === 200) {
        this.client.rememberBlob(digest, this.repository);
        return true;
      }
      if (res.status === 404) return false;
      return await this.client.fail(ctx, res);
    }, options.signal);
  }

  /** See {@link Target.fetchBlob}. Follows redirects (to storage) without credentials. */
  fetchBlob(digest: Digest, size?: number, options: RequestOptions = {}): Promise<Uint8Array> {
    return this.#op(`fetch blob ${digest}`, async (ctx) => {
      const res = await this.client.send(ctx, {
        method: "GET",
        url: this.#path("blobs", digest),
        scopes: this.#scopes(),
        idempotent: true,
      });
      if (res.status !== 200) return await this.client.fail(ctx, res);
      // Never more than the descriptor's size (size + 1 bytes are read at most).
      const bytes = await readBody(res, {
        maxBytes: size ?? MAX_UNSIZED_BLOB_BYTES,
        ...(size !== undefined ? { expectedBytes: size } : {}),
        what: `${this.location}: ${ctx.op}`,
        details: size === undefined
          ? {}
          : { reason: "DigestMismatch", expected: digest, expectedSize: size },
      });
      checkContent(this.location, "blob", digest, bytes, size);
      this.client.rememberBlob(digest, this.repository);
      return bytes;
    }, options.signal);
  }

  /**
   * Streams a blob (constant memory); the stream errors with `REGISTRY`/`DigestMismatch` at
   * its end when the bytes do not match `digest` (or `size`). Consume or cancel it.
   *
   * @example
   * ```ts
   * import { RegistryTarget } from "./registry.ts";
   * const t = new RegistryTarget({ registry: "127.0.0.1:5000", repository: "a/b" });
   * const s = await t.fetchBlobStream("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 2);
   * await new Response(s).arrayBuffer();
   * ```
   */
  fetchBlobStream(digest: Digest, size?: number): Promise<ReadableStream<Uint8Array>> {
    return this.client.operation(this.repository, `fetch blob ${digest}`, async (ctx) => {
      // The stream outlives the operation: give the request a signal that is not cleared.
      const res = await this.client.send({ ...ctx, signal: new AbortController().signal }, {
        method: "GET",
        url: this.#path("blobs", digest),
        scopes: this.#scopes(),
        idempotent: true,
      });
      if (res.status !== 200 || !res.body) return await this.client.fail(ctx, res);
      const len = res.headers.get("content-length");
      if (size !== undefined && len !== null && Number(len) !== size) {
        await res.body.cancel();
        throw new KarsError(
          "REGISTRY",
          `${this.location}: ${ctx.op}: registry announces ${len} bytes, expected ${size}`,
          { details: { reason: "DigestMismatch", expected: digest, expectedSize: size } },
        );
      }
      return verifyingStream(res.body, digest, size, `${this.location}: ${ctx.op}`);
    });
  }

  /**
   * Uploads a blob from a stream in chunks (POST, PATCH with `Content-Range` per chunk of
   * `chunkSize`, PUT `?digest=`), hashing as it goes; when the bytes do not match `desc`, the
   * upload session is cancelled (DELETE) and `REGISTRY`/`DigestMismatch` is thrown, so the
   * registry never stores it. Not retried (a stream cannot be replayed); skips nothing
   * (call {@link RegistryTarget.blobExists} first).
   *
   * @example
   * ```ts
   * import { RegistryTarget } from "./registry.ts";
   * const t = new RegistryTarget({ registry: "127.0.0.1:5000", repository: "a/b" });
   * await t.pushBlobStream({ digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2 },
   *   new Blob(["{}"]).stream());
   * ```
   */
  pushBlobStream(
    desc: Pick<Descriptor, "digest" | "size">,
    stream: ReadableStream<Uint8Array>,
  ): Promise<void> {
    return this.#op(`push blob ${desc.digest}`, async (ctx) => {
      const scopes = this.#scopes(true);
      const start = await this.client.send(ctx, {
        method: "POST",
        url: this.#path("blobs", "uploads/"),
        headers: { "content-length": "0" },
        scopes,
        idempotent: false,
      });
      if (start.status !== 202) {
        await stream.cancel().catch(() => {});
        return await this.client.fail(ctx, start);
      }
      let location = this.#location(ctx, start);
      await start.body?.cancel();
      const h = sha256.create();
      let off = 0;
      let pending: Uint8Array[] = [];
      let pendingLen = 0;
      const flush = async () => {
        if (pendingLen === 0) return;
        const chunk = concatBytes(...pending);
        pending = [];
        pendingLen = 0;
        location = await this.#patchChunk(ctx, location, off, chunk, scopes);
        off += chunk.length;
      };
      const abort = async (e: unknown): Promise<never> => {
        const res = await this.client.send(ctx, {
          method: "DELETE",
          url: location,
          scopes,
          idempotent: true,
        }).catch(() => undefined);
        await res?.body?.cancel();
        throw e;
      };
      try {
        for await (const part of stream) {
          h.update(part);
          pending.push(part);
          pendingLen += part.length;
          if (off + pendingLen > desc.size) break;
          if (pendingLen >= this.#chunkSize) await flush();
        }
      } catch (e) {
        return await abort(e);
      }
      const total = off + pendingLen;
      const actual = `sha256:${toHex(h.digest())}`;
      if (total !== desc.size || actual !== desc.digest) {
        return await abort(
          new KarsError(
            "REGISTRY",
            `${this.location}: ${ctx.op}: the stream had ${
              total > desc.size ? "more than " : ""
            }${total} bytes with digest ${actual}, expected ${desc.size} bytes ${desc.digest}`,
            { details: { reason: "DigestMismatch", expected: desc.digest, actual } },
          ),
        );
      }
      await flush();
      const res = await this.client.send(ctx, {
        method: "PUT",
        url: `${location}${location.includes("?") ? "&" : "?"}digest=${
          encodeURIComponent(desc.digest)
        }`,
        headers: { "content-type": "application/octet-stream", "content-length": "0" },
        body: new Uint8Array(),
        scopes,
        idempotent: false,
      });
      if (res.status !== 201) return await this.client.fail(ctx, res);
      await this.#checkCreated(ctx, res, desc.digest);
      this.client.rememberBlob(desc.digest, this.repository);
    });
  }

  /** See {@link Target.pushBlob}: HEAD first, upload only when absent. */
  async pushBlob(
    desc: Pick<Descriptor, "digest" | "size">,
    data: Uint8Array,
    options: RequestOptions = {},
  ): Promise<void> {
    checkContent(this.location, "blob to push", desc.digest, data, desc.size);
    if (await this.blobExists(desc.digest, options)) return;
    await this.uploadBlob(desc, data, { signal: options.signal });
  }

  /**
   * Uploads a blob without checking for it first: cross-repository mount when `mountFrom`
   * is given, else POST then PUT (or the single `POST ?digest=` when enabled and honoured),
   * or POST, PATCH chunks with `Content-Range`, PUT above the chunk threshold. The upload
   * `Location` (with its `_state` query) is used verbatim. A transient failure restarts the
   * upload from the start, within the retry policy and deadline.
   */
  uploadBlob(
    desc: Pick<Descriptor, "digest" | "size">,
    data: Uint8Array,
    opts: UploadOptions = {},
  ): Promise<void> {
    try {
      checkContent(this.location, "blob to push", desc.digest, data, desc.size);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#op(`push blob ${desc.digest}`, async (ctx) => {
      // A transient failure restarts the whole upload: a session cannot be resumed.
      await withRetries(ctx, this.client.retry, this.client.retry.attempts, async () => {
        try {
          const mountFrom = opts.mountFrom ?? this.client.blobHome(desc.digest, this.repository);
          await this.#uploadOnce(ctx, desc.digest, data, mountFrom ? { mountFrom } : {});
          return { done: undefined };
        } catch (e) {
          if (!(e instanceof KarsError && e.code === "TRANSIENT") || ctx.signal.aborted) throw e;
          return { retry: e };
        }
      });
      this.client.rememberBlob(desc.digest, this.repository);
    }, opts.signal);
  }

  async #uploadOnce(
    ctx: OpContext,
    digest: Digest,
    data: Uint8Array,
    opts: UploadOptions,
  ): Promise<void> {
    const mountScope = opts.mountFrom ? [repositoryScope(opts.mountFrom, ["pull"])] : [];
    const scopes = this.#scopes(true, mountScope);
    const start = this.#path("blobs", "uploads/");
    let location: string;
    if (opts.mountFrom) {
      const res = await this.client.send(ctx, {
        method: "POST",
        url: `${start}?mount=${encodeURIComponent(digest)}&from=${
          encodeURIComponent(opts.mountFrom)
        }`,
        headers: { "content-length": "0" },
        scopes,
        idempotent: false,
      });
      if (res.status === 201) return await this.#checkCreated(ctx, res, digest);
      if (res.status !== 202) return await this.client.fail(ctx, res);
      location = this.#location(ctx, res);
      await res.body?.cancel();
    } else if (this.#singlePost && data.length <= this.#chunkThreshold) {
      const res = await this.client.send(ctx, {
        method: "POST",
        url: `${start}?digest=${encodeURIComponent(digest)}`,
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(data.length),
        },
        body: data,
        scopes,
        idempotent: false,
      });
      if (res.status === 201) return await this.#checkCreated(ctx, res, digest);
      if (res.status !== 202) return await this.client.fail(ctx, res);
      // The registry opened a session instead of completing: finish with PUT from now on.
      this.#singlePost = false;
      location = this.#location(ctx, res);
      await res.body?.cancel();
    } else {
      const res = await this.client.send(ctx, {
        method: "POST",
        url: start,
        headers: { "content-length": "0" },
        scopes,
        idempotent: false,
      });
      if (res.status !== 202) return await this.client.fail(ctx, res);
      location = this.#location(ctx, res);
      await res.body?.cancel();
    }
    let body: Uint8Array | undefined = data;
    if (data.length > this.#chunkThreshold) {
      for (let off = 0; off < data.length; off += this.#chunkSize) {
        const chunk = data.subarray(off, Math.min(data.length, off + this.#chunkSize));
        location = await this.#patchChunk(ctx, location, off, chunk, scopes);
      }
      body = undefined;
    }
    const res = await this.client.send(ctx, {
      method: "PUT",
      url: `${location}${location.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest)}`,
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(body?.length ?? 0),
      },
      body: body ?? new Uint8Array(),
      scopes,
      idempotent: false,
    });
    if (res.status !== 201) return await this.client.fail(ctx, res);
    await this.#checkCreated(ctx, res, digest);
  }

  /** Sends one chunk of an upload session (PATCH with `Content-Range`); returns the next location. */
  async #patchChunk(
    ctx: OpContext,
    location: string,
    off: number,
    chunk: Uint8Array,
    scopes: string[],
  ): Promise<string> {
    const res = await this.client.send(ctx, {
      method: "PATCH",
      url: location,
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(chunk.length),
        "content-range": `${off}-${off + chunk.length - 1}`,
      },
      body: chunk,
      scopes,
      idempotent: false,
    });
    if (res.status !== 202) return await this.client.fail(ctx, res);
    const next = this.#location(ctx, res);
    await res.body?.cancel();
    return next;
  }

  #location(ctx: OpContext, res: Response): string {
    const loc = res.headers.get("location");
    if (!loc) {
      throw new KarsError(
        "REGISTRY",
        `${this.location}: ${ctx.op}: the registry opened an upload without a Location header`,
      );
    }
    // Resolve relative to the registry but keep the query string byte for byte.
    if (/^https?:\/\//i.test(loc)) {
      if (this.client.baseUrl.startsWith("https:") && /^http:/i.test(loc)) {
        throw new KarsError(
          "REGISTRY",
          `${this.location}: ${ctx.op}: the registry sent an upload location over plain HTTP; refusing to downgrade from HTTPS`,
        );
      }
      return loc;
    }
    return `${this.client.baseUrl}${loc.startsWith("/") ? "" : "/"}${loc}`;
  }

  async #checkCreated(ctx: OpContext, res: Response, digest: Digest): Promise<void> {
    await res.body?.cancel();
    const got = res.headers.get("docker-content-digest");
    if (got && got !== digest) {
      throw new KarsError(
        "REGISTRY",
        `${this.location}: ${ctx.op}: registry stored ${got}, expected ${digest}`,
        { details: { reason: "DigestMismatch", expected: digest, actual: got } },
      );
    }
  }

  /** See {@link Target.resolve}: HEAD with the manifest `Accept` list. */
  resolve(reference: string, options: RequestOptions = {}): Promise<Descriptor | null> {
    return this.#op(`resolve ${reference}`, async (ctx) => {
      const res = await this.client.send(ctx, {
        method: "HEAD",
        url: this.#path("manifests", reference),
        headers: { accept: MANIFEST_ACCEPT },
        scopes: this.#scopes(),
        idempotent: true,
      });
      await res.body?.cancel();
      if (res.status === 404) return null;
      if (res.status !== 200) return await this.client.fail(ctx, res);
      const digest = res.headers.get("docker-content-digest");
      const size = Number(res.headers.get("content-length"));
      const mediaType = (res.headers.get("content-type") ?? "").split(";")[0].trim();
      if (isDigest(reference) && digest && digest !== reference) {
        throw new KarsError(
          "REGISTRY",
          `${this.location}: ${ctx.op}: registry answered for ${digest}`,
          {
            details: { reason: "DigestMismatch", expected: reference, actual: digest },
          },
        );
      }
      if (!isDigest(digest) || !Number.isFinite(size) || size <= 0 || !mediaType) {
        const m = await this.#fetchManifest(ctx, reference);
        return m.descriptor;
      }
      return { mediaType, digest, size };
    }, options.signal);
  }

  /** See {@link Target.fetchManifest}: the bytes are checked against a digest reference. */
  fetchManifest(reference: string, options: RequestOptions = {}): Promise<FetchedManifest> {
    return this.#op(
      `fetch manifest ${reference}`,
      (ctx) => this.#fetchManifest(ctx, reference),
      options.signal,
    );
  }

  async #fetchManifest(
    ctx: OpContext,
    reference: string,
    accept = MANIFEST_ACCEPT,
  ): Promise<FetchedManifest> {
    const res = await this.client.send(ctx, {
      method: "GET",
      url: this.#path("manifests", reference),
      headers: { accept },
      scopes: this.#scopes(),
      idempotent: true,
    });
    if (res.status !== 200) return await this.client.fail(ctx, res);
    const bytes = await readBody(res, {
      maxBytes: MANIFEST_MAX_BYTES,
      what: `${this.location}: ${ctx.op}`,
    });
    const digest = digestBytes(bytes);
    const header = res.headers.get("docker-content-digest");
    if (isDigest(reference) && digest !== reference) {
      throw new KarsError(
        "REGISTRY",
        `${this.location}: ${ctx.op}: the registry served content with digest ${digest}`,
        { details: { reason: "DigestMismatch", expected: reference, actual: digest } },
      );
    }
    if (header && isDigest(header) && header !== digest) {
      throw new KarsError(
        "REGISTRY",
        `${this.location}: ${ctx.op}: Docker-Content-Digest ${header} does not match the served bytes (${digest})`,
        { details: { reason: "DigestMismatch", expected: header, actual: digest } },
      );
    }
    let mediaType = (res.headers.get("content-type") ?? "").split(";")[0].trim();
    try {
      const j = JSON.parse(new TextDecoder().decode(bytes));
      if (typeof j?.mediaType === "string") mediaType = j.mediaType;
    } catch { /* keep header type */ }
    return { descriptor: referrerDescriptor(bytes, mediaType, digest), bytes };
  }

  /**
   * See {@link Target.pushManifest}: one PUT (by `tag` when given, else by digest). A manifest
   * with a `subject` pushed to a registry that does not answer `OCI-Subject` gets an entry in
   * the `sha256-<hex>` fallback index (read-modify-write, no duplicates).
   */
  pushManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    try {
      if (tag !== undefined) validateTag(tag);
    } catch (e) {
      return Promise.reject(e);
    }
    const digest = digestBytes(bytes);
    return this.#op(`push manifest ${tag ?? digest}`, async (ctx) => {
      const res = await this.#putManifest(ctx, bytes, mediaType, tag ?? digest, digest);
      const subject = subjectOf(bytes);
      if (subject && !res.headers.get("oci-subject")) {
        await this.#addFallbackReferrer(ctx, subject, referrerDescriptor(bytes, mediaType, digest));
      }
      return referrerDescriptor(bytes, mediaType, digest);
    });
  }

  async #putManifest(
    ctx: OpContext,
    bytes: Uint8Array,
    mediaType: string,
    reference: string,
    digest: Digest,
  ): Promise<Response> {
    const res = await this.client.send(ctx, {
      method: "PUT",
      url: this.#path("manifests", reference),
      headers: { "content-type": mediaType, "content-length": String(bytes.length) },
      body: bytes,
      scopes: this.#scopes(true),
      idempotent: true,
    });
    if (res.status !== 201) return await this.client.fail(ctx, res);
    await res.body?.cancel();
    const got = res.headers.get("docker-content-digest");
    if (got && got !== digest) {
      throw new KarsError(
        "REGISTRY",
        `${this.location}: ${ctx.op}: registry stored manifest ${got}, expected ${digest}`,
        { details: { reason: "DigestMismatch", expected: digest, actual: got } },
      );
    }
    return res;
  }

  /**
   * Adds `entry` to the `sha256-<hex>` fallback index: read-modify-write, read back and
   * merged again when a concurrent writer replaced the index (lib/oci/confirm_write.ts).
   */
  async #addFallbackReferrer(ctx: OpContext, subject: Digest, entry: Descriptor): Promise<void> {
    const tag = referrersTag(subject);
    // Every entry seen in any read is kept: a stale or torn read never makes us drop one.
    const seen = new Map<string, Descriptor>();
    await writeConfirmed<ImageIndex>({
      what: `${this.location}:${tag}`,
      read: async () => {
        let index: ImageIndex;
        try {
          const m = await this.#fetchManifest(ctx, tag);
          index = parseReferrersIndex(m.bytes, `${this.location}:${tag}`, m.descriptor.mediaType);
        } catch (e) {
          if (e instanceof KarsError && e.code === "NOT_FOUND") return null;
          throw e;
        }
        for (const d of index.manifests) if (!seen.has(d.digest)) seen.set(d.digest, d);
        return index;
      },
      has: (index) => index?.manifests.some((d) => d.digest === entry.digest) ?? false,
      write: async (index) => {
        const listed = new Set(index?.manifests.map((d) => d.digest));
        const merged: ImageIndex = {
          ...(index ?? { schemaVersion: 2, mediaType: OCI_INDEX }),
          manifests: [
            ...(index?.manifests ?? []),
            ...[...seen.values()].filter((d) => !listed.has(d.digest) && d.digest !== entry.digest),
          ],
        };
        const next = addToReferrersIndex(merged, entry);
        if (next) await this.#putManifest(ctx, next, OCI_INDEX, tag, digestBytes(next));
        return "written";
      },
    });
  }

  /** See {@link Target.tag}: fetches the manifest by digest and PUTs it at `tag`. */
  tag(desc: Descriptor, tag: string): Promise<void> {
    try {
      validateTag(tag);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#op(`tag ${desc.digest} as ${tag}`, async (ctx) => {
      const m = await this.#fetchManifest(ctx, desc.digest);
      await this.#putManifest(ctx, m.bytes, m.descriptor.mediaType, tag, desc.digest);
    });
  }

  /** See {@link Target.listTags}: follows `Link` pagination; `pageSize` sets `n`. */
  listTags(opts: { pageSize?: number } = {}): Promise<string[]> {
    return this.#op("list tags", async (ctx) => {
      const out: string[] = [];
      let url: string | undefined = this.#path("tags", "list") +
        (opts.pageSize ? `?n=${opts.pageSize}` : "");
      for (let page = 0; url && page < 10_000; page++) {
        const res = await this.client.send(ctx, {
          method: "GET",
          url,
          scopes: this.#scopes(),
          idempotent: true,
        });
        if (res.status === 404 && page === 0) {
          const text = new TextDecoder().decode(
            await readBodyPrefix(res, SMALL_BODY_MAX_BYTES),
          );
          if (text.includes("NAME_UNKNOWN")) return [];
          return await this.client.fail(ctx, new Response(text, { status: 404 }));
        }
        if (res.status !== 200) return await this.client.fail(ctx, res);
        const pageBytes = await readBody(res, {
          maxBytes: MANIFEST_MAX_BYTES,
          what: `${this.location}: ${ctx.op}`,
        });
        let j: { tags?: string[] | null };
        try {
          j = JSON.parse(new TextDecoder().decode(pageBytes));
        } catch (cause) {
          throw new KarsError("REGISTRY", `${this.location}: ${ctx.op}: the tag list is not JSON`, {
            cause,
          });
        }
        out.push(...(j.tags ?? []));
        url = nextLink(res.headers.get("link"));
      }
      return out;
    });
  }

  /**
   * See {@link Target.referrers}: the referrers API when the registry has it (with `Link`
   * pagination), else the `sha256-<hex>` fallback tag, which must hold an OCI index.
   */
  referrers(subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    return this.#op(`list referrers of ${subject}`, async (ctx) => {
      if (this.#referrersApi !== false) {
        const out: Descriptor[] = [];
        let url: string | undefined = this.#path("referrers", subject) +
          (artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : "");
        let supported = true;
        for (let page = 0; url && page < 1000; page++) {
          const res = await this.client.send(ctx, {
            method: "GET",
            url,
            headers: { accept: OCI_INDEX },
            scopes: this.#scopes(),
            idempotent: true,
          });
          const ct = (res.headers.get("content-type") ?? "").split(";")[0].trim();
          if (res.status === 200 && ct === OCI_INDEX) {
            const bytes = await readBody(res, {
              maxBytes: MANIFEST_MAX_BYTES,
              what: `${this.location}: ${ctx.op}`,
            });
            out.push(...parseReferrersIndex(bytes, `${this.location} referrers API`).manifests);
            url = nextLink(res.headers.get("link"));
            continue;
          }
          if (res.status === 404 || (res.status === 200 && page === 0)) {
            await res.body?.cancel();
            supported = false;
            break;
          }
          return await this.client.fail(ctx, res);
        }
        if (supported) {
          this.#referrersApi = true;
          return filterReferrers(out, artifactType);
        }
        this.#referrersApi = false;
      }
      const tag = referrersTag(subject);
      let m: FetchedManifest;
      try {
        m = await this.#fetchManifest(ctx, tag);
      } catch (e) {
        if (e instanceof KarsError && e.code === "NOT_FOUND") return [];
        throw e;
      }
      const index = parseReferrersIndex(m.bytes, `${this.location}:${tag}`, m.descriptor.mediaType);
      return filterReferrers(index.manifests, artifactType);
    });
  }

  /** Deletes a manifest by digest (registries need deletion enabled). */
  deleteManifest(digest: Digest): Promise<void> {
    return this.#op(`delete manifest ${digest}`, (ctx) => this.#delete(ctx, "manifests", digest));
  }

  /** Deletes a blob by digest (registries need deletion enabled). */
  deleteBlob(digest: Digest): Promise<void> {
    return this.#op(`delete blob ${digest}`, (ctx) => this.#delete(ctx, "blobs", digest));
  }

  async #delete(ctx: OpContext, kind: "manifests" | "blobs", digest: Digest): Promise<void> {
    const res = await this.client.send(ctx, {
      method: "DELETE",
      url: this.#path(kind, digest),
      scopes: [repositoryScope(this.repository, ["delete"])],
      idempotent: true,
    });
    if (res.status !== 202 && res.status !== 200) return await this.client.fail(ctx, res);
    await res.body?.cancel();
  }
}

/**
 * The `rel="next"` target of a `Link` header, if any.
 *
 * @example
 * ```ts
 * import { nextLink } from "./registry.ts";
 * nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"'); // "/v2/a/tags/list?n=2&last=b"
 * ```
 */
export function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /rel="?next"?/i.test(m[2])) return m[1];
  }
  return undefined;
}
