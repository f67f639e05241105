/**
 * Child process for tests/hostile/yaml_test.ts: runs one reader on one input file and prints
 * `{ ok, code, error, ms, hwmKiB }` as JSON — `ms` the fastest of two runs of the operation,
 * `hwmKiB` this process's peak resident memory (VmHWM from /proc/self/status) after the first.
 *
 * Usage: deno run -A tests/hostile/yaml_probe.ts MODE FILE [CLI ARGS...]
 *   MODE: yaml | policy | kubeconfig | cli (FILE is then substituted for `@` in the args)
 */
import { parseYamlDocuments, readInputText } from "../../lib/encoding/yaml_read.ts";
import { parseSignerPolicy } from "../../lib/verify/policy_parse.ts";
import { loadKubeConfig } from "../../lib/kube/kubeconfig.ts";
import { runKars } from "../support/cli.ts";

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
let hwmKiB = NaN;
let result: { ok: boolean; code?: number; error?: string } = { ok: false };
for (let i = 0; i < 2; i++) {
  const t0 = performance.now();
  result = await once();
  best = Math.min(best, performance.now() - t0);
  if (i === 0) hwmKiB = hwm(); // peak of one run (the second run is for timing only)
}
console.log(JSON.stringify({ ...result, ms: best, hwmKiB }));
