/**
 * Plan builders: turn what the command line names (paths, `oci:` strings, standard input, the
 * CA file, credentials) into the resolved parts of an `EgressPlan` (lib/workflow/plan.ts).
 * `kars egress`, `kars demo` and `kars egress verify` build their targets, trust material and
 * signers here, so each is built one way.
 *
 * @module
 */
import { readFileBounded } from "../io/file_read.ts";
import { readStreamBounded } from "../io/stream_read.ts";
import { realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fromUtf8 } from "../encoding/bytes.ts";
import { readInputText } from "../encoding/yaml_read.ts";
import { KarsError } from "../errors.ts";
import { createFetch } from "../io/transport.ts";
import type { Credential } from "../oci/auth.ts";
import { defaultCredentials } from "../oci/credentials.ts";
import { openTarget } from "../oci/open.ts";
import type { Target } from "../oci/types.ts";
import { parseSigningConfig, type SigningConfig } from "../sign/signing_config.ts";
import { isPolicyError, type SignerPolicy } from "../verify/policy.ts";
import { loadSignerPolicyAsync } from "../verify/policy_parse.ts";
import type { TrustedRoot } from "../verify/sigstore/mod.ts";
import { resolveTrustedRoot } from "../verify/trust_source.ts";
import { recordingCredentials } from "../workflow/credential_report.ts";
import type {
  EgressPlan,
  EgressSigning,
  EgressSource,
  EgressTarget,
  EgressVerification,
  Lazy,
} from "../workflow/plan.ts";
import type { EgressOptions } from "./egress_options.ts";
import { FLAG_FILE_MAX_BYTES } from "./flag_file.ts";
import { parseRegistrySpec, type RegistrySpec } from "./registry_spec.ts";

/** What the builders use of the command's surroundings. */
export interface PlanContext {
  /** Environment variables. */
  env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** Standard input. */
  stdin?: () => ReadableStream<Uint8Array>;
  /** Whether stdin is a terminal (interactive OIDC, exec plugins). */
  stdinIsTTY?: boolean;
  /** `fetch` override (tests record requests with it). */
  fetch?: typeof fetch;
  /** Aborts the registry requests when it fires (a command's time budget). */
  signal?: AbortSignal;
  /** Reads a secret on a terminal (COSIGN_PASSWORD fallback). */
  promptSecret?: (prompt: string) => Promise<string | undefined>;
  /** Progress lines (the interactive sign-in prints its URL here). */
  progress?: (line: string) => void;
  /** Warnings (withheld credentials). */
  warn?: (line: string) => void;
  /** Every registry request, when verbose (credentials redacted). */
  requestLog?: (line: string) => void;
}

/** `path` resolved against the context's directory. */
function at(ctx: Pick<PlanContext, "cwd">, path: string): string {
  return resolve(ctx.cwd, path);
}

/** `path` with its directory's symbolic links resolved (as it is, when the directory is absent). */
async function realDirPath(path: string): Promise<string> {
  try {
    return join(await realpath(dirname(path)), basename(path));
  } catch {
    return path;
  }
}

/**
 * Whether absolute paths `a` and `b` name one file: the same path, the same path once their
 * directories' links are resolved, or (both existing) the same inode.
 */
async function sameFile(a: string, b: string): Promise<boolean> {
  if (a === b || await realDirPath(a) === await realDirPath(b)) return true;
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false; // one does not exist yet: different paths, different files
  }
}

/** Most bytes read from standard input for a secret (a password, an identity token): 1 MiB. */
export const STDIN_SECRET_MAX_BYTES = 1024 * 1024;

/**
 * All of standard input (once), at most {@link STDIN_SECRET_MAX_BYTES}; more is an input
 * error carrying `details.option` (the option that reads stdin), refused while reading.
 */
async function readAllStdin(ctx: Pick<PlanContext, "stdin">, option: string): Promise<Uint8Array> {
  if (!ctx.stdin) {
    throw new KarsError("USAGE", "standard input is not available", { details: { option } });
  }
  return await readStreamBounded(ctx.stdin(), {
    maxBytes: STDIN_SECRET_MAX_BYTES,
    tooLarge: () =>
      new KarsError(
        "INPUT",
        `standard input is larger than ${STDIN_SECRET_MAX_BYTES} bytes (1 MiB); ` +
          "a password or identity token is never that large: is the right thing piped in?",
        { details: { option, limit: STDIN_SECRET_MAX_BYTES } },
      ),
  });
}

/** Options of {@link registryAccess}. */
export interface RegistryAccessOptions {
  /** Extra CA certificates (PEM), already read. */
  caPem?: string;
  /** Talk HTTP. */
  plainHttp?: boolean;
  /** Explicit credentials for `credentialHost`. */
  explicit?: Credential;
  /**
   * The host explicit and environment credentials (and the ACR exchange) go to; `undefined`:
   * the one `KARS_REGISTRY` names; `null`: none.
   */
  credentialHost?: string | null;
  /** Further hosts the ACR exchange may be made for. */
  acrRegistries?: readonly string[];
}

