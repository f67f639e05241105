/**
 * `kars verify-blob` inputs that cannot be read: exit 2, the path once and the problem (never
 * an internal code); an artifact over the 64 MiB cap says so and that its sha256 digest can be
 * given instead.
 */
import assert from "assert";
import { join } from "node:path";
import { runKars } from "../support/cli.ts";
import { fileErrorsDir, occurrences } from "../support/file_errors.ts";

const KEYED = ["verify-blob", "--bundle", "b.json", "--key", "k.pub"];

Deno.test("verify-blob: a missing, directory or oversized artifact: exit 2 with the problem", async () => {
  const dir = await fileErrorsDir();
  try {
    await Deno.writeTextFile(join(dir, "b.json"), "{}");
    await Deno.writeTextFile(join(dir, "k.pub"), "x");
    const missing = await runKars([...KEYED, "absent.bin"], { cwd: dir });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /artifact absent\.bin: cannot read the file: no such file/);
    assert.doesNotMatch(missing.stderr, /NOT_FOUND/);

    const isDir = await runKars([...KEYED, "a-dir"], { cwd: dir });
    assert.equal(isDir.code, 2, isDir.stderr);
    assert.match(isDir.stderr, /artifact a-dir: cannot read the file: is a directory, not a file/);
    assert.equal(occurrences(isDir.stderr, "a-dir"), 1, isDir.stderr);

    const bundle = await runKars(["verify-blob", "--bundle", "a-dir", "--key", "k.pub", "b.json"], {
      cwd: dir,
    });
    assert.equal(bundle.code, 2, bundle.stderr);
    assert.match(bundle.stderr, /--bundle a-dir: cannot read the file: is a directory, not a file/);

    // A sparse file just over the cap: refused from its size, never read.
    const big = join(dir, "big.bin");
    await Deno.writeFile(big, new Uint8Array(0));
    await Deno.truncate(big, 64 * 1024 * 1024 + 1);
    const over = await runKars([...KEYED, "big.bin"], { cwd: dir });
    assert.equal(over.code, 2, over.stderr);
    assert.match(over.stderr, /artifact big\.bin: larger than 67108864 bytes \(64 MiB\)/);
    assert.match(over.stderr, /give its digest instead: sha256:/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify-blob --help says the 64 MiB cap and the digest alternative", async () => {
  const r = await runKars(["verify-blob", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /at most 64 MiB; for a larger artifact give its digest/);
});
