/**
 * Verifier throughput in one bench run, against the baseline: `bench/verdict_runner.ts` runs in
 * this tree and in an export of the baseline commit (the start of this round of work), for 1,
 * 50 and 5,000 distinct keyless allowlists (`deno task bench` stops at 500: signing 5,000 with
 * the mock takes minutes per tree). Reports distinct verdicts/s (no cache) and cached
 * verdicts/s for both, and their ratio. Used by `bench/run.ts` (section "Verifier
 * throughput"); runnable alone:
 * `deno run -A bench/verdicts.ts [--baseline REV] [--max N | --sizes 1,50,500] [--reps 3]`.
 * Each tree runs `reps` times per size, alternately; figures are medians.
 *
 * @module
 */
import { join } from "node:path";
import { median } from "./harness.ts";

/** The commit this round of work started from (what "today's rate" means in issue 15). */
export const BASELINE = "8be6311";

interface RunnerResult {
  n: number;
  distinct: number;
  distinctCpu: number;
  cached: number;
  cachedCpu: number;
  setupMs: number;
}

/**
 * Runs `bench/verdict_runner.ts` of the tree at `root` (its own deno.json) for `n` allowlists
 * and `rounds` rounds, with extra `deno run` flags (e.g. `--cpu-prof`); resolves to its stdout.
 *
 * @example
 * ```ts
 * import { spawnVerdictRunner } from "./verdicts.ts";
 * // const out = await spawnVerdictRunner(".", 50, 3);
 * ```
 */
export async function spawnVerdictRunner(
  root: string,
  n: number,
  rounds: number,
  flags: string[] = [],
): Promise<string> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      "--frozen",
      "--config",
      join(root, "deno.json"),
      ...flags,
      join(root, "bench", "verdict_runner.ts"),
      String(n),
      String(rounds),
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!o.success) {
    throw new Error(
      `verdict runner (${root}) failed: ${new TextDecoder().decode(o.stderr).slice(-400)}`,
    );
  }
  return new TextDecoder().decode(o.stdout);
}

async function runner(root: string, n: number, rounds: number): Promise<RunnerResult> {
  const out = await spawnVerdictRunner(root, n, rounds);
  return JSON.parse(out.trim().split("\n").pop()!);
}

/** Each figure's median over runs (taken separately per figure). */
function medianResult(runs: RunnerResult[]): RunnerResult {
  const med = (k: keyof RunnerResult) => median(runs.map((r) => r[k]));
  return {
    n: runs[0].n,
    distinct: med("distinct"),
    distinctCpu: med("distinctCpu"),
    cached: med("cached"),
    cachedCpu: med("cachedCpu"),
    setupMs: med("setupMs"),
  };
}

/**
 * Exports `rev` of the repository at `root` into a temporary directory (with this tree's
 * runner copied in). Returns the directory, or throws when the commit is not in the history.
 *
 * @example
 * ```ts
 * import { BASELINE, exportRevision } from "./verdicts.ts";
 * // const dir = await exportRevision(".", BASELINE); … await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function exportRevision(root: string, rev: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kars-baseline-" });
  const archive = await new Deno.Command("git", {
    args: ["-C", root, "archive", "--format=tar", rev],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!archive.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`git archive ${rev}: ${new TextDecoder().decode(archive.stderr).trim()}`);
  }
  const tar = new Deno.Command("tar", { args: ["-x", "-C", dir], stdin: "piped" }).spawn();
  const w = tar.stdin.getWriter();
  await w.write(archive.stdout);
  await w.close();
  if (!(await tar.status).success) throw new Error("tar -x of the baseline failed");
  await Deno.copyFile(
    join(root, "bench", "verdict_runner.ts"),
    join(dir, "bench", "verdict_runner.ts"),
  );
  return dir;
}

/**
 * Measures and returns Markdown lines.
 *
 * @example
 * ```ts
 * import { runVerdictBench } from "./verdicts.ts";
 * // console.log((await runVerdictBench({ root: ".", sizes: [1, 50] })).join("\n"));
 * ```
 */
