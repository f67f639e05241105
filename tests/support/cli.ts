/**
 * Runs the `kars` CLI in-process with a recorded context (stdout, stderr, exit code).
 */
import { commands } from "../../lib/cli/commands.ts";
import type { CliContext } from "../../lib/cli/command.ts";
import { runCli } from "../../lib/cli/main.ts";
import { isOneShotCryptoRun } from "../../lib/cli/short_run.ts";
import { setKeyTableMinUses } from "../../lib/verify/sigstore/keys.ts";

export interface KarsRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KarsRunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string | Uint8Array;
  fetch?: typeof fetch;
  tty?: boolean;
  promptSecret?: (prompt: string) => Promise<string | undefined>;
}

let oneShotDepth = 0;
let savedMinUses = 2;

/**
 * Runs `fn` (an in-process `kars <args>`) the way a real `kars` process of these arguments runs:
 * `cli.ts` calls `tuneForShortRun(args)` (lib/cli/short_run.ts), which for a one-shot signing
 * or verifying run builds no per-key precompute tables for trust-root keys. Without this an
 * in-process run builds a table (~15 ms of CPU each at window 6) for keys of a trust root
 * loaded for that run alone, which a real one-shot process never does. The threshold is
 * restored when the last overlapping one-shot run ends; long-running commands (webhook, audit,
 * status) keep the default. (The base-point window of `tuneForShortRun` is process-wide and
 * irreversible, so it is left alone; it does not change any verdict.)
 */
export async function asCliProcess<T>(args: readonly string[], fn: () => Promise<T>): Promise<T> {
  if (!isOneShotCryptoRun(args)) return await fn();
  if (oneShotDepth++ === 0) savedMinUses = setKeyTableMinUses(Infinity);
  try {
    return await fn();
  } finally {
    if (--oneShotDepth === 0) setKeyTableMinUses(savedMinUses);
  }
}

/** Runs `kars <args>` in-process (as a one-shot `kars` process would: {@link asCliProcess}). */
export async function runKars(args: string[], opts: KarsRunOptions = {}): Promise<KarsRun> {
  const dec = new TextDecoder();
  let stdout = "";
  let stderr = "";
  const ctx: CliContext = {
    stdout: (t) => {
      stdout += typeof t === "string" ? t : dec.decode(t);
    },
    stderr: (t) => {
      stderr += t;
    },
    stdin: () =>
      new Blob([
        typeof opts.stdin === "string" || opts.stdin === undefined
          ? opts.stdin ?? ""
          : new Uint8Array(opts.stdin),
      ]).stream(),
    env: opts.env ?? {},
    cwd: opts.cwd ?? Deno.cwd(),
    isTTY: { stdin: opts.tty ?? false, stdout: opts.tty ?? false, stderr: opts.tty ?? false },
    color: false,
    promptSecret: opts.promptSecret,
    fetch: opts.fetch,
  };
  const code = await asCliProcess(args, () => runCli(args, ctx, commands));
  return { code, stdout, stderr };
}

/** Runs `deno run cli.ts <args>` as a real process. */
export async function spawnKars(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; stdin?: string } = {},
): Promise<KarsRun> {
  const cli = new URL("../../cli.ts", import.meta.url).pathname;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", cli, ...args],
    cwd: opts.cwd,
    env: { NO_COLOR: "1", ...(opts.env ?? {}) },
    stdin: opts.stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
