/**
 * Blob upload over the distribution API, the way registries differ in supporting it:
 * cross-repository mount, the single `POST ?digest=` (with a fallback to POST then PUT when
 * the registry opens a session instead), POST then PUT, and chunked upload (PATCH with
 * `Content-Range`) above a size threshold or from a stream. Upload `Location`s are used
 * verbatim (their `_state` query included) and never downgrade HTTPS to HTTP; the digest
 * the registry says it stored is checked.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, toHex } from "../encoding/bytes.ts";
import type { Digest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { repositoryScope } from "./auth.ts";
import type { OpContext } from "./client.ts";
import type { RepositoryEndpoint } from "./endpoint.ts";
import { withRetries } from "./retry.ts";
import type { Descriptor, RequestOptions } from "./types.ts";

/** Options of `RegistryTarget.uploadBlob`. */
export interface UploadOptions extends RequestOptions {
  /**
   * Try a cross-repository mount from this repository of the same registry first. Without
   * it, a repository the (shared) client has seen the blob in is used, if any.
   */
  mountFrom?: string;
}

/** How blobs are uploaded (see the module documentation). */
export interface BlobUploadOptions {
  /** Blobs larger than this are uploaded in chunks (PATCH); default 16 MiB. */
  chunkThreshold?: number;
  /** Chunk size for chunked uploads; default 8 MiB. */
  chunkSize?: number;
  /**
   * Try the single-request upload (`POST ?digest=` with the body). When the registry answers
   * 202 instead of 201 (docker-registry 2.8), the upload is finished with a PUT and the
   * uploader stops trying it. Default false (POST then PUT).
   */
  singlePostUpload?: boolean;
}

/**
 * Uploads blobs into one repository; runs inside an operation of its client (`ctx`).
 *
 * @example
 * ```ts
 * import { BlobUploader } from "./blob_upload.ts";
 * import { RegistryClient } from "./client.ts";
 * import { RepositoryEndpoint } from "./endpoint.ts";
 * const ep = new RepositoryEndpoint(new RegistryClient({ registry: "127.0.0.1:5000" }), "a/b");
 * const up = new BlobUploader(ep, { chunkSize: 1024 * 1024 });
 * await ep.client.operation(ep.repository, "push blob", (ctx) =>
 *   up.upload(ctx, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *     new TextEncoder().encode("{}")));
 * ```
 */
export class BlobUploader {
  readonly #ep: RepositoryEndpoint;
  readonly #chunkThreshold: number;
  readonly #chunkSize: number;
  #singlePost: boolean;

  /**
   * An uploader for the repository `ep`.
   *
   * @param ep the repository
   * @param opts see {@link BlobUploadOptions}
   */
  constructor(ep: RepositoryEndpoint, opts: BlobUploadOptions = {}) {
    this.#ep = ep;
    this.#chunkThreshold = opts.chunkThreshold ?? 16 * 1024 * 1024;
    this.#chunkSize = Math.max(1, opts.chunkSize ?? 8 * 1024 * 1024);
    this.#singlePost = opts.singlePostUpload ?? false;
  }

  /**
   * Uploads `data` (already checked against `digest`) without checking for it first:
   * mount from `mountFrom`, else from a repository the client has seen the blob in, else
   * upload it. A transient failure restarts the upload from its start, within the client's
   * retry policy and the operation's deadline.
   *
   * @example
   * ```ts
   * import { BlobUploader } from "./blob_upload.ts";
   * import type { OpContext } from "./client.ts";
   * declare const up: BlobUploader;
   * declare const ctx: OpContext;
   * await up.upload(ctx, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
   *   new TextEncoder().encode("{}"), "other/repo");
   * ```
   */
  async upload(
    ctx: OpContext,
    digest: Digest,
    data: Uint8Array,
    mountFrom?: string,
  ): Promise<void> {
    const { client, repository } = this.#ep;
    // A session cannot be resumed: a transient failure restarts the whole upload.
    await withRetries(ctx, client.retry, client.retry.attempts, async () => {
      try {
        const from = mountFrom ?? client.blobHome(digest, repository);
        await this.#uploadOnce(ctx, digest, data, from ? { mountFrom: from } : {});
        return { done: undefined };
      } catch (e) {
        if (!(e instanceof KarsError && e.code === "TRANSIENT") || ctx.signal.aborted) throw e;
        return { retry: e };
      }
    });
    client.rememberBlob(digest, repository);
  }