export async function runVerdictBench(
  opts: { root: string; sizes?: number[]; baseline?: string; reps?: number },
): Promise<string[]> {
  const sizes = opts.sizes ?? [1, 50, 5000];
  const reps = opts.reps ?? 3;
  const rev = opts.baseline ?? BASELINE;
  let base: string | undefined;
  let baseError = "";
  try {
    base = await exportRevision(opts.root, rev);
  } catch (e) {
    baseError = (e as Error).message.split("\n")[0];
  }
  const rows = [
    `| distinct allowlists | distinct verdicts per CPU-s (now) | baseline ${rev} | ratio | same, per wall-s (now / baseline) | cached verdicts per CPU-s (now) | baseline | set-up (signing, mock) |`,
    "|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  try {
    for (const n of sizes) {
      // Enough verifications per size for a stable rate, few enough to keep the bench short.
      const rounds = Math.max(1, Math.ceil(200 / n));
      // Alternate the two trees, several times, so drift in machine load hits both alike;
      // each figure is the median of its runs.
      const nows: RunnerResult[] = [];
      const thens: RunnerResult[] = [];
      for (let i = 0; i < reps; i++) {
        nows.push(await runner(opts.root, n, rounds));
        const t = base ? await runner(base, n, rounds).catch(() => undefined) : undefined;
        if (t) thens.push(t);
      }
      const now = medianResult(nows);
      const then = thens.length ? medianResult(thens) : undefined;
      const f = (x: number) => Math.round(x).toLocaleString("en-US");
      const cells = [
        n.toLocaleString("en-US"),
        f(now.distinctCpu),
        then ? f(then.distinctCpu) : "—",
        then ? `${(now.distinctCpu / then.distinctCpu).toFixed(2)}×` : "—",
        `${f(now.distinct)} / ${then ? f(then.distinct) : "—"}`,
        f(now.cachedCpu),
        then ? f(then.cachedCpu) : "—",
        `${(now.setupMs / 1000).toFixed(1)} s`,
      ];
      rows.push(`| ${cells.join(" | ")} |`);
    }
  } finally {
    if (base) await Deno.remove(base, { recursive: true });
  }
  const out = [...rows, ""];
  if (!base) out.push(`Baseline not measured: ${baseError}`, "");
  out.push(
    "Rates per CPU-second of the verifying process (user + system time), which a busy machine " +
      "disturbs far less than wall time; wall-clock rates beside them. " +
      "Distinct: each allowlist verified without a cache (manifest re-hash, canonical parse, " +
      "Fulcio chain, SCT, Rekor SET, signature, policy). Cached: the same digest and policy " +
      "again through `VerdictCache`. Both trees run the same runner script in the same bench run, " +
      `alternately, ${reps} times each; every figure is the median of its runs.`,
    "",
  );
  return out;
}

if (import.meta.main) {
  const args = Deno.args;
  const max = args.includes("--max") ? Number(args[args.indexOf("--max") + 1]) : 5000;
  const baseline = args.includes("--baseline") ? args[args.indexOf("--baseline") + 1] : undefined;
  // --sizes 1,50,500 measures exactly those (what `deno task bench` records).
  const reps = args.includes("--reps") ? Number(args[args.indexOf("--reps") + 1]) : undefined;
  if (reps !== undefined && !(Number.isSafeInteger(reps) && reps >= 1 && reps <= 20)) {
    throw new Error("--reps takes a count from 1 to 20");
  }
  const sizes = args.includes("--sizes")
    ? args[args.indexOf("--sizes") + 1].split(",").map(Number)
    : [1, 50, 5000].filter((n) => n <= max);
  if (!sizes.every((n) => Number.isSafeInteger(n) && n >= 1 && n <= 5000)) {
    throw new Error("--sizes takes a comma-separated list of counts from 1 to 5000");
  }
  const root = new URL("..", import.meta.url).pathname;
  console.log((await runVerdictBench({ root, baseline, sizes, reps })).join("\n"));
}
