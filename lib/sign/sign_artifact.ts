/**
 * The one signing entry point the `kars egress` flow calls: sign an allowlist manifest,
 * witness it (Rekor, optional TSA) and store it in the legacy and/or bundle layout — plus
 * {@link createSigner}, which picks the signer (keyless, key file, Azure Key Vault).
 *
 * Every witness is obtained before anything is written to the registry, so a Fulcio,
 * Rekor or TSA failure leaves the repository untouched.
 *
 * @module
 */
import { utf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import type { Descriptor, Target } from "../oci/types.ts";
import type { Digest } from "../encoding/digest.ts";
import { buildDsseBundle } from "./bundle.ts";
import type { FetchFn } from "./http.ts";
import { KeylessSigner } from "./keyless.ts";
import { legacyAnnotations } from "../cosign/annotations.ts";
import { getIdentityToken } from "./oidc.ts";
import type { TlogEntry } from "./rekor.ts";
import type { TransparencyLogEntryJson } from "./rekor_v2.ts";
import type { TrustedRoot } from "../verify/sigstore/trust_root.ts";
import type { Signature, Signer } from "./signer.ts";
import {
  type AttachOptions,
  attachSignature,
  type BundleSignature,
  type LegacySignature,
} from "./store.ts";
import {
  rekorV1Witness,
  rekorV2Witness,
  SignatureBuilder,
  tsaWitness,
  type Witness,
} from "./witness.ts";

import { DEFAULT_FULCIO_URL, DEFAULT_REKOR_URL } from "./services.ts";
export { DEFAULT_FULCIO_URL, DEFAULT_REKOR_URL };

import type { SignatureFormat } from "../cosign/vocabulary.ts";
export type { SignatureFormat } from "../cosign/vocabulary.ts";

/** Options of {@link signArtifact}. */
export interface SignArtifactOptions {
  /** Where the manifest lives and the signature goes. */
  target: Target;
  /** Registry host as written in `allowlistRef.registry`. */
  registry: string;
  /** Repository. */
  repository: string;
  /** Descriptor of the allowlist manifest to sign. */
  manifest: Descriptor;
  /** The signer. */
  signer: Signer;
  /** Rekor URL (default public-good); a Rekor v1 log. Ignored when `tlogs` is given. */
  rekorUrl?: string;
  /**
   * The transparency logs to upload to, each with its API version (as a signing config selects
   * them). Default: one Rekor v1 log at `rekorUrl`. Rekor v2 entries carry no SET, so they can
   * be stored only in the bundle format, and signing to Rekor v2 needs a timestamp authority.
   */
  tlogs?: Array<{ url: string; majorApiVersion: 1 | 2 }>;
  /** TSA base URL; no timestamp when absent. Ignored when `tsaUrls` is given. */
  tsaUrl?: string;
  /** The timestamp authorities to ask (each signature gets one timestamp from each). */
  tsaUrls?: string[];
  /** Trust material holding the Rekor v2 logs' keys: their entries are checked before use. */
  trustedRoot?: TrustedRoot;
  /** Upload to Rekor (default true). Keyless signatures always need it. */
  tlogUpload?: boolean;
  /** Storage layout (default `legacy`). */
  format?: SignatureFormat;
  /** Transport for Rekor and TSA. */
  fetch?: FetchFn;
  /** How the signature is stored: the manifest is new to the target, blobs staged ahead. */
  store?: AttachOptions;
}

/** What {@link signArtifact} stored. */
export interface SignArtifactResult {
  /** The signer identity for the GitOps header. */
  identity: string;
  /** The manifests written (`.sig` manifest / bundle referrer). */
  stored: Array<{ format: "legacy" | "bundle"; digest: Digest }>;
  /** The legacy layer written, when the format includes legacy. */
  legacy?: LegacySignature;
  /** The bundle written (parsed JSON), when the format includes bundle. */
  bundle?: Record<string, unknown>;
  /** Rekor v1 entries obtained. */
  tlogEntries: TlogEntry[];
  /** Rekor v2 entries obtained (bundle-JSON form, checked against the trusted root). */
  tlogEntriesV2: TransparencyLogEntryJson[];
}

/**
 * Signs `manifest` and stores the signature(s). Throws `KarsError("SIGN")` naming the
 * service on a Fulcio/Rekor/TSA failure (nothing stored), or the Target's error code
 * (REGISTRY, AUTH, …) naming the target when storing fails.
 *
 * @example
 * ```ts
 * import { signArtifact } from "./sign_artifact.ts";
 * declare const target: import("../oci/types.ts").Target, manifest: import("../oci/types.ts").Descriptor;
 * declare const signer: import("./signer.ts").Signer;
 * const { identity, stored } = await signArtifact({
 *   target, registry: "myacr.azurecr.io", repository: "policy/egress-allowlist/web",
 *   manifest, signer, format: "legacy",
 * });
 * ```
 */
export async function signArtifact(opts: SignArtifactOptions): Promise<SignArtifactResult> {
  const format = opts.format ?? "legacy";
  if (!["legacy", "bundle", "both"].includes(format)) {
    throw new KarsError("INPUT", `signature format ${format}: expected legacy, bundle or both`, {
      details: { option: "signatureFormat" },
    });
  }
  const tlogUpload = opts.tlogUpload ?? true;
  const noTlog = () =>
    new KarsError(
      "INPUT",
      "keyless signatures need a Rekor entry; turning the transparency-log upload off " +
        "applies to key and KMS signatures only",
      { details: { option: "tlogUpload" } },
    );
  if (!tlogUpload && opts.signer.certificateBound) throw noTlog();
  const logs = !tlogUpload
    ? []
    : opts.tlogs ?? [{ url: opts.rekorUrl ?? DEFAULT_REKOR_URL, majorApiVersion: 1 as const }];
  const tsaUrls = opts.tsaUrls ?? (opts.tsaUrl ? [opts.tsaUrl] : []);
  checkSigningPlan({ tlogs: logs, tsaUrls, format, trustedRoot: opts.trustedRoot });
  const v1 = logs.filter((l) => l.majorApiVersion === 1);
  const dockerRef = `${opts.registry}/${opts.repository}`;
  const tlogEntries: TlogEntry[] = [];
  const tlogEntriesV2: TransparencyLogEntryJson[] = [];
  const pending: Array<LegacySignature | BundleSignature> = [];
  const result: SignArtifactResult = { identity: "", stored: [], tlogEntries, tlogEntriesV2 };

  // The witnesses, asked in this order: every timestamp authority, then the logs.
  const tsa = tsaUrls.map((url) => tsaWitness(url, opts.fetch));
  const log = (l: { url: string; majorApiVersion: 1 | 2 }): Witness =>
    l.majorApiVersion === 1
      ? rekorV1Witness(l.url, opts.fetch)
      : rekorV2Witness(l.url, opts.trustedRoot!, opts.fetch);
  const checkSignature = (sig: Signature) => {
    if (sig.key.kind === "certificate" && !tlogUpload) throw noTlog();
  };

  if (format === "legacy" || format === "both") {
    // The legacy layout holds one Rekor entry and one timestamp (checkSigningPlan).
    const builder = new SignatureBuilder(opts.signer, [...tsa, ...v1.slice(0, 1).map(log)], {
      checkSignature,
    });
    const w = await builder.legacy(dockerRef, opts.manifest.digest);
    tlogEntries.push(...w.tlogEntriesV1);
    const legacy: LegacySignature = {
      format: "legacy",
      payload: w.content.payload,
      annotations: legacyAnnotations(w.content.signature, w.tlogEntriesV1[0], w.timestamps[0]),
    };
    pending.push(legacy);
    result.legacy = legacy;
  }
  if (format === "bundle" || format === "both") {
    const builder = new SignatureBuilder(opts.signer, [...tsa, ...logs.map(log)], {
      checkSignature,
    });
    const w = await builder.dsse(dockerRef, opts.manifest.digest);
    if (w.content.kind !== "dsse") throw new KarsError("INTERNAL", "expected a DSSE signature");
    tlogEntries.push(...w.tlogEntriesV1);
    tlogEntriesV2.push(...w.tlogEntriesV2);
    const bundle = buildDsseBundle(
      w.content.envelope,
      w.content.signature,
      w.tlogEntries,
      w.timestamps,
    );
    pending.push({ format: "bundle", bundle: utf8(JSON.stringify(bundle)) });
    result.bundle = bundle as unknown as Record<string, unknown>;
  }
  result.identity = opts.signer.identity;
  for (const p of pending) {
    const desc = await attachSignature(opts.target, opts.manifest, p, opts.store ?? {});
    result.stored.push({ format: p.format, digest: desc.digest });
  }
  return result;
}

/** What {@link checkSigningPlan} looks at. */
export interface SigningPlan {
  /** The logs that will be written to. */
  tlogs: Array<{ url: string; majorApiVersion: 1 | 2 }>;
  /** The timestamp authorities that will be asked. */
  tsaUrls: string[];
  /** The storage layout. */
  format: SignatureFormat;
  /** The trust material Rekor v2 entries will be checked against. */
  trustedRoot?: TrustedRoot;
}

/**
 * Refuses, before anything is contacted, a combination of services and format that cannot
 * produce a verifiable signature: Rekor v2 with the legacy layout (no SET to store), Rekor v2
 * without a timestamp authority (no trusted time), several logs for the legacy layout (it holds
 * one entry), Rekor v2 without a trusted root to check its entries. Throws `KarsError("INPUT")`.
 *
 * @example
 * ```ts
 * import { checkSigningPlan } from "./sign_artifact.ts";
 * checkSigningPlan({ tlogs: [{ url: "https://rekor.sigstore.dev", majorApiVersion: 1 }], tsaUrls: [], format: "legacy" });
 * ```
 */
export function checkSigningPlan(plan: SigningPlan): void {
  const { format, tsaUrls } = plan;
  const v2 = plan.tlogs.filter((l) => l.majorApiVersion === 2);
  const v1 = plan.tlogs.filter((l) => l.majorApiVersion === 1);
  if (v2.length > 0 && format !== "bundle") {
    throw new KarsError(
      "INPUT",
      "Rekor v2 entries carry no signed entry timestamp (SET), which the legacy cosign layout " +
        "needs: store the signature in the bundle format only",
      { details: { rekorV2: v2.map((l) => l.url), format } },
    );
  }
  if (format !== "bundle" && v1.length > 1) {
    throw new KarsError(
      "INPUT",
      `the legacy cosign layout holds one Rekor entry, but ${v1.length} logs were selected`,
      { details: { rekor: v1.map((l) => l.url) } },
    );
  }
  if (v2.length > 0 && tsaUrls.length === 0) {
    // A verifier needs a trusted time for the signature (the certificate's validity for
    // keyless; for keys, our verifier asks for one too), and Rekor v2 vouches for none.
    throw new KarsError(
      "INPUT",
      "Rekor v2 records no integration time: signing to Rekor v2 needs an RFC 3161 " +
        "timestamp authority, and none is configured",
      { details: { rekorV2: v2.map((l) => l.url) } },
    );
  }
  if (v2.length > 0 && !plan.trustedRoot) {
    throw new KarsError(
      "INPUT",
      "Rekor v2 entries must be checked against a trusted root, and none was given",
    );
  }
}

/** Options of {@link createSigner}. */
export interface CreateSignerOptions {
  /** How to sign; default: keyed when `key` is given, else keyless. */
  mode?: "keyless" | "identity-token" | "keyed";
  /** A key file path or `azurekms://…`. */
  key?: string;
  /** Process environment (COSIGN_PASSWORD, SIGSTORE_ID_TOKEN, AZURE_*, ACTIONS_*…). */
  env: Record<string, string | undefined>;
  /** Fulcio URL (default public-good). */
  fulcioUrl?: string;
  /** A file holding the OIDC identity token (a path, or `-` for stdin). */
  identityTokenFile?: string;
  /** Reads a file (key files, token files, Azure federated token). */
  readFile: (path: string) => Promise<Uint8Array>;
  /** Reads all of stdin (for `identityTokenFile` `-`). */
  readStdin?: () => Promise<Uint8Array>;
  /** Prompts for a secret on a TTY (key password) — without echo; absent when not a TTY. */
  promptSecret?: (prompt: string) => Promise<string>;
  /**
   * Pass when running on a terminal: with no token source, keyless mode (not
   * `identity-token`) runs the browser sign-in and prints its URL with `print`.
   */
  interactive?: { print: (line: string) => void; issuer?: string; timeoutMs?: number };
  /** Azure Key Vault base URL override (tests). */
  azureVaultUrl?: string;
  /** Transport for Fulcio, GitHub Actions, Azure. */
  fetch?: FetchFn;
}

/**
 * Picks and prepares the signer. For keyless signing the identity token is obtained now
 * (so a missing token fails before anything is pushed); the certificate on first sign.
 *
 * @example
 * ```ts
 * import { createSigner } from "./sign_artifact.ts";
 * const signer = await createSigner({
 *   key: "cosign.key",
 *   env: { COSIGN_PASSWORD: "hello" },
 *   readFile: (p) => Deno.readFile(p),
 * });
 * signer.identity; // "key:…"
 * ```
 */
export async function createSigner(opts: CreateSignerOptions): Promise<Signer> {
  const mode = opts.mode ?? (opts.key ? "keyed" : "keyless");
  if (mode === "keyed") {
    const key = opts.key;
    if (!key) {
      throw new KarsError("INPUT", "keyed signing needs a key: a key file path or azurekms://…", {
        details: { option: "signMode", fixOptions: ["key"] },
      });
    }
    // Each signer's code (scrypt, KMS) is loaded by the runs that sign with it.
    if (key.startsWith("azurekms://")) {
      const { AzureKmsSigner } = await import("./azure_kms.ts");
      return new AzureKmsSigner({
        uri: key,
        env: opts.env,
        readFile: opts.readFile,
        vaultUrl: opts.azureVaultUrl,
        fetch: opts.fetch,
      });
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(key)) {
      throw new KarsError("INPUT", `key ${key}: unsupported KMS scheme (only azurekms://)`, {
        details: { option: "key" },
      });
    }
    let pem: string;
    try {
      pem = new TextDecoder().decode(await opts.readFile(key));
    } catch (e) {
      throw new KarsError("INPUT", `key file ${key}: cannot read it (${errnoOf(e)})`, {
        cause: e,
        details: { option: "key" },
      });
    }
    const password = async () => {
      if (opts.env.COSIGN_PASSWORD !== undefined) return opts.env.COSIGN_PASSWORD;
      if (opts.promptSecret) {
        return await opts.promptSecret(`Enter password for private key ${key}: `);
      }
      throw new KarsError(
        "INPUT",
        `${key} is encrypted: set COSIGN_PASSWORD or run on a terminal to be prompted`,
      );
    };
    const { KeyFileSigner, loadPrivateKey } = await import("./keyfile.ts");
    return new KeyFileSigner(await loadPrivateKey(pem, key, password));
  }
  if (opts.key) {
    throw new KarsError("INPUT", `sign mode ${mode} cannot be combined with a key`, {
      details: { option: "signMode", fixOptions: ["key"] },
    });
  }
  const { token } = await getIdentityToken({
    env: opts.env,
    identityTokenFile: opts.identityTokenFile,
    readFile: opts.readFile,
    readStdin: opts.readStdin,
    fetch: opts.fetch,
    interactive: mode === "keyless" ? opts.interactive : undefined,
  });
  return new KeylessSigner({
    fulcioUrl: opts.fulcioUrl ?? DEFAULT_FULCIO_URL,
    token: () => Promise.resolve(token),
    fetch: opts.fetch,
  });
}

function errnoOf(e: unknown): string {
  const code = (e as { code?: string })?.code;
  if (code === "ENOENT" || code === "NOT_FOUND" || (e instanceof Error && e.name === "NotFound")) {
    return "no such file";
  }
  const limit = (e as { details?: { limit?: number } })?.details?.limit;
  if (e instanceof KarsError && limit !== undefined) return `larger than ${limit} bytes`;
  // A bounded read's error says what is wrong (a directory, …): its problem, not its code
  // (the path is already named by the caller).
  // (`details.problem`: see readProblem in lib/io/file_read.ts.)
  if (e instanceof KarsError) {
    return typeof e.details?.problem === "string" ? e.details.problem : e.message;
  }
  return code ?? (e instanceof Error ? e.message : String(e));
}
