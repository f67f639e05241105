/**
 * `kars signer-policy lint FILE`: every entry of a SignerPolicy under both readings, ours
 * and the kars controller's.
 *
 * @module
 */
import { readFileBounded } from "../io/file_read.ts";
import { isAbsolute, join } from "node:path";
import { KarsError } from "../errors.ts";
import { fromUtf8 } from "../encoding/bytes.ts";
import { parseSignerPolicy } from "../verify/policy_parse.ts";
import { withSanRegexEngine } from "../verify/san_match.ts";
import { type LintEntry, lintSignerPolicy, type PolicyLint } from "../verify/policy_lint.ts";
import { type Command, EXIT } from "./command.ts";

const HELP = `kars signer-policy lint FILE [--json]

Explains every entry of a kars-signer-policy ConfigMap (YAML/JSON) under both readings:
ours (kars egress verify) and the kars controller's (what a cluster enforces):

  fulcioIssuers       exact OIDC issuers, for both
  https:// patterns   ours: glob (* any run, ? one character); controller: the exact SAN
  re:<regex>          ours: anchored, any SAN; controller: unanchored, email SANs only
  other patterns      ours: glob or exact; controller: the exact email SAN
  publicKeys          ours: accepted for key/KMS signatures; controller: ignored (keyless only)

Each entry the controller reads differently is flagged with what it means and the fix.

  --json      print the result as JSON

Exit codes: 0 both readings agree, 3 the controller reads at least one entry differently,
2 usage error or a malformed / unreadable policy.
`;

function renderEntry(e: LintEntry): string {
  let s = `${e.where}: ${e.value}\n`;
  s += `  ours:       ${e.ours}\n`;
  s += `  controller: ${e.controller}\n`;
  if (!e.consistent) {
    s += `  differs:    ${e.problem}\n`;
    s += `  fix:        ${e.fix}\n`;
  }
  return s;
}

/**
 * Renders a lint for humans: one block per entry, then a summary line.
 *
 * @example
 * ```ts
 * import { renderLint } from "./signer_policy.ts";
 * renderLint("p.yaml", { entries: [], consistent: true }); // "p.yaml: both readings agree (0 entries)\n"
 * ```
 */
export function renderLint(file: string, lint: PolicyLint): string {
  const n = lint.entries.filter((e) => !e.consistent).length;
  const summary = n === 0
    ? `${file}: both readings agree (${lint.entries.length} entries)\n`
    : `${file}: the kars controller reads ${n} of ${lint.entries.length} entries differently\n`;
  return lint.entries.map(renderEntry).join("") + summary;
}

/**
 * The `kars signer-policy lint` command.
 *
 * @example
 * ```ts
 * import { signerPolicyLintCommand } from "./signer_policy.ts";
 * signerPolicyLintCommand.path; // ["signer-policy", "lint"]
 * ```
 */
export const signerPolicyLintCommand: Command = {
  path: ["signer-policy", "lint"],
  summary: "explain a SignerPolicy under our reading and the kars controller's",
  help: HELP,
  options: { json: { type: "boolean" } },
  async run(values, positionals, ctx) {
    if (positionals.length !== 1) {
      throw new KarsError(
        "USAGE",
        positionals.length === 0
          ? "missing FILE: kars signer-policy lint FILE"
          : `expected one FILE, got ${positionals.length}`,
      );
    }
    const file = positionals[0];
    let bytes: Uint8Array;
    try {
      bytes = await readFileBounded(isAbsolute(file) ? file : join(ctx.cwd, file));
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new KarsError(
        "INPUT",
        `${file}: ${code === "NOT_FOUND" ? "no such file" : (e as Error).message}`,
        { cause: e },
      );
    }
    // `re:` SAN patterns are compiled while parsing: their engine is loaded on demand.
    const lint = lintSignerPolicy(
      await withSanRegexEngine(fromUtf8(bytes), () => parseSignerPolicy(bytes, file)),
    );
    if (values.json === true) {
      ctx.stdout(
        `${
          JSON.stringify(
            {
              ok: true,
              schemaVersion: 1,
              file,
              consistent: lint.consistent,
              entries: lint.entries,
            },
            null,
            2,
          )
        }\n`,
      );
    } else {
      ctx.stdout(renderLint(file, lint));
    }
    return lint.consistent ? EXIT.OK : EXIT.VERDICT_FALSE;
  },
};
