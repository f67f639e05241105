/**
 * The parts of the standalone binary (Node single-executable application) that make it start
 * fast, used by `scripts/build_binary.ts`:
 *
 * - The bundle is not the SEA's main script. It is embedded as an asset, wrapped as a
 *   CommonJS function, and a small loader ({@link seaLoader}) compiles it with `vm.Script`
 *   and a V8 code cache. Node's own `useCodeCache` caches only what compiling the main
 *   script compiles (its top level); the cache embedded here is made at build time *after
 *   running* representative commands (`kars --help`, a dry run, the offline demo), so the
 *   functions those runs called are in it too and a run compiles (almost) nothing.
 * - Two caches, chosen by the arguments: a small one for help and version output (less to
 *   deserialize: `kars --help` is measured against a bare `node -e 0`) and one for commands.
 * - `kars --help` and `kars --version` (alone, and their aliases) print output recorded at
 *   build time from the bundle itself ({@link FAST_OUTPUTS}), without compiling it.
 * - The bundle is ASCII, so the loader makes it a one-byte string (`latin1`, a plain copy);
 *   one non-ASCII character makes the whole 1.8 MiB script a two-byte string, decoded from
 *   UTF-8 (about 4 ms more per start on this machine). {@link nonAscii} finds offenders.
 *
 * V8 checks a cache against the script (its length) and the V8 version and flags; a cache
 * that does not match (e.g. `NODE_OPTIONS` with a V8 flag) is rejected and the script compiles
 * as usual: slower, never different.
 *
 * @module
 */

/** Asset name of the wrapped bundle. */
export const BUNDLE_ASSET = "kars.cjs";
/** Asset name of the code cache used for help and version output. */
export const HELP_CACHE_ASSET = "kars-help.cache";
/** Asset name of the code cache used for every other run. */
export const RUN_CACHE_ASSET = "kars-run.cache";

/**
 * The fast path: arguments whose whole output is fixed (the same bytes on stdout, exit 0, for
 * any environment), each with the asset holding the output that the bundle itself printed for
 * them at build time (`kars --help` and `kars --version` run by the trainer). The loader
 * writes that asset and exits without compiling the bundle; the binary tests compare these
 * outputs with `deno run cli.ts` byte for byte.
 */
export const FAST_OUTPUTS: Readonly<Record<string, { asset: string; args: readonly string[] }>> = {
  help: { asset: "kars-help.out", args: ["--help", "-h", "help"] },
  version: { asset: "kars-version.out", args: ["--version", "-V", "version"] },
};

/**
 * The global symbol under which the loader leaves what V8 did with the code cache
 * (`"accepted"`, `"rejected"` or `"none"`), for `KARS_PROFILE` (lib/cli/profile.ts).
 */
export const CODE_CACHE_SYMBOL = "kars.codeCache";

const HEAD = "(function (exports, require, module, __filename, __dirname) {";

/**
 * Wraps CommonJS source as the function expression the loader calls (the same shape Node
 * gives a CommonJS module).
 *
 * @example
 * ```ts
 * import { wrapCommonJs } from "./node_sea.ts";
 * wrapCommonJs("module.exports = 1;"); // "(function (exports, require, …) {module.exports = 1;\n})"
 * ```
 */
export function wrapCommonJs(js: string): string {
  return `${HEAD}${js}\n})`;
}

/**
 * Non-ASCII characters of `js`, each with its offset and some text around it.
 *
 * @example
 * ```ts
 * import { nonAscii } from "./node_sea.ts";
 * nonAscii("let a = /—/;"); // [{ offset: 9, char: "—", context: "let a = /—/;" }]
 * ```
 */
export function nonAscii(js: string): { offset: number; char: string; context: string }[] {
  const out: { offset: number; char: string; context: string }[] = [];
  for (let i = 0; i < js.length && out.length < 20; i++) {
    if (js.charCodeAt(i) < 0x80) continue;
    const char = String.fromCodePoint(js.codePointAt(i)!);
    out.push({ offset: i, char, context: js.slice(Math.max(0, i - 40), i + 40) });
    i += char.length - 1;
  }
  return out;
}

/**
 * Whether `args` (the CLI arguments) only ask for help or the version, which the small cache
 * serves: no arguments, `help`, `version`/`--version`/`-V`, or `--help`/`-h` anywhere.
 *
 * @example
 * ```ts
 * import { isHelpRun } from "./node_sea.ts";
 * isHelpRun(["--help"]); // true
 * isHelpRun(["egress", "my-agent"]); // false
 * ```
 */
export function isHelpRun(args: readonly string[]): boolean {
  const first = args[0];
  return first === undefined || first === "--version" || first === "-V" || first === "version" ||
    first === "help" || args.includes("--help") || args.includes("-h");
}

/**
 * Source of the SEA's main script. `ascii` says whether the bundle asset is ASCII (then it is
 * read as `latin1`, a plain copy into a one-byte string).
 *
 * @example
 * ```ts
 * import { seaLoader } from "./node_sea.ts";
 * const main = seaLoader({ ascii: true });
 * ```
 */
