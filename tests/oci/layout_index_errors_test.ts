/**
 * A layout's index.json that cannot be read: the error names the file and the problem (never
 * the bounded reader's internal code), and an oversized one names the layout and the fix.
 */
import assert from "assert";
import { join } from "node:path";
import { runKars } from "../support/cli.ts";
import { fileErrorsDir, occurrences } from "../support/file_errors.ts";

const PUSH = [
  "egress",
  "web",
  "--enforce",
  "--from-file",
  "sandbox.yaml",
  "--registry",
  "oci:layout",
  "--no-sign",
];

async function layoutWithIndex(dir: string): Promise<string> {
  await Deno.mkdir(join(dir, "layout", "blobs", "sha256"), { recursive: true });
  await Deno.writeTextFile(join(dir, "layout", "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  return join(dir, "layout", "index.json");
}

Deno.test("layout: index.json that is a directory: the path once and 'is a directory', not FILE", async () => {
  const dir = await fileErrorsDir();
  try {
    const index = await layoutWithIndex(dir);
    await Deno.mkdir(index);
    const r = await runKars(PUSH, { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /index\.json: is a directory, not a file/);
    assert.doesNotMatch(r.stderr, /: FILE\b/);
    assert.equal(occurrences(r.stderr, index), 1, r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("layout: index.json over 4 MiB names the layout and the fix (exit 2)", async () => {
  const dir = await fileErrorsDir();
  try {
    const index = await layoutWithIndex(dir);
    await Deno.writeFile(index, new Uint8Array(4 * 1024 * 1024 + 1).fill(0x20));
    const r = await runKars(PUSH, { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /oci:\S*layout: index\.json is larger than 4194304 bytes \(4 MiB\).*is this the right layout\? Remove stale tags/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
