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
import { runCli } from "../lib/cli/main.ts";
import { commands } from "../lib/cli/commands.ts";
import { createNodeContext } from "./node_context.ts";

runCli(process.argv.slice(2), createNodeContext(), commands).then(
  (code) => {
    // exitCode, not exit(): let pending stdout/stderr writes to pipes drain.
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`kars: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
