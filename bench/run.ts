/**
 * `deno task bench`: runs the bench files under `bench/` (timing their cases itself to get
 * medians), the start-up measurements (`kars --help` through `deno run` and through the
 * standalone binary) and the end-to-end flow against loopback docker-registry and the
 * `@sigstore/mock` services (next to `skopeo copy` of the same artifact), and writes
 * `bench/RESULTS.md`.
 *
 * Usage: `deno task bench [--quick] [--no-binary] [--no-flow] [--no-profile] [--no-verdicts] [--no-scale] [--output FILE]`
 *
 * Measurements, never assertions: a part that cannot run here (a tool missing, a feature
 * not landed yet) is reported as "not measured" with the reason, and the rest goes on.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchCase, type BenchResult, measure, median } from "./harness.ts";
import { buildBinary } from "../scripts/build_binary.ts";
import { runFlowBench } from "./flow.ts";
import { runVerdictBench } from "./verdicts.ts";
import { runScaleBench } from "./scale.ts";
import { runFloorBench } from "./floor.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BENCH_FILES = ["canonical_bench.ts", "digest_bench.ts", "sign_bench.ts", "verify_bench.ts"];

/** Formats milliseconds with a sensible unit. */
export function fmtMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 1) return `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`;
  if (ms >= 0.001) return `${(ms * 1000).toFixed(1)} µs`;
  return `${(ms * 1e6).toFixed(0)} ns`;
}

async function text(cmd: string, args: string[]): Promise<string> {
  try {
    const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(o.stdout).trim();
  } catch {
    return "";
  }
}

async function machine(): Promise<string[]> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "unknown";
  const memKb = Number(/^MemTotal:\s*(\d+)/m.exec(meminfo)?.[1] ?? 0);
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3);
  return [
    `- Load average at start (1/5/15 min): ${load.join(" / ") || "unknown"} — other work on` +
    " the machine inflates every figure below",
    `- CPU: ${model}, ${navigator.hardwareConcurrency} cores (nproc)`,
    `- Memory: ${(memKb / 1048576).toFixed(1)} GiB`,
    `- OS: ${Deno.build.os} ${Deno.build.arch}, kernel ${Deno.osRelease()}`,
    `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8}); Node ${
      (await text("node", ["--version"])) || "absent"
    }`,
    `- docker-registry: ${
      (await text("/usr/bin/docker-registry", ["--version"])) || "absent"
    }; skopeo: ${(await text("skopeo", ["--version"])) || "absent"}`,
  ];
}

async function loadCases(): Promise<{ cases: BenchCase[]; notes: string[] }> {
  const cases: BenchCase[] = [];
  const notes: string[] = [];
  for (const f of BENCH_FILES) {
    const path = join(ROOT, "bench", f);
    try {
      await Deno.stat(path);
    } catch {
      continue;
    }
    try {
      const mod = await import(`./${f}`);
      cases.push(...(mod.cases as BenchCase[]));
    } catch (e) {
      notes.push(`- \`bench/${f}\` not measured: ${firstLine(e)}`);
    }
  }
  return { cases, notes };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 200);
}

function microTable(results: BenchResult[]): string[] {
  const rows = [
    "| group | case | median / op | ops/s | per unit | samples × batch |",
    "|---|---|--:|--:|--:|--:|",
  ];
  for (const r of results) {
    const u = r.case.units;
    let perUnit = "";
    if (u?.label === "byte") {
      perUnit = `${(u.count / 1048576 / (r.medianMs / 1000)).toFixed(0)} MiB/s`;
    } else if (u) perUnit = `${fmtMs(r.medianMs / u.count)} / ${u.label}`;
    rows.push(
      `| ${r.case.group} | ${r.case.name} | ${fmtMs(r.medianMs)} | ${
        Math.round(1000 / r.medianMs).toLocaleString("en-US")
      } | ${perUnit} | ${r.samples} × ${r.ops / r.samples} |`,
    );
  }
  return rows;
}

/**
 * Runs a command `runs` times (after one warm-up) and returns the median and minimum wall
 * time in ms, or throws with the command's stderr when it fails.
 *
 * @example
 * ```ts
 * const { median } = await medianRun(["node", "-e", "0"], { runs: 5 });
 * ```
 */
export async function medianRun(
  argv: string[],
  opts: { runs?: number; env?: Record<string, string>; clearEnv?: boolean; cwd?: string } = {},
): Promise<{ median: number; min: number }> {
  const once = async () => {
    const t0 = performance.now();
    const o = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      env: opts.env,
      clearEnv: opts.clearEnv,
      cwd: opts.cwd,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const ms = performance.now() - t0;
    if (!o.success) {
      throw new Error(`${argv.join(" ")} exited ${o.code}: ${new TextDecoder().decode(o.stderr)}`);
    }
    return ms;
  };
  await once();
  const ts: number[] = [];
  for (let i = 0; i < (opts.runs ?? 15); i++) ts.push(await once());
  return { median: median(ts), min: Math.min(...ts) };
}

const both = (r: { median: number; min: number }) => `${fmtMs(r.median)} | ${fmtMs(r.min)}`;