/** Opens targets with one transport and one credential chain (each credential kept to its host). */
export interface RegistryAccess {
  /** Opens a parsed registry string (the repository is validated). */
  open(spec: RegistrySpec, repository: string): Target;
  /** Opens a registry named in a document (`host[:port]`, or `oci:<dir>`), checking both parts. */
  openNamed(registry: string, repository: string): Target;
  /** One sentence: the credentials tried for `registry` (never a secret). */
  describe(registry: string): string;
}

/**
 * One registry transport and credential chain for a command.
 *
 * @example
 * ```ts
 * import { registryAccess } from "./egress_plan.ts";
 * const access = registryAccess({ env: {}, cwd: "." }, { credentialHost: null });
 * access.open({ kind: "layout", path: "./layout" }, "policy/egress-allowlist/web").location;
 * ```
 */
export function registryAccess(ctx: PlanContext, o: RegistryAccessOptions): RegistryAccess {
  const caFetch = o.caPem ? createFetch({ caPem: o.caPem }) : undefined;
  // A CA file, when given, decides the transport (over the context's `fetch`).
  const fetchFn = caFetch ?? ctx.fetch;
  const report = recordingCredentials(
    defaultCredentials({
      env: ctx.env,
      ...(o.credentialHost !== undefined ? { registry: o.credentialHost } : {}),
      ...(o.acrRegistries ? { acrRegistries: o.acrRegistries } : {}),
      explicit: o.explicit,
      ...(fetchFn ? { fetch: fetchFn } : {}),
    }),
    { env: ctx.env, explicit: o.explicit },
  );
  const log = ctx.requestLog;
  // The host is checked by the caller (parseRegistrySpec, the verifier's preflight).
  const open = (spec: RegistrySpec, repository: string): Target =>
    openTarget(
      spec.kind === "layout" ? { kind: "layout", path: at(ctx, spec.path) } : spec,
      repository,
      {
        plainHttp: o.plainHttp === true,
        fetch: fetchFn,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        credentials: report.source,
        onWithheld: (note) => ctx.warn?.(`credentials withheld: ${note}`),
        log: log ? (e) => log(`${e.method} ${e.url} ${e.status} ${e.ms}ms`) : undefined,
      },
    );
  return {
    open,
    openNamed: (registry, repository) =>
      open(parseRegistrySpec(registry, { what: "registry" }), repository),
    describe: (registry) => report.describe(registry),
  };
}

/**
 * The egress target for a parsed `--registry`: a layout's allowlist refs name `refRegistry`
 * (default `oci-layout`), a registry's its host.
 *
 * @example
 * ```ts
 * import { egressTarget, registryAccess } from "./egress_plan.ts";
 * const access = registryAccess({ env: {}, cwd: "." }, { credentialHost: null });
 * egressTarget({ kind: "layout", path: "./l" }, "policy/a", undefined, access).refRegistry; // "oci-layout"
 * ```
 */
export function egressTarget(
  spec: RegistrySpec,
  repository: string,
  refRegistry: string | undefined,
  access: RegistryAccess,
): EgressTarget {
  const layout = spec.kind === "layout";
  return {
    target: access.open(spec, repository),
    name: layout ? `oci:${spec.path}` : spec.host,
    refRegistry: layout ? refRegistry ?? "oci-layout" : spec.host,
    layout,
    describeCredentials: (registry) => access.describe(registry),
  };
}

/**
 * Reads the file an option names (`--ca-file`, `--signer-policy`, `--signing-config`): bounded
 * like every flag file (lib/cli/flag_file.ts). A missing, unreadable or oversized file is an
 * input error (exit 2) that names the path once and the problem, and carries
 * `details.option`, so the CLI's error names the flag (`--ca-file: …`).
 */
async function readOptionFile(ctx: PlanContext, path: string, option: string): Promise<string> {
  try {
    return fromUtf8(await readFileBounded(at(ctx, path), { maxBytes: FLAG_FILE_MAX_BYTES }));
  } catch (e) {
    if (!(e instanceof KarsError)) throw e;
    // A file the user named that cannot be read is their input: INPUT, not FILE (exit 2).
    throw new KarsError(e.code === "FILE" ? "INPUT" : e.code, e.message, {
      cause: e,
      details: { ...e.details, option },
    });
  }
}

/**
 * A sandbox document read from a file, or from standard input for `-`.
 *
 * @example
 * ```ts
 * import { fileSource } from "./egress_plan.ts";
 * fileSource({ env: {}, cwd: "/work" }, "-").kind; // "text" (read from stdin, labelled <stdin>)
 * ```
 */
