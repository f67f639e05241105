/**
 * The static import graph of a module (`deno info --json`, dynamic imports not followed,
 * redirects resolved): what evaluating it loads before any code of it runs.
 *
 * @module
 */
import assert from "assert";

const ROOT = new URL("../../", import.meta.url);

/**
 * Specifiers reachable from `entry` (a path relative to the repository, or a URL) through static
 * imports; the repository's own modules relative to its root (`lib/cli/egress.ts`).
 *
 * @example
 * ```ts
 * import { staticGraph } from "./static_graph.ts";
 * const graph = await staticGraph("cli.ts");
 * graph.includes("lib/cli/main.ts"); // true
 * ```
 */
export async function staticGraph(entry: string | URL): Promise<string[]> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--frozen", new URL(entry, ROOT).pathname],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(o.success, new TextDecoder().decode(o.stderr));
  const info = JSON.parse(new TextDecoder().decode(o.stdout)) as {
    roots: string[];
    redirects?: Record<string, string>;
    modules: {
      specifier: string;
      dependencies?: { isDynamic?: boolean; code?: { specifier: string } }[];
    }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const redirect = (s: string) => info.redirects?.[s] ?? s;
  const seen = new Set<string>(info.roots.map(redirect));
  const queue = [...seen];
  while (queue.length) {
    const m = bySpecifier.get(queue.shift()!);
    for (const d of m?.dependencies ?? []) {
      if (d.isDynamic || !d.code) continue;
      const t = redirect(d.code.specifier);
      if (!seen.has(t)) {
        seen.add(t);
        queue.push(t);
      }
    }
  }
  return [...seen].map((s) => s.replace(ROOT.href, ""));
}
