/**
 * The options of `kars egress`, and their validation. Every check here is local
 * (no file content, no network), so the CLI can refuse bad usage before any work.
 *
 * @module
 */
import { applyApproveDeny } from "../allowlist/edit.ts";
import { KarsError } from "../errors.ts";
import { parseRegistrySpec, type RegistrySpec } from "./registry_spec.ts";
import { targetHost } from "../oci/open.ts";
import { isDnsLabel, isDnsSubdomain, isRepositoryName } from "../model/names.ts";

import type { SignatureFormat } from "../cosign/vocabulary.ts";

export type { SignatureFormat } from "../cosign/vocabulary.ts";

/** How the signer is chosen when not auto-detected. */
export type SignMode = "keyless" | "identity-token" | "keyed";

/** Validated options of `kars egress <name>`. */
export interface EgressOptions {
  /** Sandbox name (`metadata.name`). */
  name: string;
  /** `-n/--namespace`. */
  namespace?: string;
  /** `--enforce`: switch `egressMode` to `Strict`. */
  enforce: boolean;
  /** `--approve host[:port]` values, as given. */
  approve: string[];
  /** `--deny host` values, as given. */
  deny: string[];
  /** `--allow-empty`: sign an empty list as the deny-all allowlist (`endpoints: []`). */
  allowEmpty?: boolean;
  /** False with `--no-sign`. */
  sign: boolean;
  /** `--emit-manifest PATH`. */
  emitManifest?: string;
  /** `--force`: overwrite the manifest file. */
  force: boolean;
  /** `--from-file PATH|-`. */
  fromFile?: string;
  /** `--registry` (or `KARS_REGISTRY`): `host[:port]` or `oci:<dir>`. */
  registry?: RegistrySpec;
  /** `--repository` (default `policy/egress-allowlist/<name>`). */
  repository: string;
  /**
   * `--ref-registry`: with `--registry oci:<dir>`, the registry the layout will be copied to —
   * written into `allowlistRef.registry` and the signature's `docker-reference`
   * (default `oci-layout`).
   */
  refRegistry?: string;
  /** `--generation N`. */
  generation?: number;
  /** `--dry-run`: print, push and write nothing. */
  dryRun: boolean;
  /** `--json`: machine-readable result on stdout. */
  json: boolean;
  /** `--signature-format`. */
  signatureFormat: SignatureFormat;
  /** `--sign-mode`. */
  signMode?: SignMode;
  /** `--key PATH|azurekms://…`. */
  key?: string;
  /** `--identity-token-file PATH|-`. */
  identityTokenFile?: string;
  /** `--fulcio-url` (absent: the signing config's, else the public-good Fulcio). */
  fulcioUrl?: string;
  /** `--rekor-url` (absent: the signing config's, else the public-good Rekor v1). */
  rekorUrl?: string;
  /** `--signing-config FILE`: a Sigstore SigningConfig v0.2 choosing the services. */
  signingConfig?: string;
  /** `--rekor-v2`: opt into the Rekor v2 logs of the signing config (bundle format). */
  rekorV2: boolean;
  /** `--tsa-url`. */
  tsaUrl?: string;
  /** `--summary FILE|-`: write the pull-request summary (Markdown) there. */
  summary?: string;
  /** `--offline`: do not read the previous allowlist (the generation is a guess). */
  offline: boolean;
  /** `--resign`: sign even when this signer already signed the digest (see idempotent signing). */
  resign: boolean;
  /** `--tlog-upload=false` turns Rekor upload off for key and KMS signatures. */
  tlogUpload: boolean;
  /** `--signer-policy FILE`: verify after signing, refuse to write unless `True`. */
  signerPolicy?: string;
  /** `--trusted-root FILE`. */
  trustedRoot?: string;
  /** `--refresh-trusted-root`: the trusted root through TUF (network). */
  refreshTrustedRoot: boolean;
  /** `--tuf-mirror URL`. */
  tufMirror?: string;
  /** `--username`. */
  username?: string;
  /** `--password-stdin`. */
  passwordStdin: boolean;
  /** `--plain-http`. */
  plainHttp: boolean;
  /** `--ca-file`. */
  caFile?: string;
  /** `--kubeconfig`. */
  kubeconfig?: string;
  /** `--context`. */
  context?: string;
  /** `--verbose`: log every HTTP request (credentials redacted). */
  verbose: boolean;
}

export { DEFAULT_FULCIO_URL, DEFAULT_REKOR_URL } from "../sign/services.ts";

