/**
 * The CLI dispatcher: picks the subcommand, parses its flags with `node:util`
 * `parseArgs`, runs it, and maps errors to exit codes and one clear line on stderr.
 *
 * @module
 */
import { parseArgs } from "parse-args";
import { KarsError } from "../errors.ts";
import { VERSION } from "../version.ts";
import type { CliContext, Command, OptionValues } from "./command.ts";
import { EXIT, exitCodeOf } from "./exit_codes.ts";
import { errorJson, printJson } from "./json_output.ts";
import { suggest } from "./suggest.ts";
import { withFlagHints } from "./flag_hints.ts";
import { runWithTimeout } from "./timeout.ts";

export { exitCodeOf };

/**
 * Runs the CLI over `argv` (without the program name) and returns the exit code.
 *
 * @example
 * ```ts
 * import { runCli } from "./main.ts";
 * import { commands } from "./commands.ts";
 * // const code = await runCli(["--version"], ctx, commands);
 * ```
 */
export async function runCli(
  argv: string[],
  ctx: CliContext,
  commands: readonly Command[],
): Promise<number> {
  if (argv.length === 0 || argv[0] === "-h" || argv[0] === "--help" || argv[0] === "help") {
    ctx.stdout(topHelp(commands));
    return argv.length === 0 ? EXIT.USAGE : EXIT.OK;
  }
  if (argv[0] === "--version" || argv[0] === "-V" || argv[0] === "version") {
    ctx.stdout(`kars ${VERSION}\n`);
    return EXIT.OK;
  }
  const command = selectCommand(argv, commands);
  if (!command) {
    const words = [...new Set(commands.map((c) => c.path[0]))];
    const hint = suggest(argv[0], words);
    ctx.stderr(
      `kars: error: unknown command ${JSON.stringify(argv[0])}${
        hint ? ` (did you mean '${hint}'?)` : ""
      }; run 'kars --help' for the list\n`,
    );
    return EXIT.USAGE;
  }
  const rest = argv.slice(command.path.length);
  // `--json` promises one JSON object on stdout, failures included.
  const json = "json" in command.options && rest.includes("--json");
  if (rest.includes("-h") || rest.includes("--help")) {
    ctx.stdout(command.help.endsWith("\n") ? command.help : command.help + "\n");
    return EXIT.OK;
  }
  let values: OptionValues;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: rest,
      options: command.options,
      strict: true,
      allowPositionals: true,
    });
    // parseArgs returns a null-prototype object: copy into a plain one.
    values = { ...parsed.values } as OptionValues;
    positionals = parsed.positionals;
  } catch (e) {
    const message = `${usageMessage(e, command)}; run 'kars ${
      command.path.join(" ")
    } --help' for usage`;
    ctx.stderr(`kars: error: ${message}\n`);
    if (json) ctx.stdout(printJson(errorJson(new KarsError("USAGE", message))));
    return EXIT.USAGE;
  }
  try {
    return await runWithTimeout(command, values, positionals, ctx);
  } catch (e) {
    return reportError(withFlagHints(e, command), ctx, json);
  }
}

/** Prints an error as one `kars: error: …` line (and, with `--json`, the error object). */
function reportError(e: unknown, ctx: CliContext, json: boolean): number {
  if (e instanceof KarsError) {
    ctx.stderr(`kars: error: ${e.message}\n`);
  } else {
    const msg = e instanceof Error ? e.message : String(e);
    ctx.stderr(`kars: internal error: ${msg}\n`);
  }
  const code = exitCodeOf(e);
  if (json) ctx.stdout(printJson(errorJson(e, code)));
  return code;
}

function usageMessage(e: unknown, command: Command): string {
  const msg = e instanceof Error ? e.message : String(e);
  // node:util messages end with advice about "--" that does not apply to us.
  let out = msg.replace(/\. To specify a positional argument starting with a '-'.*$/s, "").replace(
    /\.$/,
    "",
  );
  const unknown = /^Unknown option '(--?[^']+)'/.exec(out);
  if (unknown) {
    const flags = Object.keys(command.options).map((k) => `--${k}`);
    const hint = suggest(unknown[1].replace(/=.*$/, ""), flags);
    if (hint) out += ` (did you mean '${hint}'?)`;
  }
  return out;
}

function selectCommand(argv: string[], commands: readonly Command[]): Command | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.every((w, i) => argv[i] === w) && (!best || c.path.length > best.path.length)) {
      best = c;
    }
  }
  return best;
}

function topHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.path.join(" ").length));
  const lines = commands.map((c) => `  kars ${c.path.join(" ").padEnd(width)}  ${c.summary}`);
  return [
    `kars ${VERSION} — signed egress allowlists for kars sandboxes, as OCI artifacts, for GitOps`,
    "",
    "Usage:",
    ...lines,
    "",
    "Run 'kars <command> --help' for the flags of a command.",
    "Exit codes: 0 ok, 1 operation failed, 2 usage or input error, 3 verdict False,",
    "4 lossy migration, 5 transient fault (retry). --json: one JSON object on stdout.",
    "",
  ].join("\n");
}
