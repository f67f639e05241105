#!/usr/bin/env -S deno run --allow-all
/**
 * The `kars` command-line entry point (Deno). It builds the process context, hands
 * the arguments to the runtime-neutral dispatcher, and exits with its code.
 *
 * @example
 * ```sh
 * deno run -A jsr:@kars/egress/cli egress my-agent --enforce --emit-manifest ./gitops/my-agent.yaml
 * ```
 *
 * @module
 */
import { commands } from "./lib/cli/commands.ts";
import type { CliContext } from "./lib/cli/command.ts";
export type { CliContext } from "./lib/cli/command.ts";
import { runCli } from "./lib/cli/main.ts";
import { profileRun } from "./lib/cli/profile.ts";
import { tuneForShortRun } from "./lib/cli/short_run.ts";

/** When the body of this module started: after runtime boot and the module graph. */
const entry = performance.now();

/**
 * Builds a {@link CliContext} over the Deno process.
 *
 * @example
 * ```ts
 * import { denoContext } from "./cli.ts";
 * const ctx = denoContext();
 * ctx.stderr("hello\n");
 * ```
 */
export function denoContext(): CliContext {
  const enc = new TextEncoder();
  const write = (f: typeof Deno.stdout, t: string | Uint8Array) => {
    const b = typeof t === "string" ? enc.encode(t) : t;
    let off = 0;
    while (off < b.length) off += f.writeSync(b.subarray(off));
  };
  const isTTY = {
    stdin: Deno.stdin.isTerminal(),
    stdout: Deno.stdout.isTerminal(),
    stderr: Deno.stderr.isTerminal(),
  };
  const env = Deno.env.toObject();
  return {
    stdout: (t) => write(Deno.stdout, t),
    stderr: (t) => write(Deno.stderr, t),
    stdin: () => Deno.stdin.readable,
    env,
    cwd: Deno.cwd(),
    isTTY,
    // No colour with NO_COLOR, or when either stream is not a terminal (piped, CI logs).
    color: isTTY.stdout && isTTY.stderr && !("NO_COLOR" in env),
    promptSecret: isTTY.stdin ? promptSecret : undefined,
  };
}

function promptSecret(prompt: string): Promise<string | undefined> {
  const enc = new TextEncoder();
  Deno.stderr.writeSync(enc.encode(prompt));
  Deno.stdin.setRaw(true);
  try {
    const buf = new Uint8Array(1);
    const out: number[] = [];
    while (true) {
      const n = Deno.stdin.readSync(buf);
      if (n === null || buf[0] === 13 || buf[0] === 10) break;
      if (buf[0] === 3) return Promise.resolve(undefined); // Ctrl-C
      if (buf[0] === 127 || buf[0] === 8) out.pop();
      else out.push(buf[0]);
    }
    return Promise.resolve(new TextDecoder().decode(new Uint8Array(out)));
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(enc.encode("\n"));
  }
}

if (import.meta.main) {
  // KARS_PROFILE=FILE records the run's phases for bench/profile.ts (nothing otherwise).
  const run = profileRun(denoContext(), entry, "deno");
  await tuneForShortRun(Deno.args);
  const code = await runCli(Deno.args, run.ctx, commands);
  run.finish();
  Deno.exit(code);
}