/** Flag values as `node:util` `parseArgs` returns them (copied into a plain object). */
export type RawOptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

function usage(message: string): KarsError {
  return new KarsError("USAGE", message);
}

function str(v: RawOptionValues[string]): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function list(v: RawOptionValues[string]): string[] {
  return Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : [];
}

function url(flag: string, v: string | undefined, fallback?: string): string | undefined {
  if (v === undefined) return fallback;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw usage(`${flag} ${JSON.stringify(v)} is not a URL; give e.g. https://host[:port]`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw usage(`${flag} must be an http(s) URL, got ${JSON.stringify(v)}`);
  }
  return v.replace(/\/+$/, "");
}

/**
 * Validates the parsed flags of `kars egress <name>` into {@link EgressOptions}.
 * Throws a `KarsError("USAGE")` naming the flag and the fix.
 *
 * @example
 * ```ts
 * import { parseEgressOptions } from "./egress_options.ts";
 * const o = parseEgressOptions({ enforce: true, "dry-run": true }, ["my-agent"], {});
 * o.repository; // "policy/egress-allowlist/my-agent"
 * ```
 */
export function parseEgressOptions(
  values: RawOptionValues,
  positionals: string[],
  env: Readonly<Record<string, string | undefined>>,
): EgressOptions {
  if (positionals.length === 0) {
    throw usage("missing sandbox name: kars egress <name> (--enforce | --approve <host[:port]>)");
  }
  if (positionals.length > 1) {
    throw usage(
      `expected one sandbox name, got ${positionals.length}: ${
        positionals.map((p) => JSON.stringify(p)).join(", ")
      }`,
    );
  }
  const name = positionals[0];
  if (!isDnsSubdomain(name)) {
    throw usage(
      `sandbox name ${
        JSON.stringify(name)
      } is not a valid Kubernetes name (lowercase letters, digits, '-' and '.')`,
    );
  }
  const namespace = str(values.namespace);
  if (namespace !== undefined && !isDnsLabel(namespace)) {
    throw usage(
      `--namespace ${
        JSON.stringify(namespace)
      } is not a valid namespace name (lowercase letters, digits, '-')`,
    );
  }
  const enforce = values.enforce === true;
  const approve = list(values.approve);
  const deny = list(values.deny);
  const sign = values["no-sign"] !== true;
  const emitManifest = str(values["emit-manifest"]);
  const dryRun = values["dry-run"] === true;

  if (emitManifest !== undefined && emitManifest.trim() === "") {
    throw usage("--emit-manifest needs a file path");
  }
  if (emitManifest !== undefined && !sign) {
    throw usage("--emit-manifest cannot be combined with --no-sign");
  }
  if (emitManifest !== undefined && !enforce && approve.length === 0) {
    throw usage("--emit-manifest requires --enforce or --approve");
  }
  if (!enforce && approve.length === 0 && deny.length === 0 && !dryRun) {
    throw usage(
      "nothing to do: add --enforce, --approve <host[:port]> or --deny <host> (or --dry-run to preview)",
    );
  }
  // Validate --approve/--deny now, before any file or network work.
  applyApproveDeny([], approve, deny);

  let generation: number | undefined;
  const g = str(values.generation);
  if (g !== undefined) {
    if (!/^[1-9][0-9]*$/.test(g) || !Number.isSafeInteger(Number(g))) {
      throw usage(`--generation ${JSON.stringify(g)} must be a positive integer`);
    }
    generation = Number(g);
  }

  const registryValue = str(values.registry) ?? (env.KARS_REGISTRY || undefined);
  const registry = registryValue === undefined ? undefined : parseRegistrySpec(registryValue, {
    what: str(values.registry) !== undefined ? "--registry" : "KARS_REGISTRY",
  });
  if (registry === undefined && !dryRun) {
    throw usage(
      "no registry: pass --registry <host[:port]> (or oci:<dir> for an OCI layout on disk), or set KARS_REGISTRY",
    );
  }
  let refRegistry = str(values["ref-registry"]);
  if (refRegistry !== undefined) {
    if (registry?.kind !== "layout") {
      throw usage("--ref-registry only applies with --registry oci:<dir>");
    }
    if (/[\s/]/.test(refRegistry) || refRegistry === "" || refRegistry.includes("://")) {
      throw usage(`--ref-registry ${JSON.stringify(refRegistry)} must be host[:port]`);
    }
    refRegistry = targetHost(refRegistry, "--ref-registry");
  }
  const repository = str(values.repository) ?? `policy/egress-allowlist/${name}`;
  if (!isRepositoryName(repository)) {
    throw usage(
      `--repository ${
        JSON.stringify(repository)
      } is not a valid repository name (lowercase path components separated by '/')`,
    );
  }

  // Rekor v2 entries carry no SET, which the legacy layout needs: --rekor-v2 defaults to bundle.
  const sf = str(values["signature-format"]) ?? (values["rekor-v2"] === true ? "bundle" : "legacy");
  if (sf !== "legacy" && sf !== "bundle" && sf !== "both") {
    throw usage(`--signature-format must be legacy, bundle or both, got ${JSON.stringify(sf)}`);
  }
  const sm = str(values["sign-mode"]);
  if (sm !== undefined && sm !== "keyless" && sm !== "identity-token" && sm !== "keyed") {
    throw usage(`--sign-mode must be keyless, identity-token or keyed, got ${JSON.stringify(sm)}`);
  }
  const key = str(values.key);
  if (sm === "keyed" && key === undefined) throw usage("--sign-mode keyed needs --key");
  if (!sign && (key !== undefined || sm !== undefined)) {
    throw usage("--no-sign cannot be combined with --key or --sign-mode");
  }
  const tl = str(values["tlog-upload"]) ?? "true";
  if (tl !== "true" && tl !== "false") {
    throw usage(`--tlog-upload must be true or false, got ${JSON.stringify(tl)}`);
  }
  const fromFile = str(values["from-file"]);
  const identityTokenFile = str(values["identity-token-file"]);
  const passwordStdin = values["password-stdin"] === true;
  const stdinUsers = [
    fromFile === "-" ? "--from-file -" : "",
    identityTokenFile === "-" ? "--identity-token-file -" : "",
    passwordStdin ? "--password-stdin" : "",
  ].filter(Boolean);
  if (stdinUsers.length > 1) {
    throw usage(`${stdinUsers.join(" and ")} cannot both read standard input`);
  }
  const username = str(values.username) ?? undefined;
  if (passwordStdin && username === undefined) throw usage("--password-stdin needs --username");
  if (!sign && values.resign === true) throw usage("--resign cannot be combined with --no-sign");
  const summary = str(values.summary);
  if (summary !== undefined) {
    if (summary.trim() === "") throw usage("--summary needs a file path, or - for stdout");
    if (dryRun) throw usage("--summary cannot be combined with --dry-run (it describes a push)");
    // Whether it names the --emit-manifest file is decided against the run's directory
    // (buildEgressPlan, lib/cli/egress_plan.ts).
    if (summary === "-" && values.json === true) {
      throw usage("--summary - cannot be combined with --json (both use stdout); give a file");
    }
    if (summary === "-" && emitManifest === undefined && str(values["from-file"]) !== undefined) {
      throw usage(
        "--summary - needs --emit-manifest here: without it the patch is printed on stdout",
      );
    }
  }
  if (values.offline === true && !dryRun) {
    throw usage(
      "--offline applies to --dry-run only (a real run must read the previous allowlist)",
    );
  }
  const signerPolicy = str(values["signer-policy"]);
  if (signerPolicy !== undefined && !sign) {
    throw usage("--signer-policy cannot be combined with --no-sign (nothing would be verified)");
  }

  return {
    name,
    namespace,
    enforce,
    approve,
    deny,
    allowEmpty: values["allow-empty"] === true,
    sign,
    emitManifest,
    force: values.force === true,
    fromFile,
    registry,
    repository,
    refRegistry,
    generation,
    dryRun,
    json: values.json === true,
    signatureFormat: sf,
    signMode: sm as SignMode | undefined,
    key,
    identityTokenFile,
    fulcioUrl: url("--fulcio-url", str(values["fulcio-url"])),
    rekorUrl: url("--rekor-url", str(values["rekor-url"])),
    signingConfig: str(values["signing-config"]),
    rekorV2: values["rekor-v2"] === true,
    tsaUrl: url("--tsa-url", str(values["tsa-url"])),
    tlogUpload: tl === "true",
    resign: values.resign === true,
    summary,
    offline: values.offline === true,
    signerPolicy,
    trustedRoot: str(values["trusted-root"]),
    refreshTrustedRoot: values["refresh-trusted-root"] === true,
    tufMirror: url("--tuf-mirror", str(values["tuf-mirror"])),
    username,
    passwordStdin,
    plainHttp: values["plain-http"] === true,
    caFile: str(values["ca-file"]),
    kubeconfig: str(values.kubeconfig),
    context: str(values.context),
    verbose: values.verbose === true,
  };
}
