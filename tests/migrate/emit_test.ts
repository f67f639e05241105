import assert from "assert";
import { parse } from "yaml";
import { emitYamlDocument, type Json } from "../../lib/migrate/emit.ts";

Deno.test("emitYamlDocument: exact layout for nested maps and lists", () => {
  assert.equal(
    emitYamlDocument({ a: { b: [1, "x", { c: true, d: null }], e: [], f: {} }, g: [[1, 2]] }),
    "a:\n  b:\n    - 1\n    - x\n    - c: true\n      d: null\n  e: []\n  f: {}\ng:\n  -\n    - 1\n    - 2\n",
  );
});

Deno.test("emitYamlDocument: strings that need quoting or blocks round-trip exactly", () => {
  const values: string[] = [
    "plain",
    "with space",
    "true",
    "yes",
    "1e5",
    "0777",
    "2024-06-01",
    "2024-6-1 10:00",
    "a: b",
    "- item",
    "#comment",
    "",
    " leading",
    "trailing ",
    "line1\nline2\n",
    "line1\nline2",
    "two trailing\n\n",
    "\nstarts with newline",
    "  indented first\nline",
    "tab\tinside\nok",
    "trailing space \nline",
    "ctrl\u0001char\nx",
    "bücher 🦕",
    'quote " and \\ backslash',
    "\u2028sep",
  ];
  for (const v of values) {
    const doc = { k: v, list: [v], nested: { [v || "empty"]: v } } as { [k: string]: Json };
    const text = emitYamlDocument(doc);
    assert.deepEqual(parse(text), doc, JSON.stringify(v));
    assert.ok(!/[ \t]$/m.test(text), `no trailing whitespace for ${JSON.stringify(v)}`);
    assert.ok(
      text.endsWith("\n") && !text.endsWith("\n\n") || v.endsWith("\n\n"),
      JSON.stringify(v),
    );
  }
  // Dates are quoted for YAML 1.1 readers (go-yaml v2 would read a timestamp).
  assert.match(emitYamlDocument({ v: "2024-06-01" }), /^v: "2024-06-01"\n$/);
  // Multi-line text becomes a literal block.
  assert.equal(emitYamlDocument({ m: "a\nb\n" }), "m: |\n  a\n  b\n");
  assert.equal(emitYamlDocument({ m: "a\n\nb" }), "m: |-\n  a\n\n  b\n");
});
