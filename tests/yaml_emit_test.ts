import assert from "assert";
import { parse } from "yaml";
import { isPlainSafe, scalar } from "../lib/encoding/yaml_emit.ts";

Deno.test("strings YAML 1.1 reads as timestamps are quoted (go-yaml v2 behind sigs.k8s.io/yaml)", () => {
  for (
    const s of [
      "2024-06-01",
      "2024-6-1",
      "2001-12-14t21:59:43.10-05:00",
      "2001-12-14 21:59:43.10 -5",
    ]
  ) {
    assert.equal(isPlainSafe(s), false, s);
    assert.equal(parse(`v: ${scalar(s)}`, { version: "1.1" }).v, s);
  }
  // Not timestamps: stay plain.
  for (const s of ["2024-06-01-agent", "202-06-01", "a2024-06-01"]) {
    assert.equal(isPlainSafe(s), true, s);
    assert.equal(parse(`v: ${scalar(s)}`, { version: "1.1" }).v, s);
  }
});
