/**
 * The exit-code contract (README "Exit codes", lib/cli/exit_codes.ts): one case per README row,
 * run in-process through the dispatcher, each also under `--json` where the command has it
 * (exactly one JSON object on stdout; `ok: true` for 0 and 3, the error object otherwise).
 */
import assert from "assert";
import { join } from "node:path";
import { runKars } from "../support/cli.ts";
import { startRegistryServer } from "../support/registry_server.ts";
import { generateKeyPair, writeKeyPair } from "../../lib/sign/keyfile.ts";
import { EXIT_CODE_OF_ERROR } from "../../lib/cli/exit_codes.ts";
import { commands } from "../../lib/cli/commands.ts";
import { validate } from "../support/json_schema.ts";
import { startKubeApiServer } from "../support/kube_apiserver.ts";

const SCHEMA = JSON.parse(
  await Deno.readTextFile(new URL("../../schema/kars-output.v1.json", import.meta.url)),
);

const BASIC = new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname;
const LOSSY = new URL("../../testdata/kagent/lossy-declarative/input.yaml", import.meta.url)
  .pathname;
const PASSWORD = "exit-codes";

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

interface Row {
  exit: number;
  name: string;
  args: (dir: string) => string[] | Promise<string[]>;
  env?: Record<string, string>;
  stdin?: string;
  /** stderr must match */
  err?: RegExp;
  /** stdout must match (human mode) */
  out?: RegExp;
  /** the command has --json: run again with it and check the envelope */
  json?: boolean;
}