async function startup(
  binary: { path: string; size: number; ms: number } | string | undefined,
  runs: number,
): Promise<string[]> {
  const out = [
    "| how | command | median wall time | fastest run |",
    "|---|---|--:|--:|",
  ];
  const empty = await Deno.makeTempDir({ prefix: "kars-bench-empty-" });
  let target = "";
  try {
    const deno = Deno.execPath();
    const d = await medianRun([deno, "run", "-A", "--frozen", join(ROOT, "cli.ts"), "--help"], {
      runs,
      cwd: ROOT,
    }).then(both, (e) => `not measured: ${firstLine(e)} |`);
    out.push(`| deno run | \`deno run -A cli.ts --help\` (warm cache) | ${d} |`);
    if (typeof binary === "string") {
      out.push(`| standalone | build failed | not measured: ${binary} | |`);
    } else if (binary) {
      const b = binary;
      const m = await medianRun([b.path, "--help"], { runs, clearEnv: true, cwd: empty })
        .catch((e) => firstLine(e));
      out.push(
        `| standalone (Node SEA, ${(b.size / 1048576).toFixed(1)} MiB, built in ${
          (b.ms / 1000).toFixed(1)
        } s) | \`env -i dist/kars --help\` from an empty directory | ${
          typeof m === "string" ? `not measured: ${m} |` : both(m)
        } |`,
      );
      if (typeof m !== "string") {
        target = `Target: standalone \`--help\` < 100 ms — measured ${fmtMs(m.median)} (${
          m.median < 100 ? "met" : `missed by ${fmtMs(m.median - 100)}`
        }; fastest run ${fmtMs(m.min)}).`;
      }
    }
    const n = await medianRun(["node", "-e", "0"], { runs, clearEnv: true, cwd: empty }).then(
      both,
      () => "n/a |",
    );
    out.push(`| reference | \`node -e 0\` (bare Node start) | ${n} |`);
    if (target) out.push("", target);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      "no-binary": { type: "boolean" },
      "no-flow": { type: "boolean" },
      "no-profile": { type: "boolean" },
      "no-verdicts": { type: "boolean" },
      "no-scale": { type: "boolean" },
      output: { type: "string" },
    },
  });
  const output = resolve(values.output ?? join(ROOT, "bench", "RESULTS.md"));
  const quick = values.quick ?? false;
  const t0 = performance.now();
  const lines: string[] = [
    "# Benchmark results",
    "",
    `Written by \`deno task bench${Deno.args.length ? " " + Deno.args.join(" ") : ""}\` ` +
    "(`bench/run.ts`). All figures are medians. Measurements only: no test asserts a time.",
    "",
    "## Machine",
    "",
    ...await machine(),
    "",
  ];

  console.error("micro benchmarks…");
  const { cases, notes } = await loadCases();
  const results: BenchResult[] = [];
  for (const c of cases) {
    results.push(await measure(c, quick ? { samples: 5, maxMs: 2000 } : {}));
    console.error(`  ${c.group}: ${c.name}: ${fmtMs(results[results.length - 1].medianMs)}`);
  }
  lines.push("## Library", "", ...microTable(results), ...(notes.length ? ["", ...notes] : []), "");
  const big = results.find((r) => r.case.name === "100,000 endpoints");
  if (big) {
    lines.push(
      `Target: 100,000 endpoints canonicalised and digested in < 0.5 s — measured ${
        fmtMs(big.medianMs)
      } (${big.medianMs < 500 ? "met" : `missed by ${fmtMs(big.medianMs - 500)}`}).`,
      "",
    );
  }

  console.error("building the standalone binary…");
  const binDir = await Deno.makeTempDir({ prefix: "kars-bench-bin-" });
  let binary: { path: string; size: number; ms: number } | string | undefined;
  if (!values["no-binary"]) {
    binary = await buildBinary({ output: join(binDir, "kars"), verbose: false }).then(
      (b) => ({ path: b.output, size: b.size, ms: b.ms }),
      (e) => firstLine(e),
    );
  }
  console.error("start-up…");
  lines.push(
    "## Start-up (`kars --help`)",
    "",
    ...await startup(binary, quick ? 5 : 15),
    "",
  );

  if (!values["no-verdicts"]) {
    console.error("verifier throughput (this tree and the baseline commit)…");
    lines.push(
      "## Verifier throughput",
      "",
      ...await runVerdictBench({ root: ROOT, sizes: quick ? [1, 50] : [1, 50, 500] }),
    );
  }

  if (!values["no-flow"]) {
    console.error("end-to-end flow…");
    lines.push(
      "## End-to-end flow",
      "",
      ...await runFlowBench({
        root: ROOT,
        runs: quick ? 1 : 11,
        binary: typeof binary === "object" ? binary.path : undefined,
        profile: !values["no-profile"],
      }),
      "",
    );
  }

  if (!values["no-flow"] && typeof binary === "object") {
    console.error("the floor of a run under Node, beside the binary and skopeo…");
    lines.push(
      "## The floor of a run under Node (`bench/floor.ts`)",
      "",
      ...await runFloorBench({ root: ROOT, runs: quick ? 3 : 7, binary: binary.path }),
      "",
    );
  }

  if (!values["no-scale"]) {
    console.error("scale: the canonical curve, the largest sandbox file, memory per command…");
    lines.push(
      ...await runScaleBench({
        runs: quick ? 1 : 3,
        binary: typeof binary === "object" ? binary.path : undefined,
      }),
    );
  }

  await Deno.remove(binDir, { recursive: true });
  const endLoad = (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ")[0];
  lines.push(`Whole bench: ${fmtMs(performance.now() - t0)}; load average at end: ${endLoad}.`, "");
  const tmp = `${output}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, lines.join("\n"));
  await Deno.rename(tmp, output);
  console.error(`wrote ${output}`);
}
