/**
 * `kars egress status <name>`: the controller's verdict on the live sandbox, optionally waited
 * for with list-then-watch — step (5) of the GitOps walkthrough, observed from CI or a laptop.
 *
 * @module
 */
import { isKarsError, KarsError } from "../errors.ts";
import { readGitopsManifest } from "../gitops.ts";
import { findSandbox, getSandbox, type LiveSandbox } from "../kube/sandbox.ts";
import {
  evaluateSandboxStatus,
  pendingError,
  type SandboxStatusReport,
  waitSandboxStatus,
} from "../cluster/status.ts";
import { type CliContext, type Command, EXIT, type OptionValues } from "./command.ts";
import { formatAge, kubeClientFromFlags, parseDuration, readFlagFile } from "./cluster_common.ts";

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
  --timeout T           how long to wait (default 5m with --wait, else 30s); 30s, 5m, 1m30s
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
    const timeoutMs = values.timeout !== undefined
      ? parseDuration(values.timeout as string, "--timeout")
      : wait
      ? 300_000
      : 30_000;
    const { client, contextNamespace } = await kubeClientFromFlags(values, ctx);
    const deadline = AbortSignal.timeout(timeoutMs);
    const timedOut = () => `gave up after --timeout ${values.timeout ?? `${timeoutMs / 1000}s`}`;
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
        if (deadline.aborted && isKarsError(e, "TRANSIENT")) {
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
      ctx.stdout(`${JSON.stringify({ ok: true, status: report }, null, 2)}\n`);
    } else {
      ctx.stdout(renderReport(report));
    }
    return report.state === "verified" ? EXIT.OK : EXIT.VERDICT_FALSE;
  },
};
