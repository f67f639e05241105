/**
 * `--key` naming a directory: an input error (exit 2) that names the path once and says it is
 * a directory (not the bounded reader's internal code).
 */
import assert from "assert";
import { join } from "node:path";
import { runKars } from "../support/cli.ts";
import { fileErrorsDir, occurrences } from "../support/file_errors.ts";

Deno.test("egress: --key naming a directory: exit 2, 'is a directory', the path once", async () => {
  const dir = await fileErrorsDir();
  try {
    const key = join(dir, "a-dir");
    const r = await runKars([
      "egress",
      "web",
      "--enforce",
      "--from-file",
      "sandbox.yaml",
      "--registry",
      "oci:layout",
      "--key",
      key,
      "--tlog-upload=false",
    ], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /--key: .*key file \S+a-dir: cannot read it \(is a directory, not a file\)/,
    );
    assert.doesNotMatch(r.stderr, /\(FILE\)/);
    assert.equal(occurrences(r.stderr, key), 1, r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