function policyFor(pub: string): string {
  const ind = pub.trimEnd().split("\n").map((l) => `    ${l}`).join("\n");
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: kars-signer-policy
data:
  fulcioIssuers: |
    https://issuer.example
  sanPatterns: |
    nobody@example.com
  publicKeys: |
${ind}
`;
}

Deno.test("exit codes: every README row, human and --json", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kars-exit-" });
  const reg = await startRegistryServer({ basic: { user: "alice", password: "right" } });
  // The cluster commands (egress status, egress audit) read a test API server.
  const ref = {
    registry: "r.example",
    repository: "policy/egress-allowlist/x",
    digest: `sha256:${"b".repeat(64)}`,
    artifactType: "application/vnd.kars.egress-allowlist.v1+yaml",
  };
  const live = (name: string, namespace: string, cond?: [string, string]) => ({
    metadata: { name, namespace },
    spec: { networkPolicy: { allowlistRef: ref } },
    ...(cond
      ? {
        status: {
          conditions: [{
            type: "AllowlistVerified",
            status: cond[0],
            reason: cond[1],
            message: "m",
            observedGeneration: 1,
          }],
        },
      }
      : {}),
  });
  const api = await startKubeApiServer({
    objects: [
      live("ok", "cl", ["True", "Verified"]),
      live("bad", "cl", ["False", "IdentityMismatch"]),
      live("pending", "cl"),
      live("elsewhere", "cl-audit"),
    ],
  });
  try {
    const pair = await generateKeyPair({ password: PASSWORD });
    await writeKeyPair(join(dir, "cosign"), pair);
    const other = await generateKeyPair({ password: PASSWORD });
    await Deno.writeTextFile(join(dir, "policy.yaml"), policyFor(pair.publicPem));
    await Deno.writeTextFile(join(dir, "other-policy.yaml"), policyFor(other.publicPem));
    await Deno.writeTextFile(
      join(dir, "lint-ok.yaml"),
      policyFor(pair.publicPem).replace(/ {2}publicKeys: \|\n[\s\S]*$/, ""),
    );
    await Deno.writeTextFile(join(dir, "existing.yaml"), "old\n");
    await Deno.writeTextFile(join(dir, "a-file"), "x\n");
    await Deno.writeTextFile(
      join(dir, "inline.yaml"),
      await Deno.readTextFile(BASIC),
    );
    const down = closedPort();
    const jsonCommands = new Set<string>();
    const keyEnv = { COSIGN_PASSWORD: PASSWORD };
    const layoutArgs = (d: string) => [
      "--from-file",
      BASIC,
      "--enforce",
      "--registry",
      `oci:${join(d, "layout")}`,
      "--key",
      join(d, "cosign.key"),
      "--tlog-upload=false",
    ];
    const rows: Row[] = [
      {
        exit: 0,
        name: "ok: dry run",
        args: () => ["egress", "basic", "--from-file", BASIC, "--enforce", "--dry-run"],
        json: true,
      },
      {
        exit: 0,
        name: "ok: signed into a layout, verified",
        args: (
          d,
        ) => [
          "egress",
          "basic",
          ...layoutArgs(d),
          "--signer-policy",
          join(d, "policy.yaml"),
          "--emit-manifest",
          join(d, "signed.yaml"),
          "--force",
        ],
        env: keyEnv,
        json: true,
      },
      {
        exit: 0,
        name: "ok: egress diff of two manifests",
        args: (d) => [
          "egress",
          "diff",
          join(d, "signed.yaml"),
          join(d, "signed.yaml"),
          "--registry",
          `oci:${join(d, "layout")}`,
        ],
        out: /= 2 unchanged/,
        json: true,
      },
      {
        exit: 2,
        name: "input: egress diff of a missing file",
        args: (d) => ["egress", "diff", join(d, "absent-old.yaml"), join(d, "signed.yaml")],
        err: /absent-old\.yaml: no such file/,
        json: true,
      },
      {
        exit: 2,
        name: "usage: an oci-layout reference without --registry oci:DIR is explained",
        args: (d) => [
          "egress",
          "verify",
          "--signer-policy",
          join(d, "policy.yaml"),
          `oci-layout/policy/egress-allowlist/basic@sha256:${"a".repeat(64)}`,
        ],
        err: /placeholder registry oci-layout.*--registry oci:DIR/,
        json: true,
      },
      {
        exit: 1,
        name: "operation failed: our registry credentials rejected (push)",
        args: () => [
          "egress",
          "basic",
          "--from-file",
          BASIC,
          "--enforce",
          "--registry",
          reg.host,
          "--no-sign",
        ],
        env: {
          KARS_REGISTRY: reg.host,
          KARS_REGISTRY_USERNAME: "alice",
          KARS_REGISTRY_PASSWORD: "wrong-pw-7731",
        },
        // names the user and the source, never the secret
        err: /401.*user "alice" from KARS_REGISTRY_USERNAME\/KARS_REGISTRY_PASSWORD/,
        json: true,
      },
      {
        exit: 1,
        name:
          "operation failed: registry credentials rejected in egress verify (reason Unauthorized)",
        args: (d) => [
          "egress",
          "verify",
          "--signer-policy",
          join(d, "policy.yaml"),
          `${reg.host}/policy/egress-allowlist/basic@sha256:${"a".repeat(64)}`,
        ],
        env: {
          KARS_REGISTRY: reg.host,
          KARS_REGISTRY_USERNAME: "alice",
          KARS_REGISTRY_PASSWORD: "wrong-pw-7731",
        },
        err: /Unauthorized.*user "alice" from KARS_REGISTRY_USERNAME\/KARS_REGISTRY_PASSWORD/,
        json: true,
      },
      {
        exit: 1,
        name: "operation failed: no credentials at all (names where it looked)",
        args: () => [
          "egress",
          "basic",
          "--from-file",
          BASIC,
          "--enforce",
          "--registry",
          reg.host,
          "--no-sign",
        ],
        env: { DOCKER_CONFIG: "/nonexistent-docker-config" },
        err:
          /no credentials found for 127\.0\.0\.1:\d+ \(looked at: .*KARS_REGISTRY_USERNAME.*\/nonexistent-docker-config\/config\.json\)/,
        json: true,
      },
      {
        exit: 1,
        name: "operation failed: file system (manifest's parent is a file)",
        args: (
          d,
        ) => ["egress", "basic", ...layoutArgs(d), "--emit-manifest", join(d, "a-file", "m.yaml")],
        env: keyEnv,
        json: true,
      },
      {
        exit: 2,
        name: "usage: unknown flag (with a suggestion)",
        args: () => ["egress", "basic", "--enforce", "--dry-rn"],
        err: /did you mean '--dry-run'/,
        json: true,
      },
      {
        exit: 2,
        name: "usage: unknown command (with a suggestion)",
        args: () => ["egres"],
        err: /did you mean 'egress'/,
      },
      {
        exit: 2,
        name: "input: missing --from-file",
        args: (
          d,
        ) => ["egress", "basic", "--enforce", "--dry-run", "--from-file", join(d, "absent.yaml")],
        err: /absent\.yaml/,
        json: true,
      },
      {
        exit: 2,
        name: "input: missing --kubeconfig",
        args: (
          d,
        ) => [
          "egress",
          "basic",
          "--enforce",
          "--dry-run",
          "--kubeconfig",
          join(d, "absent-kubeconfig"),
        ],
        err: /absent-kubeconfig/,
        json: true,
      },
      {
        exit: 2,
        name: "input: missing --key",
        args: (
          d,
        ) => [
          "egress",
          "basic",
          "--from-file",
          BASIC,
          "--enforce",
          "--registry",
          `oci:${join(d, "layout")}`,
          "--key",
          join(d, "absent.key"),
        ],
        err: /absent\.key/,
        json: true,
      },
      {
        exit: 2,
        name: "input: missing migrate input file",
        args: (d) => ["migrate", "from-kagent", join(d, "absent-agent.yaml")],
        err: /absent-agent\.yaml/,
      },
      {
        exit: 2,
        name: "input: missing --manifest",
        args: (d) => ["egress", "verify", "--manifest", join(d, "absent-m.yaml")],
        err: /absent-m\.yaml/,
        json: true,
      },
      {
        exit: 2,
        name: "input: missing --signer-policy",
        args: (
          d,
        ) => ["egress", "basic", ...layoutArgs(d), "--signer-policy", join(d, "absent-p.yaml")],
        env: keyEnv,
        err: /absent-p\.yaml/,
        json: true,
      },
      {
        exit: 2,
        name: "input: sandbox name not found in the file",
        args: () => ["egress", "nosuch", "--from-file", BASIC, "--enforce", "--dry-run"],
        err: /nosuch/,
        json: true,
      },
      {
        exit: 2,
        name: "input: wrong key password",
        args: (d) => ["egress", "basic", ...layoutArgs(d)],
        env: { COSIGN_PASSWORD: "wrong" },
        err: /password/,
        json: true,
      },
      {
        exit: 2,
        name: "input: overwrite refusal names --force",
        args: (
          d,
        ) => ["egress", "basic", ...layoutArgs(d), "--emit-manifest", join(d, "existing.yaml")],
        env: keyEnv,
        err: /refusing to overwrite existing file .*--force/,
        json: true,
      },
      {
        exit: 3,
        name: "verdict False: egress verify (inline-only sandbox: Unsigned)",
        args: (
          d,
        ) => [
          "egress",
          "verify",
          "--manifest",
          join(d, "inline.yaml"),
          "--signer-policy",
          join(d, "policy.yaml"),
        ],
        out: /AllowlistVerified=False\/Unsigned/,
        json: true,
      },
      {
        exit: 3,
        name: "verdict False: egress --signer-policy (key not in the policy), nothing written",
        args: (
          d,
        ) => [
          "egress",
          "basic",
          ...layoutArgs(d),
          "--signer-policy",
          join(d, "other-policy.yaml"),
          "--emit-manifest",
          join(d, "never.yaml"),
        ],
        env: keyEnv,
        err: /AllowlistVerified=False\/SignatureVerifyFailed/,
        json: true,
      },
      {
        exit: 0,
        name: "ok: signer-policy lint, both readings agree",
        args: (d) => ["signer-policy", "lint", join(d, "lint-ok.yaml")],
        out: /both readings agree/,
        json: true,
      },
      {
        exit: 3,
        name: "verdict False: signer-policy lint (publicKeys: the controller reads it differently)",
        args: (d) => ["signer-policy", "lint", join(d, "policy.yaml")],
        out: /reads 1 of 3 entries differently/,
        json: true,
      },
      {
        exit: 2,
        name: "input: signer-policy lint of a missing file",
        args: (d) => ["signer-policy", "lint", join(d, "absent-policy.yaml")],
        err: /absent-policy\.yaml: no such file/,
        json: true,
      },
      {
        exit: 4,
        name: "lossy migration",
        args: () => ["migrate", "from-kagent", LOSSY],
        err: /lossy/,
      },
      {
        exit: 5,
        name: "transient: registry connection refused (push)",
        args: () => [
          "egress",
          "basic",
          "--from-file",
          BASIC,
          "--enforce",
          "--registry",
          `127.0.0.1:${down}`,
          "--no-sign",
        ],
        json: true,
      },
      {
        exit: 5,
        name: "transient: registry connection refused (egress verify, not a verdict)",
        args: (
          d,
        ) => [
          "egress",
          "verify",
          "--signer-policy",
          join(d, "policy.yaml"),
          `127.0.0.1:${down}/p/a@sha256:${"a".repeat(64)}`,
        ],
        err: /not a verdict/,
        json: true,
      },
    ];
    const kube = ["--kubeconfig", api.kubeconfigPath];
    rows.push(
      {
        exit: 0,
        name: "ok: egress status, AllowlistVerified=True",
        args: () => ["egress", "status", "ok", "-n", "cl", ...kube],
        json: true,
      },
      {
        exit: 3,
        name: "verdict: egress status, AllowlistVerified=False (the fix printed)",
        args: () => ["egress", "status", "bad", "-n", "cl", ...kube],
        out: /fix: Signer identity not allowlisted/,
        json: true,
      },
      {
        exit: 5,
        name: "transient: egress status, the controller has not reported yet",
        args: () => ["egress", "status", "pending", "-n", "cl", ...kube],
        err: /not there yet/,
        json: true,
      },
      {
        exit: 0,
        name: "ok: egress audit, no sandbox",
        args: (
          d,
        ) => ["egress", "audit", "-n", "none", ...kube, "--signer-policy", join(d, "policy.yaml")],
        json: true,
      },
      {
        exit: 3,
        name: "verdict: egress audit, a ref to a registry that is not allowed",
        args: (d) => [
          "egress",
          "audit",
          "-n",
          "cl-audit",
          ...kube,
          "--signer-policy",
          join(d, "policy.yaml"),
          "--allowed-registry",
          "only.example",
        ],
        out: /refused/,
        json: true,
      },
    );
    for (const row of rows) {
      await t.step(`${row.exit}: ${row.name}`, async () => {
        const args = await row.args(dir);
        const r = await runKars(args, { env: row.env ?? {}, cwd: dir, stdin: row.stdin });
        assert.equal(r.code, row.exit, `${args.join(" ")}\n${r.stdout}${r.stderr}`);
        if (row.err) assert.match(r.stderr, row.err);
        assert.ok(!(r.stdout + r.stderr).includes("wrong-pw-7731"), "no password in output");
        if (row.out) assert.match(r.stdout, row.out);
        if (row.json) {
          // Nothing about the run may leak into the retry: remove what the first run wrote.
          await Deno.remove(join(dir, "never.yaml")).catch(() => {});
          const j = await runKars([...args, "--json"], { env: row.env ?? {}, cwd: dir });
          assert.equal(j.code, row.exit, j.stdout + j.stderr);
          const o = JSON.parse(j.stdout); // exactly one object: JSON.parse refuses trailing text
          assert.deepEqual(validate(SCHEMA, o), [], j.stdout);
          jsonCommands.add(
            (args[0] === "egress" && ["verify", "diff", "status", "audit"].includes(args[1])) ||
              args[0] === "signer-policy"
              ? `${args[0]} ${args[1]}`
              : args[0],
          );
          assert.equal(o.schemaVersion, 1);
          if (row.exit === 0 || row.exit === 3) {
            assert.equal(o.ok, true, j.stdout);
            if (row.exit === 3 && args[0] === "signer-policy") assert.equal(o.consistent, false);
            else if (row.exit === 3) assert.equal(o.verification.verified, false);
          } else {
            assert.equal(o.ok, false, j.stdout);
            assert.equal(o.error.exitCode, row.exit);
            assert.equal(
              EXIT_CODE_OF_ERROR[o.error.code as keyof typeof EXIT_CODE_OF_ERROR],
              row.exit,
            );
            assert.equal(typeof o.error.message, "string");
          }
        }
      });
    }
    await t.step("every command with --json was checked against the schema", () => {
      const withJson = commands.filter((c) => "json" in c.options).map((c) => c.path.join(" "));
      assert.deepEqual([...jsonCommands].sort(), withJson.sort());
    });
    await t.step("the verdict-False run wrote nothing", async () => {
      await assert.rejects(Deno.stat(join(dir, "never.yaml")));
    });
  } finally {
    await api.stop();
    await reg.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("json schema: the validator rejects what the schema forbids", () => {
  const bad = [
    { ok: true },
    { ok: false, schemaVersion: 1, error: { code: "USAGE", exitCode: 3, message: "x" } },
    { ok: false, schemaVersion: 1, error: { code: "NOPE", exitCode: 2, message: "x" } },
    { ok: false, schemaVersion: 1, error: { code: "USAGE", exitCode: 2 } },
    {
      ok: true,
      schemaVersion: 1,
      verification: {
        reference: null,
        ours: { status: "Unknown", reason: "X", message: "" },
        decidedBy: "ours",
        verified: false,
      },
    },
    {
      ok: true,
      schemaVersion: 1,
      verification: { reference: null, ours: { status: "True", reason: "Verified", message: "" } },
    },
  ];
  for (const b of bad) assert.notDeepEqual(validate(SCHEMA, b), [], JSON.stringify(b));
  assert.deepEqual(validate(SCHEMA, { ok: true, schemaVersion: 1 }), []);
});
