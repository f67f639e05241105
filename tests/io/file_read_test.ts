import assert from "assert";
import { readFileBounded } from "../../lib/io/file_read.ts";
import { isKarsError } from "../../lib/errors.ts";
import { runKars } from "../support/cli.ts";

Deno.test("readFileBounded: whole file under the cap; refused over it, a directory, a missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = `${dir}/f`;
    await Deno.writeFile(f, new Uint8Array(1000).fill(7));
    assert.deepEqual(await readFileBounded(f, { maxBytes: 1000 }), new Uint8Array(1000).fill(7));
    await assert.rejects(
      () => readFileBounded(f, { maxBytes: 999, what: "CA file" }),
      (e) =>
        isKarsError(e, "INPUT") && e.message.startsWith(`CA file ${f}: larger than 999 bytes`) &&
        e.details?.limit === 999,
    );
    assert.deepEqual(await readFileBounded(`${dir}/empty`, {}).catch((e) => e.code), "NOT_FOUND");
    await Deno.writeFile(`${dir}/empty`, new Uint8Array());
    assert.equal((await readFileBounded(`${dir}/empty`)).length, 0);
    await assert.rejects(() => readFileBounded(dir), (e) => isKarsError(e, "FILE"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readFileBounded: a file that never ends is refused after the cap, not read whole", async () => {
  // /dev/zero reports size 0 and never ends: only the read itself can bound it.
  await assert.rejects(
    () => readFileBounded("/dev/zero", { maxBytes: 100_000 }),
    (e) => isKarsError(e, "INPUT") && /larger than 100000 bytes/.test(e.message),
  );
});

Deno.test("CLI: a file named by a flag that never ends is an input error (exit 2), not a hang", async () => {
  for (
    const args of [
      ["signer-policy", "lint", "/dev/zero"],
      ["egress", "verify", "--manifest", "/dev/zero", "--signer-policy", "/dev/zero"],
      ["egress", "diff", "/dev/zero", "/dev/zero"],
    ]
  ) {
    const r = await runKars(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /\/dev\/zero.*larger than/, args.join(" "));
  }
});
