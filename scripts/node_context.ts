/**
 * A {@link CliContext} built from a Node (or Bun) `process`: the Node-flavoured twin of
 * what `cli.ts` builds from `Deno.*`. Used by `scripts/node_main.ts`, the entry of the
 * standalone binary.
 *
 * Start-up cost matters here (`kars --help` is measured against a bare `node -e 0`), so the
 * context touches none of Node's lazily created stdio streams until it needs one: terminal
 * checks use `tty.isatty`, output is written with `fs.writeSync` (as `cli.ts` writes with
 * `Deno.stdout.writeSync`; Node's own stdout is synchronous for files and pipes on POSIX too)
 * and falls back to the stream only when a non-blocking descriptor refuses a write
 * (`EAGAIN`); standard input becomes a stream only when a command reads it. Creating
 * `process.stdout` loads Node's whole stream stack, about 5 ms of CPU on this machine.
 *
 * @module
 */
import process from "node:process";
import { Buffer } from "node:buffer";
import { writeSync } from "node:fs";
import type { CliContext } from "../lib/cli/command.ts";
import { createNodeFetch } from "../lib/io/transport.ts";

/** The two output descriptors, each with a fallback stream once a direct write was refused. */
interface Output {
  fd: 1 | 2;
  /** Set once a write went to the stream: later writes follow it there, in order. */
  stream?: { write(chunk: string | Uint8Array, cb?: () => void): boolean };
}

const outputs: Record<1 | 2, Output> = { 1: { fd: 1 }, 2: { fd: 2 } };

function nodeBuiltin<T>(id: string): T {
  return (process as unknown as { getBuiltinModule(id: string): T }).getBuiltinModule(id);
}

function ttyModule(): typeof import("node:tty") {
  return nodeBuiltin("node:tty");
}

function streamOf(fd: 1 | 2) {
  return fd === 1 ? process.stdout : process.stderr;
}

/**
 * Writes `text` to descriptor `fd` synchronously; when the descriptor is non-blocking and
 * full (`EAGAIN`), the rest — and every later write to it — goes through Node's stream, which
 * queues it.
 *
 * @example
 * ```ts
 * import { writeOut } from "./node_context.ts";
 * writeOut(1, "hello\n");
 * ```
 */
export function writeOut(fd: 1 | 2, text: string | Uint8Array): void {
  const o = outputs[fd];
  if (o.stream) {
    o.stream.write(text);
    return;
  }
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  let off = 0;
  // Bounded: every iteration writes at least one byte or leaves the loop.
  while (off < bytes.length) {
    let n: number;
    try {
      n = writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") throw e;
      n = 0;
    }
    if (n <= 0) {
      o.stream = streamOf(fd);
      o.stream.write(bytes.subarray(off));
      return;
    }
    off += n;
  }
}

/**
 * Exits with `code` once everything written has left the process: immediately when every
 * write was synchronous, otherwise after the fallback streams have flushed (writes to
 * pipes through a stream are asynchronous in Node). Exiting explicitly, as `cli.ts` does with
 * `Deno.exit`, means idle keep-alive sockets or timers left by a library cannot hold the
 * process open after the command is done.
 *
 * @example
 * ```ts
 * import { exitAfterFlush } from "./node_context.ts";
 * exitAfterFlush(0);
 * ```
 */
export function exitAfterFlush(code: number): void {
  const out = outputs[1].stream, err = outputs[2].stream;
  if (!out && !err) {
    process.exit(code);
    return;
  }
  const flushErr = () => err ? err.write("", () => process.exit(code)) : process.exit(code);
  if (out) out.write("", flushErr);
  else flushErr();
}

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
  // Asked when a command needs to know (`--help` does not): `node:tty` loads `node:net` and
  // the stream stack with it.
  const tty: Partial<Record<0 | 1 | 2, boolean>> = {};
  const isatty = (fd: 0 | 1 | 2) => (tty[fd] ??= ttyModule().isatty(fd));
  const isTTY = {
    get stdin() {
      return isatty(0);
    },
    get stdout() {
      return isatty(1);
    },
    get stderr() {
      return isatty(2);
    },
  };
  const ctx: CliContext = {
    stdout(text) {
      writeOut(1, text);
    },
    stderr(text) {
      writeOut(2, text);
    },
    stdin() {
      // Loaded when a command reads standard input, not at start-up.
      const { Readable } = nodeBuiltin<typeof import("node:stream")>("node:stream");
      return Readable.toWeb(process.stdin) as unknown as ReadableStream<Uint8Array>;
    },
    env,
    cwd: process.cwd(),
    isTTY,
    get color() {
      return isTTY.stdout && isTTY.stderr && !("NO_COLOR" in env);
    },
    // `node:http`/`node:https` with keep-alive rather than Node's built-in fetch (undici): the
    // same requests cost about half the CPU time in a short run (measured in bench/RESULTS.md,
    // "Standalone binary"), and the TLS roots are the same (Node's, plus NODE_EXTRA_CA_CERTS).
    fetch: createNodeFetch({ keepAlive: true }),
  };
  // Offered only on a terminal, decided when a command first looks for it.
  Object.defineProperty(ctx, "promptSecret", {
    get: () => isTTY.stdin ? promptSecret : undefined,
    enumerable: true,
  });
  return ctx;
}

/** Reads one line from the terminal with echo off (raw mode), prompt on stderr. */
function promptSecret(prompt: string): Promise<string | undefined> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.resolve(undefined);
  writeOut(2, prompt);
  return new Promise((resolve) => {
    let buf = "";
    const done = (value: string | undefined) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      writeOut(2, "\n");
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
