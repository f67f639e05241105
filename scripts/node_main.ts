/**
 * Node entry of the `kars` CLI, bundled by `scripts/build_binary.ts` into the standalone
 * binary (Node single-executable application, or bun). Same dispatcher and commands as
 * `cli.ts`; only the context comes from `process` instead of `Deno`.
 *
 * No top-level await: the bundle is CommonJS (what Node's SEA loader runs).
 *
 * @module
 */
import process from "node:process";
import { profileRun } from "../lib/cli/profile.ts";
import { runCli } from "../lib/cli/main.ts";
import { commands } from "../lib/cli/commands.ts";
import { createNodeContext } from "./node_context.ts";
import { tuneForShortRun } from "../lib/cli/short_run.ts";

/**
 * Exits with `code` once everything written to stdout and stderr has been flushed (writes
 * to pipes are asynchronous in Node). Exiting explicitly, as `cli.ts` does with
 * `Deno.exit`, means idle keep-alive sockets or timers left by a library cannot hold the
 * process open after the command is done.
 */
function exitAfterFlush(code: number): void {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

// Bundled as CommonJS, every module above has been evaluated when this line runs.
const entry = performance.now();
const profiled = profileRun(createNodeContext(), entry, "node");
const args = process.argv.slice(2);
tuneForShortRun(args).then(() => runCli(args, profiled.ctx, commands)).then(
  (code) => {
    profiled.finish();
    exitAfterFlush(code);
  },
  (e) => {
    process.stderr.write(`kars: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    exitAfterFlush(1);
  },
);
