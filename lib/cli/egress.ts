/**
 * `kars egress <name>`: build, push, sign and hand over the allowlist.
 *
 * @module
 */
import { EMPTY_ALLOWLIST_REASON } from "../allowlist/canonical.ts";
import { parseEgressOptions } from "./egress_options.ts";
import { egress, type EgressResult } from "../workflow/egress.ts";
import { buildEgressPlan, type PlanContext } from "./egress_plan.ts";
import { flagFor } from "./flag_hints.ts";
import { isKarsError, KarsError } from "../errors.ts";
import type { CliContext, Command } from "./command.ts";
import { EXIT, exitCodeOfCondition, faultOfCondition } from "./exit_codes.ts";
import { okJson, printJson, verificationJson } from "./json_output.ts";
import { TIMEOUT_HELP, TIMEOUT_OPTION } from "./timeout.ts";

const HELP = `kars egress <name> (--enforce | --approve <host[:port]>...) [flags]

Builds the canonical egress allowlist of KarsSandbox <name>, pushes it to an OCI
registry as an artifact of type application/vnd.kars.egress-allowlist.v1+yaml,
signs it (by default), and either writes the KarsSandbox patch to a GitOps manifest
(--emit-manifest) or patches the live sandbox.

Source of the sandbox:
  --from-file PATH|-         read the KarsSandbox from a YAML/JSON file (or stdin);
                             no cluster is contacted
  -n, --namespace NS         namespace (default: the context's, else kars-<name>)
      --kubeconfig PATH      kubeconfig file (default: $KUBECONFIG, ~/.kube/config)
      --context NAME         kubeconfig context

What changes:
  --enforce                  set egressMode: Strict
  --approve HOST[:PORT]      add an endpoint (repeatable; port defaults to 443)
  --deny HOST                remove every endpoint of a host (repeatable)
  --allow-empty              sign an empty list as a deny-all allowlist (endpoints: []);
                             without it an empty allowlist is refused
  --generation N             force the allowlist generation (default: the previous
                             signed generation if unchanged, else previous + 1)

Where it goes:
  --registry HOST[:PORT]     registry (env KARS_REGISTRY); oci:<dir> = OCI layout on disk
  --repository PATH          repository (default policy/egress-allowlist/<name>)
  --ref-registry HOST[:PORT] with oci:<dir>: the registry the layout will be copied to,
                             written into allowlistRef and the signature (default oci-layout)
  --emit-manifest PATH       write the KarsSandbox patch to PATH for GitOps (no cluster
                             write); needs --enforce or --approve, and signing
  --force                    overwrite an existing --emit-manifest (or --summary) file
  --username USER            registry user (or KARS_REGISTRY_USERNAME, docker config)
  --password-stdin           read the registry password from stdin
  --plain-http               talk HTTP, not HTTPS (automatic for localhost/127.0.0.1)
  --ca-file PATH             extra CA certificates (PEM) for the registry
  --verbose                  log every HTTP request (credentials redacted)
${TIMEOUT_HELP}

Signing (on by default):
  --no-sign                  do not sign (local development only; not with --emit-manifest)
  --sign-mode MODE           keyless | identity-token | keyed (default: auto-detect)
  --key PATH|azurekms://VAULT.vault.azure.net/KEY[/VERSION]
                             sign with a cosign key file or an Azure Key Vault key
  --identity-token-file PATH|-
                             OIDC token file for keyless signing (else SIGSTORE_ID_TOKEN,
                             OIDC_TOKEN, GitHub Actions ambient OIDC)
  --fulcio-url URL           default https://fulcio.sigstore.dev (or the signing config's)
  --rekor-url URL            default https://rekor.sigstore.dev (or the signing config's)
  --tsa-url URL              RFC 3161 timestamp authority (default: none, or the config's)
  --signing-config FILE      Sigstore SigningConfig v0.2 choosing Fulcio, Rekor and TSA
  --rekor-v2                 sign to the Rekor v2 log of the signing config (embedded
                             public-good one by default); stores a bundle, needs a TSA
  --tlog-upload true|false   upload key/KMS signatures to Rekor (default true)
  --signature-format FORMAT  legacy (default; what the kars controller reads) | bundle | both
  --resign                   sign even when this signer already signed this digest: by
                             default a digest that already carries a valid signature by the
                             same identity (key fingerprint; keyless SAN + issuer from the
                             token; KMS key version), checked with the same trust root and in
                             the requested format(s), is not signed again ("already signed by")
  --signer-policy FILE       verify what was signed against this SignerPolicy ConfigMap
                             and refuse to write unless AllowlistVerified=True
  --trusted-root FILE        Sigstore trusted_root.json (default: embedded public-good root)
  --refresh-trusted-root     fetch the current trusted root through TUF (network)
  --tuf-mirror URL           TUF mirror for --refresh-trusted-root

Output:
  --summary FILE|-           write a Markdown pull-request summary: sandbox, old -> new digest
                             and generation, signer, endpoints added/removed/unchanged against
                             the previous allowlist (deterministic; - = stdout)
  --dry-run                  print the canonical YAML and the digests the real run will push
                             (reads the previous allowlist as the real run does); push and
                             write nothing
  --offline                  with --dry-run: do not read the previous allowlist (the
                             generation, and so the digest, is then a guess)
  --json                     machine-readable result on stdout (messages on stderr)

Exit codes: 0 ok; 1 operation failed (registry refused, signing failed, file system, our
credentials rejected); 2 usage or input error (flags, missing inputs, wrong password, an
existing --emit-manifest or --summary file without --force, both naming one file); 3
--signer-policy verdict False (nothing written); 5 transient fault (timeout, 5xx, 429,
connection refused): retry.
`;

