/**
 * `kars egress` output files: `--summary` and `--emit-manifest` can never name one file,
 * however each is spelled (relative or absolute, `./m.yaml` or `m.yaml`), and a file-system
 * refusal names the flag of the file at fault. Offline: an OCI layout and an unencrypted key.
 */
import assert from "assert";
import { join } from "node:path";
import { p256 } from "@noble/curves/nist.js";
import { runKars } from "../support/cli.ts";
import { pemEncode } from "../../lib/encoding/pem.ts";
import { pkcs8FromSecret } from "../../lib/sign/p256.ts";

const SANDBOX = `apiVersion: kars.azure.com/v1alpha1
kind: KarsSandbox
metadata:
  name: web
  namespace: team-a
spec:
  networkPolicy:
    allowedEndpoints:
      - host: keep.example
`;

/** A temp dir with sandbox.yaml and key.pem; the common `kars egress` arguments. */
async function setup(): Promise<{ dir: string; args: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "kars-outpaths-" });
  const key = join(dir, "key.pem");
  await Deno.writeTextFile(
    key,
    pemEncode("PRIVATE KEY", pkcs8FromSecret(p256.utils.randomSecretKey())),
  );
  await Deno.writeTextFile(join(dir, "sandbox.yaml"), SANDBOX);
  return {
    dir,
    args: [
      "egress",
      "web",
      "--enforce",
      "--from-file",
      "sandbox.yaml",
      "--registry",
      "oci:layout",
      "--ref-registry",
      "r.example",
      "--key",
      key,
      "--tlog-upload=false",
    ],
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("egress: --summary naming the --emit-manifest file (any spelling) is a usage error before any work", async () => {
  const { dir, args } = await setup();
  try {
    const manifest = join(dir, "m2.yaml");
    await Deno.writeTextFile(manifest, "committed GitOps manifest\n");
    await Deno.symlink(dir, join(dir, "link"));
    const spellings: [string, string][] = [
      ["m2.yaml", manifest], // relative manifest, absolute summary
      [manifest, "m2.yaml"], // absolute manifest, relative summary
      ["./m2.yaml", "m2.yaml"],
      ["m2.yaml", "./sub/../m2.yaml"],
      ["m2.yaml", "link/m2.yaml"], // the same directory through a symbolic link
    ];
    for (const [emit, summary] of spellings) {
      for (const force of [true, false]) {
        const r = await runKars([
          ...args,
          "--emit-manifest",
          emit,
          "--summary",
          summary,
          ...(force ? ["--force"] : []),
        ], { cwd: dir });
        const what = `--emit-manifest ${emit} --summary ${summary}${force ? " --force" : ""}`;
        assert.equal(r.code, 2, `${what}: ${r.stderr}`);
        assert.match(r.stderr, /--summary and --emit-manifest name the same file/, what);
        assert.equal(await Deno.readTextFile(manifest), "committed GitOps manifest\n", what);
        assert.equal(await exists(join(dir, "layout")), false, `${what}: nothing pushed`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("egress: an absolute --summary that only looks like the relative --emit-manifest from / is its own file", async () => {
  const { dir, args } = await setup();
  try {
    // Relative to the run's directory, `<dir without its leading />/m.yaml` is a file under
    // dir; resolved against / it would equal the absolute summary path.
    const emit = join(dir.slice(1), "m.yaml");
    const summary = join(dir, "m.yaml");
    const r = await runKars([...args, "--emit-manifest", emit, "--summary", summary], {
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(await Deno.readTextFile(join(dir, emit)), /allowlistRef/);
    assert.match(await Deno.readTextFile(summary), /### Egress allowlist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("egress: a --summary (or --emit-manifest) that cannot be written names its own flag, before any work", async () => {
  const { dir, args } = await setup();
  try {
    await Deno.writeTextFile(join(dir, "a-file"), "x\n");
    const summary = await runKars([
      ...args,
      "--emit-manifest",
      "m.yaml",
      "--summary",
      "a-file/s.md",
    ], { cwd: dir });
    assert.equal(summary.code, 1, summary.stderr);
    assert.match(summary.stderr, /^kars: error: --summary: cannot write \S*a-file\/s\.md: /m);
    assert.doesNotMatch(summary.stderr, /--emit-manifest/);
    assert.equal(await exists(join(dir, "layout")), false, "nothing pushed");
    assert.equal(await exists(join(dir, "m.yaml")), false, "no manifest written");

    const manifest = await runKars([
      ...args,
      "--emit-manifest",
      "a-file/m.yaml",
      "--summary",
      "s.md",
    ], { cwd: dir });
    assert.equal(manifest.code, 1, manifest.stderr);
    assert.match(
      manifest.stderr,
      /^kars: error: --emit-manifest: cannot write \S*a-file\/m\.yaml: /m,
    );
    assert.equal(await exists(join(dir, "layout")), false, "nothing pushed");

    // An overwrite refusal names the file's flag too (and --force).
    await Deno.writeTextFile(join(dir, "s.md"), "old summary\n");
    const exists2 = await runKars([
      ...args,
      "--emit-manifest",
      "m.yaml",
      "--summary",
      "s.md",
    ], { cwd: dir });
    assert.equal(exists2.code, 2, exists2.stderr);
    assert.match(
      exists2.stderr,
      /^kars: error: --summary: refusing to overwrite existing file \S*s\.md; pass --force to replace it$/m,
    );
    assert.equal(await Deno.readTextFile(join(dir, "s.md")), "old summary\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
