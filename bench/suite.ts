/**
 * The test suite as a measurement: runs `deno task test` (or `test:unit`) N times in a row and
 * prints, per run, the result line, wall time and peak resident memory of the whole process
 * tree (GNU time's maximum RSS of the largest process, via `/usr/bin/time -f %M`). A flaky
 * test shows up as a failing run; the table goes into bench/RESULTS.md by hand.
 *
 * Usage: `deno run -A bench/suite.ts [--runs 10] [--task test|test:unit]`
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
const rows: string[] = [
  `| run | result (\`deno task ${task}\`) | wall | peak RSS (largest process) |`,
  "|--:|---|--:|--:|",
];
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
  if (!o.success) failed++;
  // "ok | 510 passed (255 steps) | 0 failed (6m14s)" → "ok: 510 passed (255 steps), 0 failed"
  const result = summary.replace(/\s*\(\d+(m|s|ms)[^)]*\)$/, "").replace(" | ", ": ").replace(
    / \| /g,
    ", ",
  );
  const line = `| ${i} | ${result} | ${(ms / 1000).toFixed(0)} s | ${(kb / 1024).toFixed(0)} MiB |`;
  rows.push(line);
  console.error(line);
}
const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ")[0];
console.log([...rows, "", `${runs - failed} of ${runs} runs passed; load average at end ${load}.`]
  .join("\n"));
Deno.exit(failed === 0 ? 0 : 1);
