/**
 * Builds the self-contained `kars` binary offline: `deno bundle` of the Node entry
 * (`scripts/node_main.ts`) into one CommonJS file, then a Node single-executable
 * application (SEA): `node --experimental-sea-config` makes the preparation blob and
 * `postject` (npm) injects it into a copy of the running `node` binary. The bundle travels
 * as an asset with two V8 code caches trained at build time by running it
 * ({@link TRAINING_RUNS}); the SEA's main script is a small loader (scripts/node_sea.ts).
 *
 * `deno compile` (`deno task compile`) is the normal path for users with internet; it
 * downloads its `denort` runtime (or takes `DENORT_BIN`), which these machines cannot,
 * so CI uses this builder. `--builder bun` uses `bun build --compile` (bun from npm)
 * instead; see docs in the README section "Standalone binary".
 *
 * Usage: `deno task build:binary [--output dist/kars] [--builder sea|bun] [--entry FILE]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BUNDLE_ASSET,
  FAST_OUTPUTS,
  HELP_CACHE_ASSET,
  nonAscii,
  RUN_CACHE_ASSET,
  seaLoader,
  trainerSource,
  wrapCommonJs,
} from "./node_sea.ts";
import { startKeylessTraining } from "./node_sea_training.ts";

/** Pinned builder tools, fetched from npm through `npx`. */
export const POSTJECT = "postject@1.0.0-alpha.6";
/** Pinned bun version for `--builder bun`. */
export const BUN = "bun@1.4.4";
/** The fuse Node's SEA loader looks for (documented by Node for every release line). */
export const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/** Which offline builder makes the executable. */
export type Builder = "sea" | "bun";

/** Options of {@link buildBinary}. */
export interface BuildOptions {
  /** Output path of the executable (default `dist/kars` in the repository). */
  output?: string;
  /** `sea` (default) or `bun`. */
  builder?: Builder;
  /** Entry module (default `scripts/node_main.ts`). */
  entry?: string;
  /** Node executable whose copy becomes the binary (default `node` on PATH). */
  node?: string;
  /** Print progress to stderr (default true). */
  verbose?: boolean;
  /**
   * Keep the bundle readable (no minification; default false), with each module's path in a
   * comment, for CPU profiles (`KARS_CPU_PROFILE`, bench/cpu_profile.ts); writes it beside
   * the binary as `OUTPUT.cjs` too.
   */
  readable?: boolean;
}

/** What {@link buildBinary} produced. */
export interface BuildResult {
  /** Absolute path of the executable. */
  output: string;
  /** Size of the executable in bytes. */
  size: number;
  /** Size of the JavaScript bundle in bytes. */
  bundleSize: number;
  /** Wall time of the build in milliseconds. */
  ms: number;
  /** The builder used. */
  builder: Builder;
}

/** Repository root (this file is `scripts/build_binary.ts`). */
export const ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; verbose: boolean; env?: Record<string, string>; clearEnv?: boolean },
): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: opts.clearEnv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(
      `build step failed (exit ${out.code}): ${cmd} ${args.join(" ")}\n${stdout}${stderr}`,
    );
  }
  if (opts.verbose && stderr.trim()) {
    // postject prints harmless "Can't find string offset for section name '.note'" warnings
    // for Debian's node binary; keep only lines that are not those.
    const kept = stderr.split("\n").filter((l) => l.trim() && !/string offset for section/.test(l));
    if (kept.length) console.error(kept.join("\n"));
  }
  return stdout;
}

/**
 * Bundles `entry` (with the repository's import map and lockfile) into one file; `minify`
 * (the standalone binary's bundle) keeps function and class names.
 *
 * @example
 * ```ts
 * await bundle("scripts/node_main.ts", "/tmp/kars.cjs", "cjs");
 * ```
 */
export async function bundle(
  entry: string,
  outFile: string,
  format: "cjs" | "esm",
  verbose = false,
  minify = false,
): Promise<number> {
  await run(Deno.execPath(), [
    "bundle",
    "--quiet",
    "--frozen",
    // Minified (names kept: error and class names stay as written): a smaller script for the
    // SEA's code cache to check and deserialize. Measured on Node 20: `kars --help` 58 → 47 ms
    // of CPU per run (bare `node -e 0`: 35 ms), the bundle 3.2 → 1.8 MiB.
    ...(minify ? ["--minify", "--keep-names"] : []),
    "--format",
    format,
    "--platform",
    "deno",
    "--output",
    outFile,
    resolve(ROOT, entry),
  ], { cwd: ROOT, verbose });
  return (await Deno.stat(outFile)).size;
}

