import assert from "assert";
import { join } from "node:path";
import { checkWritable, writeFileAtomic } from "../lib/io/fs_atomic.ts";
import { isKarsError } from "../lib/errors.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "kars-atomic-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    out.push(e.name);
    if (e.isDirectory) out.push(...(await listAll(join(dir, e.name))).map((n) => `${e.name}/${n}`));
  }
  return out.sort();
}

const refusal = (re: RegExp) => (e: unknown) =>
  isKarsError(e, "FILE") && re.test((e as Error).message);
// The overwrite refusal is an input error (exit 2) carrying details.reason AlreadyExists.
const overwriteRefusal = (re: RegExp) => (e: unknown) =>
  isKarsError(e, "INPUT") && (e as { details?: { reason?: string } }).details?.reason ===
    "AlreadyExists" &&
  re.test((e as Error).message);

Deno.test("fs_atomic: creates parent directories, refuses overwrite without force, overwrites with force", async () => {
  await withDir(async (dir) => {
    const p = join(dir, "gitops", "clusters", "prod", "a.yaml");
    await checkWritable(p);
    await writeFileAtomic(p, enc("one\n"));
    assert.equal(await Deno.readTextFile(p), "one\n");
    await assert.rejects(
      checkWritable(p),
      overwriteRefusal(new RegExp(`^refusing to overwrite existing file ${p}$`)),
    );
    await assert.rejects(
      writeFileAtomic(p, enc("two\n")),
      overwriteRefusal(/^refusing to overwrite existing file /),
    );
    assert.equal(await Deno.readTextFile(p), "one\n");
    await checkWritable(p, { force: true });
    await writeFileAtomic(p, enc("two\n"), { force: true });
    assert.equal(await Deno.readTextFile(p), "two\n");
    assert.deepEqual(await listAll(dir), [
      "gitops",
      "gitops/clusters",
      "gitops/clusters/prod",
      "gitops/clusters/prod/a.yaml",
    ]);
  });
});

Deno.test("fs_atomic: a symlink target is refused, even with force, and left untouched", async () => {
  await withDir(async (dir) => {
    const real = join(dir, "real.yaml");
    const link = join(dir, "link.yaml");
    await Deno.writeTextFile(real, "original\n");
    await Deno.symlink(real, link);
    for (const force of [false, true]) {
      await assert.rejects(
        writeFileAtomic(link, enc("x"), { force }),
        refusal(/it is a symbolic link/),
      );
      await assert.rejects(checkWritable(link, { force }), refusal(/symbolic link/));
    }
    const dangling = join(dir, "dangling.yaml");
    await Deno.symlink(join(dir, "nowhere.yaml"), dangling);
    await assert.rejects(
      writeFileAtomic(dangling, enc("x"), { force: true }),
      refusal(/symbolic link/),
    );
    assert.equal(await Deno.readTextFile(real), "original\n");
    assert.ok((await Deno.lstat(link)).isSymlink);
    assert.deepEqual(await listAll(dir), ["dangling.yaml", "link.yaml", "real.yaml"]);
  });
});

Deno.test("fs_atomic: directories and non-directory parents are refused; no temp files left", async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      writeFileAtomic(dir, enc("x"), { force: true }),
      refusal(/it is a directory/),
    );
    const file = join(dir, "file");
    await Deno.writeTextFile(file, "f");
    await assert.rejects(
      checkWritable(join(file, "sub", "a.yaml")),
      refusal(/exists and is not a directory/),
    );
    await assert.rejects(
      writeFileAtomic(join(file, "a.yaml"), enc("x")),
      (e: unknown) => isKarsError(e, "FILE"),
    );
    // A write that fails after the temp file exists (target became a directory) cleans up.
    const target = join(dir, "t.yaml");
    await Deno.mkdir(target);
    await assert.rejects(
      writeFileAtomic(target, enc("x"), { force: true }),
      (e: unknown) => isKarsError(e, "FILE"),
    );
    assert.deepEqual(await listAll(dir), ["file", "t.yaml"]);
    // Large content is written whole.
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    await writeFileAtomic(join(dir, "big.bin"), big);
    assert.deepEqual(await Deno.readFile(join(dir, "big.bin")), big);
    assert.deepEqual(await listAll(dir), ["big.bin", "file", "t.yaml"]);
  });
});

Deno.test("fs_atomic: a symlinked parent directory is followed (the operator's own layout)", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(join(dir, "real"));
    await Deno.symlink(join(dir, "real"), join(dir, "gitops"));
    await writeFileAtomic(join(dir, "gitops", "a.yaml"), enc("a\n"));
    assert.equal(await Deno.readTextFile(join(dir, "real", "a.yaml")), "a\n");
  });
});
