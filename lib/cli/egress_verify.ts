/**
 * `kars egress verify`: the cluster's `AllowlistVerified` verdict, before merge.
 *
 * @module
 */
import { readFlagFile } from "./flag_file.ts";
import { isAbsolute, join } from "node:path";
import { fromUtf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import type { Target } from "../oci/types.ts";
import { type AllowlistVerifiedCondition, formatCondition } from "../verify/conditions.ts";
import { isPolicyError } from "../verify/policy.ts";
import { loadSignerPolicyAsync } from "../verify/policy_parse.ts";
import { parseRegistryHost } from "../oci/registry_host.ts";
import {
  type BothVerdicts,
  decide,
  type DecidedBy,
  verifyBoth,
  verifySandboxBoth,
} from "../verify/both.ts";
import { type ControllerFix, controllerFixes } from "../verify/controller_advice.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import type { VerifyResult } from "../verify/result.ts";
import type { CliContext, Command, OptionValues } from "./command.ts";
import { flagFor } from "./flag_hints.ts";
import { exitCodeOfCondition, faultOfCondition } from "./exit_codes.ts";
import { okJson, printJson, verificationJson } from "./json_output.ts";
import { findLayoutBeside, ociLayoutHint } from "./layout_hint.ts";
import { registryAccess, trustLoader } from "./egress_plan.ts";
import { parseRefArgument, parseRegistrySpec } from "./registry_spec.ts";
import { TIMEOUT_HELP, TIMEOUT_OPTION } from "./timeout.ts";

const HELP = `kars egress verify (--manifest FILE | <registry>/<repository>@<digest>) [flags]

Gives two verdicts (condition AllowlistVerified) for a signed egress allowlist, from one
fetch: ours (fetches the artifact by digest, re-hashes manifest and layer, checks the
canonical allowlist, finds its cosign signatures in the legacy .sig tag and Sigstore
bundle referrers, checks them against the SignerPolicy) and the kars controller's,
predicted from its own rules: keyless signatures only (key and KMS signatures are
refused there), legacy .sig only, http(s) SAN patterns as exact strings (no globs),
email patterns exact or unanchored re:, publicKeys ignored. 'kars signer-policy lint
FILE' shows how each reads a SignerPolicy.

  --manifest FILE            a GitOps manifest / KarsSandbox YAML (its allowlistRef is
                             verified; an inline-only sandbox is False/Unsigned)
  --signer-policy FILE       the kars-signer-policy ConfigMap (YAML/JSON); without it the
                             env KARS_SIGNER_FULCIO_ISSUERS / KARS_SIGNER_SAN_PATTERNS
                             (comma-separated) are used, else False/SignerPolicyMissing
  --trusted-root FILE        Sigstore trusted_root.json (default: embedded public-good root)
  --refresh-trusted-root     fetch the current trusted root through TUF (network)
  --tuf-mirror URL           TUF mirror for --refresh-trusted-root
  --registry oci:DIR         read the artifact from an OCI image layout instead of the
                             registry named by the reference (a reference to the placeholder
                             registry oci-layout needs it; with --manifest, a layout/ beside
                             the manifest's directory, as kars demo writes it, is found)
  --allowed-registry HOST    only a reference to this registry (host[:port], exact) may be
                             verified; repeatable, united with the SignerPolicy's
                             registries; any other registry is False/InvalidRef before any
                             request (link-local and metadata hosts are always refused)
  --plain-http               talk HTTP, not HTTPS (automatic for localhost/127.0.0.1)
  --ca-file PATH             extra CA certificates (PEM) for the registry
  --verdict WHICH            both (default): exit 3 when either verdict is False;
                             ours | controller: only that verdict decides (both are shown)
${TIMEOUT_HELP}
  --json                     print one JSON object (schema/kars-output.v1.json): both
                             verdicts under "verification", or {"ok": false, "error": …}

Registry credentials stay with their host: KARS_REGISTRY_USERNAME / KARS_REGISTRY_PASSWORD
only for the registry KARS_REGISTRY names; the ACR exchange (Entra ID token) only for an ACR
login server that KARS_REGISTRY, --allowed-registry or the SignerPolicy's registries name;
~/.docker/config.json ($DOCKER_CONFIG) entries only for their own host. A withheld credential
is named on stderr.

Output: the deciding condition first, then each verdict:
        AllowlistVerified=False/<Reason>: <message>
          ours:       True/Verified
          controller: False/IdentityMismatch (predicted)
        fix: <what to change so the kars controller accepts it>
An artifact with no signature at all (kars egress --no-sign) is False/Unsigned, or
False/SignerPolicyMissing when there is no SignerPolicy — what the --no-sign warning says.
Exit codes: 0 True; 3 False on the content (either deciding verdict); 1 our registry
credentials were refused (False/Unauthorized is printed, but it is not a verdict on the
content); 2 usage or input error; 5 transient fault (timeout, 5xx, connection refused: not a
verdict, retry).
`;

async function readInput(ctx: CliContext, path: string, what: string): Promise<Uint8Array> {
  return await readFlagFile(ctx, path, what);
}

/**
 * Renders a result for humans: the condition line, then (on True) the signer and endpoints.
 *
 * @example
 * ```ts
 * import { renderResult } from "./egress_verify.ts";
 * import { falseCondition } from "../verify/conditions.ts";
 * renderResult({ condition: falseCondition("Unsigned", "inline only"), verdict: true, signatures: [] });
 * // "AllowlistVerified=False/Unsigned: inline only\n"
 * ```
 */
export function renderResult(r: VerifyResult): string {
  let s = `${formatCondition(r.condition)}\n`;
  if (r.condition.status === "True") {
    if (r.signer) s += `signer: ${r.signer.id}\n`;
    for (const e of r.endpoints ?? []) s += `endpoint: ${e.host}:${e.port}\n`;
  }
  return s;
}

const FIX_TEXT: Record<ControllerFix, string> = {
  keyless: "sign keylessly (kars egress --sign-mode keyless, or the ambient OIDC token in CI): " +
    "the kars controller refuses key files, azurekms:// keys and the SignerPolicy publicKeys",
  "legacy-format": "sign with --signature-format legacy (or both): the kars controller reads " +
    "only the sha256-<hex>.sig signatures",
  rekor: "keep the Rekor upload when signing: the kars controller requires a Rekor bundle",
  "exact-san": "list the signer's exact SAN in sanPatterns: the kars controller reads http(s) " +
    "patterns as exact strings (no globs) and other patterns as emails; run " +
    "'kars signer-policy lint FILE' to see how it reads each pattern",
  issuer: "add the signer's OIDC issuer to fulcioIssuers",
};

function verdictLine(c: AllowlistVerifiedCondition, labels: string[], deciding: boolean): string {
  const label = labels.length ? ` (${labels.join(", ")})` : "";
  const msg = c.status === "True" || deciding ? "" : `: ${c.message}`;
  return `${c.status}/${c.reason}${label}${msg}`;
}

/**
 * Renders both verdicts for humans: the deciding condition line first (`AllowlistVerified=…`),
 * then one line per verdict, the fixes a controller refusal calls for, notes, and (when the
 * decision is True) the signer and endpoints.
 *
 * @example
 * ```ts
 * import { renderBoth } from "./egress_verify.ts";
 * import { falseCondition } from "../verify/conditions.ts";
 * const r = { condition: falseCondition("Unsigned", "inline only"), verdict: true, signatures: [] };
 * renderBoth({ ours: r, controller: r }, "both").split("\n")[0];
 * // "AllowlistVerified=False/Unsigned: inline only"
 * ```
 */
export function renderBoth(both: BothVerdicts, by: DecidedBy): string {
  const d = decide(both, by);
  let s = `${formatCondition(d.result.condition)}\n`;
  const labels = (k: "ours" | "controller") => [
    ...(k === "controller" ? ["predicted"] : []),
    ...(by === "both" || by === k ? [] : ["not deciding"]),
  ];
  s += `  ours:       ${verdictLine(both.ours.condition, labels("ours"), d.from === "ours")}\n`;
  s += `  controller: ${
    verdictLine(both.controller.condition, labels("controller"), d.from === "controller")
  }\n`;
  for (const f of controllerFixes(both.controller)) s += `fix: ${FIX_TEXT[f]}\n`;
  for (const n of both.controller.notes ?? []) s += `note: ${n}\n`;
  if (d.result.condition.status === "True") {
    if (d.result.signer) s += `signer: ${d.result.signer.id}\n`;
    for (const e of d.result.endpoints ?? []) s += `endpoint: ${e.host}:${e.port}\n`;
    if (d.result.endpoints?.length === 0) s += "endpoints: none (deny-all allowlist)\n";
  }
  return s;
}

/**
 * The JSON output of `kars egress verify` (contract C3): the envelope with the
 * `verification` object (`reference`, `ours`, `controller`, `decidedBy`, `verified`),
 * then the deciding result's details.
 *
 * @example
 * ```ts
 * import { bothJson } from "./egress_verify.ts";
 * import { falseCondition } from "../verify/conditions.ts";
 * const r = { condition: falseCondition("Unsigned", "x"), verdict: true, signatures: [] };
 * (bothJson({ ours: r, controller: r }, "both").verification as { verified: boolean }).verified; // false
 * ```
 */
export function bothJson(both: BothVerdicts, by: DecidedBy): Record<string, unknown> {
  const d = decide(both, by);
  const ref = both.ours.ref ?? both.controller.ref;
  const reference = ref ? `${ref.registry}/${ref.repository}@${ref.digest}` : null;
  return okJson({
    verification: verificationJson(
      reference,
      both.ours.condition,
      both.controller.condition,
      by,
    ),
    generation: d.result.generation ?? null,
    endpoints: d.result.endpoints ?? null,
    signer: d.result.signer ?? null,
    signatures: d.result.signatures,
    controllerFixes: controllerFixes(both.controller),
    notes: both.controller.notes ?? [],
    controllerSignatures: both.controller.signatures,
  });
}

/**
 * JSON form of a result (stable keys; no secrets).
 *
 * @example
 * ```ts
 * import { resultJson } from "./egress_verify.ts";
 * import { falseCondition } from "../verify/conditions.ts";
 * resultJson({ condition: falseCondition("Unsigned", "x"), verdict: true, signatures: [] }).verdict; // true
 * ```
 */
export function resultJson(r: VerifyResult): Record<string, unknown> {
  const reference = r.ref ? `${r.ref.registry}/${r.ref.repository}@${r.ref.digest}` : null;
  return okJson({
    verification: verificationJson(reference, r.condition),
    generation: r.generation ?? null,
    endpoints: r.endpoints ?? null,
    signer: r.signer ?? null,
    signatures: r.signatures,
  });
}

/**
 * Exit code of a result (the table in `exit_codes.ts`): 0 when True, 3 when False, 5 when it is
 * not a verdict.
 *
 * @example
 * ```ts
 * import { exitCodeOfResult } from "./egress_verify.ts";
 * import { falseCondition } from "../verify/conditions.ts";
 * exitCodeOfResult({ condition: falseCondition("NotFound", "x"), verdict: true, signatures: [] }); // 3
 * ```
 */
export function exitCodeOfResult(r: VerifyResult): number {
  return exitCodeOfCondition(r.condition);
}

/**
 * The `kars egress verify` command.
 *
 * @example
 * ```ts
 * import { egressVerifyCommand } from "./egress_verify.ts";
 * egressVerifyCommand.path; // ["egress", "verify"]
 * ```
 */
export const egressVerifyCommand: Command = {
  path: ["egress", "verify"],
  summary: "verify a signed allowlist: our verdict and the kars controller's (AllowlistVerified)",
  help: HELP,
  options: {
    manifest: { type: "string" },
    "signer-policy": { type: "string" },
    "trusted-root": { type: "string" },
    "refresh-trusted-root": { type: "boolean" },
    "tuf-mirror": { type: "string" },
    registry: { type: "string" },
    "allowed-registry": { type: "string", multiple: true },
    "plain-http": { type: "boolean" },
    "ca-file": { type: "string" },
    verdict: { type: "string" },
    json: { type: "boolean" },
    ...TIMEOUT_OPTION,
  },
  async run(values: OptionValues, positionals: string[], ctx: CliContext): Promise<number> {
    const manifest = values.manifest as string | undefined;
    if (manifest !== undefined && positionals.length > 0) {
      throw new KarsError("USAGE", "give either --manifest FILE or a reference, not both");
    }
    if (manifest === undefined && positionals.length !== 1) {
      throw new KarsError(
        "USAGE",
        positionals.length === 0
          ? "missing --manifest FILE or <registry>/<repository>@<digest>"
          : `expected one reference, got ${positionals.length}`,
      );
    }
    const by = (values.verdict ?? "both") as string;
    if (by !== "both" && by !== "ours" && by !== "controller") {
      throw new KarsError(
        "USAGE",
        `--verdict ${JSON.stringify(by)}: expected ours, controller or both`,
      );
    }
    const registry = values.registry as string | undefined;
    const layout = registry === undefined ? undefined : parseRegistrySpec(registry, {
      what: "--registry",
      layoutOnly: "--registry takes only oci:DIR here (the reference names the registry)",
    });
    const allowedRegistries = ((values["allowed-registry"] as string[] | undefined) ?? []).map(
      (h) => {
        try {
          return parseRegistryHost(h, "--allowed-registry");
        } catch (e) {
          throw new KarsError("USAGE", (e as Error).message);
        }
      },
    );
    const policyFile = values["signer-policy"] as string | undefined;
    const policy = await loadSignerPolicyAsync({
      configMap: policyFile ? await readInput(ctx, policyFile, "--signer-policy") : null,
      source: policyFile,
      env: ctx.env,
    });
    const trustedRoot = await trustLoader(ctx, {
      trustedRoot: values["trusted-root"] as string | undefined,
      refreshTrustedRoot: values["refresh-trusted-root"] === true,
      tufMirror: values["tuf-mirror"] as string | undefined,
    })();
    const caFile = values["ca-file"] as string | undefined;
    const caPem = caFile ? fromUtf8(await readInput(ctx, caFile, "--ca-file")) : undefined;
    // The manifest (and so the registry) may come from a pull request: environment
    // credentials go only to the KARS_REGISTRY host, the ACR exchange only to it or an
    // allowed registry, docker config entries only to their own host.
    const access = registryAccess({
      env: ctx.env,
      cwd: ctx.cwd,
      fetch: ctx.fetch,
      signal: ctx.signal,
      warn: (line) => ctx.stderr(`warning: ${line}\n`),
    }, {
      caPem,
      plainHttp: values["plain-http"] === true,
      acrRegistries: [
        ...allowedRegistries,
        ...(isPolicyError(policy) ? [] : policy.registries ?? []),
      ],
    });
    const besideManifest = manifest === undefined
      ? undefined
      : await findLayoutBeside(isAbsolute(manifest) ? manifest : join(ctx.cwd, manifest));
    const openTarget = (ref: AllowlistRefInput): Target => {
      if (layout) return access.open(layout, ref.repository);
      if (ref.registry === "oci-layout") {
        if (besideManifest) {
          ctx.stderr(`reading oci-layout from ${besideManifest} (beside the manifest)\n`);
          return access.open({ kind: "layout", path: besideManifest }, ref.repository);
        }
        throw new KarsError(
          "USAGE",
          ociLayoutHint(`${ref.registry}/${ref.repository}@${ref.digest}`),
        );
      }
      return access.open({ kind: "registry", host: ref.registry }, ref.repository);
    };
    const opts = { policy, trustedRoot, target: openTarget, allowedRegistries };
    let both: BothVerdicts;
    if (manifest !== undefined) {
      const bytes = await readInput(ctx, manifest, "--manifest");
      both = await verifySandboxBoth(bytes, { ...opts, source: manifest });
    } else {
      both = await verifyBoth({ ...opts, ref: parseRefArgument(positionals[0]) });
    }
    const result = decide(both, by).result;
    // Not a verdict on the content: our credentials refused (exit 1, reason still printed), or
    // verification could not be carried out (a fault: its own exit code, 5 when transient).
    if (result.condition.status === "Unknown" && result.error?.code !== "TRANSIENT") {
      if (values.json !== true) ctx.stdout(renderBoth(both, by));
      throw result.error ?? new KarsError("VERIFY", result.condition.message);
    }
    const fault = faultOfCondition(result.condition);
    if (fault) {
      if (values.json !== true) ctx.stdout(renderBoth(both, by));
      throw new KarsError(
        fault,
        `${formatCondition(result.condition)} (not a verdict on the content${
          fault === "TRANSIENT"
            ? "; retry"
            : `: check the registry credentials; ${access.describe(result.ref?.registry ?? "")}`
        })`,
        { cause: result.error },
      );
    }
    if (values.json === true) ctx.stdout(printJson(bothJson(both, by)));
    else ctx.stdout(renderBoth(both, by));
    // No usable policy is a verdict (False), not an error: name the flag that supplies one.
    if (isPolicyError(policy) && policy.fixOptions && values.json !== true) {
      const flags = policy.fixOptions.map((o) => flagFor(o, egressVerifyCommand))
        .filter((f): f is string => f !== undefined);
      if (flags.length > 0) ctx.stderr(`hint: ${policy.reason}: see ${flags.join(", ")}\n`);
    }
    return exitCodeOfResult(result);
  },
};
