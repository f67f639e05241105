/**
 * `kars signer-policy lint FILE`: every entry under our reading and the kars controller's
 * (formats.md §5 vs §8); exit 0 when they agree, 3 when the controller reads an entry
 * differently, 2 for a malformed or missing file; `--json`.
 */
import assert from "assert";
import { join } from "node:path";
import { lintSanPattern } from "../../lib/verify/policy_lint.ts";
import { runKars } from "../support/cli.ts";
import { keySigner, policyYaml } from "../verify/fixtures.ts";

const ISSUER = "https://token.actions.githubusercontent.com";
const EXACT = "https://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/main";
const GLOB = "https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main";

Deno.test("signer-policy lint: each pattern kind, read both ways", () => {
  const cases: [string, boolean, RegExp?][] = [
    [EXACT, true],
    [GLOB, false, /reads literally/],
    ["https://example.com/a?b", false, /reads literally/],
    ["dev@acme.example", true],
    ["*@acme.example", false, /reads literally/],
    ["re:^[a-z]+@acme\\.example$", true],
    ["re:@acme\\.example", false, /not anchored/],
    ["re:^[a-z]+@acme\\.example$|^x@y\\.example$", false, /not anchored/],
    ["re:^https://github\\.com/acme/.*$", false, /email SANs/],
    ["spiffe://acme/ns/x", false, /not http\(s\)/],
    ["unused", false, /not an email/],
  ];
  for (const [pattern, consistent, why] of cases) {
    const e = lintSanPattern(pattern, 1);
    assert.equal(e.consistent, consistent, `${pattern}: ${JSON.stringify(e)}`);
    if (why) assert.match(e.problem ?? "", why, pattern);
    if (!consistent) assert.ok(e.fix, pattern);
  }
  assert.equal(
    lintSanPattern("re:@acme\\.example", 1).fix,
    "anchor it, as we read it: re:^@acme\\.example$",
  );
});

Deno.test("signer-policy lint CLI: 0 when consistent, 3 when the controller differs, 2 on bad input, --json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-lint-" });
  try {
    await Deno.writeTextFile(
      join(dir, "good.yaml"),
      policyYaml([ISSUER], [EXACT, "dev@acme.example"]),
    );
    await Deno.writeTextFile(
      join(dir, "bad.yaml"),
      policyYaml([ISSUER], [EXACT, GLOB], keySigner().publicPem),
    );
    await Deno.writeTextFile(join(dir, "broken.yaml"), "kind: ConfigMap\n");

    const good = await runKars(["signer-policy", "lint", "good.yaml"], { cwd: dir });
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.ok(good.stdout.includes(`sanPatterns[1]: ${EXACT}\n`), good.stdout);
    assert.ok(good.stdout.includes("  controller: exact URI SAN"), good.stdout);
    assert.ok(good.stdout.endsWith("good.yaml: both readings agree (3 entries)\n"), good.stdout);

    const bad = await runKars(["signer-policy", "lint", "bad.yaml"], { cwd: dir });
    assert.equal(bad.code, 3, bad.stdout + bad.stderr);
    assert.ok(bad.stdout.includes(`sanPatterns[2]: ${GLOB}\n`), bad.stdout);
    assert.match(bad.stdout, /\n {2}differs: {4}a glob the controller reads literally/);
    assert.match(bad.stdout, /\npublicKeys: 1 key\(s\)/);
    assert.match(bad.stdout, /\n {2}controller: ignored: only keyless signatures are accepted\n/);
    assert.ok(bad.stdout.endsWith("reads 2 of 4 entries differently\n"), bad.stdout);

    const j = await runKars(["signer-policy", "lint", "bad.yaml", "--json"], { cwd: dir });
    assert.equal(j.code, 3);
    const out = JSON.parse(j.stdout);
    assert.equal(out.ok, true);
    assert.equal(out.consistent, false);
    assert.deepEqual(
      out.entries.map((e: { where: string; consistent: boolean }) => [e.where, e.consistent]),
      [["fulcioIssuers[1]", true], ["sanPatterns[1]", true], ["sanPatterns[2]", false], [
        "publicKeys",
        false,
      ]],
    );

    const broken = await runKars(["signer-policy", "lint", "broken.yaml"], { cwd: dir });
    assert.equal(broken.code, 2, broken.stderr);
    assert.match(broken.stderr, /broken\.yaml/);
    const missing = await runKars(["signer-policy", "lint", "nope.yaml"], { cwd: dir });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.yaml: no such file/);
    const usage = await runKars(["signer-policy", "lint"], { cwd: dir });
    assert.equal(usage.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("signer-policy lint CLI: a re: pattern loads its regex engine (a fresh process)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-lint-re-" });
  try {
    await Deno.writeTextFile(
      join(dir, "re.yaml"),
      policyYaml([ISSUER], ["re:^https://github\\.com/acme/.*$"]),
    );
    // A separate process: in this one another test may have loaded the engine already.
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--frozen",
        new URL("../../cli.ts", import.meta.url).pathname,
        "signer-policy",
        "lint",
        "re.yaml",
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout);
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 3, out + err); // the controller reads re: differently (email SANs only)
    assert.ok(out.includes("ours:       anchored regular expression"), out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