/** The warning of an unsigned run (what the controller will say about it). */
const NO_SIGN_WARNING =
  "⚠ --no-sign: the resulting allowlist will be unsigned. The controller will emit " +
  "AllowlistVerified=False/Unsigned (False/SignerPolicyMissing when no SignerPolicy is " +
  "installed) and refuse the artifact in authoritative mode. Use only for local dev.";

/**
 * The `kars egress` command.
 *
 * @example
 * ```ts
 * import { egressCommand } from "./egress.ts";
 * egressCommand.path; // ["egress"]
 * ```
 */
export const egressCommand: Command = {
  path: ["egress"],
  summary: "build, push and sign a sandbox's egress allowlist; write the GitOps patch",
  help: HELP,
  options: {
    enforce: { type: "boolean" },
    approve: { type: "string", multiple: true },
    deny: { type: "string", multiple: true },
    "allow-empty": { type: "boolean" },
    "no-sign": { type: "boolean" },
    "emit-manifest": { type: "string" },
    force: { type: "boolean" },
    "from-file": { type: "string" },
    namespace: { type: "string", short: "n" },
    registry: { type: "string" },
    repository: { type: "string" },
    "ref-registry": { type: "string" },
    generation: { type: "string" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    "signature-format": { type: "string" },
    "sign-mode": { type: "string" },
    key: { type: "string" },
    "identity-token-file": { type: "string" },
    "fulcio-url": { type: "string" },
    "rekor-url": { type: "string" },
    "tsa-url": { type: "string" },
    "signing-config": { type: "string" },
    "rekor-v2": { type: "boolean" },
    "tlog-upload": { type: "string" },
    resign: { type: "boolean" },
    summary: { type: "string" },
    offline: { type: "boolean" },
    "signer-policy": { type: "string" },
    "trusted-root": { type: "string" },
    "refresh-trusted-root": { type: "boolean" },
    "tuf-mirror": { type: "string" },
    username: { type: "string" },
    "password-stdin": { type: "boolean" },
    "plain-http": { type: "boolean" },
    "ca-file": { type: "string" },
    kubeconfig: { type: "string" },
    context: { type: "string" },
    verbose: { type: "boolean" },
    ...TIMEOUT_OPTION,
  },
  async run(values, positionals, ctx) {
    const options = parseEgressOptions(values, positionals, ctx.env);
    const warn = (line: string) => ctx.stderr(paint(ctx, `${line}\n`));
    const planContext: PlanContext = {
      env: ctx.env,
      cwd: ctx.cwd,
      stdin: ctx.stdin,
      stdinIsTTY: ctx.isTTY.stdin,
      fetch: ctx.fetch,
      signal: ctx.signal,
      promptSecret: ctx.promptSecret,
      progress: (line) => ctx.stderr(`${line}\n`),
      warn,
      requestLog: options.verbose ? (line) => ctx.stderr(`  ${line}\n`) : undefined,
    };
    let result: EgressResult;
    try {
      const plan = await buildEgressPlan(options, planContext);
      if (!options.sign && !options.dryRun) warn(NO_SIGN_WARNING);
      result = await egress(plan, {
        fetch: ctx.fetch,
        logger: {
          progress: planContext.progress,
          // A warning about a plan input names the flag that set it.
          warn: (line, option) => {
            const flag = option === undefined ? undefined : flagFor(option, egressCommand);
            warn(flag ? `${flag} ${line}` : line);
          },
        },
      });
    } catch (e) {
      // A refusal of the manifest or summary file carries `details.option`: the dispatcher
      // names the flag (withFlagHints).
      return verdictFalse(namingAllowEmpty(e), options.json, ctx);
    }
    if (options.json) {
      ctx.stdout(printJson(jsonResult(result)));
    } else if (result.dryRun) {
      ctx.stdout(result.canonical);
      ctx.stderr(`layer digest:    ${result.layerDigest}\nmanifest digest: ${result.digest}\n`);
    } else if (result.document !== undefined) {
      ctx.stdout(result.document);
    }
    if (options.summary === "-" && result.summary !== undefined) ctx.stdout(result.summary);
    if (!options.json && result.manifestPath) {
      ctx.stderr(
        `wrote ${result.manifestPath} (digest=${result.digest} signer=${result.signer})\n`,
      );
    }
    return EXIT.OK;
  },
};

/**
 * `--signer-policy` refused what was signed: a verdict `False` is exit 3 (the `--json` object is
 * `ok: true` with the verdict inside, as `egress verify` prints it); a fault is rethrown.
 */
function verdictFalse(e: unknown, json: boolean, ctx: CliContext): number {
  const details = e instanceof KarsError ? e.details : undefined;
  const condition = details?.condition as
    | { status: string; reason: string; message: string }
    | undefined;
  if (!(e instanceof KarsError) || !condition) throw e;
  const fault = faultOfCondition(condition);
  if (fault) throw new KarsError(fault, e.message, { cause: e, details });
  ctx.stderr(`kars: error: ${e.message}\n`);
  if (json) {
    ctx.stdout(printJson(okJson({
      verification: verificationJson(
        String(details?.reference ?? ""),
        condition,
        details?.controllerCondition as typeof condition | undefined,
        "ours",
      ),
      manifestPath: null,
      patched: false,
    })));
  }
  return exitCodeOfCondition(condition);
}

/** The library refuses an empty list in its own terms; here the refusal names the flag. */
function namingAllowEmpty(e: unknown): unknown {
  if (!isKarsError(e) || e.details?.reason !== EMPTY_ALLOWLIST_REASON) return e;
  return new KarsError(
    "INPUT",
    `${e.message}: no endpoints are left; pass --allow-empty to sign a deny-all allowlist ` +
      "(endpoints: []), or add endpoints with --approve <host[:port]>",
    { cause: e, details: e.details },
  );
}

function paint(ctx: CliContext, text: string): string {
  return ctx.color ? `\x1b[33m${text.replace(/\n$/, "")}\x1b[0m\n` : text;
}

/** The `--json` result: fixed keys, no timestamps, so two runs on one input print the same. */
function jsonResult(r: EgressResult): Record<string, unknown> {
  const reference = r.reference ?? null;
  return okJson({
    sandbox: r.sandbox.name,
    namespace: r.sandbox.namespace,
    registry: r.registry ?? null,
    repository: r.repository,
    digest: r.digest,
    layerDigest: r.layerDigest,
    generation: r.generation,
    endpoints: r.endpoints,
    signatureFormat: r.signatureFormat,
    signer: r.signer,
    signatures: r.signatures,
    alreadySigned: r.alreadySigned === true,
    previous: r.previous ?? null,
    diff: r.diff ?? null,
    manifestPath: r.manifestPath ?? null,
    verification: r.verificationCondition
      ? verificationJson(
        reference,
        r.verificationCondition,
        r.verdicts?.controller.condition,
        "ours",
      )
      : null,
    patched: r.patched,
    dryRun: r.dryRun,
    ...(r.dryRun ? { canonical: r.canonical } : {}),
    ...(r.document !== undefined ? { document: r.document } : {}),
  });
}
