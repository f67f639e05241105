/**
 * The manifest half of the distribution API for one repository: resolve (HEAD), fetch and
 * push manifests with their digests checked, tag by re-PUT, and list referrers through the
 * referrers API or, where a registry lacks it, the `sha256-<hex>` fallback tag (kept up to
 * date on push, read-modify-write with read-back confirmation).
 *
 * @module
 */
import { type Digest, digestBytes, isDigest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { MANIFEST_MAX_BYTES, readBody } from "../io/body.ts";
import type { OpContext } from "./client.ts";
import { writeConfirmed } from "./confirm_write.ts";
import { checkListLimits, nextLink, type RepositoryEndpoint } from "./endpoint.ts";
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
} from "./types.ts";

/**
 * `Accept` for manifests: OCI and Docker, image and index.
 *
 * @example
 * ```ts
 * import { MANIFEST_ACCEPT } from "./registry_manifests.ts";
 * const headers = { accept: MANIFEST_ACCEPT };
 * ```
 */
export const MANIFEST_ACCEPT: string = [
  OCI_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
]
  .join(", ");

/**
 * The manifests of one repository; every method runs inside an operation of its client
 * (`ctx`). Remembers whether the registry has the referrers API.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "./client.ts";
 * import { RepositoryEndpoint } from "./endpoint.ts";
 * import { RegistryManifests } from "./registry_manifests.ts";
 * const ep = new RepositoryEndpoint(new RegistryClient({ registry: "127.0.0.1:5000" }), "a/b");
 * const manifests = new RegistryManifests(ep);
 * await ep.client.operation(ep.repository, "resolve latest", (ctx) => manifests.resolve(ctx, "latest"));
 * ```
 */
export class RegistryManifests {
  readonly #ep: RepositoryEndpoint;
  #referrersApi: boolean | undefined;

  /**
   * The manifests of the repository `ep`.
   *
   * @param ep the repository
   */
  constructor(ep: RepositoryEndpoint) {
    this.#ep = ep;
  }

