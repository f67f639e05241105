/**
 * The `kars egress` flow: read the sandbox → canonical allowlist → push → sign →
 * (verify) → write the GitOps manifest, print it, or patch the live sandbox.
 *
 * Ordering is the safety property: every local check (flags, the overwrite check, the
 * sandbox file) happens before any network work, and nothing is written or patched
 * unless push and signing (and verification, when a SignerPolicy is given) succeeded.
 *
 * @module
 */
import { resolve } from "node:path";
import { readFile } from "node:fs/promises";
import {
  type Allowlist,
  canonicalizeEndpoints,
  emitCanonicalAllowlist,
  type Endpoint,
  parseCanonicalAllowlist,
} from "../allowlist/canonical.ts";
import { applyApproveDeny, chooseGeneration } from "../allowlist/edit.ts";
import { fromUtf8 } from "../encoding/bytes.ts";
import type { Digest } from "../encoding/digest.ts";
import type { EgressOptions } from "../cli/egress_options.ts";
import { isKarsError, KarsError } from "../errors.ts";
import { checkWritable, proveWritable, writeFileAtomic } from "../io/fs_atomic.ts";
import {
  type AllowlistRef,
  defaultNamespace,
  emitGitopsManifest,
  readGitopsManifest,
} from "../gitops/manifest.ts";
import {
  ALLOWLIST_MEDIA_TYPE,
  buildAllowlistArtifact,
  EMPTY_CONFIG_BYTES,
  parseAllowlistManifest,
} from "../oci/artifact.ts";
import { openTarget, type OpenTargetOptions } from "../oci/open.ts";
import { isBlobUnknown, pushArtifact } from "../oci/copy.ts";
import { defaultCredentials } from "../oci/docker_config.ts";
import { createFetch } from "../io/transport.ts";
import { OCI_MANIFEST, type Target } from "../oci/types.ts";
import { type KarsSandbox, readNetworkPolicy, selectSandbox } from "../model/sandbox_read.ts";
import { checkSigningPlan, createSigner, signArtifact } from "../sign/sign_artifact.ts";
import { normalizeIdentity, type Signer } from "../sign/signer.ts";
import { type AllowlistDiff, diffAllowlists } from "../allowlist/diff.ts";
import { renderSummary } from "../gitops/summary.ts";
import { findOwnSignatures, type SignatureLayout } from "./already_signed.ts";
import { type RecordingCredentials, recordingCredentials } from "./credential_report.ts";
import { parseYamlDocuments, readInputText } from "../encoding/yaml_read.ts";
import { connectCluster, type LiveCluster } from "../kube/live_cluster.ts";
import type { LiveSandbox } from "../kube/sandbox.ts";
import { isPolicyError, loadSignerPolicyAsync, type SignerPolicy } from "../verify/policy.ts";
import type { TrustedRoot } from "../verify/sigstore/mod.ts";
import {
  type BothVerdicts,
  CONTROLLER_FORMAT_WARNING,
  controllerSignerWarning,
  verifyBoth,
} from "../verify/controller.ts";
import { controllerPolicyWarnings } from "../verify/policy_lint.ts";
import { resolveTrustedRoot } from "../verify/trust_source.ts";
import { resolveSigningServices, type SigningServices } from "../sign/services.ts";
import { parseSigningConfig, type SigningConfig } from "../sign/signing_config.ts";
import { fetchTufTarget } from "../verify/sigstore/tuf.ts";
import { formatCondition } from "../verify/conditions.ts";

/** What the flow may use of its surroundings (no runtime globals are read). */
export interface EgressIO {
  /** Environment variables. */
  env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** Standard input (for `--from-file -`, `--password-stdin`, `--identity-token-file -`). */
  stdin?: () => ReadableStream<Uint8Array>;
  /** Whether stdin is a terminal (interactive OIDC, exec plugins). */
  stdinIsTTY?: boolean;
  /** `fetch` override (tests record requests with it). */
  fetch?: typeof fetch;
  /** Aborts the registry requests when it fires (a command's time budget). */
  signal?: AbortSignal;
  /** Progress lines (building, pushing, signing, writing). */
  progress?: (line: string) => void;
  /** Warnings. */
  warn?: (line: string) => void;
  /** Reads a secret on a terminal (COSIGN_PASSWORD fallback). */
  promptSecret?: (prompt: string) => Promise<string | undefined>;
  /** Every HTTP request made to registries, when `--verbose` (credentials redacted). */
  requestLog?: (line: string) => void;
}

