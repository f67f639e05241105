/**
 * The shared sigstore-conformance cases through `kars verify-blob`: every case with the
 * artifact file and with its `sha256:` digest (110 runs), in-process; a few through the
 * real CLI process once `cli.ts` dispatches `verify-blob`.
 */
import assert from "assert";
import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "../../../lib/encoding/bytes.ts";
import { commands } from "../../../lib/cli/commands.ts";
import { spawnKars } from "../../support/cli.ts";
import { type ConformanceCase, loadConformanceCases } from "./conformance_cases.ts";
import { runVerifyBlob } from "./verify_blob_harness.ts";

const cases = loadConformanceCases();

function argv(c: ConformanceCase, target: string): string[] {
  const args = ["--bundle", c.bundlePath];
  if (c.keyPath) args.push("--key", c.keyPath);
  else {args.push(
      "--certificate-identity",
      c.identity!.san,
      "--certificate-oidc-issuer",
      c.identity!.issuer,
    );}
  args.push("--trusted-root", c.trustedRootPath, target);
  return args;
}

Deno.test("conformance: the shared case set is complete", () => {
  assert.equal(cases.length, 55);
  assert.equal(cases.filter((c) => c.expectOk).length, 17);
});

Deno.test("conformance: verify-blob on every case, with the artifact and with its digest", async (t) => {
  let passed = 0;
  for (const c of cases) {
    for (const mode of ["file", "digest"] as const) {
      const target = mode === "file" ? c.artifactPath : `sha256:${toHex(sha256(c.artifact))}`;
      const ok = await t.step(`${c.name} (${mode})`, async () => {
        const r = await runVerifyBlob(argv(c, target));
        if (c.expectOk) assert.equal(r.code, 0, `expected success, got ${r.code}: ${r.stderr}`);
        else {
          assert.equal(
            r.code,
            3,
            `expected verification failure (exit 3, verdict False), got ${r.code}: ${r.stderr}`,
          );
          assert.match(r.stderr, /verification failed \(\w+\)/);
        }
      });
      if (ok) passed++;
    }
  }
  assert.equal(passed, 110);
});

Deno.test("conformance: the default trusted root is the production snapshot", async () => {
  const c = cases.find((x) => x.name === "happy-path-v0.1")!;
  const args = argv(c, c.artifactPath);
  const i = args.indexOf("--trusted-root");
  args.splice(i, 2);
  assert.equal((await runVerifyBlob(args)).code, 0);
});

Deno.test("verify-blob: usage errors exit 2", async () => {
  const c = cases.find((x) => x.name === "happy-path-v0.1")!;
  const base = ["--bundle", c.bundlePath];
  // No identity and no key.
  assert.equal((await runVerifyBlob([...base, c.artifactPath])).code, 2);
  // Identity without issuer.
  assert.equal(
    (await runVerifyBlob([...base, "--certificate-identity", "x", c.artifactPath])).code,
    2,
  );
  // Both a key and an identity.
  assert.equal(
    (await runVerifyBlob([
      ...base,
      "--key",
      "k.pub",
      "--certificate-identity",
      "x",
      "--certificate-oidc-issuer",
      "y",
      c.artifactPath,
    ])).code,
    2,
  );
  // No artifact; unknown flag.
  assert.equal((await runVerifyBlob([...base, "--key", "k.pub"])).code, 2);
  assert.equal((await runVerifyBlob([...base, "--nope", c.artifactPath])).code, 2);
});

Deno.test("verify-blob: a missing file fails (exit 2) naming the file", async () => {
  const c = cases.find((x) => x.name === "managed-key-happy-path")!;
  const r = await runVerifyBlob([
    "--bundle",
    "/nonexistent/b.json",
    "--key",
    c.keyPath!,
    c.artifactPath,
  ]);
  assert.equal(r.code, 2); // a missing input file is an input error
  assert.match(r.stderr, /--bundle \/nonexistent\/b\.json: cannot read the file/);
});

Deno.test("verify-blob: a sha256:… argument that names an existing file is read as a file", async () => {
  const c = cases.find((x) => x.name === "happy-path-v0.1")!;
  const dir = await Deno.makeTempDir();
  try {
    // The file's name looks like a digest of the right artifact, but its content differs:
    // it must be hashed as a file (and fail), not taken as the digest (which would pass).
    const name = `sha256:${toHex(sha256(c.artifact))}`;
    await Deno.writeTextFile(`${dir}/${name}`, "other content\n");
    const r = await runVerifyBlob(argv(c, name), dir);
    assert.equal(r.code, 3, r.stderr);
    const r2 = await runVerifyBlob(argv(c, name), Deno.cwd());
    assert.equal(r2.code, 0, r2.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const wired = commands.some((c) => c.path.join(" ") === "verify-blob");

Deno.test({
  name: "conformance: a few cases through the real `deno run cli.ts verify-blob` process",
  ignore: !wired,
  async fn() {
    for (const name of ["happy-path-v0.1", "managed-key-happy-path", "signature-mismatch_fail"]) {
      const c = cases.find((x) => x.name === name)!;
      for (const target of [c.artifactPath, `sha256:${toHex(sha256(c.artifact))}`]) {
        const r = await spawnKars(["verify-blob", ...argv(c, target)]);
        assert.equal(r.code, c.expectOk ? 0 : 3, `${name} ${target}: ${r.stderr}`);
      }
    }
  },
});
if (!wired) {
  console.warn("conformance_test: cli.ts does not dispatch verify-blob yet; process test skipped");
}

Deno.test("verify-blob: --key refuses a certificate-signed bundle", async () => {
  const cert = cases.find((x) => x.name === "happy-path-v0.1")!;
  const key = cases.find((x) => x.name === "managed-key-happy-path")!;
  const r = await runVerifyBlob([
    "--bundle",
    cert.bundlePath,
    "--key",
    key.keyPath!,
    cert.artifactPath,
  ]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /signed with a certificate, not a key/);
});
