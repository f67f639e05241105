/**
 * `deno task test`: every test file under `tests/` (what CI and the README run), files in
 * parallel (`deno test --parallel`: one worker per core, each file in its own isolate), the
 * slowest files first. `deno test` starts files in the order given and drops repeats, so
 * `SLOWEST tests/` runs exactly the files `deno test tests/` runs; starting the long ones first
 * keeps one of them from starting last and running alone while the other core idles.
 * A file of the list that no longer exists is left out (it has moved: it still runs from
 * `tests/`, only without its early start).
 *
 * Usage: `deno task test [deno test flags…]` (e.g. `--junit-path=suite.xml`, `--filter x`)
 *
 * @module
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The slowest files, slowest first (bench/RESULTS.md "Test suite", per-file times). */
export const SLOWEST: readonly string[] = [
  "tests/hostile/writes_test.ts",
  "tests/verify/sigstore/oracle_test.ts",
  "tests/verify/sigstore/runtime_test.ts",
  "tests/verify/sigstore/mutation_test.ts",
  "tests/ship/binary_test.ts",
  "tests/hostile/yaml_test.ts",
  "tests/cli/exit_codes_test.ts",
  "tests/verify/sigstore/verify_test.ts",
  "tests/workflow/idempotent_signing_test.ts",
  "tests/verify/verdict_test.ts",
  "tests/hostile/deadlines_test.ts",
  "tests/verify/signing_flow_test.ts",
];

if (import.meta.main) {
  const first = SLOWEST.filter((f) => existsSync(join(ROOT, f)));
  const p = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--frozen", "--parallel", ...Deno.args, ...first, "tests/"],
    cwd: ROOT,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  Deno.exit((await p.status).code);
}
