/**
 * The GitHub Action's entry point (action.yml at the repository root runs it with the pinned
 * Deno): maps the action's inputs (INPUT_* environment variables, set by action.yml) to
 * `kars egress` flags, runs the CLI in-process with `--json`, and writes the step outputs
 * `digest`, `manifest` and `summary` to $GITHUB_OUTPUT (and the summary to
 * $GITHUB_STEP_SUMMARY). Exits with the CLI's exit code (README "Exit codes").
 *
 * Secrets are never inputs: the identity token comes from GitHub's ambient OIDC
 * (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN), registry credentials from the environment
 * (KARS_REGISTRY_USERNAME/PASSWORD, AZURE_ACCESS_TOKEN, docker config), a key password from
 * COSIGN_PASSWORD.
 */
import { join } from "node:path";
import { denoContext } from "../cli.ts";
import { commands } from "../lib/cli/commands.ts";
import { runCli } from "../lib/cli/main.ts";

/** The action's inputs → flags (string inputs; booleans are "true"/"false"). */
export function actionArgs(env: Record<string, string | undefined>): string[] {
  const input = (name: string) => {
    const v = env[`INPUT_${name.toUpperCase().replace(/-/g, "_")}`]?.trim();
    return v ? v : undefined;
  };
  const flag = (name: string) => input(name)?.toLowerCase() === "true";
  const sandbox = input("sandbox");
  if (!sandbox) throw new Error("the sandbox input is required");
  const args = ["egress", sandbox];
  for (
    const name of [
      "namespace",
      "from-file",
      "registry",
      "repository",
      "emit-manifest",
      "signer-policy",
      "key",
      "signature-format",
      "fulcio-url",
      "rekor-url",
      "trusted-root",
      "tlog-upload",
    ]
  ) {
    const v = input(name);
    if (v !== undefined) args.push(`--${name}`, v);
  }
  for (const name of ["enforce", "force", "resign"]) if (flag(name)) args.push(`--${name}`);
  for (const host of (input("approve") ?? "").split(/[\s,]+/).filter(Boolean)) {
    args.push("--approve", host);
  }
  const summary = input("summary") ??
    join(env.RUNNER_TEMP ?? ".", `kars-summary-${sandbox}.md`);
  args.push("--summary", summary);
  // Extra flags, whitespace-separated (no quoting: values with spaces are not supported).
  args.push(...(input("args") ?? "").split(/\s+/).filter(Boolean));
  args.push("--json");
  return args;
}

if (import.meta.main) {
  const base = denoContext();
  let out = "";
  const dec = new TextDecoder();
  const ctx = {
    ...base,
    stdout: (t: string | Uint8Array) => {
      out += typeof t === "string" ? t : dec.decode(t);
    },
  };
  let args: string[];
  try {
    args = actionArgs(base.env);
  } catch (e) {
    console.error(`kars action: ${(e as Error).message}`);
    Deno.exit(2);
  }
  const code = await runCli(args, ctx, commands);
  base.stdout(out);
  let result: Record<string, unknown> = {};
  try {
    result = JSON.parse(out);
  } catch { /* the error is on stderr already */ }
  const summaryPath = args[args.indexOf("--summary") + 1];
  if (result.ok === true && base.env.GITHUB_OUTPUT) {
    const lines = [
      `digest=${result.digest ?? ""}`,
      `manifest=${result.manifestPath ?? ""}`,
      `summary=${summaryPath}`,
    ];
    await Deno.writeTextFile(base.env.GITHUB_OUTPUT, lines.join("\n") + "\n", { append: true });
  }
  if (result.ok === true && code === 0 && base.env.GITHUB_STEP_SUMMARY) {
    try {
      const md = await Deno.readTextFile(summaryPath);
      await Deno.writeTextFile(base.env.GITHUB_STEP_SUMMARY, md, { append: true });
    } catch { /* no summary written (e.g. a live patch failed before) */ }
  }
  Deno.exit(code);
}
