/**
 * The egress flow speaks in library terms (issue 12): its errors and warnings carry the plan
 * input at fault (`details.option`, `details.fixOptions`, a warning's option), and only the CLI
 * names the flag. These check that `kars egress` still names the flag.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runKars } from "../support/cli.ts";

const BASIC = new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname;
const DIGEST = "sha256:" + "ab".repeat(32);

Deno.test("kars egress: an unknown --deny host is named by its flag", async () => {
  const r = await runKars([
    "egress",
    "basic",
    "--from-file",
    BASIC,
    "--deny",
    "absent.example",
    "--dry-run",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /--deny absent\.example: not in the allowlist; nothing removed/);
});

Deno.test("kars egress: two matching sandboxes name -n/--namespace as the fix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-hints-" });
  try {
    const doc = (ns: string) =>
      `apiVersion: kars.azure.com/v1alpha1\nkind: KarsSandbox\nmetadata:\n  name: a\n  namespace: ${ns}\n` +
      "spec:\n  networkPolicy:\n    allowedEndpoints:\n      - host: x.example\n        port: 443\n";
    const file = join(dir, "two.yaml");
    await Deno.writeTextFile(file, `${doc("one")}---\n${doc("two")}`);
    const r = await runKars(["egress", "a", "--from-file", file, "--dry-run"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /2 KarsSandbox documents match a .*name one \(and its namespace\) \(flags: -n\/--namespace\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kars egress: an unreadable previous allowlist names --generation as the fix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-hints-" });
  try {
    const file = join(dir, "prev.yaml");
    await Deno.writeTextFile(
      file,
      "apiVersion: kars.azure.com/v1alpha1\nkind: KarsSandbox\nmetadata:\n  name: a\n  namespace: ns\n" +
        "spec:\n  networkPolicy:\n    allowlistRef:\n      registry: registry.example\n" +
        `      repository: policy/egress-allowlist/a\n      digest: ${DIGEST}\n` +
        "      artifactType: application/vnd.kars.egress-allowlist.v1+yaml\n" +
        "    allowedEndpoints:\n      - host: x.example\n        port: 443\n",
    );
    let requests = 0;
    const notFound: typeof fetch = () => {
      requests++;
      return Promise.resolve(new Response("{}", { status: 404 }));
    };
    const r = await runKars(["egress", "a", "--from-file", file, "--dry-run"], { fetch: notFound });
    assert.ok(requests > 0, "the previous allowlist was asked for");
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /cannot read the previous allowlist registry\.example\/policy\/egress-allowlist\/a@sha256:(ab)+ .*or give the generation \(flags: --generation\)/,
    );
    // With --generation the previous allowlist is not needed.
    const g = await runKars(
      ["egress", "a", "--from-file", file, "--dry-run", "--generation", "7"],
      {
        fetch: notFound,
      },
    );
    assert.equal(g.code, 0, g.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kars egress: a missing --ca-file, --signer-policy or --signing-config is named by its flag", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-hints-files-" });
  try {
    const base = [
      "egress",
      "basic",
      "--enforce",
      "--from-file",
      BASIC,
      "--registry",
      `oci:${join(dir, "l")}`,
    ];
    const key = ["--key", join(dir, "absent.key"), "--tlog-upload=false"];
    for (
      const [flag, args] of [
        ["--ca-file", [...base, ...key, "--ca-file", join(dir, "nope.pem")]],
        ["--signer-policy", [...base, ...key, "--signer-policy", join(dir, "nope.yaml")]],
        ["--signing-config", [...base, "--signing-config", join(dir, "nope.json")]],
      ] as const
    ) {
      const r = await runKars([...args]);
      assert.equal(r.code, 2, `${flag}: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(`^kars: error: ${flag}: .*nope\\.\\w+: no such file`),
        flag,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