export function fileSource(ctx: PlanContext, path: string): EgressSource {
  return path === "-"
    ? { kind: "text", label: "<stdin>", read: () => readInputText("-", { stdin: ctx.stdin?.() }) }
    : { kind: "text", label: path, read: () => readInputText(at(ctx, path)) };
}

/** Trust-material options (`--trusted-root`, `--refresh-trusted-root`, `--tuf-mirror`). */
export interface TrustOptions {
  /** A trusted_root.json file. */
  trustedRoot?: string;
  /** Fetch the current trusted root through TUF. */
  refreshTrustedRoot?: boolean;
  /** TUF mirror. */
  tufMirror?: string;
}

/**
 * The trusted root, resolved when first needed (the embedded one, a file, or through TUF).
 *
 * @example
 * ```ts
 * import { trustLoader } from "./egress_plan.ts";
 * const root = await trustLoader({ cwd: "." }, {})(); // the embedded public-good root
 * ```
 */
export function trustLoader(ctx: Pick<PlanContext, "cwd">, o: TrustOptions): Lazy<TrustedRoot> {
  return () =>
    resolveTrustedRoot({
      file: o.trustedRoot,
      refresh: o.refreshTrustedRoot === true,
      mirrorURL: o.tufMirror,
      cwd: ctx.cwd,
    });
}

/**
 * A SignerPolicy ConfigMap file: verify after signing (a bad policy names `--signer-policy`).
 *
 * @example
 * ```ts
 * import { policyFile } from "./egress_plan.ts";
 * policyFile({ env: {}, cwd: "." }, "signer-policy.yaml").label; // "signer-policy.yaml"
 * ```
 */
export function policyFile(ctx: PlanContext, path: string): EgressVerification {
  return {
    label: path,
    policy: async (): Promise<SignerPolicy> => {
      const policy = await loadSignerPolicyAsync({
        configMap: await readOptionFile(ctx, path, "signerPolicy"),
        source: path,
        env: ctx.env,
      });
      if (isPolicyError(policy)) {
        throw new KarsError("INPUT", `--signer-policy ${path}: ${policy.message}`);
      }
      return policy;
    },
  };
}

/** Signer options as the command line names them. */
export interface SigningOptions extends TrustOptions {
  /** How the signer is chosen. */
  signMode?: "keyless" | "identity-token" | "keyed";
  /** Key file path or `azurekms://…`. */
  key?: string;
  /** Identity token file, or `-` (stdin). */
  identityTokenFile?: string;
  /** Signature layout(s). */
  signatureFormat: EgressSigning["format"];
  /** Sign even when already signed. */
  resign?: boolean;
  /** Upload to Rekor. */
  tlogUpload: boolean;
  /** A SigningConfig file. */
  signingConfig?: string;
  /** Rekor v2. */
  rekorV2?: boolean;
  /** Fulcio URL. */
  fulcioUrl?: string;
  /** Rekor URL. */
  rekorUrl?: string;
  /** TSA URL. */
  tsaUrl?: string;
}

/**
 * The signing part of a plan: the signer is created from files, standard input, the
 * environment or a terminal prompt when the flow asks for it.
 *
 * @example
 * ```ts
 * import { signingPart } from "./egress_plan.ts";
 * const s = signingPart({ env: {}, cwd: "." }, { key: "cosign.key", signatureFormat: "legacy", tlogUpload: false });
 * s.keyRef; // "cosign.key"
 * ```
 */
export function signingPart(ctx: PlanContext, o: SigningOptions): EgressSigning {
  const signingConfig: Lazy<SigningConfig> | undefined = o.signingConfig !== undefined
    ? async () =>
      parseSigningConfig(
        await readOptionFile(ctx, o.signingConfig!, "signingConfig"),
        o.signingConfig!,
      )
    : o.rekorV2 && o.refreshTrustedRoot
    ? async () =>
      parseSigningConfig(
        await (await import("../verify/sigstore/tuf.ts")).fetchTufTarget(
          "signing_config_rekor_v2.v0.2.json",
          o.tufMirror ? { mirrorURL: o.tufMirror } : {},
        ),
        "the TUF-refreshed signing config",
      )
    : undefined;
  const prompt = ctx.promptSecret;
  return {
    keyRef: o.key,
    format: o.signatureFormat,
    resign: o.resign === true,
    tlogUpload: o.tlogUpload,
    services: {
      signingConfig,
      rekorV2: o.rekorV2 === true,
      fulcioUrl: o.fulcioUrl,
      rekorUrl: o.rekorUrl,
      tsaUrl: o.tsaUrl,
    },
    // Loaded when a run signs: `egress verify` and `diff` share these builders and never do.
    signer: async ({ fulcioUrl }) =>
      (await import("../sign/sign_artifact.ts")).createSigner({
        mode: o.signMode,
        key: o.key ? (o.key.startsWith("azurekms://") ? o.key : at(ctx, o.key)) : undefined,
        identityTokenFile: o.identityTokenFile === undefined || o.identityTokenFile === "-"
          ? o.identityTokenFile
          : at(ctx, o.identityTokenFile),
        fulcioUrl: fulcioUrl ?? o.fulcioUrl,
        env: { ...ctx.env },
        // Key files and identity tokens are small: bounded like every input.
        readFile: (p: string) => readFileBounded(p, { maxBytes: 1024 * 1024 }),
        readStdin: () => readAllStdin(ctx, "identityTokenFile"),
        promptSecret: prompt
          ? async (p) => {
            const v = await prompt(p);
            if (v === undefined) throw new KarsError("USAGE", "no password given");
            return v;
          }
          : undefined,
        // On a terminal with no token source: the browser sign-in (URL printed on stderr).
        interactive: ctx.stdinIsTTY ? { print: (line: string) => ctx.progress?.(line) } : undefined,
        fetch: ctx.fetch,
      }),
  };
}

