/**
 * Node import check (`deno task check:node`): bundles the library entry
 * (`scripts/node_lib.ts`: `mod.ts` and the subpath faces) with `deno bundle`, runs
 * `scripts/node_check.mjs` under Node 20 on the bundle, runs the same checks under Deno on
 * the entry itself, and fails unless both succeed with byte-identical results.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundle } from "./build_binary.ts";
import { runChecks } from "./node_check.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Result of {@link nodeCheck}. */
export interface NodeCheckResult {
  /** JSON printed by the Node run. */
  node: string;
  /** JSON of the same checks under Deno. */
  deno: string;
  /** Size of the ESM bundle of the library entry in bytes. */
  bundleSize: number;
  /** `node --version`. */
  nodeVersion: string;
}

/**
 * Runs the check; throws when Node fails or the results differ.
 *
 * @example
 * ```ts
 * const r = await nodeCheck({ entry: Deno.args[0] });
 * console.log(r.nodeVersion, r.bundleSize);
 * ```
 */
export async function nodeCheck(
  options: { node?: string; entry?: string } = {},
): Promise<NodeCheckResult> {
  const node = options.node ?? "node";
  const entry = options.entry ?? "scripts/node_lib.ts";
  const dir = await Deno.makeTempDir({ prefix: "kars-node-check-" });
  try {
    const out = join(dir, "mod.mjs");
    const bundleSize = await bundle(entry, out, "esm");
    const conformance = resolve(ROOT, "testdata", "conformance");
    const run = await new Deno.Command(node, {
      args: [join(ROOT, "scripts", "node_check.mjs"), out, conformance],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    if (!run.success) {
      throw new Error(`node check failed under Node (exit ${run.code}):\n${stderr}`);
    }
    const nodeJson = new TextDecoder().decode(run.stdout).trim();
    const mod = await import(pathToFileURL(resolve(ROOT, entry)).href);
    const denoJson = JSON.stringify(
      await runChecks(mod as unknown as Record<string, unknown>, {
        readFile: (p: string) => Deno.readFile(p),
        conformanceDir: conformance,
      }),
    );
    if (nodeJson !== denoJson) {
      throw new Error(`Node and Deno results differ:\nnode: ${nodeJson}\ndeno: ${denoJson}`);
    }
    const v = await new Deno.Command(node, { args: ["--version"], stdout: "piped" }).output();
    return {
      node: nodeJson,
      deno: denoJson,
      bundleSize,
      nodeVersion: new TextDecoder().decode(v.stdout).trim(),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  try {
    const r = await nodeCheck({ entry: Deno.args[0] });
    console.log(r.node);
    console.error(
      `node check passed on ${r.nodeVersion} (bundle ${(r.bundleSize / 1024).toFixed(0)} KiB); ` +
        "Node and Deno agree",
    );
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