export function seaLoader(opts: { ascii: boolean; fast?: boolean }): string {
  const fast: Record<string, string> = {};
  if (opts.fast) {
    for (const f of Object.values(FAST_OUTPUTS)) for (const a of f.args) fast[a] = f.asset;
  }
  return `"use strict";
// kars standalone binary: compiles the embedded bundle with its build-time V8 code cache
// (scripts/node_sea.ts).
const sea = require("node:sea");
const args = process.argv.slice(2);
const fast = args.length === 1 && !process.env.KARS_PROFILE
  ? ${JSON.stringify(fast)}[args[0]]
  : undefined;
if (typeof fast === "string") {
  // Output the bundle printed for these arguments at build time; written as the CLI writes
  // (synchronously; through the stream if the descriptor is non-blocking and full).
  const { writeSync } = require("node:fs");
  const out = Buffer.from(sea.getRawAsset(fast));
  let off = 0;
  try {
    while (off < out.length) off += writeSync(1, out, off, out.length - off);
    process.exit(0);
  } catch (e) {
    if (e && e.code === "EAGAIN") {
      process.stdout.write(out.subarray(off), () => process.exit(0));
    } else {
      writeSync(2, "kars: internal error: " + (e instanceof Error ? e.message : String(e)) + "\\n");
      process.exit(1);
    }
  }
} else {
  if (process.env.KARS_CPU_PROFILE) {
    // A V8 CPU profile of this run (bench/ only): Node refuses --cpu-prof in NODE_OPTIONS
    // and a SEA takes no Node flags. Started before the bundle compiles; written at exit.
    const { Session } = require("node:inspector");
    const session = new Session();
    session.connect();
    session.post("Profiler.enable");
    session.post("Profiler.setSamplingInterval", { interval: 100 });
    session.post("Profiler.start");
    process.on("exit", () => {
      session.post("Profiler.stop", (err, r) => {
        if (!err) require("node:fs").writeFileSync(process.env.KARS_CPU_PROFILE, JSON.stringify(r.profile));
      });
    });
  }
  const { Script } = require("node:vm");
  const raw = Buffer.from(sea.getRawAsset(${JSON.stringify(BUNDLE_ASSET)}));
  const source = raw.toString(${JSON.stringify(opts.ascii ? "latin1" : "utf8")});
  const helpRun = ${isHelpRun.toString()};
  let cachedData;
  try {
    cachedData = Buffer.from(sea.getRawAsset(helpRun(args) ? ${
    JSON.stringify(HELP_CACHE_ASSET)
  } : ${JSON.stringify(RUN_CACHE_ASSET)}));
  } catch {
    cachedData = undefined;
  }
  const script = new Script(source, { filename: ${JSON.stringify(BUNDLE_ASSET)}, cachedData });
  globalThis[Symbol.for(${JSON.stringify(CODE_CACHE_SYMBOL)})] = cachedData === undefined
    ? "none"
    : script.cachedDataRejected ? "rejected" : "accepted";
  script.runInThisContext()(exports, require, module, __filename, __dirname);
}
`;
}

/**
 * Source of the build-time trainer, run by the `node` that becomes the binary (`ascii`: read
 * the bundle as the loader does):
 * `node trainer.cjs WRAPPED_BUNDLE OUT_CACHE ARG_SETS_JSON` compiles the wrapped bundle as the
 * loader does, runs the CLI once per argument set (in the current directory; `process.exit`
 * is caught, output goes where the trainer's goes), then writes `script.createCachedData()`:
 * the top level and every function those runs compiled, and beside it `OUT_CACHE.exit.json`,
 * the runs' exit codes.
 *
 * @example
 * ```ts
 * import { trainerSource } from "./node_sea.ts";
 * await Deno.writeTextFile("/tmp/train.cjs", trainerSource({ ascii: true }));
 * ```
 */
export function trainerSource(opts: { ascii: boolean }): string {
  return `"use strict";
const fs = require("node:fs");
const { Script } = require("node:vm");
const [file, out, sets] = process.argv.slice(2);
const script = new Script(fs.readFileSync(file, ${
    JSON.stringify(opts.ascii ? "latin1" : "utf8")
  }), { filename: ${JSON.stringify(BUNDLE_ASSET)} });
const main = script.runInThisContext();
const exit = process.exit;
const argv0 = process.argv[0];
const codes = [];
(async () => {
  for (const args of JSON.parse(sets)) {
    process.argv = [argv0, "kars", ...args];
    const code = await new Promise((resolve) => {
      process.exit = resolve;
      const mod = { exports: {} };
      main(mod.exports, require, mod, "kars.cjs", ".");
    });
    process.exit = exit;
    codes.push(code);
    process.stderr.write("trained: kars " + args.join(" ") + " (exit " + code + ")\\n");
  }
  fs.writeFileSync(out, script.createCachedData());
  fs.writeFileSync(out + ".exit.json", JSON.stringify(codes));
  exit(0);
})().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + "\\n");
  exit(1);
});
`;
}
