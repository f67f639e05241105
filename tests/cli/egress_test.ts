import assert from "assert";
import { join } from "node:path";
import { runKars, spawnKars } from "../support/cli.ts";
import { VERSION } from "../../lib/version.ts";

const BASIC = new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname;

/** A fetch that records every call and fails it: proves "no network work". */
function noNetwork(): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: ((input: RequestInfo | URL) => {
      calls.push(String(input instanceof Request ? input.url : input));
      return Promise.reject(new TypeError("network disabled in this test"));
    }) as typeof fetch,
  };
}

Deno.test("troubleshooting table: --emit-manifest with --no-sign is refused before any work", async () => {
  const net = noNetwork();
  const r = await runKars([
    "egress",
    "basic",
    "--enforce",
    "--no-sign",
    "--emit-manifest",
    "/nonexistent/x.yaml",
    "--registry",
    "r.example",
  ], { fetch: net.fetch });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--emit-manifest cannot be combined with --no-sign/);
  assert.deepEqual(net.calls, []);
});

Deno.test("troubleshooting table: --emit-manifest requires --enforce or --approve", async () => {
  const r = await runKars([
    "egress",
    "basic",
    "--deny",
    "pypi.org",
    "--emit-manifest",
    "x.yaml",
    "--registry",
    "r.example",
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--emit-manifest requires --enforce or --approve/);
});

Deno.test("troubleshooting table: refusing to overwrite existing file, before any network work", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "m.yaml");
    await Deno.writeTextFile(path, "old\n");
    const net = noNetwork();
    const r = await runKars([
      "egress",
      "basic",
      "--enforce",
      "--from-file",
      BASIC,
      "--emit-manifest",
      path,
      "--registry",
      "r.example",
    ], { fetch: net.fetch, env: { SIGSTORE_ID_TOKEN: "x" } });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(`refusing to overwrite existing file ${path}; pass --force to replace it`),
    );
    assert.deepEqual(net.calls, []);
    assert.equal(await Deno.readTextFile(path), "old\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--approve takes host[:port] only; a URL is refused", async () => {
  const r = await runKars([
    "egress",
    "basic",
    "--approve",
    "https://api.github.com",
    "--dry-run",
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /domain must be a bare host\[:port\], not a URL/);
});

Deno.test("usage errors exit 2 and name the flag", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["egress"], /missing sandbox name/],
    [["egress", "a", "b", "--enforce"], /expected one sandbox name/],
    [["egress", "Bad_Name", "--enforce"], /not a valid Kubernetes name/],
    [["egress", "basic", "--enforce", "--bogus"], /Unknown option '--bogus'/],
    [["egress", "basic", "--generation", "0", "--enforce", "--dry-run"], /--generation "0"/],
    [["egress", "basic", "--enforce"], /no registry/],
    [["egress", "basic", "--enforce", "--registry", "https://r.example/x"], /host\[:port\]/],
    [["egress", "basic"], /nothing to do/],
    [
      ["egress", "basic", "--enforce", "--dry-run", "--signature-format", "x"],
      /--signature-format/,
    ],
    [["egress", "basic", "--enforce", "--dry-run", "--tlog-upload", "no"], /--tlog-upload/],
    [["egress", "basic", "--enforce", "--dry-run", "--deny", "https://x.example"], /not a URL/],
    [
      [
        "egress",
        "basic",
        "--enforce",
        "--dry-run",
        "--approve",
        "a.example",
        "--deny",
        "a.example",
      ],
      /both approved/,
    ],
    [["nope"], /unknown command/],
  ];
  for (const [args, re] of cases) {
    await t.step(args.join(" "), async () => {
      const r = await runKars(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
    });
  }
});

