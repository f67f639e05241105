import assert from "node:assert/strict";
import {
  isDnsLabel,
  isDnsSubdomain,
  isLiveSandbox,
  isRepositoryName,
  KARS_API_VERSION,
} from "../../lib/model/mod.ts";

Deno.test("model: DNS-1123 label", () => {
  for (const ok of ["a", "kars-my-agent", "0", "a".repeat(63)]) assert.ok(isDnsLabel(ok), ok);
  for (const bad of ["", "-a", "a-", "A", "a.b", "a_b", "a".repeat(64), 5, undefined]) {
    assert.ok(!isDnsLabel(bad), String(bad));
  }
});

Deno.test("model: DNS-1123 subdomain", () => {
  const long = Array(4).fill("a".repeat(62)).join(".") + ".a"; // 253
  for (const ok of ["a", "my-agent.v2", "a.b.c", long]) assert.ok(isDnsSubdomain(ok), ok);
  for (const bad of ["", ".a", "a.", "a..b", "My_Agent", long + "c", null]) {
    assert.ok(!isDnsSubdomain(bad), String(bad));
  }
});

Deno.test("model: repository names", () => {
  for (const ok of ["a", "policy/egress-allowlist/web", "a.b_c__d---e/f", "a".repeat(255)]) {
    assert.ok(isRepositoryName(ok), ok);
  }
  for (
    const bad of ["", "A", "a//b", "/a", "a/", "a___b", "a-", "a".repeat(256), "a:b", "a@b", 1]
  ) {
    assert.ok(!isRepositoryName(bad), String(bad));
  }
});

Deno.test("model: a live sandbox is a narrowing of unknown JSON", () => {
  const md = { name: "a", namespace: "n" };
  assert.ok(isLiveSandbox({ apiVersion: KARS_API_VERSION, kind: "KarsSandbox", metadata: md }));
  assert.ok(!isLiveSandbox({ kind: "KarsSandbox", metadata: { name: "a" } }));
  assert.ok(!isLiveSandbox({ kind: "KarsSandbox", metadata: { name: "", namespace: "n" } }));
  assert.ok(!isLiveSandbox({ kind: "Other", metadata: md }));
  assert.ok(!isLiveSandbox({ kind: "KarsSandbox", metadata: md, spec: [] }));
  assert.ok(!isLiveSandbox(null));
  assert.ok(!isLiveSandbox([]));
});