/** The result of {@link egress}. */
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
  /** Signature format stored, or `null` with `--no-sign` or on a dry run. */
  signatureFormat: EgressOptions["signatureFormat"] | null;
  /** The signer identity (`keyless:<SAN>`, `key:<id>`, `kms:<uri>`), or `null`. */
  signer: string | null;
  /** Where signatures were stored. */
  signatures: Array<{ format: string; digest: string }>;
  /** The GitOps manifest path written, if any. */
  manifestPath?: string;
  /** The KarsSandbox patch document, when it goes to stdout (`--from-file`, no `--emit-manifest`). */
  document?: string;
  /** The verification condition, when `--signer-policy` was given. */
  verification?: string;
  /** `<registry>/<repository>@<digest>` as written into `allowlistRef` (after the push). */
  reference?: string;
  /** The same condition as an object (status, reason, message). */
  verificationCondition?: { status: string; reason: string; message: string };
  /** Both verdicts (ours decides; the controller's is predicted), when `--signer-policy` was given. */
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
  /** True on `--dry-run`. */
  dryRun: boolean;
}

function at(io: EgressIO, p: string): string {
  return resolve(io.cwd, p);
}

async function readAllStdin(io: EgressIO): Promise<Uint8Array> {
  if (!io.stdin) throw new KarsError("USAGE", "standard input is not available");
  return new Uint8Array(await new Response(io.stdin()).arrayBuffer());
}

/**
 * Runs `kars egress` with validated options.
 *
 * @example
 * ```ts
 * import { egress } from "./egress.ts";
 * import { parseEgressOptions } from "../cli/egress_options.ts";
 * const options = parseEgressOptions({ enforce: true, "dry-run": true, "from-file": "sandbox.yaml" }, ["my-agent"], {});
 * const result = await egress(options, { env: {}, cwd: "." });
 * console.log(result.digest);
 * ```
 */
