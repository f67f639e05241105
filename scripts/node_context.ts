/**
 * A {@link CliContext} built from a Node (or Bun) `process`: the Node-flavoured twin of
 * what `cli.ts` builds from `Deno.*`. Used by `scripts/node_main.ts`, the entry of the
 * standalone binary.
 *
 * @module
 */
import process from "node:process";
import { Readable } from "node:stream";
import type { CliContext } from "../lib/cli/command.ts";
import { createNodeFetch } from "../lib/io/transport.ts";

/**
 * Builds the CLI context from `process`.
 *
 * @example
 * ```ts
 * import { createNodeContext } from "./node_context.ts";
 * const ctx = createNodeContext();
 * ctx.stdout("hello\n");
 * ```
 */
export function createNodeContext(): CliContext {
  const env = process.env as Record<string, string | undefined>;
  const isTTY = {
    stdin: Boolean(process.stdin.isTTY),
    stdout: Boolean(process.stdout.isTTY),
    stderr: Boolean(process.stderr.isTTY),
  };
  const ctx: CliContext = {
    stdout(text) {
      process.stdout.write(text);
    },
    stderr(text) {
      process.stderr.write(text);
    },
    stdin() {
      return Readable.toWeb(process.stdin) as unknown as ReadableStream<Uint8Array>;
    },
    env,
    cwd: process.cwd(),
    isTTY,
    color: isTTY.stdout && isTTY.stderr && !("NO_COLOR" in env),
    // `node:http`/`node:https` with keep-alive rather than Node's built-in fetch (undici): the
    // same requests cost about half the CPU time in a short run (measured in bench/RESULTS.md,
    // "Standalone binary"), and the TLS roots are the same (Node's, plus NODE_EXTRA_CA_CERTS).
    fetch: createNodeFetch({ keepAlive: true }),
  };
  if (isTTY.stdin) ctx.promptSecret = promptSecret;
  return ctx;
}

/** Reads one line from the terminal with echo off (raw mode), prompt on stderr. */
function promptSecret(prompt: string): Promise<string | undefined> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.resolve(undefined);
  process.stderr.write(prompt);
  return new Promise((resolve) => {
    let buf = "";
    const done = (value: string | undefined) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      resolve(value);
    };
    const onData = (chunk: Uint8Array) => {
      for (const ch of new TextDecoder().decode(chunk)) {
        if (ch === "\r" || ch === "\n") return done(buf);
        if (ch === "\u0003" || ch === "\u0004") return done(undefined); // Ctrl-C / Ctrl-D
        if (ch === "\u007f" || ch === "\b") buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onData);
  });
}
