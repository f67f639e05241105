/**
 * Bundles library modules for Node (`deno bundle --platform=node`), as the runtime tests under
 * Node load them: `exports` maps each lib/-relative module to the names it re-exports.
 *
 * @module
 */
import assert from "assert";
import { fileURLToPath } from "node:url";

const LIB = new URL("../../lib/", import.meta.url);
const DENO_JSON = fileURLToPath(new URL("../../deno.json", import.meta.url));

/**
 * Writes `dir/entry.ts` re-exporting `exports` and bundles it to `dir/bundle.mjs` (asserts
 * success, with deno's stderr as the message).
 */
export async function bundleLibForNode(
  dir: string,
  exports: Record<string, string[]>,
): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/entry.ts`,
    Object.entries(exports).map(([path, names]) =>
      `export { ${names.join(", ")} } from "${new URL(path, LIB).href}";`
    ).join("\n") + "\n",
  );
  const b = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--frozen",
      "--config",
      DENO_JSON,
      "--platform=node",
      "--format=esm",
      "-o",
      `${dir}/bundle.mjs`,
      `${dir}/entry.ts`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(b.success, new TextDecoder().decode(b.stderr));
}
