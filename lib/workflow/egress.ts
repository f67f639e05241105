/**
 * The egress flow: read the sandbox → canonical allowlist → push → sign → (verify) → write
 * the GitOps manifest, return the patch document, or patch the live sandbox.
 *
 * Ordering is the safety property: every local check (the overwrite check, the sandbox file)
 * happens before any network work, and nothing is written or patched unless push and signing
 * (and verification, when the plan verifies) succeeded.
 *
 * @module
 */
import {
  canonicalizeEndpoints,
  emitCanonicalAllowlist,
  type Endpoint,
} from "../allowlist/canonical.ts";
import { applyApproveDeny, chooseGeneration } from "../allowlist/edit.ts";
import { fromUtf8 } from "../encoding/bytes.ts";
import { isKarsError, KarsError } from "../errors.ts";
import { checkWritable, proveWritable } from "../io/fs_atomic.ts";
import { type AllowlistRef, defaultNamespace } from "../gitops/manifest.ts";
import {
  ALLOWLIST_MEDIA_TYPE,
  buildAllowlistArtifact,
  EMPTY_CONFIG_BYTES,
} from "../oci/artifact.ts";
import { pushArtifact, tagManifest } from "../oci/copy.ts";
import { cachingTarget } from "../oci/read_cache.ts";
import { OCI_MANIFEST } from "../oci/types.ts";
import { type KarsSandbox, readNetworkPolicy, selectSandbox } from "../model/sandbox_read.ts";
import type { Signer } from "../sign/signer.ts";
import { type StagedLegacySignature, stageLegacySignature } from "../sign/store.ts";
import { diffAllowlists } from "../allowlist/diff.ts";
import type { SignatureLayout } from "./already_signed.ts";
import { parseYamlDocuments } from "../encoding/yaml_read.ts";
import type { LiveCluster } from "../kube/live_cluster.ts";
import type { LiveSandbox } from "../kube/sandbox.ts";
import type { SignerPolicy } from "../verify/policy.ts";
import type { TrustedRoot } from "../verify/sigstore/mod.ts";
import type { EgressDeps, EgressPlan, Lazy } from "./plan.ts";
import type { EgressResult } from "./result.ts";
import { readPrevious } from "./previous.ts";
import {
  ownSignatures,
  type PreparedServices,
  prepareSigningServices,
  signStep,
} from "./signing.ts";
import { handOver } from "./handover.ts";

export type { EgressResult } from "./result.ts";

function once<T>(f: Lazy<T>): Lazy<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}

/**
 * Runs the egress flow of `plan`.
 *
 * @example
 * ```ts
 * import { egress } from "./egress.ts";
 * import { DEMO_SANDBOX } from "./demo.ts";
 * const result = await egress({
 *   sandbox: { name: "demo-agent" },
 *   repository: "policy/egress-allowlist/demo-agent",
 *   source: { kind: "text", read: () => Promise.resolve(DEMO_SANDBOX), label: "demo" },
 *   change: { enforce: true, approve: [], deny: [] },
 *   trustedRoot: () => Promise.reject(new Error("not needed on a dry run")),
 *   sink: { kind: "stdout" },
 *   dryRun: true,
 * }, {});
 * console.log(result.digest);
 * ```
 */
