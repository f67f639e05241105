/**
 * `kars egress status <name>`: the controller's verdict on the live sandbox, optionally waited
 * for with list-then-watch — step (5) of the GitOps walkthrough, observed from CI or a laptop.
 *
 * @module
 */
import { isKarsError, KarsError } from "../errors.ts";
import { readGitopsManifest } from "../gitops/manifest.ts";
import { findSandbox, getSandbox, type LiveSandbox } from "../kube/sandbox.ts";
import {
  evaluateSandboxStatus,
  pendingError,
  type SandboxStatusReport,
  waitSandboxStatus,
} from "../cluster/status.ts";
import { type CliContext, type Command, EXIT, type OptionValues } from "./command.ts";
import { formatAge, kubeClientFromFlags } from "./cluster_common.ts";
import { readFlagFile } from "./flag_file.ts";
import { parseDuration } from "./timeout.ts";
import { okJson, printJson, verificationJson } from "./json_output.ts";

const HELP =
  `kars egress status <name> [-n NS] [--manifest FILE | --digest D] [--wait] [--timeout T]

Reads the live KarsSandbox and prints its allowlistRef and the kars controller's conditions
(AllowlistVerified, AllowlistAuthoritative, AllowlistDrift) with reason, message and age, and
whether the live digest is the expected one. Never writes to the cluster.

  -n, --namespace NS    namespace (default: the manifest's, else the context's, else
                        kars-<name>, else the one namespace holding <name>)
  --manifest FILE       the GitOps manifest kars egress --emit-manifest wrote: its digest
                        (and name/namespace) are expected
  --digest D            the expected digest (sha256:<hex>)
  --wait                watch (list-then-watch) until the live ref is the expected digest
                        and the controller has reported on the current generation
  --timeout T           time budget of the whole command, the wait included (default
                        2m; 0 = none); 30s, 5m, 1m30s
  --kubeconfig PATH     kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --context NAME        kubeconfig context
  --json                print the report as JSON

Exit codes: 0 AllowlistVerified=True for the expected digest and current generation;
3 AllowlistVerified=False for it (or no allowlistRef) — the fix is printed;
5 not there yet (ref not applied, controller has not reported) or --timeout;
1 API error; 2 usage.
`;

function renderReport(r: SandboxStatusReport): string {
  const lines: string[] = [];
  lines.push(`KarsSandbox ${r.namespace}/${r.name} (generation ${r.generation})`);
  if (r.allowlistRef) {
    const a = r.allowlistRef;
    lines.push(`allowlistRef: ${a.registry}/${a.repository}@${a.digest}`);
  } else {
    lines.push("allowlistRef: none (inline allowlist only)");
  }
  if (r.expectedDigest !== null) {
    lines.push(
      `expected:     ${r.expectedDigest} (${
        r.digestMatches ? "live digest matches" : "live digest differs"
      })`,
    );
  }
  if (r.conditions.length === 0) lines.push("conditions:   none reported yet");
  for (const c of r.conditions) {
    const gen = c.observedGeneration === null ? "" : ` gen ${c.observedGeneration}`;
    lines.push(
      `  ${c.type}=${c.status}/${c.reason} (${formatAge(c.ageSeconds)} ago${gen})${
        c.message ? `: ${c.message}` : ""
      }`,
    );
  }
  const state = r.state === "verified" ? "verified" : r.state === "refused" ? "REFUSED" : "pending";
  lines.push(`result: ${state}: ${r.summary}`);
  if (r.fix) lines.push(`fix: ${r.fix}`);
  return lines.join("\n") + "\n";
}

/**
 * The `kars egress status` command.
 *
 * @example
 * ```ts
 * import { egressStatusCommand } from "./egress_status.ts";
 * egressStatusCommand.path; // ["egress", "status"]
 * ```
 */