  /**
   * Uploads a blob from a stream in chunks (POST, PATCH with `Content-Range` per chunk,
   * PUT `?digest=`), hashing as it goes; when the bytes do not match `desc`, the upload
   * session is cancelled (DELETE) and `REGISTRY`/`DigestMismatch` is thrown, so the
   * registry never stores it. Not retried (a stream cannot be replayed).
   *
   * @example
   * ```ts
   * import { BlobUploader } from "./blob_upload.ts";
   * import type { OpContext } from "./client.ts";
   * declare const up: BlobUploader;
   * declare const ctx: OpContext;
   * await up.uploadStream(ctx, { digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2 },
   *   new Blob(["{}"]).stream());
   * ```
   */
  async uploadStream(
    ctx: OpContext,
    desc: Pick<Descriptor, "digest" | "size">,
    stream: ReadableStream<Uint8Array>,
  ): Promise<void> {
    const scopes = this.#ep.scopes(true);
    const start = await this.#ep.client.send(ctx, {
      method: "POST",
      url: this.#ep.path("blobs", "uploads/"),
      headers: { "content-length": "0" },
      scopes,
      idempotent: false,
    });
    if (start.status !== 202) {
      await stream.cancel().catch(() => {});
      return await this.#ep.client.fail(ctx, start);
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
    let res: Response;
    try {
      for await (const part of stream) {
        h.update(part);
        pending.push(part);
        pendingLen += part.length;
        if (off + pendingLen > desc.size) break;
        if (pendingLen >= this.#chunkSize) await flush();
      }
      const total = off + pendingLen;
      const actual = `sha256:${toHex(h.digest())}`;
      if (total !== desc.size || actual !== desc.digest) {
        throw new KarsError(
          "REGISTRY",
          `${this.#ep.location}: ${ctx.op}: the stream had ${
            total > desc.size ? "more than " : ""
          }${total} bytes with digest ${actual}, expected ${desc.size} bytes ${desc.digest}`,
          { details: { reason: "DigestMismatch", expected: desc.digest, actual } },
        );
      }
      await flush();
      res = await this.#ep.client.send(ctx, {
        method: "PUT",
        url: `${location}${location.includes("?") ? "&" : "?"}digest=${
          encodeURIComponent(desc.digest)
        }`,
        headers: { "content-type": "application/octet-stream", "content-length": "0" },
        body: new Uint8Array(),
        scopes,
        idempotent: false,
      });
      if (res.status !== 201) await this.#ep.client.fail(ctx, res);
    } catch (e) {
      // The session will not be finished, nor the source read further: cancel both. (A
      // for-await left by a throw has cancelled the stream already; this is then a no-op.)
      await stream.cancel().catch(() => {});
      return await this.#cancelSession(ctx, location, scopes, e);
    }
    await this.#checkCreated(ctx, res, desc.digest);
    this.#ep.client.rememberBlob(desc.digest, this.#ep.repository);
  }

  async #uploadOnce(
    ctx: OpContext,
    digest: Digest,
    data: Uint8Array,
    opts: { mountFrom?: string },
  ): Promise<void> {
    const mountScope = opts.mountFrom ? [repositoryScope(opts.mountFrom, ["pull"])] : [];
    const scopes = this.#ep.scopes(true, mountScope);
    const start = this.#ep.path("blobs", "uploads/");
    let location: string;
    if (opts.mountFrom) {
      const res = await this.#ep.client.send(ctx, {
        method: "POST",
        url: `${start}?mount=${encodeURIComponent(digest)}&from=${
          encodeURIComponent(opts.mountFrom)
        }`,
        headers: { "content-length": "0" },
        scopes,
        idempotent: false,
      });
      if (res.status === 201) return await this.#checkCreated(ctx, res, digest);
      if (res.status !== 202) return await this.#ep.client.fail(ctx, res);
      location = this.#location(ctx, res);
      await res.body?.cancel();
    } else if (this.#singlePost && data.length <= this.#chunkThreshold) {
      const res = await this.#ep.client.send(ctx, {
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
      if (res.status !== 202) return await this.#ep.client.fail(ctx, res);
      // The registry opened a session instead of completing: finish with PUT from now on.
      this.#singlePost = false;
      location = this.#location(ctx, res);
      await res.body?.cancel();
    } else {
      const res = await this.#ep.client.send(ctx, {
        method: "POST",
        url: start,
        headers: { "content-length": "0" },
        scopes,
        idempotent: false,
      });
      if (res.status !== 202) return await this.#ep.client.fail(ctx, res);
      location = this.#location(ctx, res);
      await res.body?.cancel();
    }
    let body: Uint8Array | undefined = data;
    let res: Response;
    try {
      if (data.length > this.#chunkThreshold) {
        for (let off = 0; off < data.length; off += this.#chunkSize) {
          const chunk = data.subarray(off, Math.min(data.length, off + this.#chunkSize));
          location = await this.#patchChunk(ctx, location, off, chunk, scopes);
        }
        body = undefined;
      }
      res = await this.#ep.client.send(ctx, {
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
      if (res.status !== 201) await this.#ep.client.fail(ctx, res);
    } catch (e) {
      // The session will not be finished (a retry opens a new one): cancel it.
      return await this.#cancelSession(ctx, location, scopes, e);
    }
    await this.#checkCreated(ctx, res, digest);
  }

  /**
   * Cancels an upload session that will not be finished (DELETE at its location, best effort:
   * a registry that refuses, or a run already aborted, leaves it to the registry's own purge),
   * then rethrows `cause`.
   */
  async #cancelSession(
    ctx: OpContext,
    location: string,
    scopes: string[],
    cause: unknown,
  ): Promise<never> {
    if (!ctx.signal.aborted) {
      const res = await this.#ep.client.send(ctx, {
        method: "DELETE",
        url: location,
        scopes,
        idempotent: true,
      }).catch(() => undefined);
      await res?.body?.cancel().catch(() => {});
    }
    throw cause;
  }

  /** Sends one chunk of an upload session (PATCH with `Content-Range`); returns the next location. */
  async #patchChunk(
    ctx: OpContext,
    location: string,
    off: number,
    chunk: Uint8Array,
    scopes: string[],
  ): Promise<string> {
    const res = await this.#ep.client.send(ctx, {
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
    if (res.status !== 202) return await this.#ep.client.fail(ctx, res);
    const next = this.#location(ctx, res);
    await res.body?.cancel();
    return next;
  }

  #location(ctx: OpContext, res: Response): string {
    const loc = res.headers.get("location");
    if (!loc) {
      throw new KarsError(
        "REGISTRY",
        `${this.#ep.location}: ${ctx.op}: the registry opened an upload without a Location header`,
      );
    }
    // Resolve relative to the registry but keep the query string byte for byte.
    if (/^https?:\/\//i.test(loc)) {
      if (this.#ep.client.baseUrl.startsWith("https:") && /^http:/i.test(loc)) {
        throw new KarsError(
          "REGISTRY",
          `${this.#ep.location}: ${ctx.op}: the registry sent an upload location over plain HTTP; refusing to downgrade from HTTPS`,
        );
      }
      return loc;
    }
    return `${this.#ep.client.baseUrl}${loc.startsWith("/") ? "" : "/"}${loc}`;
  }

  async #checkCreated(ctx: OpContext, res: Response, digest: Digest): Promise<void> {
    await res.body?.cancel();
    const got = res.headers.get("docker-content-digest");
    if (got && got !== digest) {
      throw new KarsError(
        "REGISTRY",
        `${this.#ep.location}: ${ctx.op}: registry stored ${got}, expected ${digest}`,
        { details: { reason: "DigestMismatch", expected: digest, actual: got } },
      );
    }
  }
}