/** The password read from standard input (one trailing newline dropped). */
async function passwordFromStdin(ctx: PlanContext): Promise<string> {
  return fromUtf8(await readAllStdin(ctx, "passwordStdin")).replace(/\r?\n$/, "");
}

/**
 * The plan of `kars egress` from its validated options: reads the CA file and the
 * `--password-stdin` password now; everything else when the flow asks for it.
 *
 * @example
 * ```ts
 * import { buildEgressPlan } from "./egress_plan.ts";
 * import { parseEgressOptions } from "./egress_options.ts";
 * const o = parseEgressOptions({ enforce: true, "dry-run": true, "from-file": "s.yaml" }, ["a"], {});
 * (await buildEgressPlan(o, { env: {}, cwd: "." })).sink.kind; // "stdout"
 * ```
 */
export async function buildEgressPlan(o: EgressOptions, ctx: PlanContext): Promise<EgressPlan> {
  // One file cannot be both: the summary would replace the GitOps manifest (with --force), or
  // fail after the push and signature. Decided before anything is read or pushed.
  if (
    o.summary !== undefined && o.summary !== "-" && o.emitManifest !== undefined &&
    await sameFile(at(ctx, o.summary), at(ctx, o.emitManifest))
  ) {
    throw new KarsError(
      "USAGE",
      "--summary and --emit-manifest name the same file; give the summary its own",
    );
  }
  const password = o.passwordStdin ? await passwordFromStdin(ctx) : undefined;
  const caPem = o.caFile ? await readOptionFile(ctx, o.caFile, "caFile") : undefined;
  const explicit = o.username !== undefined && password !== undefined
    ? { username: o.username, password, origin: "--username/--password-stdin" }
    : undefined;
  const spec = o.registry;
  // Explicit, environment and ACR credentials go to the --registry host alone.
  const access = registryAccess(ctx, {
    caPem,
    plainHttp: o.plainHttp,
    explicit,
    credentialHost: spec?.kind === "registry" ? spec.host : null,
  });
  const source: EgressSource = o.fromFile !== undefined ? fileSource(ctx, o.fromFile) : {
    kind: "cluster",
    connect: async () =>
      (await import("../kube/live_cluster.ts")).connectCluster({
        kubeconfig: o.kubeconfig,
        context: o.context,
        env: ctx.env,
        cwd: ctx.cwd,
        stdinIsTTY: ctx.stdinIsTTY,
      }),
  };
  return {
    sandbox: { name: o.name, namespace: o.namespace },
    repository: o.repository,
    source,
    change: {
      enforce: o.enforce,
      approve: o.approve,
      deny: o.deny,
      allowEmpty: o.allowEmpty === true,
      generation: o.generation,
    },
    target: spec ? egressTarget(spec, o.repository, o.refRegistry, access) : undefined,
    openPrevious: o.offline ? undefined : (ref) => access.openNamed(ref.registry, ref.repository),
    signing: o.sign ? signingPart(ctx, o) : undefined,
    trustedRoot: trustLoader(ctx, o),
    verification: o.signerPolicy !== undefined ? policyFile(ctx, o.signerPolicy) : undefined,
    sink: o.emitManifest !== undefined
      ? { kind: "file", path: at(ctx, o.emitManifest), force: o.force, label: o.emitManifest }
      : o.fromFile !== undefined
      ? { kind: "stdout" }
      : { kind: "cluster" },
    summary: o.summary !== undefined
      ? { path: o.summary === "-" ? undefined : at(ctx, o.summary), force: o.force }
      : undefined,
    dryRun: o.dryRun,
  };
}
