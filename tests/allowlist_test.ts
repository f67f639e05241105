import assert from "assert";
import {
  canonicalizeEndpoints,
  emitCanonicalAllowlist,
  EMPTY_ALLOWLIST_MESSAGE,
  type Endpoint,
  parseCanonicalAllowlist,
} from "../lib/allowlist/canonical.ts";
import { applyApproveDeny, chooseGeneration } from "../lib/allowlist/edit.ts";
import { buildAllowlistArtifact } from "../lib/oci/artifact.ts";
import { fromUtf8, utf8 } from "../lib/encoding/bytes.ts";
import { isKarsError } from "../lib/errors.ts";
import process from "node:process";

const A: Endpoint = { host: "a.example", port: 443 };
const B: Endpoint = { host: "b.example", port: 8443 };

Deno.test("allowlist: emits exactly the formats.md §2 example", () => {
  const endpoints = canonicalizeEndpoints([
    { host: "Bücher.example", port: 8443 },
    { host: "api.github.com" },
  ]);
  const text = fromUtf8(emitCanonicalAllowlist({ generation: 3, endpoints }));
  assert.equal(
    text,
    [
      "apiVersion: kars.dev/v1alpha1",
      "kind: EgressAllowlist",
      "metadata:",
      "  generation: 3",
      "spec:",
      "  endpoints:",
      "    - host: api.github.com",
      "      port: 443",
      "    - host: xn--bcher-kva.example",
      "      port: 8443",
      "",
    ].join("\n"),
  );
});

Deno.test("allowlist: one error per bad entry, all in one KarsError", () => {
  assert.throws(
    () =>
      canonicalizeEndpoints([
        { host: "ok.example" },
        { host: "*.x.com" },
        { host: "ok2.example", port: 0 },
        { host: 7 },
        "nope" as unknown as { host: string },
      ], { source: "f.yaml allowedEndpoints" }),
    (e: unknown) => {
      if (!isKarsError(e, "INPUT")) return false;
      const errs = e.details?.errors as { index: number }[];
      assert.deepEqual(errs.map((x) => x.index), [1, 2, 3, 4]);
      assert.match(e.message, /^4 invalid allowlist entries/);
      assert.match(e.message, /f\.yaml allowedEndpoints\[1\] host "\*\.x\.com": wildcards/);
      assert.match(e.message, /\[2\] host "ok2\.example": port must be an integer 1-65535, got 0/);
      assert.match(e.message, /\[3\]: host must be a string, got 7/);
      assert.match(e.message, /\[4\]: entry must be a mapping/);
      return true;
    },
  );
});

Deno.test("allowlist: emitter refuses empty, non-canonical and unsorted input", () => {
  assert.throws(
    () => emitCanonicalAllowlist({ generation: 1, endpoints: [] }),
    (e: unknown) => isKarsError(e, "INPUT") && e.message === EMPTY_ALLOWLIST_MESSAGE,
  );
  assert.equal(EMPTY_ALLOWLIST_MESSAGE, "refusing to sign empty allowlist");
  assert.throws(() => emitCanonicalAllowlist({ generation: 1, endpoints: [B, A] }), /out of order/);
  assert.throws(() => emitCanonicalAllowlist({ generation: 1, endpoints: [A, A] }), /duplicated/);
  assert.throws(
    () => emitCanonicalAllowlist({ generation: 1, endpoints: [{ host: "A.example", port: 1 }] }),
    /not canonical/,
  );
  assert.throws(
    () => emitCanonicalAllowlist({ generation: 1, endpoints: [{ host: "a.example", port: 0 }] }),
    /not canonical/,
  );
  for (const g of [0, -1, 1.5, NaN, 2 ** 53]) {
    assert.throws(
      () => emitCanonicalAllowlist({ generation: g, endpoints: [A] }),
      /positive integer/,
      String(g),
    );
  }
});

Deno.test("allowlist: chooseGeneration (issue 2 §3)", () => {
  assert.equal(chooseGeneration({ endpoints: [A] }), 1);
  assert.equal(
    chooseGeneration({ endpoints: [A, B], previous: { generation: 7, endpoints: [B, A] } }),
    7,
  );
  assert.equal(
    chooseGeneration({ endpoints: [A], previous: { generation: 7, endpoints: [A, B] } }),
    8,
  );
  assert.equal(
    chooseGeneration({
      endpoints: [A],
      previous: { generation: 7, endpoints: [{ host: "a.example", port: 444 }] },
    }),
    8,
  );
  assert.equal(
    chooseGeneration({ endpoints: [A], previous: { generation: 7, endpoints: [A] }, override: 2 }),
    2,
  );
  assert.throws(
    () => chooseGeneration({ endpoints: [A], override: 0 }),
    (e: unknown) =>
      isKarsError(e, "INPUT") && /generation override must be a positive integer/.test(e.message) &&
      e.details?.option === "generation",
  );
  // Unchanged set => identical bytes and digest, run after run.
  const prev = { generation: 7, endpoints: [A, B] };
  const bytes1 = emitCanonicalAllowlist(prev);
  const g = chooseGeneration({
    endpoints: canonicalizeEndpoints([B, A, A]),
    previous: parseCanonicalAllowlist(bytes1),
  });
  const bytes2 = emitCanonicalAllowlist({
    generation: g,
    endpoints: canonicalizeEndpoints([B, A]),
  });
  assert.deepEqual(bytes2, bytes1);
});

