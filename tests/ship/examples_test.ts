/**
 * The CI and GitOps examples (issue 5): the committed emitted manifest is exactly what the
 * real emitters produce for `examples/sandbox.yaml`; `kubectl kustomize examples/gitops`
 * renders it with the SignerPolicy ConfigMap, and that policy admits the example workflow's
 * signer; the GitHub Actions workflow parses and has the promote and verify steps with
 * ambient OIDC.
 */
import assert from "assert";
import { parse, parseAllDocuments } from "yaml";
import { join } from "node:path";
import { ROOT } from "../../scripts/build_binary.ts";
import {
  EXAMPLE_MANIFEST,
  EXAMPLE_SIGNER,
  renderExampleManifest,
} from "../../scripts/gen_examples.ts";
import { needs } from "../support/docker_registry.ts";
import { matchIdentity } from "../../lib/verify/policy.ts";
import { parseSignerPolicy } from "../../lib/verify/policy_parse.ts";

const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";

Deno.test("examples/gitops manifest is what the real emitter writes", async () => {
  const committed = await Deno.readFile(join(ROOT, EXAMPLE_MANIFEST));
  const rendered = await renderExampleManifest();
  assert.equal(
    new TextDecoder().decode(committed),
    new TextDecoder().decode(rendered),
    "examples/gitops/my-agent-allowlist.yaml is stale: run deno run -A scripts/gen_examples.ts",
  );
});

Deno.test(
  "kubectl kustomize examples/gitops renders the sandbox patch and the SignerPolicy",
  needs("kubectl"),
  async (t) => {
    const o = await new Deno.Command("kubectl", {
      args: ["kustomize", join(ROOT, "examples", "gitops")],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(o.success, new TextDecoder().decode(o.stderr));
    const docs = parseAllDocuments(new TextDecoder().decode(o.stdout)).map((d) => d.toJS());
    const sandbox = docs.find((d) => d.kind === "KarsSandbox");
    const cm = docs.find((d) => d.kind === "ConfigMap");
    assert.ok(sandbox && cm, "both resources rendered");
    const header = new TextDecoder().decode(await Deno.readFile(join(ROOT, EXAMPLE_MANIFEST)));
    const headerDigest = /digest=(sha256:[0-9a-f]{64})/.exec(header)?.[1];
    await t.step("allowlistRef survives kustomize unchanged", () => {
      assert.equal(sandbox.spec.networkPolicy.allowlistRef.digest, headerDigest);
      assert.equal(sandbox.spec.networkPolicy.egressMode, "Strict");
      assert.equal(sandbox.metadata.annotations["kars.io/applied-via-gitops"], "true");
    });
    await t.step("the SignerPolicy admits the example workflow and nobody else", async () => {
      assert.equal(cm.metadata.name, "kars-signer-policy");
      const policy = parseSignerPolicy(
        await Deno.readTextFile(join(ROOT, "examples", "gitops", "signer-policy.yaml")),
        "examples/gitops/signer-policy.yaml",
      );
      const san = EXAMPLE_SIGNER.slice("keyless:".length);
      assert.equal(matchIdentity(policy, { san, issuer: GITHUB_ISSUER }), true);
      assert.equal(
        matchIdentity(policy, {
          san: san.replace("refs/heads/main", "refs/heads/dev"),
          issuer: GITHUB_ISSUER,
        }),
        false,
      );
      assert.equal(matchIdentity(policy, { san, issuer: "https://accounts.google.com" }), false);
    });
  },
);

Deno.test("examples/github-actions.yml: promote through the kars action (ambient OIDC, force), verify, summary as the PR body", async () => {
  const wf = parse(await Deno.readTextFile(join(ROOT, "examples", "github-actions.yml")));
  assert.equal(wf.permissions["id-token"], "write");
  const steps: {
    name?: string;
    id?: string;
    run?: string;
    uses?: string;
    with?: Record<string, string>;
    env?: Record<string, string>;
  }[] = Object.values(wf.jobs as Record<string, { steps: [] }>).flatMap((j) => j.steps);
  const promote = steps.find((s) => s.name === "Promote egress allowlist");
  assert.ok(promote?.uses, "the walkthrough's step uses the kars action");
  const action = parse(await Deno.readTextFile(join(ROOT, "action.yml")));
  for (const k of Object.keys(promote.with ?? {})) {
    assert.ok(k in action.inputs, `input ${k} exists in action.yml`);
  }
  assert.equal(promote.with?.sandbox, "my-agent");
  assert.equal(promote.with?.enforce, "true");
  assert.match(promote.with?.["emit-manifest"] ?? "", /\S+\.yaml$/);
  assert.equal(promote.with?.force, "true");
  assert.ok(!("no-sign" in (promote.with ?? {})));
  assert.doesNotMatch(promote.with?.args ?? "", /--no-sign/);
  const verify = steps.find((s) => /egress verify/.test(s.run ?? ""));
  assert.ok(verify, "a kars egress verify step exists");
  assert.match(verify.run!, /--signer-policy \S+/);
  const pr = steps.find((s) => s.uses?.startsWith("peter-evans/create-pull-request"));
  assert.equal(pr?.with?.["body-path"], `\${{ steps.${promote.id}.outputs.summary }}`);
  // No token on a command line anywhere: kars reads the ambient OIDC token itself.
  for (const s of steps) {
    assert.doesNotMatch(s.run ?? "", /--(identity-)?token[= ]|--password[= ]/, s.name);
  }
});

Deno.test("examples/library.ts runs as a JSR consumer would write it (jsr:@kars/egress)", async () => {
  // The README shows this file with `from "jsr:@kars/egress"`: run exactly that, with the
  // specifier mapped to this checkout's mod.ts (JSR itself cannot be reached from here).
  const dir = await Deno.makeTempDir({ prefix: "kars-jsr-example-" });
  try {
    const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
    await Deno.writeTextFile(
      join(dir, "deno.json"),
      JSON.stringify({
        imports: { ...config.imports, "jsr:@kars/egress": join(ROOT, "mod.ts") },
        nodeModulesDir: "none",
      }),
    );
    const source = await Deno.readTextFile(join(ROOT, "examples", "library.ts"));
    assert.ok(source.includes(`from "../mod.ts"`));
    await Deno.writeTextFile(
      join(dir, "main.ts"),
      source.replace(`from "../mod.ts"`, `from "jsr:@kars/egress"`),
    );
    const o = await new Deno.Command(Deno.execPath(), {
      // The yaml package reads LOG_TOKENS / LOG_STREAM: the only permission the example needs.
      args: ["run", "--no-lock", "--allow-env=LOG_TOKENS,LOG_STREAM", "main.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(o.stdout);
    assert.ok(o.success, new TextDecoder().decode(o.stderr));
    const digest = /manifest (sha256:[0-9a-f]{64})/.exec(out)?.[1];
    assert.ok(digest, out);
    assert.match(
      out,
      new RegExp(`^# kars egress allowlist — digest=${digest} signer=keyless:`, "m"),
    );
    // Nothing signed it: the verdict fails closed.
    assert.match(out, /^AllowlistVerified=False\/Unsigned: /m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
