import assert from "assert";
import {
  compileCel,
  KARS_CRDS,
  runCel,
  type SchemaNode,
  validateAgainstSchema,
  validateKarsResource,
} from "../../lib/kube/schema/mod.ts";
import { CRD_FILES, CRD_MODULE, fromChart, renderCrdModule } from "../../scripts/refresh_crds.ts";

const ROOT = new URL("../../", import.meta.url);

function errs(v: unknown, s: SchemaNode, mode?: "patch"): string[] {
  return validateAgainstSchema(v, s, { mode }).errors.map((e) => `${e.path} ${e.type}`);
}

const SANDBOX = {
  apiVersion: "kars.azure.com/v1alpha1",
  kind: "KarsSandbox",
  metadata: { name: "a", namespace: "team" },
  spec: {
    runtime: { kind: "BYO", byo: { image: "ghcr.io/x/a:1", contractVersion: "v1" } },
    sandbox: { isolation: "enhanced" },
    inferenceRef: { name: "a" },
    networkPolicy: {
      defaultDeny: true,
      egressMode: "Strict",
      allowedEndpoints: [{ host: "api.github.com", port: 443 }],
    },
  },
};

function sandbox(mut: (s: typeof SANDBOX & { [k: string]: unknown }) => void): unknown {
  const s = structuredClone(SANDBOX) as typeof SANDBOX & { [k: string]: unknown };
  mut(s);
  return s;
}

function kinds(obj: unknown, mode?: "patch"): string[] {
  const r = validateKarsResource(obj, { mode });
  assert.deepEqual(r.unchecked, []);
  return r.errors.map((e) => `${e.path} ${e.type}`);
}

Deno.test("schema module: generated from the vendored CRDs and up to date", async () => {
  const texts: Record<string, string> = {};
  for (const f of CRD_FILES) {
    texts[f] = await Deno.readTextFile(new URL(`testdata/kars-crds/${f}`, ROOT));
  }
  assert.equal(renderCrdModule(texts), await Deno.readTextFile(new URL(CRD_MODULE, ROOT)));
  assert.deepEqual(Object.keys(KARS_CRDS), [
    "KarsSandbox",
    "InferencePolicy",
    "ToolPolicy",
    "McpServer",
  ]);
  // Documentation keywords are stripped, data (a property named like a keyword) is not.
  assert.ok(!JSON.stringify(KARS_CRDS).includes('"description":"'));
});

Deno.test("every CEL rule in the vendored CRDs compiles in the supported subset", () => {
  let n = 0;
  const walk = (s: SchemaNode, path: string) => {
    for (const r of s["x-kubernetes-validations"] ?? []) {
      n++;
      assert.equal(typeof compileCel(r.rule), "function", `${path}: ${r.rule}`);
    }
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
    if (s.items) walk(s.items, `${path}[]`);
    if (typeof s.additionalProperties === "object") walk(s.additionalProperties, `${path}{}`);
  };
  for (const [k, e] of Object.entries(KARS_CRDS)) walk(e.schema, k);
  assert.ok(n >= 40, `only ${n} rules`);
});

Deno.test("CEL subset: semantics and refusals", () => {
  const run = (rule: string, self: unknown) => {
    const p = compileCel(rule);
    assert.equal(typeof p, "function", String(p));
    return runCel(p as (s: unknown) => unknown, self);
  };
  assert.deepEqual(run("has(self.a) && self.a.size() == 2", { a: "xy" }), {
    ok: true,
    value: true,
  });
  assert.deepEqual(run("has(self.a)", {}), { ok: true, value: false });
  assert.deepEqual(run("self.l.all(x, x > 1)", { l: [2, 3] }), { ok: true, value: true });
  assert.deepEqual(run("self.l.exists_one(x, x == 2)", { l: [2, 2] }), { ok: true, value: false });
  assert.deepEqual(run("self.s in ['a', 'b']", { s: "b" }), { ok: true, value: true });
  assert.deepEqual(run("'x-' + self.n == 'x-y'", { n: "y" }), { ok: true, value: true });
  assert.deepEqual(run("!self.s.contains('/')", { s: "a/b" }), { ok: true, value: false });
  assert.deepEqual(run("size(self.m) > 0", { m: {} }), { ok: true, value: false });
  assert.equal(run("self.missing == 1", {}).ok, false);
  assert.equal(run("self.a > 'x'", { a: 1 }).ok, false);
  for (
    const bad of ["self.a.matches('x')", "self.a ==", "oldSelf == self", "a ~ b", "x".repeat(5000)]
  ) {
    const p = compileCel(bad);
    if (bad === "oldSelf == self") {
      assert.equal(typeof p, "function");
      assert.equal(runCel(p as (s: unknown) => unknown, {}).ok, false);
    } else assert.equal(typeof p, "string", bad);
  }
});