Deno.test("allowlist: applyApproveDeny", () => {
  let r = applyApproveDeny([A], ["B.example:8443"], []);
  assert.deepEqual(r, { endpoints: [A, B], changed: true, unknownDenied: [] });
  r = applyApproveDeny([A, B], ["a.example"], []);
  assert.deepEqual(r, { endpoints: [A, B], changed: false, unknownDenied: [] });
  r = applyApproveDeny([A, { host: "a.example", port: 80 }, B], [], ["A.EXAMPLE", "zzz.example"]);
  assert.deepEqual(r, { endpoints: [B], changed: true, unknownDenied: ["zzz.example"] });
  r = applyApproveDeny([A], [], []);
  assert.equal(r.changed, false);
  assert.throws(
    () => applyApproveDeny([A], ["https://x.example"], []),
    (e: unknown) =>
      isKarsError(e, "INPUT") &&
      /domain must be a bare host\[:port\], not a URL/.test(e.message) &&
      e.details?.option === "approve",
  );
  assert.throws(
    () => applyApproveDeny([A], ["x.example"], ["x.example"]),
    (e: unknown) =>
      isKarsError(e, "INPUT") && /both approved and denied/.test(e.message) &&
      JSON.stringify(e.details?.fixOptions) === '["approve","deny"]',
  );
  for (
    const [d, why] of [["https://x.example", /not a URL/], ["*.x.example", /wildcards/]] as const
  ) {
    assert.throws(
      () => applyApproveDeny([A], [], [d]),
      (e: unknown) =>
        isKarsError(e, "INPUT") && why.test(e.message) && e.details?.option === "deny" &&
        !/--/.test(e.message),
    );
  }
});

Deno.test("allowlist: strict parser round trip and rejections", () => {
  const bytes = emitCanonicalAllowlist({ generation: 42, endpoints: [A, B] });
  assert.deepEqual(parseCanonicalAllowlist(bytes), { generation: 42, endpoints: [A, B] });
  const bad = (t: string, re: RegExp) =>
    assert.throws(
      () => parseCanonicalAllowlist(utf8(t)),
      (e: unknown) =>
        isKarsError(e, "VERIFY") && e.details?.reason === "CanonicalFormViolation" &&
        re.test(e.message),
    );
  const t = fromUtf8(bytes);
  bad("", /empty/);
  bad(t.replace("a.example", "a\u00e9.example"), /non-ASCII/);
  bad(t.replace("generation: 42", "generation: 9007199254740993"), /generation/);
  bad(t.replace(/ {2}endpoints:\n[\s\S]*$/, "  endpoints:\n"), /empty/);
  bad(t.replace("a.example", "a..example"), /not a canonical host/);
  bad(t.replace("port: 8443", "port: 99999"), /out of range/);
  bad(t.replace("a.example", '"a.example"'), /quoted but must be plain/);
  const q = fromUtf8(
    emitCanonicalAllowlist({ generation: 1, endpoints: [{ host: "1e5", port: 443 }] }),
  );
  assert.match(q, /host: "1e5"/);
  bad(q.replace('"1e5"', "1e5"), /plain but must be quoted/);
});

Deno.test("allowlist: 100,000 endpoints canonicalised + emitted + digested (timing printed, not asserted)", () => {
  const raw = [];
  for (let i = 0; i < 100_000; i++) {
    raw.push({
      host: `Host${(i * 7919) % 100_000}.Example${i % 13}.com`,
      port: i % 3 ? 443 : 8443,
    });
  }
  const times: string[] = [];
  let digest = "";
  for (let rep = 0; rep < 3; rep++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const endpoints = canonicalizeEndpoints(raw);
    const bytes = emitCanonicalAllowlist({ generation: 1, endpoints });
    const a = buildAllowlistArtifact(bytes);
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    times.push(`${wall.toFixed(0)} ms wall / ${((c.user + c.system) / 1000).toFixed(0)} ms CPU`);
    assert.equal(endpoints.length, 100_000);
    if (digest) assert.equal(a.manifestDigest, digest);
    digest = a.manifestDigest;
  }
  console.log(`  100k endpoints (cold, warm, warm): ${times.join("; ")}`);
});

Deno.test("allowlist: deny-all — endpoints: [] only with allowEmpty, exactly the §2 bytes, read back", () => {
  // without the option: refused, with a reason the CLI turns into its flag
  assert.throws(
    () => emitCanonicalAllowlist({ generation: 3, endpoints: [] }, {}),
    (e: unknown) =>
      isKarsError(e, "INPUT") && e.message === EMPTY_ALLOWLIST_MESSAGE &&
      e.details?.reason === "EmptyAllowlist" && !e.message.includes("--"),
  );
  const bytes = emitCanonicalAllowlist({ generation: 3, endpoints: [] }, { allowEmpty: true });
  assert.equal(
    new TextDecoder().decode(bytes),
    "apiVersion: kars.dev/v1alpha1\nkind: EgressAllowlist\nmetadata:\n  generation: 3\nspec:\n  endpoints: []\n",
  );
  assert.deepEqual(parseCanonicalAllowlist(bytes), { generation: 3, endpoints: [] });
  // allowEmpty changes nothing for a non-empty list
  assert.deepEqual(
    emitCanonicalAllowlist({ generation: 1, endpoints: [A] }, { allowEmpty: true }),
    emitCanonicalAllowlist({ generation: 1, endpoints: [A] }),
  );
  // the deny-all line is exact: no other spelling of an empty list is canonical
  const text = new TextDecoder().decode(bytes);
  for (
    const v of [
      "  endpoints: [ ]\n",
      "  endpoints: []  \n",
      "  endpoints:\n",
      "  endpoints: [] # x\n",
    ]
  ) {
    assert.throws(
      () => parseCanonicalAllowlist(new TextEncoder().encode(text.replace("  endpoints: []\n", v))),
      (e: unknown) => isKarsError(e, "VERIFY") && e.details?.reason === "CanonicalFormViolation",
      JSON.stringify(v),
    );
  }
});
