/**
 * A {@link Target} over the OCI distribution spec v1.1 HTTP API: one repository of a remote
 * registry, reached with `fetch`. Blob reads, tags and deletion are here; blob upload is in
 * `blob_upload.ts`, manifests and referrers in `registry_manifests.ts`, the HTTP engine in
 * `client.ts`.
 *
 * @module
 */
import { type Digest, digestBytes } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { MANIFEST_MAX_BYTES, readBody, readBodyPrefix, SMALL_BODY_MAX_BYTES } from "../io/body.ts";
import { repositoryScope } from "./auth.ts";
import { BlobUploader, type BlobUploadOptions, type UploadOptions } from "./blob_upload.ts";
import { type OpContext, RegistryClient, type RegistryClientOptions } from "./client.ts";
import { checkContent, verifyingStream } from "./content.ts";
import { checkListLimits, nextLink, RepositoryEndpoint } from "./endpoint.ts";
import { validateRepository, validateTag } from "./reference.ts";
import { RegistryManifests } from "./registry_manifests.ts";
import type { Descriptor, FetchedManifest, RequestOptions, Target } from "./types.ts";

/**
 * Largest blob read into memory when the caller states no size (64 MiB); with a size, a blob
 * is read to at most that size.
 */
export const MAX_UNSIZED_BLOB_BYTES = 64 * 1024 * 1024;

/** Options of {@link RegistryTarget}: the client's, how blobs are uploaded, and the repository. */
export interface RegistryTargetOptions extends RegistryClientOptions, BlobUploadOptions {
  /** Repository, e.g. `policy/egress-allowlist/web`. */
  repository: string;
  /** Share a client (tokens, learnt auth scheme) between repositories of one registry. */
  client?: RegistryClient;
}

/**
 * One repository of a remote registry as a {@link Target}.
 *
 * Plain HTTP is used automatically for `localhost`, `127.0.0.1` and `[::1]`, otherwise only
 * with `plainHttp: true`. Pass `fetch` to carry TLS options (custom CA), `credentials` for
 * auth (see `defaultCredentials` in `credentials.ts`), `log` to see every request.
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
  readonly #ep: RepositoryEndpoint;
  readonly #uploader: BlobUploader;
  readonly #manifests: RegistryManifests;

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
    this.#ep = new RepositoryEndpoint(this.client, this.repository);
    this.location = this.#ep.location;
    this.#uploader = new BlobUploader(this.#ep, opts);
    this.#manifests = new RegistryManifests(this.#ep);
  }

  /**
   * Declares that this target will be written: tokens are then requested with
   * `pull,push` from the first request, saving a second token round trip.
   */
  willPush(): void {
    this.#ep.willPush();
  }

  #op<T>(op: string, fn: (ctx: OpContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.client.operation(this.repository, op, fn, { signal });
  }

  /** See {@link Target.blobExists}. */
  blobExists(digest: Digest, options: RequestOptions = {}): Promise<boolean> {
    return this.#op(`check blob ${digest}`, async (ctx) => {
      const res = await this.client.send(ctx, {
        method: "HEAD",
        url: this.#ep.path("blobs", digest),
        scopes: this.#ep.scopes(),
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
        url: this.#ep.path("blobs", digest),
        scopes: this.#ep.scopes(),
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
        url: this.#ep.path("blobs", digest),
        scopes: this.#ep.scopes(),
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
    return this.#op(
      `push blob ${desc.digest}`,
      (ctx) => this.#uploader.uploadStream(ctx, desc, stream),
    );
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
    return this.#op(
      `push blob ${desc.digest}`,
      (ctx) => this.#uploader.upload(ctx, desc.digest, data, opts.mountFrom),
      opts.signal,
    );
  }

  /** See {@link Target.resolve}: HEAD with the manifest `Accept` list. */
  resolve(reference: string, options: RequestOptions = {}): Promise<Descriptor | null> {
    return this.#op(
      `resolve ${reference}`,
      (ctx) => this.#manifests.resolve(ctx, reference),
      options.signal,
    );
  }

  /** See {@link Target.fetchManifest}: the bytes are checked against a digest reference. */
  fetchManifest(reference: string, options: RequestOptions = {}): Promise<FetchedManifest> {
    return this.#op(
      `fetch manifest ${reference}`,
      (ctx) => this.#manifests.fetch(ctx, reference),
      options.signal,
    );
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
    return this.#op(
      `push manifest ${tag ?? digest}`,
      (ctx) => this.#manifests.push(ctx, bytes, mediaType, tag ?? digest, digest),
    );
  }

  /** See {@link Target.tag}: fetches the manifest by digest and PUTs it at `tag`. */
  tag(desc: Descriptor, tag: string): Promise<void> {
    try {
      validateTag(tag);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#op(
      `tag ${desc.digest} as ${tag}`,
      (ctx) => this.#manifests.tag(ctx, desc.digest, tag),
    );
  }

  /** See {@link Target.listTags}: follows `Link` pagination; `pageSize` sets `n`. */
  listTags(opts: { pageSize?: number } = {}): Promise<string[]> {
    return this.#op("list tags", async (ctx) => {
      const out: string[] = [];
      let url: string | undefined = this.#ep.path("tags", "list") +
        (opts.pageSize ? `?n=${opts.pageSize}` : "");
      for (let page = 0; url; page++) {
        checkListLimits(page, out.length, `${this.location}: ${ctx.op}`);
        const res = await this.client.send(ctx, {
          method: "GET",
          url,
          scopes: this.#ep.scopes(),
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
        let j: unknown;
        try {
          j = JSON.parse(new TextDecoder().decode(pageBytes));
        } catch (cause) {
          throw new KarsError("REGISTRY", `${this.location}: ${ctx.op}: the tag list is not JSON`, {
            cause,
          });
        }
        // The page is the registry's (possibly hostile): `tags` must be a list of strings (or
        // null/absent for none), and the total is bounded before anything is added.
        const tags = j !== null && typeof j === "object" && !Array.isArray(j)
          ? (j as { tags?: unknown }).tags ?? []
          : undefined;
        if (!Array.isArray(tags) || !tags.every((t) => typeof t === "string")) {
          throw new KarsError(
            "REGISTRY",
            `${this.location}: ${ctx.op}: the tag list is not an object whose "tags" is a list of strings`,
            { details: { reason: "MalformedTagList" } },
          );
        }
        checkListLimits(page, out.length + tags.length, `${this.location}: ${ctx.op}`);
        // One by one: spreading a page of 100k+ entries into push() overflows the call stack.
        for (const t of tags) out.push(t);
        url = nextLink(res.headers.get("link"), this.client.url(url).href);
      }
      checkListLimits(0, out.length, `${this.location}: ${ctx.op}`);
      return out;
    });
  }

  /**
   * See {@link Target.referrers}: the referrers API when the registry has it (with `Link`
   * pagination), else the `sha256-<hex>` fallback tag, which must hold an OCI index.
   */
  referrers(subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    return this.#op(
      `list referrers of ${subject}`,
      (ctx) => this.#manifests.referrers(ctx, subject, artifactType),
    );
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
      url: this.#ep.path(kind, digest),
      scopes: [repositoryScope(this.repository, ["delete"])],
      idempotent: true,
    });
    if (res.status !== 202 && res.status !== 200) return await this.client.fail(ctx, res);
    await res.body?.cancel();
  }
}