Deno.test("validator: types, required, enum, pattern, bounds, lengths, unknown fields", () => {
  const s: SchemaNode = {
    type: "object",
    required: ["n"],
    properties: {
      n: { type: "integer", minimum: 1, maximum: 10 },
      f: { type: "number", exclusiveMinimum: true, minimum: 0 },
      s: { type: "string", minLength: 2, maxLength: 3, pattern: "^[a-z]+$" },
      e: { type: "string", enum: ["A", "B"] },
      l: { type: "array", maxItems: 2, minItems: 1, items: { type: "boolean" } },
      set: { type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } },
      m: { type: "object", additionalProperties: { type: "string" } },
      keep: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
      ios: { "x-kubernetes-int-or-string": true },
      nul: { type: "string", nullable: true },
      fmt: { type: "string", format: "date-time" },
      d: { type: "string", default: "x" },
    },
  };
  assert.deepEqual(errs({ n: 1 }, s), []);
  assert.deepEqual(
    errs({
      n: 1.5,
      f: 0,
      s: "ABCD",
      e: "C",
      l: [true, 1, false],
      set: ["a", "a"],
      m: { k: 1 },
      keep: { anything: { goes: 1 } },
      ios: 1.5,
      nul: null,
      fmt: "yesterday",
      extra: 1,
    }, s),
    [
      "n FieldValueTypeInvalid",
      "f FieldValueInvalid",
      "s FieldValueTooLong",
      "s FieldValueInvalid",
      "e FieldValueNotSupported",
      "l FieldValueTooMany",
      "l[1] FieldValueTypeInvalid",
      "set[1] FieldValueDuplicate",
      "m.k FieldValueTypeInvalid",
      "ios FieldValueTypeInvalid",
      "fmt FieldValueInvalid",
      "extra UnknownField",
      // Type errors block the CEL pass, as in the API server.
      "<root> FieldValueInvalid",
    ],
  );
  assert.deepEqual(errs({}, s), ["n FieldValueRequired"]);
  assert.deepEqual(errs({ n: 0 }, s), ["n FieldValueInvalid"]);
  assert.deepEqual(errs({ n: 11, ios: "50%", l: [] }, s), [
    "n FieldValueInvalid",
    "l FieldValueInvalid",
  ]);
  // Not nullable: null is an error here (the API server would drop it silently).
  assert.deepEqual(errs({ n: 1, s: null }, s), ["s FieldValueInvalid"]);
  // Patch mode: required skipped, null is a merge-patch delete, no CEL.
  assert.deepEqual(errs({ s: null }, s, "patch"), []);
  assert.deepEqual(errs({ s: "A" }, s, "patch"), ["s FieldValueInvalid", "s FieldValueInvalid"]);
});

