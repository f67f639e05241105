import assert from "assert";
import { type KarsSandbox, readNetworkPolicy, selectSandbox } from "../lib/model/sandbox_read.ts";
import { type ErrorCode, isKarsError } from "../lib/errors.ts";

const sb = (name: string, extra: Record<string, unknown> = {}, ns?: string) => ({
  apiVersion: "kars.azure.com/v1alpha1",
  kind: "KarsSandbox",
  metadata: ns ? { name, namespace: ns } : { name },
  ...extra,
});

function fails(code: ErrorCode, re: RegExp) {
  return (e: unknown) => {
    assert.ok(isKarsError(e, code), `expected ${code}, got ${e}`);
    assert.match((e as Error).message, re);
    return true;
  };
}

Deno.test("sandbox: selects by name and namespace across documents", () => {
  const docs = [
    null,
    { kind: "ConfigMap", metadata: { name: "a" } },
    sb("a", {}, "one"),
    sb("a", {}, "two"),
    sb("b"),
  ];
  assert.equal(
    selectSandbox(docs, { name: "a", namespace: "two" }, "f.yaml").metadata.namespace,
    "two",
  );
  assert.equal(selectSandbox(docs, { name: "b" }, "f.yaml").metadata.name, "b");
  // A document without a namespace matches any requested namespace.
  assert.equal(selectSandbox(docs, { name: "b", namespace: "prod" }, "f.yaml").metadata.name, "b");
  // Only one sandbox: no name needed.
  assert.equal(selectSandbox([sb("only")], {}, "f.yaml").metadata.name, "only");
  assert.throws(
    () => selectSandbox(docs, { name: "a" }, "f.yaml"),
    fails("INPUT", /f\.yaml: 2 KarsSandbox documents match a \(one\/a, two\/a\)/),
  );
  assert.throws(
    () => selectSandbox(docs, { name: "zzz" }, "f.yaml"),
    fails("NOT_FOUND", /f\.yaml: no KarsSandbox zzz \(found: ConfigMap, KarsSandbox one\/a/),
  );
  assert.throws(
    () => selectSandbox(docs, { name: "a", namespace: "three" }, "f.yaml"),
    fails("NOT_FOUND", /no KarsSandbox three\/a/),
  );
});

Deno.test("sandbox: clear errors for wrong kind, apiVersion, name", () => {
  assert.throws(
    () => selectSandbox([{ kind: "Pod" }, [1]], {}, "p.yaml"),
    fails(
      "INPUT",
      /p\.yaml: not a KarsSandbox: no document has kind KarsSandbox \(found: Pod, a list\)/,
    ),
  );
  assert.throws(() => selectSandbox([], {}, "e.yaml"), fails("INPUT", /the input is empty/));
  assert.throws(() => selectSandbox(["text"], {}, "s.yaml"), fails("INPUT", /not a KarsSandbox/));
  assert.throws(
    () => selectSandbox([{ ...sb("a"), apiVersion: "kars.azure.com/v2" }], { name: "a" }, "v.yaml"),
    fails(
      "INPUT",
      /v\.yaml: KarsSandbox a has apiVersion "kars\.azure\.com\/v2"; kars\.azure\.com\/v1alpha1 is required/,
    ),
  );
  assert.throws(
    () => selectSandbox([{ ...sb("a"), metadata: {} }], {}, "n.yaml"),
    fails("INPUT", /n\.yaml: KarsSandbox has no metadata\.name/),
  );
  assert.throws(
    () => selectSandbox([{ ...sb("a"), metadata: { name: 5 } }], {}, "n.yaml"),
    fails("INPUT", /no metadata\.name/),
  );
  assert.throws(
    () => selectSandbox([{ kind: "Pod" }, { ...sb("a"), metadata: null }], {}, "m.yaml"),
    fails("INPUT", /m\.yaml: document 2: KarsSandbox has no metadata\.name/),
  );
});

Deno.test("sandbox: readNetworkPolicy defaults and fields", () => {
  assert.deepEqual(readNetworkPolicy(sb("a") as KarsSandbox), {
    defaultDeny: true,
    egressMode: "Learn",
    allowedEndpoints: [],
  });
  const ref = {
    registry: "r.example",
    repository: "p/a",
    digest: "sha256:" + "0".repeat(64),
    artifactType: "x",
  };
  const np = readNetworkPolicy(sb("a", {
    spec: {
      networkPolicy: {
        defaultDeny: false,
        egressMode: "Strict",
        allowedEndpoints: [{ host: "x", port: 1, extra: true }],
        allowlistRef: ref,
      },
    },
  }) as KarsSandbox);
  assert.deepEqual(np, {
    defaultDeny: false,
    egressMode: "Strict",
    allowedEndpoints: [{ host: "x", port: 1, extra: true }],
    allowlistRef: ref,
  });
});

Deno.test("sandbox: malformed networkPolicy is refused at selection", () => {
  const bad = (networkPolicy: unknown, re: RegExp) =>
    assert.throws(
      () => selectSandbox([sb("a", { spec: { networkPolicy } })], { name: "a" }, "f.yaml"),
      fails("INPUT", re),
    );
  bad([1], /f\.yaml: KarsSandbox a: spec\.networkPolicy must be a mapping/);
  bad({ allowedEndpoints: { host: "x" } }, /allowedEndpoints must be a list of \{host, port\?\}/);
  bad({ allowedEndpoints: "x.com" }, /allowedEndpoints must be a list/);
  bad({ allowedEndpoints: ["x.com"] }, /allowedEndpoints\[0\] must be a mapping/);
  bad({ egressMode: "strict" }, /egressMode must be Strict or Learn, got "strict"/);
  bad({ defaultDeny: "yes" }, /defaultDeny must be true or false/);
  bad({ allowlistRef: "x" }, /allowlistRef must be a mapping/);
  bad({ allowlistRef: { registry: "r" } }, /allowlistRef\.repository must be a string/);
  assert.throws(
    () => selectSandbox([sb("a", { spec: [] })], {}, "f.yaml"),
    fails("INPUT", /spec\) must be a mapping/),
  );
});
