/**
 * The pull-request summary of a `kars egress` run: Markdown for a PR body naming the sandbox,
 * the artifact, old → new digest and generation, the signer, and the endpoint diff against the
 * previous allowlist. Deterministic: no timestamps, no host data; same input, same bytes.
 *
 * @module
 */
import type { Endpoint } from "../allowlist/canonical.ts";
import { type AllowlistDiff, changedPortHosts } from "../allowlist/diff.ts";

/** What the summary reports. */
export interface SummaryInput {
  /** Sandbox name. */
  sandbox: string;
  /** Namespace. */
  namespace: string;
  /** `<registry>/<repository>`. */
  repository: string;
  /** The new artifact. */
  next: { digest: string; generation: number };
  /** The previous artifact, when there was one (else: a first signing). */
  previous?: { digest: string; generation: number };
  /** The signer identity (`keyless:<SAN>`, `key:<id>`, `kms:<uri>`), or null (unsigned). */
  signer: string | null;
  /** The endpoint diff against the previous allowlist (all endpoints added when none). */
  diff: AllowlistDiff;
  /** Where the manifest was written (repository-relative as given), if any. */
  manifestPath?: string;
}

/** Markdown inline code that cannot be broken out of (backticks in values are replaced). */
function code(s: string): string {
  return `\`${s.replace(/`/g, "'").replace(/[\r\n]/g, " ")}\``;
}

const ep = (e: Endpoint) => code(`${e.host}:${e.port}`);

/**
 * Renders the Markdown summary.
 *
 * @example
 * ```ts
 * import { renderSummary } from "./summary.ts";
 * const md = renderSummary({
 *   sandbox: "my-agent", namespace: "kars-my-agent", repository: "r.example/policy/a",
 *   next: { digest: "sha256:" + "1".repeat(64), generation: 2 },
 *   previous: { digest: "sha256:" + "0".repeat(64), generation: 1 },
 *   signer: "key:0123456789abcdef",
 *   diff: { added: [{ host: "pypi.org", port: 443 }], removed: [], unchanged: 1 },
 * });
 * md.startsWith("### Egress allowlist"); // true
 * ```
 */
export function renderSummary(s: SummaryInput): string {
  const lines: string[] = [];
  const d = s.diff;
  lines.push(`### Egress allowlist: ${code(`${s.namespace}/${s.sandbox}`)}`, "");
  const counts =
    `**${d.added.length} added, ${d.removed.length} removed, ${d.unchanged} unchanged**`;
  lines.push(
    s.previous && s.previous.digest === s.next.digest
      ? `No change to the allowlist (${d.unchanged} endpoints).`
      : `Endpoints: ${counts}${s.previous ? "" : " (first signed allowlist)"}.`,
    "",
  );
  lines.push("| | previous | new |", "|---|---|---|");
  lines.push(
    `| digest | ${s.previous ? code(s.previous.digest) : "—"} | ${code(s.next.digest)} |`,
  );
  lines.push(
    `| generation | ${s.previous ? String(s.previous.generation) : "—"} | ${s.next.generation} |`,
  );
  lines.push("");
  lines.push(`- sandbox: ${code(s.sandbox)} in namespace ${code(s.namespace)}`);
  lines.push(`- artifact: ${code(`${s.repository}@${s.next.digest}`)}`);
  // Whether this run added a signature is left out: a re-run must print the same bytes.
  lines.push(`- signer: ${s.signer ? code(s.signer) : "unsigned"}`);
  if (s.manifestPath) lines.push(`- manifest: ${code(s.manifestPath)}`);
  const changed = new Set(changedPortHosts(d));
  const note = (e: Endpoint) => changed.has(e.host) ? " (port changed)" : "";
  if (d.added.length) {
    lines.push("", "**Added**", "");
    for (const e of d.added) lines.push(`- ${ep(e)}${note(e)}`);
  }
  if (d.removed.length) {
    lines.push("", "**Removed**", "");
    for (const e of d.removed) lines.push(`- ${ep(e)}${note(e)}`);
  }
  lines.push(
    "",
    "Check the cluster's verdict before merging: `kars egress verify --manifest <file> --signer-policy <policy>`.",
    "",
  );
  return lines.join("\n");
}