Deno.test("validator: embedded resources and defaults before CEL", () => {
  const s: SchemaNode = {
    type: "object",
    properties: {
      tpl: { type: "object", "x-kubernetes-embedded-resource": true, properties: { spec: {} } },
      list: { type: "array", default: [], items: { type: "string" } },
    },
    "x-kubernetes-validations": [{ rule: "self.list.size() == 0", message: "list must be empty" }],
  };
  assert.deepEqual(
    errs({ tpl: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" } } }, s),
    [],
  );
  assert.deepEqual(errs({ tpl: { spec: {} } }, s), [
    "tpl.apiVersion FieldValueRequired",
    "tpl.kind FieldValueRequired",
  ]);
  assert.deepEqual(errs({ list: ["x"] }, s), ["<root> FieldValueInvalid"]);
});

Deno.test("KarsSandbox: the real schema's required fields, enums, CEL rules and patterns", () => {
  assert.deepEqual(kinds(SANDBOX), []);
  assert.deepEqual(kinds(sandbox((s) => delete (s.spec as { runtime?: unknown }).runtime)), [
    "spec.runtime FieldValueRequired",
    "spec FieldValueInvalid", // self.runtime.kind: no such key (the API server reports it too)
  ]);
  // The old migrate shape: unknown fields under spec.
  assert.deepEqual(kinds(sandbox((s) => Object.assign(s.spec, { isolation: "enhanced" }))), [
    "spec.isolation UnknownField",
  ]);
  // runtime.kind must match its sibling (CEL).
  assert.deepEqual(
    kinds(sandbox((s) => (s.spec.runtime as { kind: string }).kind = "OpenClaw")),
    ["spec.runtime FieldValueInvalid", "spec.runtime FieldValueInvalid"],
  );
  assert.deepEqual(
    kinds(
      sandbox((s) => (s.spec.runtime.byo as { contractVersion: string }).contractVersion = "v2"),
    ),
    ["spec.runtime.byo.contractVersion FieldValueNotSupported", "<root> FieldValueInvalid"],
  );
  assert.deepEqual(kinds(sandbox((s) => s.spec.inferenceRef.name = "Bad_Name")), [
    "spec.inferenceRef.name FieldValueInvalid",
  ]);
  assert.deepEqual(kinds(sandbox((s) => s.spec.inferenceRef.name = "")), [
    "spec.inferenceRef.name FieldValueInvalid",
    "spec.inferenceRef FieldValueInvalid",
  ]);
  // Port is required in allowedEndpoints; strings are not integers.
  assert.deepEqual(
    kinds(sandbox((s) => s.spec.networkPolicy.allowedEndpoints = [{ host: "a" } as never])),
    ["spec.networkPolicy.allowedEndpoints[0].port FieldValueRequired"],
  );
  // governance: at most 8 refs (schema and CEL), unique names (CEL).
  const refs = Array.from({ length: 9 }, (_, i) => ({ name: `s${i}` }));
  assert.deepEqual(
    kinds(sandbox((s) => Object.assign(s.spec, { governance: { mcpServerRefs: refs } }))),
    ["spec.governance.mcpServerRefs FieldValueTooMany", "spec.governance FieldValueInvalid"],
  );
  assert.deepEqual(
    kinds(
      sandbox((s) =>
        Object.assign(s.spec, { governance: { mcpServerRefs: [{ name: "a" }, { name: "a" }] } })
      ),
    ),
    ["spec.governance FieldValueInvalid"],
  );
  assert.deepEqual(
    kinds(sandbox((s) => Object.assign(s.spec, { governance: { enabled: true } }))),
    ["spec.governance FieldValueInvalid"],
  );
  // The root rule reads metadata.name.
  assert.deepEqual(
    kinds(
      sandbox((s) =>
        Object.assign(s.spec, { credentialsRef: { name: "kars-credential-source-b", uid: "u" } })
      ),
    ),
    ["<root> FieldValueInvalid"],
  );
  // metadata: unknown fields, bad names, bad labels; apiVersion/kind.
  assert.deepEqual(
    kinds(
      sandbox((s) =>
        Object.assign(s, {
          metadata: { name: "A", namespace: "n", labels: { "a/b/c": "x" }, x: 1 },
        })
      ),
    ),
    [
      "metadata.x UnknownField",
      "metadata.name FieldValueInvalid",
      'metadata.labels["a/b/c"] FieldValueInvalid',
    ],
  );
  assert.deepEqual(kinds(sandbox((s) => s.apiVersion = "kars.azure.com/v1")), [
    "apiVersion FieldValueInvalid",
  ]);
  assert.deepEqual(kinds({ apiVersion: "v1", kind: "ConfigMap" }), ["kind FieldValueNotSupported"]);
});

Deno.test("InferencePolicy, ToolPolicy, McpServer: CEL rules the migrate output could trigger", () => {
  const ip = (spec: unknown) => ({
    apiVersion: "kars.azure.com/v1alpha1",
    kind: "InferencePolicy",
    metadata: { name: "a", namespace: "n" },
    spec,
  });
  assert.deepEqual(kinds(ip({ appliesTo: { sandboxName: "a" } })), []);
  assert.deepEqual(
    kinds(ip({ appliesTo: {}, modelPreference: { primary: { provider: "", deployment: "d" } } })),
    ["spec FieldValueInvalid"],
  );
  assert.deepEqual(kinds(ip({ appliesTo: {}, provider: "openai" })), [
    "spec.provider FieldValueNotSupported",
    "<root> FieldValueInvalid",
  ]);
  assert.deepEqual(
    kinds(ip({ appliesTo: {}, tokenBudget: { dailyTokens: 10, monthlyTokens: 5 } })),
    ["spec FieldValueInvalid"],
  );
  assert.deepEqual(kinds(ip({ appliesTo: {}, tokenBudget: { dailyTokens: -1 } })), [
    "spec.tokenBudget.dailyTokens FieldValueInvalid",
  ]);
  const tp = (spec: unknown) => ({
    apiVersion: "kars.azure.com/v1alpha1",
    kind: "ToolPolicy",
    metadata: { name: "a", namespace: "n" },
    spec,
  });
  assert.deepEqual(kinds(tp({ appliesTo: { sandboxMatchLabels: { a: "b" }, tool: "*" } })), []);
  // sandboxMatchLabels defaults to {} and the CEL rule then refuses it.
  assert.deepEqual(kinds(tp({ appliesTo: { tool: "*" } })), ["spec FieldValueInvalid"]);
  const mcp = (spec: unknown) => ({
    apiVersion: "kars.azure.com/v1alpha1",
    kind: "McpServer",
    metadata: { name: "a", namespace: "n" },
    spec,
  });
  assert.deepEqual(kinds(mcp({ url: "http://x", productionMode: true })), [
    "spec FieldValueInvalid",
    "spec FieldValueInvalid",
  ]);
  assert.deepEqual(kinds(mcp({ url: "https://x", headers: { a: "b" } })), [
    "spec.headers UnknownField",
  ]);
});

Deno.test("patch mode: the GitOps manifest shape, including the digest pattern", () => {
  const patch = (ref: unknown) => ({
    apiVersion: "kars.azure.com/v1alpha1",
    kind: "KarsSandbox",
    metadata: { name: "a", namespace: "n", annotations: { "kars.io/applied-via-gitops": "true" } },
    spec: { networkPolicy: { egressMode: "Strict", allowlistRef: ref } },
  });
  const ref = {
    registry: "r.example",
    repository: "p/a",
    digest: `sha256:${"a".repeat(64)}`,
    artifactType: "application/vnd.kars.egress-allowlist.v1+yaml",
  };
  assert.deepEqual(kinds(patch(ref), "patch"), []);
  // As a whole object it lacks runtime/sandbox/inferenceRef: a patch, not an object.
  assert.ok(kinds(patch(ref)).includes("spec.runtime FieldValueRequired"));
  assert.deepEqual(kinds(patch({ ...ref, digest: `SHA256:${"a".repeat(64)}` }), "patch"), [
    "spec.networkPolicy.allowlistRef.digest FieldValueInvalid",
  ]);
  assert.deepEqual(kinds(patch({ ...ref, digest: "sha1:abc" }), "patch"), [
    "spec.networkPolicy.allowlistRef.digest FieldValueInvalid",
  ]);
  assert.deepEqual(kinds(patch({ ...ref, extra: 1 }), "patch"), [
    "spec.networkPolicy.allowlistRef.extra UnknownField",
  ]);
  // List items are whole objects in a merge patch: their required fields are checked.
  const eps = structuredClone(patch(ref)) as { spec: { networkPolicy: Record<string, unknown> } };
  eps.spec.networkPolicy.allowedEndpoints = [{ host: "a.example" }];
  assert.deepEqual(kinds(eps, "patch"), [
    "spec.networkPolicy.allowedEndpoints[0].port FieldValueRequired",
  ]);
});

Deno.test("refresh_crds --chart: the README's edits applied to a chart reproduce the vendored files", async () => {
  const vendored: Record<string, string> = {};
  for (const f of CRD_FILES) {
    vendored[f] = await Deno.readTextFile(new URL(`testdata/kars-crds/${f}`, ROOT));
  }
  // Undo the edits: a Helm include instead of the placeholder, a second CRD after `---`, the
  // licence in a Helm comment.
  const placeholder = "                  type: object\n" +
    "                  x-kubernetes-preserve-unknown-fields: true\n";
  const at = vendored["karssandboxes.yaml"].indexOf("credentialBindings:\n");
  const i = vendored["karssandboxes.yaml"].indexOf(placeholder, at);
  assert.ok(at > 0 && i > at);
  const crd = vendored["karssandboxes.yaml"].slice(0, i) +
    '                  {{- include "kars.credentialBindingsSchema" . | nindent 18 }}\n' +
    vendored["karssandboxes.yaml"].slice(i + placeholder.length) +
    "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: karspairings.kars.azure.com\n";
  const ip = vendored["inferencepolicies.yaml"];
  const header = "# Copyright (c) Microsoft Corporation.\n# Licensed under the MIT License.\n";
  assert.ok(ip.startsWith(header));
  const chart = await Deno.makeTempDir({ prefix: "kars-chart-" });
  try {
    const dir = `${chart}/deploy/helm/kars/templates`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/crd.yaml`, crd);
    await Deno.writeTextFile(
      `${dir}/crd-inferencepolicy.yaml`,
      "{{/* Copyright (c) Microsoft Corporation.\nLicensed under the MIT License. */}}" +
        ip.slice(header.length),
    );
    await Deno.writeTextFile(`${dir}/crd-toolpolicy.yaml`, vendored["toolpolicies.yaml"]);
    await Deno.writeTextFile(`${dir}/crd-mcpserver.yaml`, vendored["mcpservers.yaml"]);
    assert.deepEqual(fromChart(chart), vendored);
    // Template syntax left over is refused.
    await Deno.writeTextFile(`${dir}/crd-mcpserver.yaml`, "{{ if .Values.x }}\n");
    assert.throws(() => fromChart(chart), /Helm template syntax left/);
  } finally {
    await Deno.remove(chart, { recursive: true });
  }
});
