/**
 * A file a flag names (`--ca-file`, `--signer-policy`, `--signing-config`) that is missing, a
 * directory or endless is an input error (exit 2) naming the flag and the path once, and the
 * problem: never a sandbox-file message, never an internal code.
 */
import assert from "assert";
import { join } from "node:path";
import { runKars } from "../support/cli.ts";
import { fileErrorsDir, occurrences } from "../support/file_errors.ts";

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