export async function egress(plan: EgressPlan, deps: EgressDeps): Promise<EgressResult> {
  const progress = deps.logger?.progress ?? (() => {});
  const warn = deps.logger?.warn ?? (() => {});
  const dryRun = plan.dryRun === true;
  const sink = plan.sink;
  // One read cache for the run: what it read by digest (the previous allowlist, the pushed
  // artifact, signatures) is not fetched again by the push, the own-signature lookup or the
  // verification. Tags always reach the target.
  const target = plan.target && { ...plan.target, target: cachingTarget(plan.target.target) };
  const manifestPath = sink.kind === "file" ? sink.path : undefined;
  const force = sink.kind === "file" && sink.force;
  const trustedRoot = once(plan.trustedRoot);

  // 1. Local checks first: what the plan alone rules out, the overwrite check, the sandbox
  //    file, the SignerPolicy file.
  if (sink.kind === "cluster" && plan.source.kind === "text") {
    throw new KarsError("INPUT", "a sandbox read from a document cannot be patched live", {
      details: { option: "sink" },
    });
  }
  if (!dryRun && !target) {
    throw new KarsError("INPUT", "no target to push to", { details: { option: "registry" } });
  }
  // A refusal carries `details.option` (the plan input at fault: "emitManifest" or "summary").
  if (manifestPath && !dryRun) {
    await forOption("emitManifest", async () => {
      await checkWritable(manifestPath, { force });
      // Prove the directory writable (create and remove a file) before any network work.
      await proveWritable(manifestPath);
    });
  }
  const summaryPath = plan.summary?.path;
  if (summaryPath && !dryRun) {
    await forOption("summary", async () => {
      await checkWritable(summaryPath, { force: plan.summary?.force === true });
      // Like the manifest: a summary that cannot be written must fail before anything is
      // pushed, not after the manifest was written or the sandbox patched.
      await proveWritable(summaryPath);
    });
  }
  // The policy and the trust material are loaded now: a bad policy or trust root is refused
  // before anything is pushed or signed.
  let verification: { policy: SignerPolicy; trustedRoot: TrustedRoot } | undefined;
  if (plan.verification) {
    const policy = await plan.verification.policy();
    verification = { policy, trustedRoot: await trustedRoot() };
    const { controllerPolicyWarnings } = await import("../verify/policy_lint.ts");
    for (const w of controllerPolicyWarnings(policy, plan.verification.label)) warn(w);
  }
  // The Sigstore services are chosen now too (a bad signing config is refused before any push).
  const services: PreparedServices | undefined = plan.signing && !dryRun
    ? await prepareSigningServices(plan.signing, trustedRoot, deps.clock?.())
    : undefined;

  let sandbox: KarsSandbox;
  let cluster: LiveCluster | undefined;
  let live: LiveSandbox | undefined;
  const source = plan.source;
  if (source.kind === "text") {
    const text = await source.read();
    sandbox = selectSandbox(parseYamlDocuments(text, source.label), plan.sandbox, source.label);
  } else {
    // Reading the live sandbox is the only cluster call before push and signing.
    cluster = await source.connect();
    progress(`reading KarsSandbox ${plan.sandbox.name} from ${cluster.describe()}`);
    live = await cluster.find(plan.sandbox.name, plan.sandbox.namespace);
    sandbox = live;
  }
  const name = sandbox.metadata.name;
  const namespace = sandbox.metadata.namespace ?? plan.sandbox.namespace ??
    defaultNamespace(name);
  const label = source.kind === "text" ? source.label : `KarsSandbox ${namespace}/${name}`;
  const policy = readNetworkPolicy(sandbox, label);

  // 2. The canonical allowlist.
  progress(`building allowlist for ${namespace}/${name}`);
  const current = canonicalizeEndpoints(policy.allowedEndpoints, {
    source: `${label} spec.networkPolicy.allowedEndpoints`,
  });
  const { approve, deny } = plan.change;
  const { endpoints, changed, unknownDenied } = applyApproveDeny(current, approve, deny);
  for (const h of unknownDenied) warn(`${h}: not in the allowlist; nothing removed`, "deny");

  // The previous allowlist: for the generation, and for the pull-request summary.
  const prior = plan.change.generation !== undefined && plan.summary === undefined
    ? undefined
    : await readPrevious({
      fromSandbox: policy.allowlistRef as AllowlistRef | undefined,
      manifestPath,
      target,
      repository: plan.repository,
      open: plan.openPrevious,
      warn,
      // A previous allowlist in this very repository: the run may well be a repeat, whose
      // own-signature lookup needs the verifier's code — loaded while the previous allowlist
      // is read (a lookup that does not happen just leaves it unused). The trust root is not
      // loaded ahead: its loader may reach the network (TUF), which only a lookup may cause.
      onRead: (_ref, inRun) => {
        if (!inRun || dryRun || !plan.signing || plan.signing.resign) return;
        import("./already_signed.ts").catch(() => {});
      },
    });
  const previous = prior?.allowlist;
  const diff = diffAllowlists(previous?.endpoints ?? [], endpoints);
  const generation = chooseGeneration({
    endpoints,
    previous,
    override: plan.change.generation,
  });
  const canonicalBytes = emitCanonicalAllowlist({ generation, endpoints }, {
    allowEmpty: plan.change.allowEmpty === true,
  });
  const artifact = buildAllowlistArtifact(canonicalBytes);
  progress(
    `allowlist: ${endpoints.length} endpoint(s), generation ${generation}, digest ${artifact.manifestDigest}`,
  );

  const egressMode = plan.change.enforce && policy.egressMode !== "Strict"
    ? "Strict" as const
    : undefined;
  const allowedEndpoints: Endpoint[] | undefined = changed ? endpoints : undefined;
  const result: EgressResult = {
    sandbox: { name, namespace },
    registry: target?.name,
    repository: plan.repository,
    digest: artifact.manifestDigest,
    layerDigest: artifact.layer.digest,
    generation,
    endpoints: endpoints.length,
    canonical: fromUtf8(canonicalBytes),
    signatureFormat: null,
    signer: null,
    signatures: [],
    patched: false,
    dryRun,
    diff,
    ...(prior
      ? { previous: { digest: prior.digest, generation: prior.allowlist.generation } }
      : {}),
  };
  if (dryRun) return result;
  const t = target!; // checked first thing (not a dry run)

  // 3. Prepare the signer before anything is pushed: a missing identity token, key file or
  //    password fails here, with nothing half-done.
  const notWritten = manifestPath
    ? `${manifestPath} not written`
    : cluster
    ? "the sandbox was not patched"
    : "nothing was written";
  const signing = plan.signing;
  let signer: Signer | undefined;
  if (signing) {
    try {
      signer = await signing.signer({
        fulcioUrl: services?.fulcioUrl ?? signing.services.fulcioUrl,
      });
    } catch (e) {
      throw new KarsError(
        isKarsError(e) && e.code !== "INTERNAL" ? e.code : "SIGN",
        `cannot sign; nothing was pushed and ${notWritten}: ${
          e instanceof Error ? e.message : String(e)
        }`,
        { cause: e, ...(isKarsError(e) && e.details ? { details: e.details } : {}) },
      );
    }
    if (signing.keyRef !== undefined || signing.format === "bundle") {
      const advice = await import("../verify/controller_advice.ts");
      if (signing.keyRef !== undefined) warn(advice.controllerSignerWarning(signing.keyRef));
      if (signing.format === "bundle") warn(advice.CONTROLLER_FORMAT_WARNING);
    }
  }

  // 4. Push.
  progress(`pushing ${t.target.location}@${artifact.manifestDigest}`);
  // A digest not in the registry yet carries no signature: the Fulcio certificate (keyless)
  // is then requested while the blobs upload. A digest already there may be signed already
  // (step 5), so nothing is started for it.
  let preparing: Promise<void> | undefined;
  let pushedNew = false;
  let pushFailed = false;
  // …and the blobs of its legacy signature (payload, `.sig` config) upload beside them.
  let staged: StagedLegacySignature | undefined;
  const legacy = signing !== undefined && signing.format !== "bundle";
  try {
    await pushArtifact(t.target, {
      manifestBytes: artifact.manifestBytes,
      blobs: [
        { desc: artifact.config, data: EMPTY_CONFIG_BYTES },
        { desc: artifact.layer, data: canonicalBytes },
      ],
    }, {
      onNew: () => {
        pushedNew = true;
        if (signer?.prepare && !t.layout) {
          // After a macrotask: the blob uploads below are on their way first, and the key
          // generation (CPU) overlaps them instead of delaying them.
          const prepare = signer.prepare.bind(signer);
          preparing = new Promise<void>((r) => setTimeout(r, 0)).then(() =>
            pushFailed ? undefined : prepare()
          );
        }
        if (signer && legacy) {
          staged = stageLegacySignature(
            t.target,
            `${t.refRegistry}/${plan.repository}`,
            artifact.manifestDigest,
          );
        }
      },
    }); // by digest: `latest` moves only after signing succeeded (step 5)
  } catch (e) {
    pushFailed = true; // a certificate not yet asked for is not asked for any more
    await preparing; // nothing of this run is left running (it never rejects)
    await staged?.settled;
    // Refused credentials: name the user and where they came from (never the secret).
    if (isKarsError(e, "AUTH") && !t.layout && t.describeCredentials) {
      throw new KarsError("AUTH", `${e.message}; ${t.describeCredentials(t.name)}`, {
        cause: e,
        details: e.details,
      });
    }
    throw e;
  }
  const ref: AllowlistRef = {
    registry: t.refRegistry,
    repository: plan.repository,
    digest: artifact.manifestDigest,
    artifactType: ALLOWLIST_MEDIA_TYPE,
  };
  result.reference = `${ref.registry}/${ref.repository}@${ref.digest}`;

  // 5. Sign — unless the same signer already signed this digest in the requested format(s)
  //    (idempotent signing; `resign` forces a new signature).
  if (signing && signer) {
    let toSign: SignatureLayout[] = signing.format === "both"
      ? ["legacy", "bundle"]
      : [signing.format];
    // A digest that was not in the target a moment ago carries no signature of ours: the lookup
    // would be one request answering 404 (and the store reads the `.sig` tag before writing).
    if (!signing.resign && !pushedNew) {
      const own = await ownSignatures(signer, t.target, ref, toSign, trustedRoot);
      if (own) {
        toSign = toSign.filter((f) => !own.formats.includes(f));
        result.signer = own.identity;
        result.signatureFormat = signing.format;
        if (toSign.length === 0) {
          result.alreadySigned = true;
          progress(`already signed by ${own.identity}; not signing again`);
        } else if (own.formats.length > 0) {
          progress(`already signed by ${own.identity} (${own.formats.join(", ")})`);
        }
      }
    }
    if (toSign.length > 0) {
      progress(`signing ${ref.registry}/${ref.repository}@${ref.digest}`);
      const signed = await signStep({
        target: t.target,
        ref,
        size: artifact.manifestBytes.length,
        signer,
        formats: toSign,
        signing,
        services,
        notWritten,
        fetch: deps.fetch,
        store: { subjectNew: pushedNew, ...(staged ? { staged } : {}) },
      }).finally(() => staged?.settled);
      result.signer = signed.identity;
      result.signatureFormat = signing.format;
      result.signatures = signed.stored;
      progress(`signed by ${result.signer}`);
    }
  }

  // 6. Verify, as the controller will, when the plan verifies.
  if (verification) {
    const { verifyStep } = await import("./verify_step.ts");
    await verifyStep({ ref, target: t.target, ...verification }, result, notWritten, warn);
    progress(result.verification!);
  }

  // Signing (and verification, when asked) succeeded: now `latest` may name this digest.
  await tagManifest(t.target, artifact.manifestBytes, OCI_MANIFEST, "latest");

  // 7. Hand over: GitOps file, returned document, or the live sandbox.
  await handOver({
    plan,
    result,
    ref,
    endpoints,
    egressMode,
    allowedEndpoints,
    cluster: cluster && live ? { cluster, live } : undefined,
    progress,
  });
  return result;
}

/** Runs `fn`; a `KarsError` it throws is rethrown with `details.option` set to `option`. */
async function forOption(option: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof KarsError) || e.details?.option !== undefined) throw e;
    throw new KarsError(e.code, e.message, { cause: e.cause, details: { ...e.details, option } });
  }
}
