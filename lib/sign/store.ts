/**
 * Stores signatures where cosign and the kars controller look for them, on any
 * {@link Target}:
 * - legacy: the `sha256-<hex>.sig` image manifest, one simple-signing layer per signature,
 *   appended to what is there (an identical layer is not added twice);
 * - bundle: an OCI referrer (artifactType = the bundle media type, empty config, one layer,
 *   `subject` = the signed manifest); the Target makes it discoverable (referrers API or
 *   the `sha256-<hex>` fallback index).
 *
 * @module
 */
import { isBlobUnknown, storeBlob } from "../oci/copy.ts";
import { writeConfirmed } from "../oci/confirm_write.ts";
import { signatureTag } from "../cosign/vocabulary.ts";
import { fromUtf8, utf8 } from "../encoding/bytes.ts";
import { type Digest, digestBytes } from "../encoding/digest.ts";
import { isKarsError, KarsError } from "../errors.ts";
import {
  type Descriptor,
  type ImageManifest,
  OCI_EMPTY,
  OCI_EMPTY_DIGEST,
  OCI_MANIFEST,
  type Target,
} from "../oci/types.ts";
import { BUNDLE_V03_MEDIA_TYPE, COSIGN_SIGN_PREDICATE } from "./bundle.ts";
import { legacyLayer } from "../cosign/annotations.ts";
import { simpleSigningPayload } from "../cosign/simple_signing.ts";

/** A legacy signature to attach: payload bytes and layer annotations. */
export interface LegacySignature {
  /** Discriminator. */
  format: "legacy";
  /** The simple-signing payload. */
  payload: Uint8Array;
  /** Layer annotations (see `legacyAnnotations`). */
  annotations: Record<string, string>;
}

/** A bundle to attach as a referrer. */
export interface BundleSignature {
  /** Discriminator. */
  format: "bundle";
  /** The bundle JSON bytes. */
  bundle: Uint8Array;
  /** Media type of the bundle (default v0.3). */
  mediaType?: string;
}

/** The image config cosign (go-containerregistry) writes for a `.sig` manifest. */
function sigConfig(layers: Pick<Descriptor, "digest">[]): Uint8Array {
  const zero = "0001-01-01T00:00:00Z";
  return utf8(JSON.stringify({
    architecture: "",
    created: zero,
    history: layers.map(() => ({ created: zero })),
    os: "",
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    config: {},
  }));
}

function sameAnnotations(a: Record<string, string> = {}, b: Record<string, string> = {}): boolean {
  const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

async function step<T>(target: Target, what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const code = isKarsError(e) ? e.code : "REGISTRY";
    const msg = e instanceof Error ? e.message : String(e);
    throw new KarsError(
      code,
      `storing the signature in ${target.location} failed (${what}): ${msg}`,
      {
        cause: e,
        details: { ...(isKarsError(e) ? e.details : {}), stage: "store-signature" },
      },
    );
  }
}

/**
 * Attaches a signature to `subject` (the signed manifest) in `target`; returns the
 * descriptor of the manifest written (`.sig` manifest or referrer manifest). Failures keep
 * the Target's code (REGISTRY, AUTH, TRANSIENT…) and name the target and the step.
 *
 * @example
 * ```ts
 * import { attachSignature } from "./store.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * declare const subject: import("../oci/types.ts").Descriptor, payload: Uint8Array;
 * await attachSignature(new MemoryTarget(), subject, { format: "legacy", payload, annotations: {} });
 * ```
 */
export async function attachSignature(
  target: Target,
  subject: Descriptor,
  sig: LegacySignature | BundleSignature,
  options: AttachOptions = {},
): Promise<Descriptor> {
  return sig.format === "legacy"
    ? await attachLegacy(target, subject, sig, options)
    : await attachBundle(target, subject, sig);
}

/** Hints to {@link attachSignature} (legacy layout). */
export interface AttachOptions {
  /**
   * The subject was not in the target a moment ago, so its `.sig` manifest is expected absent:
   * the payload and the config of a one-layer `.sig` manifest are uploaded first, and the one
   * read before the write follows them directly (no second read).
   */
  subjectNew?: boolean;
  /** The blobs already staged by {@link stageLegacySignature} (used when they match). */
  staged?: StagedLegacySignature;
}

/** The blobs of a legacy signature uploaded ahead of signing ({@link stageLegacySignature}). */
export interface StagedLegacySignature {
  /** Digest of the simple-signing payload staged. */
  payloadDigest: Digest;
  /** Digest of the config of a `.sig` manifest holding that one layer. */
  configDigest: Digest;
  /** The payload upload (rejects with the store's error). */
  payload: Promise<void>;
  /** The config upload (rejects with the store's error). */
  config: Promise<void>;
  /** Settles (never rejects) once both uploads have ended. */
  settled: Promise<void>;
}

