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
import { createNodeContext, exitAfterFlush, writeOut } from "./node_context.ts";
import { tuneForShortRun } from "../lib/cli/short_run.ts";
import { installWebGlobals } from "./node_web.ts";

// Light `Headers`/`Response` instead of Node's undici-backed ones (node_web.ts), before any
// command runs.
installWebGlobals();
// Bundled as CommonJS, every module above has been evaluated when this line runs. The clock
// is read only when profiling: the global `performance` loads a Node module of its own.
const entry = process.env.KARS_PROFILE ? performance.now() : 0;
// What the standalone binary's loader did with its code cache (scripts/node_sea.ts).
const codeCache = (globalThis as Record<symbol, unknown>)[Symbol.for("kars.codeCache")];
const profiled = profileRun(createNodeContext(), entry, "node", {
  codeCache: typeof codeCache === "string" ? codeCache : undefined,
  undiciLoaded: () =>
    ((process as unknown as { moduleLoadList?: string[] }).moduleLoadList ?? [])
      .some((m) => m.includes("internal/deps/undici")),
});
const args = process.argv.slice(2);
tuneForShortRun(args).then(() => runCli(args, profiled.ctx, commands)).then(
  (code) => {
    profiled.finish();
    exitAfterFlush(code);
  },
  (e) => {
    writeOut(2, `kars: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    exitAfterFlush(1);
  },
);
