/**
 * Builds the library for Node (`deno task build:lib`): one ESM file, `dist/kars-egress.mjs`,
 * bundled from `scripts/node_lib.ts` (the root `mod.ts` and every subpath face but `./cli`) with
 * the repository's import map and lockfile (`deno bundle`). The same bundle is what
 * `deno task check:node` runs under Node 20.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bundle } from "./build_binary.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

if (import.meta.main) {
  const out = resolve(ROOT, Deno.args[0] ?? "dist/kars-egress.mjs");
  await mkdir(dirname(out), { recursive: true });
  const size = await bundle("scripts/node_lib.ts", out, "esm");
  console.log(`wrote ${out} (${size} bytes)`);
}
