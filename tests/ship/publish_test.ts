/**
 * JSR readiness (issue 5): `deno publish --dry-run` passes (no slow types), `deno doc --lint`
 * over every export path is clean, and the package's file list leaves tests and test data out.
 */
import assert from "assert";
import { join } from "node:path";
import { ROOT } from "../../scripts/build_binary.ts";

/** The files of deno.json "exports" (the root mod.ts, the subpath faces, cli.ts). */
const EXPORT_FILES: string[] = Object.values(
  (JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))) as {
    exports: Record<string, string>;
  }).exports,
);

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
  assert.ok(EXPORT_FILES.length > 2, `exports: ${EXPORT_FILES}`);
  for (const e of EXPORT_FILES) {
    const published = `/${e.replace(/^\.\//, "")}`;
    assert.ok(files.some((f) => f.endsWith(published)), `export ${e} not published: ${r.out}`);
  }
  for (const f of files) {
    assert.doesNotMatch(f, /\/(tests|testdata|bench|scripts|examples)\//, `published: ${f}`);
    assert.doesNotMatch(f, /_test\.ts$/, `published: ${f}`);
  }
});

Deno.test("deno doc --lint over every export path is clean", async () => {
  const r = await deno(["doc", "--lint", ...EXPORT_FILES]);
  assert.equal(r.code, 0, r.out);
});

Deno.test("every function and class of every export path has JSDoc with an @example", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...EXPORT_FILES],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
  const doc = JSON.parse(new TextDecoder().decode(r.stdout));
  type Sym = {
    name: string;
    kind?: string;
    declarations: {
      kind?: string;
      location: { filename: string; line: number };
      jsDoc?: { tags?: { kind: string }[] };
    }[];
  };
  const symbols: Sym[] = Object.values(doc.nodes as Record<string, { symbols: Sym[] }>)
    .flatMap((n) => n.symbols);
  const callable = symbols.filter((s) => {
    const kind = s.kind ?? s.declarations[0]?.kind;
    return kind === "function" || kind === "class";
  });
  assert.ok(callable.length > 10, `only ${callable.length} functions/classes found`);
  const missing = callable.filter((s) =>
    !s.declarations.some((d) => d.jsDoc?.tags?.some((t) => t.kind === "example"))
  ).map((s) => {
    const l = s.declarations[0].location;
    return `${s.name} (${l.filename.replace(`file://${ROOT}/`, "")}:${l.line})`;
  });
  assert.deepEqual(missing, [], `exports without an @example: ${missing.join(", ")}`);
});
