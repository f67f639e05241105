/**
 * JSR readiness (issue 5): `deno publish --dry-run` passes (no slow types), `deno doc --lint
 * mod.ts` is clean, and the package's file list leaves tests and test data out.
 */
import assert from "assert";
import { ROOT } from "../../scripts/build_binary.ts";

async function deno(args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout) + d.decode(o.stderr) };
}

Deno.test("deno publish --dry-run passes and leaves tests and test data out", async () => {
  const r = await deno(["publish", "--dry-run", "--allow-dirty", "--frozen"]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Dry run complete/, r.out);
  assert.doesNotMatch(r.out, /^(error|warning)\b/im, r.out);
  const files = [...r.out.matchAll(/^\s+(file:\/\/\/\S+)/gm)].map((m) => m[1]);
  assert.ok(files.some((f) => f.endsWith("/mod.ts")), r.out);
  assert.ok(files.some((f) => f.endsWith("/cli.ts")), r.out);
  for (const f of files) {
    assert.doesNotMatch(f, /\/(tests|testdata|bench|scripts|examples)\//, `published: ${f}`);
    assert.doesNotMatch(f, /_test\.ts$/, `published: ${f}`);
  }
});

Deno.test("deno doc --lint mod.ts is clean", async () => {
  const r = await deno(["doc", "--lint", "mod.ts"]);
  assert.equal(r.code, 0, r.out);
});
