/**
 * The signing steps of the egress flow: choosing the Sigstore services before anything is
 * pushed, finding this signer's own signatures (idempotent signing), and signing.
 *
 * @module
 */
import { isKarsError, KarsError } from "../errors.ts";
import type { AllowlistRef } from "../gitops/manifest.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../oci/artifact.ts";
import { OCI_MANIFEST, type Target } from "../oci/types.ts";
import { resolveSigningServices, type SigningServices } from "../sign/services.ts";
import { checkSigningPlan, signArtifact } from "../sign/sign_artifact.ts";
import type { AttachOptions } from "../sign/store.ts";
import { normalizeIdentity, type Signer } from "../sign/signer.ts";
import type { TrustedRoot } from "../verify/sigstore/mod.ts";
import type { SignatureLayout } from "./already_signed.ts";
import type { EgressSigning, Lazy } from "./plan.ts";

/** The services of a signing run, and the trusted root a Rekor v2 log is checked against. */
export type PreparedServices = SigningServices & { trustedRoot?: TrustedRoot };

/**
 * The Sigstore services of a signing run (see `sign/services.ts`), and — when a Rekor v2 log
 * is among them — the trusted root its entries are checked against.
 *
 * @example
 * ```ts
 * import { prepareSigningServices } from "./signing.ts";
 * const s = await prepareSigningServices(
 *   { signer: () => Promise.reject(new Error("unused")), format: "legacy", tlogUpload: true, services: {} },
 *   () => Promise.reject(new Error("no Rekor v2 log: not needed")),
 * );
 * s.tlogs.length; // 1
 * ```
 */
export async function prepareSigningServices(
  signing: EgressSigning,
  trustedRoot: Lazy<TrustedRoot>,
  now?: Date,
): Promise<PreparedServices> {
  const s = signing.services;
  const services = resolveSigningServices({
    signingConfig: s.signingConfig ? await s.signingConfig() : undefined,
    rekorV2: s.rekorV2 === true,
    fulcioUrl: s.fulcioUrl,
    rekorUrl: s.rekorUrl,
    tsaUrl: s.tsaUrl,
    ...(now ? { now } : {}),
  });
  const tlogs = signing.tlogUpload ? services.tlogs : [];
  const v2 = tlogs.some((t) => t.majorApiVersion === 2);
  const root = v2 ? await trustedRoot() : undefined;
  checkSigningPlan({
    tlogs,
    tsaUrls: services.tsaUrls,
    format: signing.format,
    trustedRoot: root,
  });
  return { ...services, trustedRoot: root };
}

/**
 * The layouts this signer already signed `ref` in (see `lib/workflow/already_signed.ts`), with
 * the identity to report; `undefined` when that cannot be known in advance.
 *
 * @example
 * ```ts
 * import { ownSignatures } from "./signing.ts";
 * import type { Signer } from "../sign/signer.ts";
 * import type { Target } from "../oci/types.ts";
 * const signer = { identity: "key:x" } as Signer; // no expectedSigner: cannot be known
 * const ref = { registry: "r", repository: "p", digest: "sha256:0" as const, artifactType: "t" };
 * await ownSignatures(signer, {} as Target, ref, ["legacy"], () => Promise.reject()); // undefined
 * ```
 */
export async function ownSignatures(
  signer: Signer,
  target: Target,
  ref: AllowlistRef,
  formats: SignatureLayout[],
  trustedRoot: Lazy<TrustedRoot>,
): Promise<{ formats: SignatureLayout[]; identity: string } | undefined> {
  const expected = await signer.expectedSigner?.();
  if (!expected) return undefined;
  // The verifier is loaded only by runs that look for their own signatures.
  const { findOwnSignatures } = await import("./already_signed.ts");
  const own = await findOwnSignatures({
    target,
    ref,
    expected,
    trustedRoot: await trustedRoot(),
    formats,
  });
  if (own.formats.length === 0) return undefined;
  // The identity this run would write: the signer's own, or (keyless, before Fulcio) the SAN.
  const identity = expected.kind === "keyless"
    ? normalizeIdentity(`keyless:${expected.san}`)
    : signer.identity;
  return { formats: own.formats, identity };
}

/** Inputs of {@link signStep}. */
export interface SignStepOptions {
  /** Where the artifact was pushed. */
  target: Target;
  /** The pushed artifact's reference. */
  ref: AllowlistRef;
  /** Its manifest size. */
  size: number;
  /** The signer. */
  signer: Signer;
  /** The layouts to store. */
  formats: SignatureLayout[];
  /** The plan's signing part. */
  signing: EgressSigning;
  /** The prepared services. */
  services?: PreparedServices;
  /** Names what was not written, for the error message. */
  notWritten: string;
  /** `fetch` for the Sigstore services. */
  fetch?: typeof fetch;
  /** Storage hints: the artifact was new to the target; legacy blobs staged ahead. */
  store?: AttachOptions;
}

/**
 * Signs the pushed artifact; a failure is `SIGN` (or `TRANSIENT`) saying what was not written,
 * with the cause's details kept (so a CLI can name the input at fault).
 *
 * @example
 * ```ts
 * import type { SignStepOptions } from "./signing.ts";
 * import { signStep } from "./signing.ts";
 * const run = (o: SignStepOptions) => signStep(o); // returns { identity, stored }
 * ```
 */
export async function signStep(
  o: SignStepOptions,
): Promise<{ identity: string; stored: Array<{ format: string; digest: string }> }> {
  try {
    return await signArtifact({
      target: o.target,
      registry: o.ref.registry,
      repository: o.ref.repository,
      manifest: {
        mediaType: OCI_MANIFEST,
        digest: o.ref.digest,
        size: o.size,
        artifactType: ALLOWLIST_MEDIA_TYPE,
      },
      signer: o.signer,
      tlogs: o.services?.tlogs,
      tsaUrls: o.services?.tsaUrls,
      trustedRoot: o.services?.trustedRoot,
      tlogUpload: o.signing.tlogUpload,
      format: o.formats.length === 2 ? "both" : o.formats[0],
      fetch: o.fetch,
      ...(o.store ? { store: o.store } : {}),
    });
  } catch (e) {
    throw new KarsError(
      isKarsError(e) && e.code === "TRANSIENT" ? "TRANSIENT" : "SIGN",
      `signing failed; ${o.notWritten}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e, ...(isKarsError(e) && e.details ? { details: e.details } : {}) },
    );
  }
}
