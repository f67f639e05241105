/**
 * What `kars egress` loads before it runs (issue 15): the static import graph of the command
 * (`deno info --json`, dynamic imports not followed) holds none of the code only some runs need —
 * the verifier (own-signature lookup, verification after signing), key-file and KMS signers,
 * the browser sign-in (node:http), credential helpers (node:child_process), the OCI layout's
 * node:crypto and file lock. Each is imported where it is used.
 */
import assert from "assert";

const ROOT = new URL("../../", import.meta.url);

/** Specifiers reachable from `entry` through static imports (type-only imports excluded). */
async function staticGraph(entry: string): Promise<Set<string>> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--frozen", entry],
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
  const seen = new Set<string>([redirect(info.roots[0])]);
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
  return seen;
}

Deno.test("kars egress: the command's static graph leaves out what only some runs need", async () => {
  const graph = await staticGraph("lib/cli/egress.ts");
  const has = (suffix: string) => [...graph].some((s) => s.endsWith(suffix));
  // Sanity: the graph is the command's (the flow, the registry client, keyless signing).
  for (const needed of ["lib/workflow/egress.ts", "lib/oci/registry.ts", "lib/sign/keyless.ts"]) {
    assert.ok(has(needed), `${needed} should be in the graph`);
  }
  const lazy = [
    "lib/workflow/already_signed.ts",
    "lib/workflow/verify_step.ts",
    "lib/verify/verdict.ts",
    "lib/verify/both.ts",
    "lib/verify/controller_advice.ts",
    "lib/verify/policy_lint.ts",
    "lib/gitops/summary.ts",
    "lib/sign/keyfile.ts",
    "lib/sign/azure_kms.ts",
    "lib/sign/oidc_interactive.ts",
    "lib/oci/credential_helper.ts",
    "lib/oci/layout_hash.ts",
    "lib/io/lock.ts",
    "node:http",
    "node:child_process",
    "node:crypto",
    "node:os",
    "scrypt.js",
  ];
  assert.deepEqual(lazy.filter(has), [], "loaded by every egress run, though only some need it");
});
