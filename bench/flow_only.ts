/**
 * Just the end-to-end flow of `bench/run.ts` (kars under `deno run` and as the standalone
 * binary, interleaved with `skopeo copy`), for quick iteration on issue 15's flow ratios.
 * Not part of the package.
 *
 * `deno run -A bench/flow_only.ts [--binary dist/kars] [--runs 7] [--profile]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { runFlowBench } from "./flow.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    binary: { type: "string" },
    runs: { type: "string", default: "7" },
    profile: { type: "boolean", default: false },
  },
});
const lines = await runFlowBench({
  root: resolve(import.meta.dirname!, ".."),
  runs: Number(values.runs),
  binary: values.binary ? resolve(values.binary) : undefined,
  profile: values.profile,
});
console.log(lines.join("\n"));
