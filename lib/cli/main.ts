/**
 * The CLI dispatcher: picks the subcommand, parses its flags with `node:util`
 * `parseArgs`, runs it, and maps errors to exit codes and one clear line on stderr.
 *
 * @module
 */
import { parseArgs } from "parse-args";
import { KarsError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { type CliContext, type Command, EXIT, type OptionValues } from "./command.ts";
import { runWithTimeout } from "./timeout.ts";

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
    ctx.stderr(
      `kars: error: unknown command ${JSON.stringify(argv[0])}; run 'kars --help' for the list\n`,
    );
    return EXIT.USAGE;
  }
  const rest = argv.slice(command.path.length);
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
    ctx.stderr(
      `kars: error: ${usageMessage(e)}; run 'kars ${command.path.join(" ")} --help' for usage\n`,
    );
    return EXIT.USAGE;
  }
  try {
    return await runWithTimeout(command, values, positionals, ctx);
  } catch (e) {
    return reportError(e, ctx);
  }
}

/**
 * Prints an error as one `kars: error: …` line and returns its exit code:
 * `USAGE`/`INPUT` → 2, anything else → 1.
 *
 * @example
 * ```ts
 * import { exitCodeOf } from "./main.ts";
 * import { KarsError } from "../errors.ts";
 * exitCodeOf(new KarsError("USAGE", "x")); // 2
 * ```
 */
export function exitCodeOf(e: unknown): number {
  if (e instanceof KarsError) {
    return e.code === "USAGE" || e.code === "INPUT" ? EXIT.USAGE : EXIT.FAILURE;
  }
  return EXIT.FAILURE;
}

function reportError(e: unknown, ctx: CliContext): number {
  if (e instanceof KarsError) {
    ctx.stderr(`kars: error: ${e.message}\n`);
  } else {
    const msg = e instanceof Error ? e.message : String(e);
    ctx.stderr(`kars: internal error: ${msg}\n`);
  }
  return exitCodeOf(e);
}

function usageMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // node:util messages end with advice about "--" that does not apply to us.
  return msg.replace(/\. To specify a positional argument starting with a '-'.*$/s, "").replace(
    /\.$/,
    "",
  );
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
    "Exit codes: 0 ok, 1 failure, 2 usage or input error, 3 verification verdict False,",
    "4 lossy migration.",
    "",
  ].join("\n");
}