Deno.test("--version and --help", async () => {
  const v = await runKars(["--version"]);
  assert.equal(v.code, 0);
  assert.equal(v.stdout, `kars ${VERSION}\n`);
  const h = await runKars(["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /kars egress/);
  const eh = await runKars(["egress", "--help"]);
  assert.equal(eh.code, 0);
  assert.match(eh.stdout, /--emit-manifest PATH/);
});

Deno.test("VERSION equals deno.json version", async () => {
  const cfg = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(VERSION, cfg.version);
});

Deno.test("--dry-run --json on the same input twice prints identical output and writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const args = [
      "egress",
      "basic",
      "--enforce",
      "--from-file",
      BASIC,
      "--dry-run",
      "--json",
      "--emit-manifest",
      join(dir, "m.yaml"),
    ];
    const net = noNetwork();
    const a = await runKars(args, { fetch: net.fetch });
    const b = await runKars(args, { fetch: net.fetch });
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    const j = JSON.parse(a.stdout);
    assert.match(j.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(j.generation, 1);
    assert.equal(j.dryRun, true);
    assert.ok(j.canonical.startsWith("apiVersion: kars.dev/v1alpha1\nkind: EgressAllowlist\n"));
    assert.deepEqual(net.calls, []);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--dry-run prints the canonical YAML on stdout and both digests on stderr", async () => {
  const r = await runKars(["egress", "basic", "--enforce", "--from-file", BASIC, "--dry-run"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.startsWith("apiVersion: kars.dev/v1alpha1\n"));
  assert.match(r.stderr, /layer digest: +sha256:[0-9a-f]{64}/);
  assert.match(r.stderr, /manifest digest: sha256:[0-9a-f]{64}/);
});

Deno.test("--no-sign prints the walkthrough's warning; --from-file without --emit-manifest prints the document", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runKars([
      "egress",
      "basic",
      "--enforce",
      "--no-sign",
      "--from-file",
      BASIC,
      "--registry",
      `oci:${dir}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /⚠ --no-sign: the resulting allowlist will be unsigned/);
    assert.match(
      r.stdout,
      /^# kars egress allowlist — digest=sha256:[0-9a-f]{64} signer=none\n# UNSIGNED — for local/,
    );
    assert.match(r.stdout, /egressMode: Strict/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a real process: exit codes 0 and 2, help on stdout, errors on stderr", async () => {
  const ok = await spawnKars(["--version"]);
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout.trim(), `kars ${VERSION}`);
  const bad = await spawnKars([
    "egress",
    "basic",
    "--enforce",
    "--no-sign",
    "--emit-manifest",
    "x",
  ]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, "");
  assert.match(bad.stderr, /^kars: error: --emit-manifest cannot be combined with --no-sign/);
});

Deno.test("--ref-registry names the registry an OCI layout will be copied to", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = await runKars([
      "egress",
      "basic",
      "--enforce",
      "--no-sign",
      "--from-file",
      BASIC,
      "--registry",
      "r.example",
      "--ref-registry",
      "myacr.azurecr.io",
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--ref-registry only applies with --registry oci:<dir>/);
    const r = await runKars([
      "egress",
      "basic",
      "--enforce",
      "--no-sign",
      "--from-file",
      BASIC,
      "--registry",
      `oci:${dir}`,
      "--ref-registry",
      "myacr.azurecr.io",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes("\n      registry: myacr.azurecr.io\n"), r.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a malformed --signer-policy is refused before any push or signing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const policy = join(dir, "policy.yaml");
    await Deno.writeTextFile(
      policy,
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kars-signer-policy\ndata:\n  fulcioIssuers: |\n    not-a-url\n",
    );
    const net = noNetwork();
    const r = await runKars([
      "egress",
      "basic",
      "--enforce",
      "--from-file",
      BASIC,
      "--registry",
      "r.example",
      "--signer-policy",
      policy,
      "--emit-manifest",
      join(dir, "m.yaml"),
    ], { fetch: net.fetch, env: { SIGSTORE_ID_TOKEN: "x" } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--signer-policy .*policy\.yaml/);
    assert.deepEqual(net.calls, []);
    await assert.rejects(Deno.stat(join(dir, "m.yaml")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
