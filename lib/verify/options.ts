/**
 * What a verification is given: the reference, the repository it is read from (a `Target`,
 * or an opener for the ref — the caller picks the transport and credentials; the verifier
 * never opens a registry on its own), the SignerPolicy, the trust material, and the
 * optional cache, clock, engine and registry allowlist.
 *
 * @module
 */
import type { Target } from "../oci/types.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import type { VerdictCache } from "./cache.ts";
import type { PolicyError, SignerPolicy } from "./policy.ts";
import type { VerifyResult } from "./result.ts";
import type { TrustedRoot, VerifiedSignature } from "./sigstore/mod.ts";

/** The engine's entry point (see `lib/verify/sigstore`); injectable for tests of this module. */
export type BundleVerifier = (
  bundle: unknown,
  artifact: { bytes: Uint8Array } | { digest: Uint8Array },
  options: {
    trustedRoot: TrustedRoot;
    publicKeys?: Uint8Array[];
    identity?: { san: string; issuer: string };
    requireTlog?: boolean;
    now?: Date;
  },
) => Promise<VerifiedSignature>;

/** Opens the repository a ref names (e.g. a `RegistryTarget` with the caller's credentials). */
export type TargetOpener = (ref: AllowlistRefInput) => Target | Promise<Target>;

/** Options of a verification (`verifyAllowlist`, `predictControllerVerdict`, `verifyBoth`). */
export interface VerifyAllowlistOptions {
  /** The reference to verify. */
  ref: AllowlistRefInput;
  /**
   * The repository holding the artifact, or an opener called with the ref (after the ref and
   * registry checks, so nothing is opened for a refused ref). Required: the caller decides
   * the transport (registry, layout, memory) and its credentials.
   */
  target: Target | TargetOpener;
  /** The SignerPolicy, or why there is none. */
  policy: SignerPolicy | PolicyError;
  /** Sigstore trust material. */
  trustedRoot: TrustedRoot;
  /** Verification time (default: now); certificate validity is checked at signing time. */
  now?: Date;
  /** Verdict cache (only verdicts are stored). */
  cache?: VerdictCache<VerifyResult>;
  /** Sigstore engine (default: `verifyBundle` of `lib/verify/sigstore`). */
  verifier?: BundleVerifier;
  /**
   * Registries (`host[:port]`, exact) the ref may name, united with the SignerPolicy's
   * `registries`. When the union is non-empty, any other registry is `False/InvalidRef` before
   * any request; link-local and cloud-metadata hosts are refused always.
   */
  allowedRegistries?: readonly string[];
}

/** Options of a sandbox verification: those of {@link VerifyAllowlistOptions} without the ref. */
export type VerifySandboxOptions = Omit<VerifyAllowlistOptions, "ref"> & {
  /** Name of the input for messages. */
  source?: string;
};
