/**
 * `egress(plan, deps)` as a library (issue 12 item 1): a plan built by hand — no flags, no
 * argv — pushes to a Target the caller opened and hands the patch back; warnings carry the plan
 * input they are about; a plan that cannot be carried out is refused in library terms.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { egress } from "../../lib/workflow/egress.ts";
import type { EgressPlan } from "../../lib/workflow/plan.ts";
import { LayoutTarget } from "../../lib/oci/layout.ts";
import { isKarsError } from "../../lib/errors.ts";
import { runKars } from "../support/cli.ts";

const BASIC = new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname;

function planFor(dir: string, over: Partial<EgressPlan> = {}): EgressPlan {
  return {
    sandbox: { name: "basic" },
    repository: "policy/egress-allowlist/basic",
    source: { kind: "text", label: "basic.yaml", read: () => Deno.readTextFile(BASIC) },
    change: { enforce: true, approve: [], deny: ["absent.example"] },
    target: {
      target: new LayoutTarget(join(dir, "layout")),
      name: "oci:layout",
      refRegistry: "registry.example",
      layout: true,
    },
    trustedRoot: () => Promise.reject(new Error("no trust material is needed unsigned")),
    sink: { kind: "stdout" },
    ...over,
  };
}

Deno.test("egress(plan): an unsigned push to a caller's layout returns the patch document", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-plan-" });
  try {
    const warnings: Array<[string, string | undefined]> = [];
    const r = await egress(planFor(dir), {
      logger: { warn: (line, option) => warnings.push([line, option]) },
    });
    assert.equal(r.patched, false);
    assert.equal(r.signer, null);
    assert.equal(r.registry, "oci:layout");
    assert.equal(r.reference, `registry.example/policy/egress-allowlist/basic@${r.digest}`);
    assert.ok(r.document?.includes(`digest: ${r.digest}`), r.document);
    assert.deepEqual(warnings, [["absent.example: not in the allowlist; nothing removed", "deny"]]);
    // The artifact is in the layout under `latest`.
    const layout = new LayoutTarget(join(dir, "layout"));
    const latest = await layout.fetchManifest("latest");
    assert.equal(latest.descriptor.digest, r.digest);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("egress(plan): a document source cannot be patched live (INPUT, option sink)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-plan-" });
  try {
    await assert.rejects(
      egress(planFor(dir, { sink: { kind: "cluster" } }), {}),
      (e) => isKarsError(e, "INPUT") && e.details?.option === "sink" && !/--[a-z]/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("egress(plan): what the plan alone rules out is refused before the sandbox, policy or previous allowlist is read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-plan-" });
  try {
    let reads = 0;
    const source = {
      kind: "text" as const,
      label: "basic.yaml",
      read: () => (reads++, Deno.readTextFile(BASIC)),
    };
    const verification = {
      label: "policy.yaml",
      policy: () => (reads++, Promise.reject(new Error("not to be read"))),
    } as unknown as EgressPlan["verification"];
    await assert.rejects(
      egress(planFor(dir, { source, sink: { kind: "cluster" }, verification }), {}),
      (e) => isKarsError(e, "INPUT") && e.details?.option === "sink",
    );
    await assert.rejects(
      egress(planFor(dir, { source, target: undefined, verification }), {}),
      (e) => isKarsError(e, "INPUT") && e.details?.option === "registry",
    );
    assert.equal(reads, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kars egress --dry-run without a registry: the plan still names the repository", async () => {
  const r = await runKars([
    "egress",
    "basic",
    "--from-file",
    BASIC,
    "--enforce",
    "--dry-run",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.registry, null);
  assert.equal(out.repository, "policy/egress-allowlist/basic");
});
