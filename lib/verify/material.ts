/**
 * The material one verification reads — manifest by digest, layer, signatures — fetched
 * lazily and at most once from the caller's `Target`, shared by our judgement and the
 * controller's prediction.
 *
 * @module
 */
import type { Digest } from "../encoding/digest.ts";
import type { Target } from "../oci/types.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import {
  type Candidate,
  type Discovered,
  discoverSignatures,
  type LegacyCandidate,
} from "./discover.ts";
import { type BundleJson, legacyLayerToBundle } from "./legacy.ts";
import type { BundleVerifier, VerifyAllowlistOptions } from "./options.ts";
import type { TrustedRoot, VerifiedSignature } from "./sigstore/mod.ts";

/**
 * What one verification reads from the registry, fetched lazily and at most once: the
 * manifest (by digest), the layer, and the signatures. Several judgements (ours, the
 * controller's prediction) share one instance, so nothing is fetched twice. Failures are
 * remembered too (the same error is thrown to every caller).
 *
 * @example
 * ```ts
 * import { AllowlistMaterial } from "./material.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * const m = new AllowlistMaterial(new MemoryTarget(), {
 *   registry: "r.example", repository: "p", digest: "sha256:" + "0".repeat(64),
 *   artifactType: "application/vnd.kars.egress-allowlist.v1+yaml" });
 * // await m.manifest() // throws NOT_FOUND
 * ```
 */
export class AllowlistMaterial {
  /** Repository holding the artifact. */
  readonly target: Target;
  /** The reference verified. */
  readonly ref: AllowlistRefInput;
  /** Its manifest digest. */
  readonly digest: Digest;
  #manifest?: Promise<Uint8Array>;
  #layers = new Map<string, Promise<Uint8Array>>();
  #signatures?: Promise<Discovered>;

  /** Material of `ref` in `target` (nothing is fetched yet). */
  constructor(target: Target, ref: AllowlistRefInput) {
    this.target = target;
    this.ref = ref;
    this.digest = ref.digest as Digest;
  }

  /** `<registry>/<repository>@<digest>`, for messages. */
  get at(): string {
    return `${this.ref.registry}/${this.ref.repository}@${this.digest}`;
  }

  /** The manifest bytes served for the digest (not re-hashed here). */
  manifest(): Promise<Uint8Array> {
    return this.#manifest ??= this.target.fetchManifest(this.digest).then((f) => f.bytes);
  }

  /** The bytes of a layer (the Target checks size and digest). */
  layer(digest: Digest, size: number): Promise<Uint8Array> {
    const key = `${digest}|${size}`;
    let p = this.#layers.get(key);
    if (!p) {
      p = this.target.fetchBlob(digest, size);
      this.#layers.set(key, p);
    }
    return p;
  }

  /** The legacy and bundle signatures of the digest. */
  signatures(): Promise<Discovered> {
    return this.#signatures ??= discoverSignatures(this.target, this.digest);
  }

  #legacyBundles = new WeakMap<LegacyCandidate, { bundle: BundleJson } | { error: unknown }>();

  /**
   * The Sigstore bundle of a legacy candidate ({@link legacyLayerToBundle}), built once per
   * candidate however many judgements read it; throws what the conversion throws, every time.
   */
  legacyBundle(c: LegacyCandidate): BundleJson {
    let got = this.#legacyBundles.get(c);
    if (!got) {
      try {
        got = { bundle: legacyLayerToBundle(c.payload, c.annotations) };
      } catch (error) {
        got = { error };
      }
      this.#legacyBundles.set(c, got);
    }
    if ("error" in got) throw got.error;
    return got.bundle;
  }

  #certificateChecks = new WeakMap<
    Candidate,
    {
      verifier: BundleVerifier;
      trustedRoot: TrustedRoot;
      now?: Date;
      result: Promise<VerifiedSignature>;
    }
  >();

  /**
   * Verifies the certificate signature of a legacy candidate once (Rekor entry required),
   * however many judgements ask with the same verifier, trust material and time.
   */
  verifyLegacyCertificate(
    c: Candidate,
    verifier: BundleVerifier,
    options: { trustedRoot: TrustedRoot; now?: Date },
  ): Promise<VerifiedSignature> {
    if (c.format !== "legacy") {
      return Promise.reject(new TypeError("verifyLegacyCertificate takes a legacy candidate"));
    }
    const hit = this.#certificateChecks.get(c);
    if (
      hit && hit.verifier === verifier && hit.trustedRoot === options.trustedRoot &&
      hit.now?.getTime() === options.now?.getTime()
    ) {
      return hit.result;
    }
    const result = (async () =>
      await verifier(this.legacyBundle(c), { bytes: c.payload }, {
        trustedRoot: options.trustedRoot,
        requireTlog: true,
        ...(options.now ? { now: options.now } : {}),
      }))();
    result.catch(() => {}); // a failure is read by each caller
    this.#certificateChecks.set(c, { verifier, ...options, result });
    return result;
  }
}

/**
 * Opens the repository of the options (`target`, or what the opener `target(ref)` returns)
 * and returns the (not yet fetched) material of `options.ref`.
 *
 * @example
 * ```ts
 * import { openAllowlistMaterial } from "./material.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * const m = await openAllowlistMaterial({
 *   ref: { registry: "r.example", repository: "p", digest: "sha256:" + "0".repeat(64),
 *     artifactType: "application/vnd.kars.egress-allowlist.v1+yaml" },
 *   target: new MemoryTarget(),
 *   policy: { reason: "SignerPolicyMissing", message: "no policy" },
 *   trustedRoot: {} as never,
 * });
 * m.digest; // "sha256:000…"
 * ```
 */
export async function openAllowlistMaterial(
  options: VerifyAllowlistOptions,
): Promise<AllowlistMaterial> {
  const { ref, target } = options;
  return new AllowlistMaterial(typeof target === "function" ? await target(ref) : target, ref);
}