/**
 * Uploads, ahead of signing, the two blobs a new legacy signature of `subjectDigest` will need
 * when its `.sig` manifest is still absent: the simple-signing payload (a pure function of the
 * reference and the digest) and the config of a one-layer `.sig` manifest (which names only the
 * payload's digest). Neither depends on the signature, so a caller can upload them while the
 * certificate is requested; {@link attachSignature} then finds them in place. No HEAD first:
 * an upload of a blob that exists is harmless.
 *
 * @example
 * ```ts
 * import { stageLegacySignature } from "./store.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * const digest = `sha256:${"0".repeat(64)}` as const;
 * const staged = stageLegacySignature(new MemoryTarget(), "r.example/p", digest);
 * await staged.settled;
 * ```
 */
export function stageLegacySignature(
  target: Target,
  dockerReference: string,
  subjectDigest: Digest,
): StagedLegacySignature {
  return stageBlobs(target, simpleSigningPayload(dockerReference, subjectDigest));
}

function stageBlobs(target: Target, payload: Uint8Array): StagedLegacySignature {
  const payloadDesc = { digest: digestBytes(payload), size: payload.length };
  const config = sigConfig([payloadDesc]);
  const configDesc = { digest: digestBytes(config), size: config.length };
  const upload = (what: string, desc: typeof payloadDesc, data: Uint8Array) => {
    const p = step(target, what, () => storeBlob(target, desc, data, { knownAbsent: true }));
    p.catch(() => {}); // observed by whoever uses it, or through `settled`
    return p;
  };
  const p = upload("push payload blob", payloadDesc, payload);
  const c = upload("push config blob", configDesc, config);
  return {
    payloadDigest: payloadDesc.digest,
    configDigest: configDesc.digest,
    payload: p,
    config: c,
    settled: Promise.allSettled([p, c]).then(() => {}),
  };
}

async function attachLegacy(
  target: Target,
  subject: Descriptor,
  sig: LegacySignature,
  options: AttachOptions,
): Promise<Descriptor> {
  const tag = signatureTag(subject.digest);
  const layer = legacyLayer(sig.payload, sig.annotations);
  const isOurs = (l: Descriptor) =>
    l.digest === layer.digest && l.mediaType === layer.mediaType &&
    sameAnnotations(l.annotations, layer.annotations);
  // A subject new to the target: its `.sig` manifest is expected absent, so the blobs of a
  // one-layer manifest go first (or were staged while signing), and the read before the write
  // comes right after them.
  const staged = options.staged?.payloadDigest === layer.digest
    ? options.staged
    : options.subjectNew
    ? stageBlobs(target, sig.payload)
    : undefined;
  // Otherwise the payload blob, which does not depend on what the `.sig` manifest holds, is
  // uploaded while the first read is in flight (straight away, no HEAD: an identical payload
  // of a concurrent signer is the same blob, and a re-upload of an existing blob is harmless).
  let payloadUpload: Promise<void> | undefined = staged?.payload ?? step(
    target,
    "push payload blob",
    () => storeBlob(target, layer, sig.payload, { knownAbsent: true }),
  );
  payloadUpload.catch(() => {}); // observed below (awaited by the first write, or at the end)
  if (staged) {
    // In place before the first read (which then times the registry, not the uploads).
    try {
      await staged.payload;
      await staged.config;
    } catch (e) {
      await staged.settled; // nothing of this call left running
      throw e;
    }
  }
  // Every layer seen in any read: a write never drops a signature we once saw, even when a
  // later read is stale or torn (docker-registry rewrites tag links in place).
  const seen = new Map<string, Descriptor>();
  const read = async () => {
    const state = await readSig(target, tag);
    for (const l of state?.manifest.layers ?? []) seen.set(layerKey(l), l);
    return state;
  };
  // Concurrent signers of one digest each rewrite the whole `.sig` manifest: write ours merged
  // into what is there, confirm it after a delay bounded by the registry latency, merge again
  // when someone replaced it (lib/oci/confirm_write.ts).
  const final = await writeConfirmed<SigState>({
    what: `${target.location}:${tag}`,
    read,
    has: (state) => state?.manifest.layers.some(isOurs) ?? false,
    write: async (state) => {
      const current = state?.manifest.layers ?? [];
      const keys = new Set(current.map(layerKey));
      const layers = [
        ...current,
        ...[...seen.values()].filter((l) => !keys.has(layerKey(l)) && !isOurs(l)),
        layer,
      ];
      // No .sig manifest yet: nothing references these blobs, so skip the HEADs.
      const knownAbsent = state === null;
      // Whether this write may have waited for an upload since `state` was read (see below):
      // only staged blobs are known to have been in place before the read.
      let uploaded = staged === undefined;
      if (!payloadUpload) {
        uploaded = true;
        payloadUpload = step(
          target,
          "push payload blob",
          () => storeBlob(target, layer, sig.payload, { knownAbsent }),
        );
      }
      await payloadUpload;
      const config = sigConfig(layers);
      const configDesc: Descriptor = {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: digestBytes(config),
        size: config.length,
      };
      if (staged?.configDigest === configDesc.digest) {
        await staged.config; // uploaded before `state` was read
      } else {
        uploaded = true;
        await step(
          target,
          "push config blob",
          () => storeBlob(target, configDesc, config, { knownAbsent }),
        );
      }
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: configDesc,
        layers,
      };
      if (state?.manifest.annotations) manifest.annotations = state.manifest.annotations;
      const bytes = utf8(JSON.stringify(manifest));
      const expected = state?.descriptor.digest ?? null;
      if (target.pushManifestIf) {
        const cas = target.pushManifestIf.bind(target);
        const d = await step(target, `push ${tag}`, () => cas(bytes, OCI_MANIFEST, tag, expected));
        return d ? "written" : "conflict";
      }
      // No compare-and-swap on registries: narrow the window instead — if the manifest moved
      // while the blobs were uploaded, merge again rather than write a stale list. (When every
      // blob was in place before `state` was read, that read is the one right before the write.)
      if (uploaded && ((await read())?.descriptor.digest ?? null) !== expected) return "conflict";
      try {
        await step(target, `push ${tag}`, () => target.pushManifest(bytes, OCI_MANIFEST, tag));
      } catch (e) {
        // A concurrent upload of the same payload blob: upload again on the next attempt.
        if (!isBlobUnknown(e)) throw e;
        payloadUpload = undefined;
        return "conflict";
      }
      return "written";
    },
  }).catch(async (e) => {
    await payloadUpload?.catch(() => {}); // nothing of this call left running
    await staged?.settled;
    if (isKarsError(e) && e.details?.stage === "store-signature") throw e;
    throw new KarsError(
      isKarsError(e) ? e.code : "REGISTRY",
      `storing the signature in ${target.location} failed: ${(e as Error)?.message ?? e}`,
      { cause: e, details: { ...(isKarsError(e) ? e.details : {}), stage: "store-signature" } },
    );
  });
  // Already there before us (an identical layer): the early upload is not needed, but it must
  // not be left running or fail unobserved.
  await payloadUpload?.catch(() => {});
  await staged?.settled;
  return final.descriptor;
}

