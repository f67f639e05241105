/**
 * The test suite as a measurement: runs `deno task test` (or `test:unit`) N times in a row and
 * prints, per run, the result line, wall time and peak resident memory of the whole process
 * tree (GNU time's maximum RSS of the largest process, via `/usr/bin/time -f %M`) and the
 * load average when it ended (the machine is shared: compare runs made under the same load).
 * A flaky test shows up as a failing run, with the failing tests' names printed under the
 * table and the run's whole output kept in a temp file; the table goes into bench/RESULTS.md by hand. The issue's "10 consecutive runs" is
 * `deno run -A bench/suite.ts --runs 10` (exit 0 only when every run passed).
 *
 * Usage: `deno run -A bench/suite.ts [--runs 10] [--task test|test:unit|test:ship]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "1" }, task: { type: "string", default: "test" } },
});
const runs = Number(values.runs);
const task = values.task!;
if (!Number.isSafeInteger(runs) || runs < 1 || runs > 100) {
  console.error("--runs must be an integer from 1 to 100");
  Deno.exit(2);
}
const loadavg = async () =>
  (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ")[0];
const rows: string[] = [
  `| run | result (\`deno task ${task}\`) | wall | peak RSS (largest process) | load at end |`,
  "|--:|---|--:|--:|--:|",
];
const failures: string[] = [];
let failed = 0;
for (let i = 1; i <= runs; i++) {
  const t0 = performance.now();
  const o = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "KARS_SUITE_MAXRSS_KB=%M", Deno.execPath(), "task", task],
    cwd: ROOT,
    env: { ...Deno.env.toObject(), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  const out = new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr);
  const summary = out.match(/^(ok|FAILED) \| .*$/m)?.[0] ?? `no summary (exit ${o.code})`;
  const kb = Number(out.match(/KARS_SUITE_MAXRSS_KB=(\d+)/)?.[1] ?? NaN);
  if (!o.success) {
    failed++;
    // The default reporter's failure list: "name => ./tests/x_test.ts:12:6".
    const names = [...new Set([...out.matchAll(/^(.+ => \.\/\S+)$/gm)].map((m) => m[1]))];
    const log = await Deno.makeTempFile({ prefix: `kars-suite-run${i}-`, suffix: ".log" });
    await Deno.writeTextFile(log, out);
    failures.push(
      `run ${i}: ${names.length ? names.join("; ") : "no test named"} (output: ${log})`,
    );
  }
  // "ok | 510 passed (255 steps) | 0 failed (6m14s)" → "ok: 510 passed (255 steps), 0 failed"
  const result = summary.replace(/\s*\(\d+(m|s|ms)[^)]*\)$/, "").replace(" | ", ": ").replace(
    / \| /g,
    ", ",
  );
  const line = `| ${i} | ${result} | ${(ms / 1000).toFixed(0)} s | ${
    (kb / 1024).toFixed(0)
  } MiB | ${await loadavg()} |`;
  rows.push(line);
  console.error(line);
}
console.log(
  [...rows, "", `${runs - failed} of ${runs} consecutive runs passed.`, ...failures].join("\n"),
);
Deno.exit(failed === 0 ? 0 : 1);