/**
 * The command lines the run cache is trained on, each run in a scratch directory holding
 * `sandbox.yaml` (examples/sandbox.yaml): offline, deterministic, and covering the main job's
 * in-process work (YAML, canonical form, digests, OCI layout, signing, verification).
 */
export const TRAINING_RUNS: readonly (readonly string[])[] = [
  ["--help"],
  ["egress", "my-agent", "--from-file", "sandbox.yaml", "--enforce", "--dry-run"],
  ["demo", "--dir", "demo-out"],
];

/**
 * Makes the SEA's assets from the CommonJS bundle `js`: the wrapped bundle and its two code
 * caches, trained by running `node` (the binary's own runtime) on {@link TRAINING_RUNS} and
 * the keyless flow against loopback services (scripts/node_sea_training.ts; help cache:
 * `--help` only), and the fast path's outputs (`--help`, `--version`, as the
 * bundle prints them). Returns the asset map for `sea.json`, whether the bundle is ASCII and
 * whether the fast path can be used.
 *
 * @example
 * ```ts
 * const { files } = await prepareSeaAssets("node", "/tmp/b/kars.cjs", "/tmp/b", false);
 * ```
 */
export async function prepareSeaAssets(
  node: string,
  js: string,
  work: string,
  verbose: boolean,
): Promise<{ files: Record<string, string>; ascii: boolean; fast: boolean }> {
  const text = await Deno.readTextFile(js);
  const odd = nonAscii(text);
  if (odd.length && verbose) {
    console.error(
      `warning: the bundle is not ASCII (loads as a two-byte string, slower); write these as \\u escapes in the source:\n${
        odd.map((o) => `  ${JSON.stringify(o.char)} in …${o.context}…`).join("\n")
      }`,
    );
  }
  const ascii = odd.length === 0;
  const wrapped = join(work, BUNDLE_ASSET);
  await Deno.writeTextFile(wrapped, wrapCommonJs(text));
  const trainer = join(work, "trainer.cjs");
  await Deno.writeTextFile(trainer, trainerSource({ ascii }));
  const scratch = join(work, "training");
  const train = async (
    out: string,
    runs: readonly (readonly string[])[],
    extra: { env?: Record<string, string>; prepare?: (dir: string) => Promise<void> } = {},
  ) => {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
    await Deno.mkdir(scratch);
    await Deno.copyFile(join(ROOT, "examples", "sandbox.yaml"), join(scratch, "sandbox.yaml"));
    await extra.prepare?.(scratch);
    if (verbose) console.error(`training ${out.split("/").pop()} on ${runs.length} run(s)`);
    // A clean environment, as `env -i`: no credentials or proxies reach the training runs.
    const stdout = await run(node, [trainer, wrapped, out, JSON.stringify(runs)], {
      cwd: scratch,
      verbose: false,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        NO_COLOR: "1",
        DOCKER_CONFIG: join(scratch, "docker"),
        ...extra.env,
      },
      clearEnv: true,
    });
    await Deno.remove(scratch, { recursive: true });
    const exits: number[] = JSON.parse(await Deno.readTextFile(`${out}.exit.json`));
    return { stdout, exits };
  };
  const help = join(work, HELP_CACHE_ASSET);
  const all = join(work, RUN_CACHE_ASSET);
  const files: Record<string, string> = {
    [BUNDLE_ASSET]: wrapped,
    [HELP_CACHE_ASSET]: help,
    [RUN_CACHE_ASSET]: all,
  };
  // The fast path's outputs are what the bundle printed for them here (exit 0 required).
  const helpRun = await train(help, [[FAST_OUTPUTS.help.args[0]]]);
  const versionRun = await train(join(work, "version.cache"), [[FAST_OUTPUTS.version.args[0]]]);
  let fast = true;
  for (
    const [f, r] of [[FAST_OUTPUTS.help, helpRun], [FAST_OUTPUTS.version, versionRun]] as const
  ) {
    if (r.exits.join() !== "0" || !r.stdout) fast = false;
    await Deno.writeTextFile(join(work, f.asset), r.stdout);
    files[f.asset] = join(work, f.asset);
  }
  if (!fast && verbose) console.error("warning: no fast path (a help or version run failed)");
  // The keyless flow too (fresh and repeat), against loopback services in this process.
  const keyless = await startKeylessTraining().catch((e) => {
    if (verbose) console.error(`warning: no keyless training runs (${e})`);
    return undefined;
  });
  try {
    const runs = [...TRAINING_RUNS, ...(keyless?.runs ?? [])];
    const trained = await train(all, runs, { env: keyless?.env, prepare: keyless?.prepare });
    const offline = trained.exits.slice(0, TRAINING_RUNS.length);
    if (offline.some((c) => c !== 0)) {
      throw new Error(`a training run failed (exit codes ${trained.exits.join(", ")})`);
    }
    if (trained.exits.some((c) => c !== 0) && verbose) {
      console.error(`warning: a keyless training run failed (exit codes ${trained.exits})`);
    }
  } finally {
    await keyless?.stop();
  }
  return { files, ascii, fast };
}

