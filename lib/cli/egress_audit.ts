/**
 * `kars egress audit`: our verdict on every KarsSandbox beside the cluster's condition.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { unionRegistries } from "../oci/registry_host.ts";
import { VerdictCache } from "../verify/cache.ts";
import { loadSignerPolicyAsync } from "../verify/policy_parse.ts";
import type { PolicyError, SignerPolicy } from "../verify/policy.ts";
import { resolveTrustedRoot } from "../verify/trust_source.ts";
import type { VerifyResult } from "../verify/result.ts";
import { type AuditFinding, auditFleet, auditOutcome, type AuditRow } from "../cluster/audit.ts";
import { DEFAULT_POLICY_NAMESPACE, readClusterSignerPolicy } from "../cluster/policy_source.ts";
import { type CliContext, type Command, EXIT, type OptionValues } from "./command.ts";
import { kubeClientFromFlags } from "./cluster_common.ts";
import { allowlistTargets } from "./allowlist_targets.ts";
import { readFlagFile } from "./flag_file.ts";
import { TIMEOUT_HELP, TIMEOUT_OPTION } from "./timeout.ts";
import { okJson, printJson, verificationJson } from "./json_output.ts";

const HELP =
  `kars egress audit [-A | -n NS ...] [--signer-policy FILE] [--allowed-registry HOST ...]

Lists every KarsSandbox and verifies each allowlistRef with our verifier (re-hash, canonical
form, signatures against the SignerPolicy), beside the cluster's AllowlistVerified condition
and the kars controller's predicted verdict. Sandboxes that share an allowlist cost one
verification. Read-only: it never writes to the cluster.

  -A, --all-namespaces        every namespace
  -n, --namespace NS          a namespace (repeatable; default: the context's, else default)
  --signer-policy FILE        the SignerPolicy ConfigMap (else the cluster's kars-signer-policy
                              in --policy-namespace, else the env fallback)
  --policy-namespace NS       namespace of kars-signer-policy (default kars-system)
  --allowed-registry HOST     a registry allowlistRefs may name (repeatable; united with the
                              SignerPolicy's registries); others are False/InvalidRef with no
                              request. In-cluster the list must not be empty.
  --strict                    also fail on inline-only sandboxes, controller limitations and
                              unexplained disagreements
  --concurrency N             verifications in flight (default 8)
  --trusted-root FILE         Sigstore trusted_root.json (default: embedded public-good root)
  --plain-http                talk HTTP to registries (automatic for localhost/127.0.0.1)
  --ca-file PATH              extra CA certificates (PEM) for registries
  --kubeconfig PATH, --context NAME
${TIMEOUT_HELP}
  --json                      {"sandboxes": [...], "summary": {...}}

Findings: security-finding (the cluster says True, we say False), refused (we say False),
controller-limitation (we say True; the controller cannot check this signer: keys, globs,
bundles), disagreement (we say True, the cluster False, unexplained), inline-only (no
allowlistRef), transient (could not verify).
Exit codes: 0 no finding; 3 a refused sandbox or a security finding (with --strict also
inline-only, controller-limitation, disagreement); 5 transient faults; 1 API error; 2 usage.
`;

function short(d: string | null): string {
  return d ? d.replace(/^sha256:([0-9a-f]{12})[0-9a-f]*$/, "sha256:$1") : "-";
}

function renderTable(rows: AuditRow[]): string {
  const head = ["NAMESPACE", "NAME", "DIGEST", "OURS", "CLUSTER", "CONTROLLER*", "FINDING"];
  const cells = rows.map((r) => [
    r.namespace,
    r.name,
    short(r.digest),
    `${r.ours.status}/${r.ours.reason}`,
    r.cluster
      ? `${r.cluster.status}/${r.cluster.reason}${r.cluster.current ? "" : " (stale)"}`
      : "-",
    r.controller ? `${r.controller.status}/${r.controller.reason}` : "?",
    r.finding,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join("  ").trimEnd();
  return [line(head), ...cells.map(line)].join("\n") + "\n";
}

/** A row for `--json`: a fault is never a verdict (C3), so a transient row has `ours: null` and an `error`. */
function rowJson(r: AuditRow): Record<string, unknown> {
  if (r.ours.status !== "Unknown") return { ...r };
  return {
    ...r,
    ours: null,
    controller: null,
    error: { code: "TRANSIENT", message: r.ours.message },
  };
}

function explain(rows: AuditRow[]): string {
  const out: string[] = [];
  for (const r of rows) {
    if (r.finding === "ok") continue;
    const why = r.finding === "controller-limitation" && r.controller
      ? r.controller.message
      : r.ours.message;
    out.push(`${r.namespace}/${r.name}: ${r.finding}: ${why}`);
  }
  return out.length ? out.join("\n") + "\n" : "";
}

/**
 * The `kars egress audit` command.
 *
 * @example
 * ```ts
 * import { egressAuditCommand } from "./egress_audit.ts";
 * egressAuditCommand.path; // ["egress", "audit"]
 * ```
 */
