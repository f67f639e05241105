/**
 * Child process for tests/hostile/yaml_test.ts: runs one reader on one input file and prints
 * `{ ok, code, error, ms, wallMs, hwmKiB }` as JSON — `ms` the CPU time (user + system) of the
 * cheaper of two runs of the operation (the work it did: a loaded machine stretches wall time
 * far more than CPU time), `wallMs` the wall time of the faster run, `hwmKiB` this process's
 * peak resident memory (VmHWM from /proc/self/status) after the first.
 *
 * Usage: deno run -A tests/hostile/yaml_probe.ts MODE FILE [CLI ARGS...]
 *   MODE: yaml | policy | kubeconfig | cli (FILE is then substituted for `@` in the args)
 */
import { parseYamlDocuments, readInputText } from "../../lib/encoding/yaml_read.ts";
import { parseSignerPolicy } from "../../lib/verify/policy_parse.ts";
import { loadKubeConfig } from "../../lib/kube/kubeconfig.ts";
import { runKars } from "../support/cli.ts";
import process from "node:process";

const [mode, file, ...rest] = Deno.args;

async function once(): Promise<{ ok: boolean; code?: number; error?: string }> {
  try {
    switch (mode) {
      case "yaml":
        parseYamlDocuments(await readInputText(file), file);
        return { ok: true };
      case "policy":
        parseSignerPolicy(await Deno.readFile(file), file);
        return { ok: true };
      case "kubeconfig":
        await loadKubeConfig({ kubeconfig: file, env: {} });
        return { ok: true };
      case "cli": {
        const r = await runKars(rest.map((a) => (a === "@" ? file : a)), { env: {} });
        return { ok: r.code === 0, code: r.code, error: r.stderr.slice(0, 600) };
      }
      default:
        throw new Error(`unknown mode ${mode}`);
    }
  } catch (e) {
    return { ok: false, error: String(e).slice(0, 600) };
  }
}

const hwm = () =>
  Number(/VmHWM:\s+(\d+)\s+kB/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1] ?? NaN);
let best = Infinity;
let bestWall = Infinity;
let hwmKiB = NaN;
let result: { ok: boolean; code?: number; error?: string } = { ok: false };
for (let i = 0; i < 2; i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  result = await once();
  const c = process.cpuUsage(c0);
  best = Math.min(best, (c.user + c.system) / 1000);
  bestWall = Math.min(bestWall, performance.now() - t0);
  if (i === 0) hwmKiB = hwm(); // peak of one run (the second run is for timing only)
}
console.log(JSON.stringify({ ...result, ms: best, wallMs: bestWall, hwmKiB }));
