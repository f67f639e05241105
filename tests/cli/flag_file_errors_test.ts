/**
 * A file a flag names (`--ca-file`, `--signer-policy`, `--signing-config`) that is missing, a
 * directory or endless is an input error (exit 2) naming the flag and the path once, and the
 * problem: never a sandbox-file message, never an internal code.
 */
import assert from "assert";
import { join } from "node:path";
import { runKars } from "../support/cli.ts";
import { fileErrorsDir, occurrences } from "../support/file_errors.ts";

const EGRESS = [
  "egress",
  "web",
  "--enforce",
  "--from-file",
  "sandbox.yaml",
  "--registry",
  "oci:layout",
  "--key",
  "no-key.pem",
  "--tlog-upload=false",
];

Deno.test("egress: --ca-file, --signer-policy, --signing-config naming a directory or /dev/zero: exit 2, path once", async () => {
  const dir = await fileErrorsDir();
  try {
    for (const flag of ["--ca-file", "--signer-policy", "--signing-config"]) {
      const r = await runKars([...EGRESS, flag, "a-dir"], { cwd: dir });
      assert.equal(r.code, 2, `${flag}: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(`^kars: error: ${flag}: \\S+/a-dir: is a directory, not a file$`, "m"),
        flag,
      );
      assert.equal(occurrences(r.stderr, "a-dir"), 1, r.stderr);
    }
    const zero = await runKars([...EGRESS, "--ca-file", "/dev/zero"], { cwd: dir });
    assert.equal(zero.code, 2, zero.stderr);
    assert.match(zero.stderr, /--ca-file: \/dev\/zero: larger than \d+ bytes/);
    assert.doesNotMatch(zero.stderr, /sandbox/);
    const missing = await runKars([...EGRESS, "--ca-file", "absent.pem"], { cwd: dir });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /--ca-file: \S+\/absent\.pem: no such file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("egress diff: --ca-file naming a directory names the path once", async () => {
  const dir = await fileErrorsDir();
  try {
    const caDir = join(dir, "a-dir");
    const r = await runKars(
      ["egress", "diff", "sandbox.yaml", "sandbox.yaml", "--ca-file", caDir],
      {
        cwd: dir,
      },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--ca-file \S+a-dir: is a directory, not a file/);
    assert.equal(occurrences(r.stderr, caDir), 1, r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
