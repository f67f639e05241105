/**
 * The pull-request summary (`--summary`, lib/gitops/summary.ts) and `kars egress diff`
 * (lib/allowlist/diff.ts): added, removed and changed-port endpoints; byte-stable output.
 * Offline: an OCI layout and an unencrypted key file (no Rekor).
 */
import assert from "assert";
import { join } from "node:path";
import { p256 } from "@noble/curves/nist.js";
import { runKars } from "../support/cli.ts";
import { pemEncode } from "../../lib/encoding/pem.ts";
import { pkcs8FromSecret } from "../../lib/sign/p256.ts";
import { diffAllowlists, renderDiffText } from "../../lib/allowlist/diff.ts";
import { renderSummary } from "../../lib/gitops/summary.ts";

const sandbox = (endpoints: string) =>
  `apiVersion: kars.azure.com/v1alpha1
kind: KarsSandbox
metadata:
  name: web
  namespace: team-a
spec:
  networkPolicy:
    allowedEndpoints:
${endpoints}`;

Deno.test("diffAllowlists: added, removed, changed port, unchanged", () => {
  const d = diffAllowlists(
    [
      { host: "a.example", port: 443 },
      { host: "b.example", port: 443 },
      { host: "c.example", port: 443 },
    ],
    [
      { host: "a.example", port: 8443 },
      { host: "c.example", port: 443 },
      { host: "d.example", port: 443 },
    ],
  );
  assert.deepEqual(d, {
    added: [{ host: "a.example", port: 8443 }, { host: "d.example", port: 443 }],
    removed: [{ host: "a.example", port: 443 }, { host: "b.example", port: 443 }],
    unchanged: 1,
  });
  assert.equal(
    renderDiffText(d),
    "+ a.example:8443 (port changed)\n+ d.example:443\n- a.example:443 (port changed)\n" +
      "- b.example:443\n= 1 unchanged\n",
  );
  assert.deepEqual(diffAllowlists([], []), { added: [], removed: [], unchanged: 0 });
});

Deno.test("renderSummary: exact Markdown (golden), values cannot break out of code spans", () => {
  const md = renderSummary({
    sandbox: "web",
    namespace: "team-a",
    repository: "r.example/policy/egress-allowlist/web",
    next: { digest: `sha256:${"1".repeat(64)}`, generation: 3 },
    previous: { digest: `sha256:${"0".repeat(64)}`, generation: 2 },
    signer: "keyless:https://github.com/acme/x/.github/workflows/a`b.yml@refs/heads/main",
    diff: {
      added: [{ host: "a.example", port: 8443 }],
      removed: [{ host: "a.example", port: 443 }, { host: "b.example", port: 443 }],
      unchanged: 4,
    },
    manifestPath: "gitops/web.yaml",
  });
  assert.equal(
    md,
    [
      "### Egress allowlist: `team-a/web`",
      "",
      "Endpoints: **1 added, 2 removed, 4 unchanged**.",
      "",
      "| | previous | new |",
      "|---|---|---|",
      `| digest | \`sha256:${"0".repeat(64)}\` | \`sha256:${"1".repeat(64)}\` |`,
      "| generation | 2 | 3 |",
      "",
      "- sandbox: `web` in namespace `team-a`",
      `- artifact: \`r.example/policy/egress-allowlist/web@sha256:${"1".repeat(64)}\``,
      "- signer: `keyless:https://github.com/acme/x/.github/workflows/a'b.yml@refs/heads/main`",
      "- manifest: `gitops/web.yaml`",
      "",
      "**Added**",
      "",
      "- `a.example:8443` (port changed)",
      "",
      "**Removed**",
      "",
      "- `a.example:443` (port changed)",
      "- `b.example:443`",
      "",
      "Check the cluster's verdict before merging: `kars egress verify --manifest <file> --signer-policy <policy>`.",
      "",
    ].join("\n"),
  );
});