export async function egress(o: EgressOptions, io: EgressIO): Promise<EgressResult> {
  const progress = io.progress ?? (() => {});
  const warn = io.warn ?? (() => {});
  const manifestPath = o.emitManifest !== undefined ? at(io, o.emitManifest) : undefined;

  // 1. Local checks first: the overwrite check, the sandbox file, the SignerPolicy file.
  if (manifestPath && !o.dryRun) {
    await checkWritable(manifestPath, { force: o.force });
    // Prove the directory writable (create and remove a file) before any network work.
    await proveWritable(manifestPath);
  }
  const summaryPath = o.summary !== undefined && o.summary !== "-" ? at(io, o.summary) : undefined;
  if (summaryPath && !o.dryRun) await checkWritable(summaryPath, { force: o.force });
  // With --signer-policy, the policy and the trust material are loaded now: a bad policy or
  // trust root is refused before anything is pushed or signed.
  let verification: { policy: SignerPolicy; trustedRoot: TrustedRoot } | undefined;
  if (o.signerPolicy !== undefined) {
    const policy = await loadSignerPolicyAsync({
      configMap: await readInputText(at(io, o.signerPolicy)),
      source: o.signerPolicy,
      env: io.env,
    });
    if (isPolicyError(policy)) {
      throw new KarsError("INPUT", `--signer-policy ${o.signerPolicy}: ${policy.message}`);
    }
    const trustedRoot = await resolveTrustedRoot({
      file: o.trustedRoot,
      refresh: o.refreshTrustedRoot,
      mirrorURL: o.tufMirror,
      cwd: io.cwd,
    });
    verification = { policy, trustedRoot };
    for (const w of controllerPolicyWarnings(policy, o.signerPolicy)) warn(w);
  }
  // The Sigstore services are chosen now too (a bad signing config is refused before any push).
  const services = o.sign && !o.dryRun
    ? await prepareSigningServices(o, io, verification?.trustedRoot)
    : undefined;
  if (!o.sign && !o.dryRun) {
    warn(
      "⚠ --no-sign: the resulting allowlist will be unsigned. The controller will emit " +
        "AllowlistVerified=False/Unsigned (False/SignerPolicyMissing when no SignerPolicy is " +
        "installed) and refuse the artifact in authoritative mode. Use only for local dev.",
    );
  }

  let sandbox: KarsSandbox;
  let cluster: LiveCluster | undefined;
  let live: LiveSandbox | undefined;
  if (o.fromFile !== undefined) {
    const source = o.fromFile === "-" ? "<stdin>" : o.fromFile;
    const text = o.fromFile === "-"
      ? await readInputText("-", { stdin: io.stdin?.() })
      : await readInputText(at(io, o.fromFile));
    sandbox = selectSandbox(parseYamlDocuments(text, source), {
      name: o.name,
      namespace: o.namespace,
    }, source);
  } else {
    // Reading the live sandbox is the only cluster call before push and signing.
    cluster = await connectCluster({
      kubeconfig: o.kubeconfig,
      context: o.context,
      env: io.env,
      cwd: io.cwd,
      stdinIsTTY: io.stdinIsTTY,
    });
    progress(`reading KarsSandbox ${o.name} from ${cluster.describe()}`);
    live = await cluster.find(o.name, o.namespace);
    sandbox = live;
  }
  const name = sandbox.metadata.name;
  const namespace = sandbox.metadata.namespace ?? o.namespace ?? defaultNamespace(name);
  const policy = readNetworkPolicy(sandbox, o.fromFile ?? `KarsSandbox ${namespace}/${name}`);

  // 2. The canonical allowlist.
  progress(`building allowlist for ${namespace}/${name}`);
  const current = canonicalizeEndpoints(policy.allowedEndpoints, {
    source: `${
      o.fromFile ?? `KarsSandbox ${namespace}/${name}`
    } spec.networkPolicy.allowedEndpoints`,
  });
  const { endpoints, changed, unknownDenied } = applyApproveDeny(current, o.approve, o.deny);
  for (const h of unknownDenied) warn(`--deny ${h}: not in the allowlist; nothing removed`);

  const registryOpts = await registryOptions(o, io);
  // The previous allowlist: for the generation, and for the pull-request summary.
  const prior = o.generation !== undefined && o.summary === undefined
    ? undefined
    : await readPrevious(
      o,
      io,
      policy.allowlistRef as AllowlistRef | undefined,
      manifestPath,
      registryOpts,
      warn,
    );
  const previous = prior?.allowlist;
  const diff = diffAllowlists(previous?.endpoints ?? [], endpoints);
  const generation = chooseGeneration({ endpoints, previous, override: o.generation });
  const canonicalBytes = emitCanonicalAllowlist({ generation, endpoints }, {
    allowEmpty: o.allowEmpty === true,
  });
  const artifact = buildAllowlistArtifact(canonicalBytes);
  const canonical = fromUtf8(canonicalBytes);
  progress(
    `allowlist: ${endpoints.length} endpoint(s), generation ${generation}, digest ${artifact.manifestDigest}`,
  );

  const egressMode = o.enforce && policy.egressMode !== "Strict" ? "Strict" as const : undefined;
  const allowedEndpoints: Endpoint[] | undefined = changed ? endpoints : undefined;
  const result: EgressResult = {
    sandbox: { name, namespace },
    registry: o.registry,
    repository: o.repository,
    digest: artifact.manifestDigest,
    layerDigest: artifact.layer.digest,
    generation,
    endpoints: endpoints.length,
    canonical,
    signatureFormat: null,
    signer: null,
    signatures: [],
    patched: false,
    dryRun: o.dryRun,
    diff,
    ...(prior
      ? { previous: { digest: prior.digest, generation: prior.allowlist.generation } }
      : {}),
  };
  if (o.dryRun) return result;

  // 3. Prepare the signer before anything is pushed: a missing identity token, key file or
  //    password fails here, with nothing half-done.
  const notWritten = manifestPath
    ? `${manifestPath} not written`
    : cluster
    ? "the sandbox was not patched"
    : "nothing was written";
  let signer: Signer | undefined;
  if (o.sign) {
    try {
      signer = await createSigner({
        mode: o.signMode,
        key: o.key ? (o.key.startsWith("azurekms://") ? o.key : at(io, o.key)) : undefined,
        identityTokenFile: o.identityTokenFile === undefined || o.identityTokenFile === "-"
          ? o.identityTokenFile
          : at(io, o.identityTokenFile),
        fulcioUrl: services?.fulcioUrl ?? o.fulcioUrl,
        env: { ...io.env },
        readFile: (p: string) => readFile(p).then((b) => new Uint8Array(b)),
        readStdin: () => readAllStdin(io),
        promptSecret: io.promptSecret ? promptOrFail(io.promptSecret) : undefined,
        // On a terminal with no token source: the browser sign-in (URL printed on stderr).
        interactive: io.stdinIsTTY ? { print: (line: string) => progress(line) } : undefined,
        fetch: io.fetch,
      });
    } catch (e) {
      throw new KarsError(
        isKarsError(e) && e.code !== "INTERNAL" ? e.code : "SIGN",
        `cannot sign; nothing was pushed and ${notWritten}: ${
          e instanceof Error ? e.message : String(e)
        }`,
        { cause: e },
      );
    }
  }

  if (signer && o.key !== undefined) warn(controllerSignerWarning(o.key));
  if (signer && o.signatureFormat === "bundle") warn(CONTROLLER_FORMAT_WARNING);

  // 4. Push.
  const registry = o.registry!;
  const target = openTarget(
    registry.startsWith("oci:") ? `oci:${at(io, registry.slice(4))}` : registry,
    o.repository,
    registryOpts,
  );
  progress(`pushing ${target.location}@${artifact.manifestDigest}`);
  // A digest not in the registry yet carries no signature: the Fulcio certificate (keyless)
  // is then requested while the blobs upload. A digest already there may be signed already
  // (step 5), so nothing is started for it.
  let preparing: Promise<void> | undefined;
  let pushedNew = false;
  try {
    await pushArtifact(target, {
      manifestBytes: artifact.manifestBytes,
      blobs: [
        { desc: artifact.config, data: EMPTY_CONFIG_BYTES },
        { desc: artifact.layer, data: canonicalBytes },
      ],
    }, {
      onNew: () => {
        pushedNew = true;
        if (signer?.prepare && !registry.startsWith("oci:")) preparing = signer.prepare();
      },
    }); // by digest: `latest` moves only after signing succeeded (step 5)
  } catch (e) {
    await preparing; // nothing of this run is left running (it never rejects)
    // Refused credentials: name the user and where they came from (never the secret).
    if (isKarsError(e, "AUTH") && !registry.startsWith("oci:")) {
      throw new KarsError(
        "AUTH",
        `${e.message}; ${registryOpts.credentialReport.describe(registry)}`,
        {
          cause: e,
          details: e.details,
        },
      );
    }
    throw e;
  }
  const ref: AllowlistRef = {
    registry: refRegistry(o),
    repository: o.repository,
    digest: artifact.manifestDigest,
    artifactType: ALLOWLIST_MEDIA_TYPE,
  };
  result.reference = `${ref.registry}/${ref.repository}@${ref.digest}`;

  // 5. Sign — unless the same signer already signed this digest in the requested format(s)
  //    (idempotent signing; `resign` forces a new signature).
  let toSign: SignatureLayout[] = o.signatureFormat === "both"
    ? ["legacy", "bundle"]
    : [o.signatureFormat];
  // A digest that was not in the target a moment ago carries no signature of ours: the lookup
  // would be one request answering 404 (and the store reads the `.sig` tag before writing).
  if (signer && !o.resign && !pushedNew) {
    const root = verification ??
      (services?.trustedRoot ? { trustedRoot: services.trustedRoot } : undefined);
    const own = await ownSignatures(signer, target, ref, toSign, o, io, root);
    if (own) {
      toSign = toSign.filter((f) => !own.formats.includes(f));
      result.signer = own.identity;
      result.signatureFormat = o.signatureFormat;
      if (toSign.length === 0) {
        result.alreadySigned = true;
        progress(`already signed by ${own.identity}; not signing again`);
      } else if (own.formats.length > 0) {
        progress(`already signed by ${own.identity} (${own.formats.join(", ")})`);
      }
    }
  }
  if (signer && toSign.length > 0) {
    progress(`signing ${ref.registry}/${ref.repository}@${ref.digest}`);
    try {
      const signed = await signArtifact({
        target,
        registry: ref.registry,
        repository: ref.repository,
        manifest: {
          mediaType: OCI_MANIFEST,
          digest: artifact.manifestDigest,
          size: artifact.manifestBytes.length,
          artifactType: ALLOWLIST_MEDIA_TYPE,
        },
        signer,
        tlogs: services?.tlogs,
        tsaUrls: services?.tsaUrls,
        trustedRoot: services?.trustedRoot,
        tlogUpload: o.tlogUpload,
        format: toSign.length === 2 ? "both" : toSign[0],
        fetch: io.fetch,
      });
      result.signer = signed.identity;
      result.signatureFormat = o.signatureFormat;
      result.signatures = signed.stored;
    } catch (e) {
      throw new KarsError(
        isKarsError(e) && e.code === "TRANSIENT" ? "TRANSIENT" : "SIGN",
        `signing failed; ${notWritten}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    progress(`signed by ${result.signer}`);
  }

  // 6. Verify, as the controller will, when a SignerPolicy is given.
  if (verification) {
    const both = await verifyBoth({ ref, target, ...verification });
    const verdict = both.ours;
    result.verdicts = both;
    result.verification = formatCondition(verdict.condition);
    result.verificationCondition = verdict.condition;
    if (verdict.condition.status === "True" && both.controller.condition.status !== "True") {
      warn(
        `⚠ the kars controller will refuse this artifact (predicted): ${
          formatCondition(both.controller.condition)
        }`,
      );
    }
    if (verdict.condition.status !== "True") {
      // details.condition lets a caller tell a verdict (False) from a fault (Unknown).
      throw new KarsError(
        verdict.verdict ? "VERIFY" : "TRANSIENT",
        `verification failed; ${notWritten}: ${result.verification}`,
        {
          details: {
            condition: verdict.condition,
            controllerCondition: both.controller.condition,
            reference: `${ref.registry}/${ref.repository}@${ref.digest}`,
          },
        },
      );
    }
    progress(result.verification);
  }

  // Signing (and verification, when asked) succeeded: now `latest` may name this digest.
  // A concurrent pusher of the same blobs can make docker-registry briefly report them unknown
  // (it rewrites the blob link in place): retry, bounded, with jitter, as pushArtifact does.
  for (let attempt = 1;; attempt++) {
    try {
      await target.pushManifest(artifact.manifestBytes, OCI_MANIFEST, "latest");
      break;
    } catch (e) {
      if (attempt >= 4 || !isBlobUnknown(e)) throw e;
      await new Promise((r) => setTimeout(r, 50 * attempt * (0.5 + Math.random())));
    }
  }

  // 7. Hand over: GitOps file, stdout document, or the live sandbox.
  const gitops = () =>
    emitGitopsManifest({
      name,
      namespace,
      signer: result.signer ?? "unsigned",
      unsigned: !o.sign,
      ...ref,
      egressMode,
      allowedEndpoints,
    });
  if (manifestPath) {
    progress(`writing ${manifestPath}`);
    await writeFileAtomic(manifestPath, gitops(), { force: o.force });
    result.manifestPath = manifestPath;
  } else if (!cluster) {
    result.document = fromUtf8(gitops());
  } else {
    progress(`patching KarsSandbox ${namespace}/${name}`);
    await cluster.patch(live!, {
      egressMode,
      allowedEndpoints,
      allowlistRef: ref,
    }, (fresh: LiveSandbox) => {
      // A concurrent change: only patch if the endpoints we signed are still what we derive.
      const again = applyApproveDeny(
        canonicalizeEndpoints(readNetworkPolicy(fresh).allowedEndpoints),
        o.approve,
        o.deny,
      );
      if (JSON.stringify(again.endpoints) !== JSON.stringify(endpoints)) {
        throw new KarsError(
          "KUBE",
          `KarsSandbox ${namespace}/${name} changed its endpoints while this run signed them; nothing was patched — re-run kars egress`,
        );
      }
    });
    result.patched = true;
  }
  if (o.summary !== undefined) {
    result.summary = renderSummary({
      sandbox: name,
      namespace,
      repository: `${ref.registry}/${ref.repository}`,
      next: { digest: artifact.manifestDigest, generation },
      previous: result.previous,
      signer: result.signer,
      diff,
      manifestPath: o.emitManifest,
    });
    if (summaryPath) {
      await writeFileAtomic(summaryPath, new TextEncoder().encode(result.summary), {
        force: o.force,
      });
      progress(`wrote summary ${summaryPath}`);
    }
  }
  return result;
}

function promptOrFail(
  prompt: (p: string) => Promise<string | undefined>,
): (p: string) => Promise<string> {
  return async (p) => {
    const v = await prompt(p);
    if (v === undefined) throw new KarsError("USAGE", "no password given");
    return v;
  };
}

/** Registry options: TLS (`--ca-file`), credentials (explicit, env, ACR, Docker config), request log. */
async function registryOptions(
  o: EgressOptions,
  io: EgressIO,
): Promise<OpenTargetOptions & { credentialReport: RecordingCredentials }> {
  const password = o.passwordStdin
    ? fromUtf8(await readAllStdin(io)).replace(/\r?\n$/, "")
    : undefined;
  const caPem = o.caFile ? await readInputText(at(io, o.caFile)) : undefined;
  const baseFetch = io.fetch ?? (caPem ? createFetch({ caPem }) : undefined);
  const explicit = o.username !== undefined && password !== undefined
    ? { username: o.username, password, origin: "--username/--password-stdin" }
    : undefined;
  // Explicit, environment and ACR credentials go to the --registry host alone.
  const credentialReport = recordingCredentials(
    defaultCredentials({
      env: io.env,
      registry: o.registry && !o.registry.startsWith("oci:") ? o.registry : null,
      explicit,
      fetch: baseFetch,
    }),
    { env: io.env, explicit },
  );
  return {
    plainHttp: o.plainHttp,
    fetch: baseFetch,
    ...(io.signal ? { signal: io.signal } : {}),
    credentials: credentialReport.source,
    credentialReport,
    onWithheld: (note) => io.warn?.(`credentials withheld: ${note}`),
    log: io.requestLog
      ? (e) => io.requestLog!(`${e.method} ${e.url} ${e.status} ${e.ms}ms`)
      : undefined,
  };
}

/**
 * The registry as written into `allowlistRef` and the signature's `docker-reference`: for an
 * OCI layout, the registry it will be copied to (`--ref-registry`), else `oci-layout`.
 */
function refRegistry(o: EgressOptions): string {
  const registry = o.registry!;
  return registry.startsWith("oci:") ? o.refRegistry ?? "oci-layout" : registry;
}

async function readPrevious(
  o: EgressOptions,
  io: EgressIO,
  fromSandbox: AllowlistRef | undefined,
  manifestPath: string | undefined,
  registryOpts: OpenTargetOptions,
  warn: (line: string) => void,
): Promise<{ allowlist: Allowlist; digest: Digest } | undefined> {
  let ref = fromSandbox;
  let source = "the sandbox's allowlistRef";
  if (!ref && manifestPath) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = new Uint8Array(await readFile(manifestPath));
    } catch {
      bytes = undefined;
    }
    if (bytes) {
      try {
        ref = readGitopsManifest(bytes, manifestPath).allowlistRef;
        source = manifestPath;
      } catch (e) {
        // --force replaces it anyway; its generation cannot be carried over.
        warn(
          `${e instanceof Error ? e.message : String(e)}; not using it to choose the generation`,
        );
      }
    }
  }
  if (!ref) return undefined;
  // The previous allowlist lives where the ref says; with an OCI layout, in the layout.
  const registry = o.registry?.startsWith("oci:") && ref.registry === refRegistry(o)
    ? o.registry
    : ref.registry;
  if (o.offline) {
    warn(
      `offline: the previous allowlist in ${source} was not read; the generation (and so the digest) is a guess`,
    );
    return undefined;
  }
  if (registry === "oci-layout") {
    warn(
      `the previous allowlist in ${source} is in an OCI layout that was not named (registry oci-layout); the generation (and so the digest) is a guess`,
    );
    return undefined;
  }
  let target: Target;
  try {
    target = openTarget(
      registry.startsWith("oci:") ? `oci:${at(io, registry.slice(4))}` : registry,
      ref.repository,
      registryOpts,
    );
    const m = await target.fetchManifest(ref.digest);
    const parsed = parseAllowlistManifest(m.bytes, { expectedDigest: ref.digest as Digest });
    const layer = await target.fetchBlob(parsed.layer.digest, parsed.layer.size);
    return { allowlist: parseCanonicalAllowlist(layer), digest: ref.digest as Digest };
  } catch (e) {
    throw new KarsError(
      isKarsError(e, "TRANSIENT") ? "TRANSIENT" : "REGISTRY",
      `cannot read the previous allowlist ${ref.registry}/${ref.repository}@${ref.digest} (from ${source}) to choose the generation: ${
        e instanceof Error ? e.message : String(e)
      }; fix access to it, or pass --generation N`,
      { cause: e },
    );
  }
}

/**
 * The Sigstore services of a signing run (see `sign/services.ts`), and — when a Rekor v2 log
 * is among them — the trusted root its entries are checked against.
 */
async function prepareSigningServices(
  o: EgressOptions,
  io: EgressIO,
  trustedRoot: TrustedRoot | undefined,
): Promise<SigningServices & { trustedRoot?: TrustedRoot }> {
  let signingConfig: SigningConfig | undefined;
  if (o.signingConfig !== undefined) {
    signingConfig = parseSigningConfig(
      await readInputText(at(io, o.signingConfig)),
      o.signingConfig,
    );
  } else if (o.rekorV2 && o.refreshTrustedRoot) {
    signingConfig = parseSigningConfig(
      await fetchTufTarget(
        "signing_config_rekor_v2.v0.2.json",
        o.tufMirror ? { mirrorURL: o.tufMirror } : {},
      ),
      "the TUF-refreshed signing config",
    );
  }
  const services = resolveSigningServices({
    signingConfig,
    rekorV2: o.rekorV2,
    fulcioUrl: o.fulcioUrl,
    rekorUrl: o.rekorUrl,
    tsaUrl: o.tsaUrl,
  });
  const tlogs = o.tlogUpload ? services.tlogs : [];
  const v2 = tlogs.some((t) => t.majorApiVersion === 2);
  const root = v2
    ? trustedRoot ?? await resolveTrustedRoot({
      file: o.trustedRoot,
      refresh: o.refreshTrustedRoot,
      mirrorURL: o.tufMirror,
      cwd: io.cwd,
    })
    : undefined;
  checkSigningPlan({
    tlogs,
    tsaUrls: services.tsaUrls,
    format: o.signatureFormat,
    trustedRoot: root,
  });
  return { ...services, trustedRoot: root };
}

/**
 * The layouts this signer already signed `ref` in (see `lib/workflow/already_signed.ts`), with
 * the identity to report; `undefined` when that cannot be known in advance. Checked with the
 * trust root the run signs against (`--trusted-root`, the TUF refresh, else the embedded one).
 */
async function ownSignatures(
  signer: Signer,
  target: Target,
  ref: AllowlistRef,
  formats: SignatureLayout[],
  o: EgressOptions,
  io: EgressIO,
  verification: { trustedRoot: TrustedRoot } | undefined,
): Promise<{ formats: SignatureLayout[]; identity: string } | undefined> {
  const expected = await signer.expectedSigner?.();
  if (!expected) return undefined;
  const trustedRoot = verification?.trustedRoot ?? await resolveTrustedRoot({
    file: o.trustedRoot,
    refresh: o.refreshTrustedRoot,
    mirrorURL: o.tufMirror,
    cwd: io.cwd,
  });
  const own = await findOwnSignatures({ target, ref, expected, trustedRoot, formats });
  if (own.formats.length === 0) return undefined;
  // The identity this run would write: the signer's own, or (keyless, before Fulcio) the SAN.
  const identity = expected.kind === "keyless"
    ? normalizeIdentity(`keyless:${expected.san}`)
    : signer.identity;
  return { formats: own.formats, identity };
}