function layerKey(l: Descriptor): string {
  const a = l.annotations ?? {};
  return JSON.stringify([l.mediaType, l.digest, Object.keys(a).sort().map((k) => [k, a[k]])]);
}

interface SigState {
  descriptor: Descriptor;
  manifest: ImageManifest;
}

async function readSig(target: Target, tag: string): Promise<SigState | null> {
  const fetched = await step(target, `fetch ${tag}`, async () => {
    try {
      return await target.fetchManifest(tag);
    } catch (e) {
      if (isKarsError(e, "NOT_FOUND")) return null;
      throw e;
    }
  });
  if (!fetched) return null;
  let manifest: ImageManifest;
  try {
    manifest = JSON.parse(fromUtf8(fetched.bytes));
  } catch (e) {
    throw new KarsError("REGISTRY", `${target.location}: ${tag} is not a JSON manifest`, {
      cause: e,
    });
  }
  if (!manifest || !Array.isArray(manifest.layers)) {
    throw new KarsError("REGISTRY", `${target.location}: ${tag} is not an image manifest`);
  }
  return { descriptor: fetched.descriptor, manifest };
}

async function attachBundle(
  target: Target,
  subject: Descriptor,
  sig: BundleSignature,
): Promise<Descriptor> {
  const mediaType = sig.mediaType ?? BUNDLE_V03_MEDIA_TYPE;
  const layer: Descriptor = {
    mediaType,
    digest: digestBytes(sig.bundle),
    size: sig.bundle.length,
  };
  const empty = utf8("{}");
  await step(
    target,
    "push empty config",
    () => target.pushBlob({ digest: OCI_EMPTY_DIGEST, size: 2 }, empty),
  );
  await step(target, "push bundle blob", () => target.pushBlob(layer, sig.bundle));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: mediaType,
    config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: {
      "dev.sigstore.bundle.content": "dsse-envelope",
      "dev.sigstore.bundle.predicateType": COSIGN_SIGN_PREDICATE,
    },
  };
  const bytes = utf8(JSON.stringify(manifest));
  return await step(target, "push bundle referrer", () => target.pushManifest(bytes, OCI_MANIFEST));
}
