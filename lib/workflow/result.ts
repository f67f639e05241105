/**
 * What {@link egress} returns.
 *
 * @module
 */
import type { AllowlistDiff } from "../allowlist/diff.ts";
import type { SignatureFormat } from "../cosign/vocabulary.ts";
import type { Digest } from "../encoding/digest.ts";
import type { BothVerdicts } from "../verify/both.ts";

/** The result of `egress`. */
export interface EgressResult {
  /** The sandbox: name and namespace. */
  sandbox: { name: string; namespace: string };
  /** Registry (`host[:port]` or `oci:<dir>`), absent on a dry run without one. */
  registry?: string;
  /** Repository. */
  repository: string;
  /** Manifest digest (`allowlistRef.digest`). */
  digest: Digest;
  /** Layer digest (the canonical YAML). */
  layerDigest: Digest;
  /** Allowlist generation. */
  generation: number;
  /** Number of endpoints. */
  endpoints: number;
  /** The canonical allowlist YAML. */
  canonical: string;
  /** Signature format stored, or `null` when unsigned or on a dry run. */
  signatureFormat: SignatureFormat | null;
  /** The signer identity (`keyless:<SAN>`, `key:<id>`, `kms:<uri>`), or `null`. */
  signer: string | null;
  /** Where signatures were stored. */
  signatures: Array<{ format: string; digest: string }>;
  /** The GitOps manifest path written, if any. */
  manifestPath?: string;
  /** The KarsSandbox patch document, for a `stdout` sink. */
  document?: string;
  /** The verification condition, when the plan verifies. */
  verification?: string;
  /** `<registry>/<repository>@<digest>` as written into `allowlistRef` (after the push). */
  reference?: string;
  /** The same condition as an object (status, reason, message). */
  verificationCondition?: { status: string; reason: string; message: string };
  /** Both verdicts (ours decides; the controller's is predicted), when the plan verifies. */
  verdicts?: BothVerdicts;
  /** Whether the live sandbox was patched. */
  patched: boolean;
  /** True when the digest already carried a valid signature by this signer (none was added). */
  alreadySigned?: boolean;
  /** The previous allowlist's digest and generation, when one was read. */
  previous?: { digest: Digest; generation: number };
  /** The endpoint diff against the previous allowlist (all added when there is none). */
  diff?: AllowlistDiff;
  /** The pull-request summary (Markdown), when asked for. */
  summary?: string;
  /** True on a dry run. */
  dryRun: boolean;
}
