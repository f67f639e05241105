/**
 * What {@link egress} is given: an {@link EgressPlan} of resolved parts (where the sandbox
 * comes from, the change, the target, the signer, the verification, where the result goes)
 * and {@link EgressDeps} (fetch, clock, logger). The CLI builds plans from flags
 * (`lib/cli/egress_plan.ts`); a program or a cluster-side command builds them from its own
 * inputs — a live cluster it already holds, a `Target` it already opened, a signer of its own.
 *
 * Parts that read files or the network are {@link Lazy}: `egress` calls them in the order its
 * safety property needs (local checks before any network work; nothing written unless push,
 * signing and verification succeeded).
 *
 * @module
 */
import type { AllowlistRef } from "../gitops/manifest.ts";
import type { LiveCluster } from "../kube/live_cluster.ts";
import type { SignatureFormat } from "../cosign/vocabulary.ts";
import type { Target } from "../oci/types.ts";
import type { Signer } from "../sign/signer.ts";
import type { SigningConfig } from "../sign/signing_config.ts";
import type { SignerPolicy } from "../verify/policy.ts";
import type { TrustedRoot } from "../verify/sigstore/mod.ts";

/** A part read when the flow needs it (a file, standard input, the network). */
export type Lazy<T> = () => Promise<T>;

/**
 * Everything {@link egress} does, resolved. The parts are written inline so that the plan is
 * documented in one place; {@link EgressSource}, {@link EgressSink}, {@link EgressTarget},
 * {@link EgressSigning} and {@link EgressVerification} name them for builders.
 */
export interface EgressPlan {
  /** The sandbox: `metadata.name`, and the namespace when known. */
  sandbox: { name: string; namespace?: string };
  /** The repository the allowlist is pushed to (`policy/egress-allowlist/<name>` by convention). */
  repository: string;
  /** Where the sandbox is read. */
  source:
    | {
      /** A KarsSandbox document (YAML or JSON; one of several documents is selected by name). */
      kind: "text";
      /** Reads the text (a file, standard input). */
      read: () => Promise<string>;
      /** Names the input in messages (a path, `<stdin>`). */
      label: string;
    }
    | {
      /** The live KarsSandbox in a cluster. */
      kind: "cluster";
      /** Connects to the cluster (the sandbox is read after the local checks). */
      connect: () => Promise<LiveCluster>;
    };
  /** The change to the sandbox's egress. */
  change: {
    /** Switch `egressMode` to `Strict`. */
    enforce: boolean;
    /** `host[:port]` values to add. */
    approve: string[];
    /** Hosts to remove. */
    deny: string[];
    /** Sign an empty list as the deny-all allowlist (`endpoints: []`). */
    allowEmpty?: boolean;
    /** The generation to use instead of the one chosen from the previous allowlist. */
    generation?: number;
  };
  /** Where the artifact is pushed; absent only on a dry run. */
  target?: {
    /** The opened target. */
    target: Target;
    /** The registry as the user named it (reported in the result): `host[:port]` or `oci:<dir>`. */
    name: string;
    /** The registry written into `allowlistRef` and the signature's `docker-reference`. */
    refRegistry: string;
    /** True for an OCI image layout on disk (no credentials, no Fulcio pre-fetch). */
    layout: boolean;
    /** One sentence on the credentials tried for `registry` (user and source, never a secret). */
    describeCredentials?: (registry: string) => string;
  };
  /**
   * Opens the registry of a previous allowlist (the sandbox's or the manifest's
   * `allowlistRef`), read to choose the generation. Absent: the previous allowlist is not
   * read and the generation (and so the digest) is a guess.
   */
  openPrevious?: (ref: AllowlistRef) => Target;
  /** The signer and how signatures are stored; absent: the allowlist is pushed unsigned. */
  signing?: {
    /** Creates the signer (called after the dry-run point, before the push). */
    signer: (services: { fulcioUrl?: string }) => Promise<Signer>;
    /** The key reference (path or `azurekms://…`) of a key signer: the controller refuses keys. */
    keyRef?: string;
    /** Signature layout(s) to store. */
    format: SignatureFormat;
    /** Sign even when this signer already signed the digest. */
    resign?: boolean;
    /** Upload to the transparency log (off only for key and KMS signatures). */
    tlogUpload: boolean;
    /** How the Sigstore services are chosen (see `sign/services.ts`). */
    services: {
      /** A Sigstore SigningConfig choosing the services (read before anything is pushed). */
      signingConfig?: () => Promise<SigningConfig>;
      /** Opt into the signing config's Rekor v2 logs. */
      rekorV2?: boolean;
      /** Fulcio URL. */
      fulcioUrl?: string;
      /** Rekor URL. */
      rekorUrl?: string;
      /** Timestamp authority URL. */
      tsaUrl?: string;
    };
  };
  /** The trusted root (Rekor v2 checks, idempotent signing, verification); called at most once. */
  trustedRoot: () => Promise<TrustedRoot>;
  /** Verify after signing: nothing is written unless `AllowlistVerified=True`. */
  verification?: {
    /** The SignerPolicy (loaded before anything is pushed). */
    policy: () => Promise<SignerPolicy>;
    /** Names the policy in warnings (a path). */
    label: string;
  };
  /** Where the signed reference goes. */
  sink:
    | {
      /** A GitOps manifest file (the KarsSandbox patch). */
      kind: "file";
      /** Absolute path. */
      path: string;
      /** Replace an existing file. */
      force: boolean;
      /** The path as the user gave it (named in the pull-request summary). */
      label?: string;
    }
    | {
      /** The KarsSandbox patch document, returned in the result's `document`. */
      kind: "stdout";
    }
    | {
      /** Patch the live sandbox (needs a `cluster` source). */
      kind: "cluster";
    };
  /** Also render the pull-request summary (Markdown); written to `path` when given. */
  summary?: { path?: string; force?: boolean };
  /** Print and push nothing. */
  dryRun?: boolean;
}

/** Where the sandbox comes from. */
export type EgressSource = EgressPlan["source"];
/** Where the signed reference goes. */
export type EgressSink = EgressPlan["sink"];
/** Where the allowlist is pushed. */
export type EgressTarget = NonNullable<EgressPlan["target"]>;
/** The change to the sandbox's egress. */
export type EgressChange = EgressPlan["change"];
/** The signer and how signatures are stored. */
export type EgressSigning = NonNullable<EgressPlan["signing"]>;
/** How the Sigstore services of a signing run are chosen. */
export type EgressServices = EgressSigning["services"];
/** Verification after signing. */
export type EgressVerification = NonNullable<EgressPlan["verification"]>;

/** What the flow uses of its surroundings (no runtime globals are read). */
export interface EgressDeps {
  /** `fetch` for the Sigstore services (tests record requests with it). */
  fetch?: typeof fetch;
  /** The clock (chooses the Rekor v2 log valid now); default the system time. */
  clock?: () => Date;
  /** Progress and warnings. */
  logger?: {
    /** Progress lines (building, pushing, signing, writing). */
    progress?: (line: string) => void;
    /**
     * Warnings. `option` names the plan input the warning is about (library terms, e.g.
     * `deny`), so a CLI can name its flag.
     */
    warn?: (line: string, option?: string) => void;
  };
}