/**
 * Builds the standalone executable. Writes to a temporary file beside `output` and
 * renames it into place, so a failed build never leaves a half-written binary.
 *
 * @example
 * ```ts
 * const r = await buildBinary({ output: "dist/kars" });
 * console.log(r.output, r.size);
 * ```
 */
export async function buildBinary(options: BuildOptions = {}): Promise<BuildResult> {
  const t0 = performance.now();
  const verbose = options.verbose ?? true;
  const builder = options.builder ?? "sea";
  const output = resolve(ROOT, options.output ?? "dist/kars");
  const entry = options.entry ?? "scripts/node_main.ts";
  await Deno.mkdir(dirname(output), { recursive: true });
  const work = await Deno.makeTempDir({ dir: dirname(output), prefix: ".kars-build-" });
  try {
    const tmpOut = join(work, "kars");
    let bundleSize: number;
    if (builder === "sea") {
      const js = join(work, "kars.cjs");
      if (verbose) console.error(`bundling ${entry} → CommonJS`);
      bundleSize = await bundle(entry, js, "cjs", verbose, !options.readable);
      if (options.readable) await Deno.copyFile(js, `${output}.cjs`);
      const node = options.node ?? "node";
      const assets = await prepareSeaAssets(node, js, work, verbose);
      const blob = join(work, "kars.blob");
      const main = join(work, "main.cjs");
      await Deno.writeTextFile(main, seaLoader({ ascii: assets.ascii, fast: assets.fast }));
      await Deno.writeTextFile(
        join(work, "sea.json"),
        JSON.stringify({
          main,
          output: blob,
          disableExperimentalSEAWarning: true,
          // The loader's own top level; the bundle has its trained caches (node_sea.ts).
          useCodeCache: true,
          assets: assets.files,
        }),
      );
      if (verbose) {
        console.error("making the SEA preparation blob (node --experimental-sea-config)");
      }
      await run(node, ["--experimental-sea-config", join(work, "sea.json")], {
        cwd: work,
        verbose: false,
      });
      const nodePath = (await run(node, ["-p", "process.execPath"], { verbose: false })).trim();
      await Deno.copyFile(nodePath, tmpOut);
      await Deno.chmod(tmpOut, 0o755);
      if (verbose) console.error(`injecting into a copy of ${nodePath} (${POSTJECT})`);
      await run("npx", [
        "-y",
        POSTJECT,
        tmpOut,
        "NODE_SEA_BLOB",
        blob,
        "--sentinel-fuse",
        SEA_FUSE,
      ], { cwd: work, verbose });
    } else {
      const js = join(work, "kars.mjs");
      if (verbose) console.error(`bundling ${entry} → ESM`);
      bundleSize = await bundle(entry, js, "esm", verbose);
      if (verbose) console.error(`compiling with ${BUN} build --compile`);
      await run("npx", ["-y", "-p", BUN, "bun", "build", "--compile", "--outfile", tmpOut, js], {
        cwd: work,
        verbose,
      });
    }
    await Deno.rename(tmpOut, output);
    const size = (await Deno.stat(output)).size;
    return { output, size, bundleSize, ms: performance.now() - t0, builder };
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      output: { type: "string", short: "o" },
      builder: { type: "string" },
      entry: { type: "string" },
      readable: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno task build:binary [--output dist/kars] [--builder sea|bun] [--entry FILE] " +
        "[--readable]",
    );
    Deno.exit(0);
  }
  const builder = values.builder ?? "sea";
  if (builder !== "sea" && builder !== "bun") {
    console.error(`--builder must be sea or bun, not ${JSON.stringify(builder)}`);
    Deno.exit(2);
  }
  try {
    const r = await buildBinary({
      output: values.output,
      builder,
      entry: values.entry,
      readable: values.readable,
    });
    console.error(
      `built ${r.output} (${r.builder}): ${(r.size / 1048576).toFixed(1)} MiB, bundle ${
        (r.bundleSize / 1024).toFixed(0)
      } KiB, in ${(r.ms / 1000).toFixed(1)} s`,
    );
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