  /**
   * HEAD with the manifest `Accept` list; `null` when absent. Falls back to a GET when the
   * registry's answer lacks a digest, size or media type.
   *
   * @example
   * ```ts
   * import type { OpContext } from "./client.ts";
   * import type { RegistryManifests } from "./registry_manifests.ts";
   * declare const manifests: RegistryManifests;
   * declare const ctx: OpContext;
   * const desc = await manifests.resolve(ctx, "latest");
   * ```
   */
  async resolve(ctx: OpContext, reference: string): Promise<Descriptor | null> {
    const res = await this.#ep.client.send(ctx, {
      method: "HEAD",
      url: this.#ep.path("manifests", reference),
      headers: { accept: MANIFEST_ACCEPT },
      scopes: this.#ep.scopes(),
      idempotent: true,
    });
    await res.body?.cancel();
    if (res.status === 404) return null;
    if (res.status !== 200) return await this.#ep.client.fail(ctx, res);
    const digest = res.headers.get("docker-content-digest");
    const size = Number(res.headers.get("content-length"));
    const mediaType = (res.headers.get("content-type") ?? "").split(";")[0].trim();
    if (isDigest(reference) && digest && digest !== reference) {
      throw new KarsError(
        "REGISTRY",
        `${this.#ep.location}: ${ctx.op}: registry answered for ${digest}`,
        {
          details: { reason: "DigestMismatch", expected: reference, actual: digest },
        },
      );
    }
    if (!isDigest(digest) || !Number.isFinite(size) || size <= 0 || !mediaType) {
      const m = await this.fetch(ctx, reference);
      return m.descriptor;
    }
    return { mediaType, digest, size };
  }

  /**
   * GETs a manifest; its bytes are checked against a digest reference and against the
   * `Docker-Content-Digest` the registry sends.
   *
   * @example
   * ```ts
   * import type { OpContext } from "./client.ts";
   * import type { RegistryManifests } from "./registry_manifests.ts";
   * declare const manifests: RegistryManifests;
   * declare const ctx: OpContext;
   * const { descriptor, bytes } = await manifests.fetch(ctx, "latest");
   * ```
   */
  async fetch(
    ctx: OpContext,
    reference: string,
    accept = MANIFEST_ACCEPT,
  ): Promise<FetchedManifest> {
    const res = await this.#ep.client.send(ctx, {
      method: "GET",
      url: this.#ep.path("manifests", reference),
      headers: { accept },
      scopes: this.#ep.scopes(),
      idempotent: true,
    });
    if (res.status !== 200) return await this.#ep.client.fail(ctx, res);
    const bytes = await readBody(res, {
      maxBytes: MANIFEST_MAX_BYTES,
      what: `${this.#ep.location}: ${ctx.op}`,
    });
    const digest = digestBytes(bytes);
    const header = res.headers.get("docker-content-digest");
    if (isDigest(reference) && digest !== reference) {
      throw new KarsError(
        "REGISTRY",
        `${this.#ep.location}: ${ctx.op}: the registry served content with digest ${digest}`,
        { details: { reason: "DigestMismatch", expected: reference, actual: digest } },
      );
    }
    if (header && isDigest(header) && header !== digest) {
      throw new KarsError(
        "REGISTRY",
        `${this.#ep.location}: ${ctx.op}: Docker-Content-Digest ${header} does not match the served bytes (${digest})`,
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
   * One PUT at `reference` (a tag, or the digest). A manifest with a `subject` pushed to a
   * registry that does not answer `OCI-Subject` gets an entry in the `sha256-<hex>` fallback
   * index (read-modify-write, no duplicates).
   *
   * @example
   * ```ts
   * import type { OpContext } from "./client.ts";
   * import { digestBytes } from "../encoding/digest.ts";
   * import type { RegistryManifests } from "./registry_manifests.ts";
   * declare const manifests: RegistryManifests;
   * declare const ctx: OpContext;
   * declare const bytes: Uint8Array;
   * await manifests.push(ctx, bytes, "application/vnd.oci.image.manifest.v1+json", "v1", digestBytes(bytes));
   * ```
   */
  async push(
    ctx: OpContext,
    bytes: Uint8Array,
    mediaType: string,
    reference: string,
    digest: Digest,
  ): Promise<Descriptor> {
    const res = await this.#put(ctx, bytes, mediaType, reference, digest);
    const subject = subjectOf(bytes);
    if (subject && !res.headers.get("oci-subject")) {
      await this.#addFallbackReferrer(ctx, subject, referrerDescriptor(bytes, mediaType, digest));
    }
    return referrerDescriptor(bytes, mediaType, digest);
  }

  /**
   * Tags the manifest `digest` as `tag`: fetches it by digest and PUTs it at `tag`.
   *
   * @example
   * ```ts
   * import type { OpContext } from "./client.ts";
   * import type { RegistryManifests } from "./registry_manifests.ts";
   * declare const manifests: RegistryManifests;
   * declare const ctx: OpContext;
   * await manifests.tag(ctx, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "v1");
   * ```
   */
  async tag(ctx: OpContext, digest: Digest, tag: string): Promise<void> {
    const m = await this.fetch(ctx, digest);
    await this.#put(ctx, m.bytes, m.descriptor.mediaType, tag, digest);
  }

  async #put(
    ctx: OpContext,
    bytes: Uint8Array,
    mediaType: string,
    reference: string,
    digest: Digest,
  ): Promise<Response> {
    const res = await this.#ep.client.send(ctx, {
      method: "PUT",
      url: this.#ep.path("manifests", reference),
      headers: { "content-type": mediaType, "content-length": String(bytes.length) },
      body: bytes,
      scopes: this.#ep.scopes(true),
      idempotent: true,
    });
    if (res.status !== 201) return await this.#ep.client.fail(ctx, res);
    await res.body?.cancel();
    const got = res.headers.get("docker-content-digest");
    if (got && got !== digest) {
      throw new KarsError(
        "REGISTRY",
        `${this.#ep.location}: ${ctx.op}: registry stored manifest ${got}, expected ${digest}`,
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
      what: `${this.#ep.location}:${tag}`,
      read: async () => {
        let index: ImageIndex;
        try {
          const m = await this.fetch(ctx, tag);
          index = parseReferrersIndex(
            m.bytes,
            `${this.#ep.location}:${tag}`,
            m.descriptor.mediaType,
          );
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
        if (next) await this.#put(ctx, next, OCI_INDEX, tag, digestBytes(next));
        return "written";
      },
    });
  }

  /**
   * The referrers of `subject`: the referrers API when the registry has it (with `Link`
   * pagination), else the `sha256-<hex>` fallback tag, which must hold an OCI index.
   *
   * @example
   * ```ts
   * import type { OpContext } from "./client.ts";
   * import type { RegistryManifests } from "./registry_manifests.ts";
   * declare const manifests: RegistryManifests;
   * declare const ctx: OpContext;
   * await manifests.referrers(ctx, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
   * ```
   */
  async referrers(ctx: OpContext, subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    if (this.#referrersApi !== false) {
      const out: Descriptor[] = [];
      let url: string | undefined = this.#ep.path("referrers", subject) +
        (artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : "");
      let supported = true;
      for (let page = 0; url; page++) {
        checkListLimits(page, out.length, `${this.#ep.location}: ${ctx.op}`);
        const res = await this.#ep.client.send(ctx, {
          method: "GET",
          url,
          headers: { accept: OCI_INDEX },
          scopes: this.#ep.scopes(),
          idempotent: true,
        });
        const ct = (res.headers.get("content-type") ?? "").split(";")[0].trim();
        if (res.status === 200 && ct === OCI_INDEX) {
          const bytes = await readBody(res, {
            maxBytes: MANIFEST_MAX_BYTES,
            what: `${this.#ep.location}: ${ctx.op}`,
          });
          out.push(...parseReferrersIndex(bytes, `${this.#ep.location} referrers API`).manifests);
          url = nextLink(res.headers.get("link"), this.#ep.client.url(url).href);
          continue;
        }
        if (res.status === 404 || (res.status === 200 && page === 0)) {
          await res.body?.cancel();
          supported = false;
          break;
        }
        return await this.#ep.client.fail(ctx, res);
      }
      if (supported) {
        checkListLimits(0, out.length, `${this.#ep.location}: ${ctx.op}`);
        this.#referrersApi = true;
        return filterReferrers(out, artifactType);
      }
      this.#referrersApi = false;
    }
    const tag = referrersTag(subject);
    let m: FetchedManifest;
    try {
      m = await this.fetch(ctx, tag);
    } catch (e) {
      if (e instanceof KarsError && e.code === "NOT_FOUND") return [];
      throw e;
    }
    const index = parseReferrersIndex(
      m.bytes,
      `${this.#ep.location}:${tag}`,
      m.descriptor.mediaType,
    );
    return filterReferrers(index.manifests, artifactType);
  }
}