Deno.test("--summary and kars egress diff through the real flow: added, removed, changed port; byte-stable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-summary-" });
  try {
    const key = join(dir, "key.pem");
    await Deno.writeTextFile(
      key,
      pemEncode("PRIVATE KEY", pkcs8FromSecret(p256.utils.randomSecretKey())),
    );
    const file = join(dir, "sandbox.yaml");
    const args = [
      "egress",
      "web",
      "--enforce",
      "--from-file",
      file,
      "--registry",
      "oci:layout",
      "--ref-registry",
      "r.example",
      "--key",
      key,
      "--tlog-upload=false",
      "--emit-manifest",
      "gitops/web.yaml",
      "--force",
    ];
    await Deno.writeTextFile(
      file,
      sandbox(
        "      - host: keep.example\n      - host: gone.example\n      - host: port.example\n",
      ),
    );
    const first = await runKars([...args, "--summary", "first.md"], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    const firstMd = await Deno.readTextFile(join(dir, "first.md"));
    assert.match(
      firstMd,
      /Endpoints: \*\*3 added, 0 removed, 0 unchanged\*\* \(first signed allowlist\)/,
    );
    const oldManifest = await Deno.readFile(join(dir, "gitops/web.yaml"));

    await Deno.writeTextFile(
      file,
      sandbox(
        "      - host: keep.example\n      - host: port.example\n        port: 8443\n" +
          "      - host: new.example\n",
      ),
    );
    const run2 = async () => {
      await Deno.writeFile(join(dir, "gitops/web.yaml"), oldManifest); // the committed state
      const r = await runKars([...args, "--summary", "-"], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const md = await run2();
    assert.match(md, /Endpoints: \*\*2 added, 2 removed, 1 unchanged\*\*\./);
    assert.match(md, /\| generation \| 1 \| 2 \|/);
    assert.match(
      md,
      /\*\*Added\*\*\n\n- `new\.example:443`\n- `port\.example:8443` \(port changed\)\n/,
    );
    assert.match(
      md,
      /\*\*Removed\*\*\n\n- `gone\.example:443`\n- `port\.example:443` \(port changed\)\n/,
    );
    assert.match(md, /- signer: `key:[0-9a-f]{16}`/);
    assert.doesNotMatch(md, /20\d\d-\d\d-\d\d/, "no timestamps");
    assert.equal(await run2(), md, "same inputs, same bytes");
    const newManifest = await Deno.readFile(join(dir, "gitops/web.yaml"));

    // kars egress diff on the two GitOps manifests (layout named), and its --json.
    await Deno.writeFile(join(dir, "old.yaml"), oldManifest);
    await Deno.writeFile(join(dir, "new.yaml"), newManifest);
    const d = await runKars(
      ["egress", "diff", "old.yaml", "new.yaml", "--registry", "oci:layout"],
      {
        cwd: dir,
      },
    );
    assert.equal(d.code, 0, d.stderr);
    assert.match(
      d.stdout,
      /^--- r\.example\/policy\/egress-allowlist\/web@sha256:[0-9a-f]{64} \(generation 1\)\n/,
    );
    assert.ok(
      d.stdout.endsWith(
        "+ new.example:443\n+ port.example:8443 (port changed)\n- gone.example:443\n" +
          "- port.example:443 (port changed)\n= 1 unchanged\n",
      ),
      d.stdout,
    );
    const again = await runKars([
      "egress",
      "diff",
      "old.yaml",
      "new.yaml",
      "--registry",
      "oci:layout",
    ], {
      cwd: dir,
    });
    assert.equal(again.stdout, d.stdout, "byte-stable");
    const j = await runKars([
      "egress",
      "diff",
      "old.yaml",
      "new.yaml",
      "--registry",
      "oci:layout",
      "--json",
    ], {
      cwd: dir,
    });
    assert.equal(j.code, 0, j.stderr);
    const o = JSON.parse(j.stdout);
    assert.equal(o.ok, true);
    assert.deepEqual(o.diff.removed, [
      { host: "gone.example", port: 443 },
      { host: "port.example", port: 443 },
    ]);
    // Without the layout, the reference's registry (r.example) would be contacted: refuse a
    // missing file clearly instead, and say that nothing is verified.
    const missing = await runKars(["egress", "diff", "absent.yaml", "new.yaml"], { cwd: dir });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /absent\.yaml: no such file/);
    const help = await runKars(["egress", "diff", "--help"]);
    assert.match(help.stdout, /VERIFIES NOTHING/);

    // The summary and the manifest cannot be one file (usage error, nothing touched).
    const before = await Deno.readFile(join(dir, "gitops/web.yaml"));
    const same = await runKars([...args, "--summary", "./gitops/../gitops/web.yaml"], { cwd: dir });
    assert.equal(same.code, 2, same.stderr);
    assert.match(same.stderr, /--summary and --emit-manifest name the same file/);
    assert.deepEqual(await Deno.readFile(join(dir, "gitops/web.yaml")), before);
    // A summary whose directory cannot be written fails before anything is pushed or written.
    // (A new allowlist: a push or a manifest write would change index.json or web.yaml.)
    await Deno.writeTextFile(
      file,
      sandbox("      - host: keep.example\n      - host: another.example\n"),
    );
    await Deno.writeTextFile(join(dir, "not-a-dir"), "x");
    const tags = await Deno.readTextFile(join(dir, "layout/index.json"));
    const bad = await runKars([...args, "--summary", "not-a-dir/s.md"], { cwd: dir });
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /cannot write .*s\.md/);
    assert.deepEqual(await Deno.readFile(join(dir, "gitops/web.yaml")), before);
    assert.equal(await Deno.readTextFile(join(dir, "layout/index.json")), tags);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