export const egressStatusCommand: Command = {
  path: ["egress", "status"],
  summary: "the controller's verdict on a live sandbox (optionally --wait for it)",
  help: HELP,
  options: {
    namespace: { type: "string", short: "n" },
    manifest: { type: "string" },
    digest: { type: "string" },
    wait: { type: "boolean" },
    timeout: { type: "string" },
    kubeconfig: { type: "string" },
    context: { type: "string" },
    json: { type: "boolean" },
  },
  async run(values: OptionValues, positionals: string[], ctx: CliContext): Promise<number> {
    const manifestFile = values.manifest as string | undefined;
    let digest = values.digest as string | undefined;
    if (manifestFile !== undefined && digest !== undefined) {
      throw new KarsError("USAGE", "give --manifest FILE or --digest D, not both");
    }
    if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new KarsError("USAGE", `--digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
    }
    if (positionals.length > 1) {
      throw new KarsError("USAGE", `expected one sandbox name, got ${positionals.length}`);
    }
    let name = positionals[0];
    let namespace = values.namespace as string | undefined;
    if (manifestFile !== undefined) {
      const m = readGitopsManifest(
        await readFlagFile(ctx, manifestFile, "--manifest"),
        manifestFile,
      );
      if (name !== undefined && name !== m.name) {
        throw new KarsError(
          "USAGE",
          `sandbox ${name} differs from ${m.name} named by --manifest ${manifestFile}`,
        );
      }
      name = m.name;
      namespace ??= m.namespace;
      digest = m.allowlistRef.digest;
    }
    if (!name) throw new KarsError("USAGE", "missing <name> (or --manifest FILE)");
    const wait = values.wait === true;
    // One time budget over the whole command: `--timeout` (default 2m, `0` = none), applied by
    // the CLI as `ctx.signal`; without it (a direct call) the same default applies here.
    const timeoutText = (values.timeout as string | undefined) ?? "2m";
    const timeoutMs = parseDuration(timeoutText, "--timeout");
    const { client, contextNamespace } = await kubeClientFromFlags(values, ctx);
    const deadline = ctx.signal ?? (timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined);
    const timedOut = () => `gave up after --timeout ${timeoutText}`;
    let report: SandboxStatusReport | null;
    if (!wait) {
      const sb: LiveSandbox = namespace
        ? await getSandbox(client, namespace, name)
        : await findSandbox(client, name, { contextNamespace });
      report = evaluateSandboxStatus(sb, { expectedDigest: digest });
    } else {
      if (!namespace) {
        // The sandbox must exist to find its namespace; with -n (or a manifest) it may appear later.
        namespace = (await findSandbox(client, name, { contextNamespace })).metadata.namespace;
      }
      let seen = "";
      try {
        report = await waitSandboxStatus(client, {
          namespace,
          name,
          expectedDigest: digest,
          signal: deadline,
          onReport: (r) => {
            if (values.json === true || r.summary === seen) return;
            seen = r.summary;
            if (r.state === "pending") ctx.stderr(`waiting: ${r.summary}\n`);
          },
        });
      } catch (e) {
        if (deadline?.aborted && isKarsError(e, "TRANSIENT")) {
          throw pendingError(namespace, name, null, timedOut());
        }
        throw e;
      }
      if (!report || report.state === "pending") {
        throw pendingError(namespace, name, report, timedOut());
      }
    }
    if (report.state === "pending") {
      throw pendingError(report.namespace, report.name, report, "not there yet (try --wait)");
    }
    if (values.json === true) {
      // C3: status does not verify; it reports the controller's AllowlistVerified as read
      // (`controller`, deciding), mirrored in `ours` (a sandbox without ref: Unsigned).
      const v = report.conditions.find((c) => c.type === "AllowlistVerified");
      const read = report.state === "refused" && report.reason === "Unsigned" || !v
        ? { status: "False", reason: report.reason ?? "Unsigned", message: report.summary }
        : { status: v.status, reason: v.reason, message: v.message };
      const a = report.allowlistRef;
      ctx.stdout(printJson(okJson({
        namespace: report.namespace,
        sandbox: report.name,
        verification: verificationJson(
          a ? `${a.registry}/${a.repository}@${a.digest}` : null,
          read,
          read,
          "controller",
        ),
        status: report,
      })));
    } else {
      ctx.stdout(renderReport(report));
    }
    return report.state === "verified" ? EXIT.OK : EXIT.VERDICT_FALSE;
  },
};