export const egressAuditCommand: Command = {
  path: ["egress", "audit"],
  summary: "our verdict on every sandbox beside the cluster's (read-only fleet audit)",
  help: HELP,
  options: {
    "all-namespaces": { type: "boolean", short: "A" },
    namespace: { type: "string", short: "n", multiple: true },
    "signer-policy": { type: "string" },
    "policy-namespace": { type: "string" },
    "allowed-registry": { type: "string", multiple: true },
    strict: { type: "boolean" },
    concurrency: { type: "string" },
    "trusted-root": { type: "string" },
    "plain-http": { type: "boolean" },
    "ca-file": { type: "string" },
    kubeconfig: { type: "string" },
    context: { type: "string" },
    json: { type: "boolean" },
    ...TIMEOUT_OPTION,
  },
  async run(values: OptionValues, positionals: string[], ctx: CliContext): Promise<number> {
    if (positionals.length > 0) {
      throw new KarsError("USAGE", `unexpected argument ${JSON.stringify(positionals[0])}`);
    }
    const all = values["all-namespaces"] === true;
    const nsList = (values.namespace as string[] | undefined) ?? [];
    if (all && nsList.length > 0) {
      throw new KarsError("USAGE", "give -A/--all-namespaces or -n/--namespace, not both");
    }
    const concurrency = values.concurrency === undefined ? 8 : Number(values.concurrency as string);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw new KarsError("USAGE", "--concurrency must be an integer from 1 to 64");
    }
    const allowedFlag = unionRegistries(
      [(values["allowed-registry"] as string[] | undefined) ?? []],
      "--allowed-registry",
    );
    const { client, contextNamespace } = await kubeClientFromFlags(values, ctx);
    const policyFile = values["signer-policy"] as string | undefined;
    let policy: SignerPolicy | PolicyError;
    if (policyFile !== undefined) {
      policy = await loadSignerPolicyAsync({
        configMap: await readFlagFile(ctx, policyFile, "--signer-policy"),
        source: policyFile,
        env: ctx.env,
      });
    } else {
      policy = (await readClusterSignerPolicy(
        client,
        (values["policy-namespace"] as string | undefined) ?? DEFAULT_POLICY_NAMESPACE,
        ctx.env,
      )).policy;
    }
    const allowed = unionRegistries(
      [allowedFlag, "registries" in policy ? policy.registries : undefined],
      "allowed registry",
    );
    if (allowed.length === 0 && ctx.env.KUBERNETES_SERVICE_HOST) {
      throw new KarsError(
        "USAGE",
        "running in a cluster with no allowed registries: pass --allowed-registry HOST (or set registries in the SignerPolicy); an empty list is not 'allow all' here",
      );
    }
    const trustedRoot = await resolveTrustedRoot({
      file: values["trusted-root"] as string | undefined,
      cwd: ctx.cwd,
    });
    // Host-bound credentials: the ACR token exchange only for the allowed registries.
    const withheld = new Set<string>();
    const openTarget = await allowlistTargets(ctx, {
      caFile: values["ca-file"] as string | undefined,
      plainHttp: values["plain-http"] === true,
      acrRegistries: allowed,
      // Said once per note (thousands of sandboxes may share a registry).
      onWithheld: (note) => {
        if (withheld.size < 100 && !withheld.has(note)) {
          withheld.add(note);
          ctx.stderr(`warning: credentials withheld: ${note}\n`);
        }
      },
    });
    const { rows, summary } = await auditFleet({
      client,
      namespaces: all ? "all" : nsList.length ? nsList : [contextNamespace || "default"],
      policy,
      trustedRoot,
      allowedRegistries: allowed,
      openTarget,
      concurrency,
      cache: new VerdictCache<VerifyResult>(),
    });
    const outcome = auditOutcome(summary.findings, values.strict === true);
    const transient = rows.filter((r) => r.finding === "transient");
    // --json: one object — the report for exit 0/3, the error envelope for exit 5 (printed by
    // the CLI from the thrown error).
    if (values.json === true && outcome !== "transient") {
      // C3 at the top: the fleet's verdict (False when there is a finding, naming the first).
      const first = rows.find((r) =>
        r.finding === "security-finding" || r.finding === "refused" ||
        (values.strict === true && r.finding !== "ok" && r.finding !== "transient")
      );
      ctx.stdout(printJson(okJson({
        verification: verificationJson(
          null,
          first
            ? {
              status: "False",
              reason: first.ours.status === "False"
                ? first.ours.reason
                : first.controller?.status === "False"
                ? first.controller.reason
                : first.cluster?.reason ?? first.ours.reason,
              message: `${first.namespace}/${first.name}: ${first.finding}: ${first.ours.message}`,
            }
            : { status: "True", reason: "Verified", message: "no finding" },
        ),
        sandboxes: rows.map(rowJson),
        summary: { ...summary, outcome },
      })));
    }
    if (values.json !== true) {
      ctx.stdout(renderTable(rows));
      ctx.stdout(explain(rows));
      const f = summary.findings;
      const counts = (Object.keys(f) as AuditFinding[]).filter((k) => f[k] > 0)
        .map((k) => `${f[k]} ${k}`).join(", ");
      ctx.stdout(
        `${summary.sandboxes} sandboxes (${
          counts || "none"
        }); ${summary.distinctReferences} distinct allowlists, ${summary.verifications} verifications\n` +
          "* CONTROLLER: the kars controller's verdict as predicted from what it checks\n",
      );
    }
    if (outcome === "finding") return EXIT.VERDICT_FALSE;
    if (outcome === "transient") {
      const list = transient.slice(0, 5).map((r) => `${r.namespace}/${r.name}: ${r.ours.message}`);
      throw new KarsError(
        "TRANSIENT",
        `${transient.length} of ${rows.length} sandboxes could not be verified (transient faults, not verdicts); retry: ${
          list.join("; ")
        }${transient.length > 5 ? "; …" : ""}`,
      );
    }
    return EXIT.OK;
  },
};
