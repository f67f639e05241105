import assert from "assert";
import { join } from "node:path";
import { MAX_INPUT_BYTES, parseYamlDocuments, readInputText } from "../lib/encoding/yaml_read.ts";
import { isKarsError } from "../lib/errors.ts";

const BILLION_LAUGHS = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`;

function inputError(re: RegExp) {
  return (e: unknown) => {
    assert.ok(isKarsError(e, "INPUT"), `expected KarsError INPUT, got ${e}`);
    assert.match((e as Error).message, re);
    return true;
  };
}

Deno.test("yaml_read: a billion-laughs file is refused quickly with a clear error", () => {
  const t0 = performance.now();
  assert.throws(
    () => parseYamlDocuments(BILLION_LAUGHS, "laughs.yaml"),
    inputError(/laughs\.yaml: .*too many YAML aliases/),
  );
  console.log(`  billion laughs refused in ${(performance.now() - t0).toFixed(1)} ms`);
});

Deno.test("yaml_read: a 50 MB input is refused before parsing (text, file and stdin)", async () => {
  const big = "a: " + "x".repeat(50 * 1024 * 1024) + "\n";
  let t0 = performance.now();
  assert.throws(
    () => parseYamlDocuments(big, "big.yaml"),
    inputError(/big\.yaml: input is larger than 4194304 bytes/),
  );
  console.log(`  50 MB text refused in ${(performance.now() - t0).toFixed(1)} ms`);

  const dir = await Deno.makeTempDir({ prefix: "kars-yaml-" });
  try {
    const path = join(dir, "big.yaml");
    await Deno.writeTextFile(path, big);
    t0 = performance.now();
    await assert.rejects(readInputText(path), inputError(/big\.yaml: input is larger than/));
    console.log(`  50 MB file refused in ${(performance.now() - t0).toFixed(1)} ms`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  // stdin: a lazy 50 MB stream; reading must stop soon after the cap, not slurp everything.
  let pulled = 0;
  const chunk = new Uint8Array(1024 * 1024).fill(0x61);
  const stdin = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled === 50) return c.close();
      pulled++;
      c.enqueue(chunk);
    },
  });
  t0 = performance.now();
  await assert.rejects(readInputText("-", { stdin }), inputError(/<stdin>: input is larger than/));
  console.log(
    `  50 MB stdin refused in ${(performance.now() - t0).toFixed(1)} ms after ${pulled} MiB`,
  );
  assert.ok(pulled <= MAX_INPUT_BYTES / chunk.length + 2, `read ${pulled} MiB before refusing`);
});

Deno.test("yaml_read: multi-document YAML and JSON", () => {
  assert.deepEqual(parseYamlDocuments("a: 1\n---\n---\nb: [x]\n", "m.yaml"), [{ a: 1 }, null, {
    b: ["x"],
  }]);
  assert.deepEqual(parseYamlDocuments('{"a": {"b": [1, "2"]}}', "j.json"), [{
    a: { b: [1, "2"] },
  }]);
  assert.deepEqual(parseYamlDocuments("", "e.yaml"), []);
  // YAML 1.2 core: yes/on stay strings, no merge keys.
  assert.deepEqual(parseYamlDocuments("a: yes\nb: on\n<<: {c: 1}\n", "c.yaml"), [{
    a: "yes",
    b: "on",
    "<<": { c: 1 },
  }]);
  // A few aliases are fine.
  assert.deepEqual(parseYamlDocuments("a: &x 1\nb: *x\n", "a.yaml"), [{ a: 1, b: 1 }]);
});

Deno.test("yaml_read: syntax errors, duplicate keys and tags name the source and line", () => {
  assert.throws(
    () => parseYamlDocuments("a: 1\nb: [\n", "s.yaml"),
    inputError(/^s\.yaml line \d+: invalid YAML: /),
  );
  assert.throws(
    () => parseYamlDocuments("x: 1\na: 1\na: 2\n", "d.yaml"),
    inputError(/^d\.yaml line 3: invalid YAML: Map keys must be unique/),
  );
  assert.throws(
    () => parseYamlDocuments('{"a": 1, "a": 2}', "d.json"),
    inputError(/Map keys must be unique/),
  );
  assert.throws(
    () => parseYamlDocuments("a: 1\nb: !foo x\n", "t.yaml"),
    inputError(/^t\.yaml line 2: invalid YAML: Unresolved tag: !foo/),
  );
  assert.throws(
    () => parseYamlDocuments("a: !!binary aGk=\n", "b.yaml"),
    inputError(/^b\.yaml line 1: YAML tag tag:yaml.org,2002:binary is not allowed/),
  );
  assert.deepEqual(parseYamlDocuments("a: !!str 1\n", "ok.yaml"), [{ a: "1" }]);
});

Deno.test("yaml_read: readInputText errors", async () => {
  await assert.rejects(
    readInputText("/nonexistent/kars/x.yaml"),
    (e: unknown) =>
      isKarsError(e, "NOT_FOUND") && /x\.yaml: no such file/.test((e as Error).message),
  );
  await assert.rejects(readInputText("-"), (e: unknown) => isKarsError(e, "USAGE"));
  const dir = await Deno.makeTempDir({ prefix: "kars-yaml-" });
  try {
    await assert.rejects(
      readInputText(dir),
      (e: unknown) => isKarsError(e, "FILE") && /is a directory/.test((e as Error).message),
    );
    const p = join(dir, "latin1.yaml");
    await Deno.writeFile(p, new Uint8Array([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    await assert.rejects(readInputText(p), inputError(/not valid UTF-8/));
    const ok = join(dir, "ok.yaml");
    await Deno.writeTextFile(ok, "host: bücher.example\n");
    assert.equal(await readInputText(ok), "host: bücher.example\n");
    assert.equal(await readInputText("-", { stdin: new Blob(["a: 1\n"]).stream() }), "a: 1\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
