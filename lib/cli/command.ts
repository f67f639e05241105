/**
 * The shape of a CLI subcommand. `cli.ts` (the only file that touches `Deno.*` for the
 * CLI) builds a {@link CliContext} from the process and dispatches to a {@link Command};
 * commands stay runtime-neutral and testable in-process.
 *
 * @module
 */
import type { ParseArgsConfig } from "node:util";

/** Exit codes of the `kars` CLI: the one table lives in `exit_codes.ts`. */
export { EXIT } from "./exit_codes.ts";

/** What a command may use of the process: streams, environment, terminal facts. */
export interface CliContext {
  /** Writes to standard output (no newline added). */
  stdout(text: string | Uint8Array): void;
  /** Writes to standard error (no newline added). */
  stderr(text: string): void;
  /** Standard input as a byte stream. */
  stdin(): ReadableStream<Uint8Array>;
  /** The environment (read-only view). */
  env: Readonly<Record<string, string | undefined>>;
  /** Working directory, for resolving relative paths. */
  cwd: string;
  /** Whether stdin / stdout / stderr are terminals. */
  isTTY: { stdin: boolean; stdout: boolean; stderr: boolean };
  /** Whether colour may be used on stderr (false with NO_COLOR or no TTY). */
  color: boolean;
  /** Reads a secret from the terminal without echo (undefined when there is no TTY). */
  promptSecret?: (prompt: string) => Promise<string | undefined>;
  /** `fetch` to use (tests inject one that records requests); defaults to global fetch. */
  fetch?: typeof fetch;
  /** Fires when the command's `--timeout` budget runs out (set by the dispatcher). */
  signal?: AbortSignal;
}

/** Option definitions in `node:util` `parseArgs` form. */
export type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/** Parsed option values (a plain object, never null-prototype). */
export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** A subcommand of the CLI. */
export interface Command {
  /** The words that select it, e.g. `["egress", "verify"]`. */
  path: string[];
  /** One-line summary for `kars --help`. */
  summary: string;
  /** Full help text (usage, flags, exit codes). */
  help: string;
  /** Flag definitions. */
  options: OptionsConfig;
  /** Runs the command; returns the exit code. Throws `KarsError` on failure. */
  run(values: OptionValues, positionals: string[], ctx: CliContext): Promise<number>;
}
