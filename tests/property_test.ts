/**
 * Property tests over generated inputs (seeded, deterministic): the canonical allowlist and
 * the GitOps manifest read back with the `yaml` package (as YAML 1.2 and as YAML 1.1) to
 * exactly the intended objects; the strict parser accepts every emitter output and rejects
 * mutated ones.
 */
import assert from "assert";
import { parse } from "yaml";
import {
  canonicalizeEndpoints,
  emitCanonicalAllowlist,
  type Endpoint,
  parseCanonicalAllowlist,
} from "../lib/allowlist/canonical.ts";
import { emitGitopsManifest, readGitopsManifest } from "../lib/gitops/manifest.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../lib/oci/artifact.ts";
import { fromUtf8, toHex, utf8 } from "../lib/encoding/bytes.ts";
import { isKarsError } from "../lib/errors.ts";
import { isPlainSafe, scalar } from "../lib/encoding/yaml_emit.ts";
import { type Prng, prng } from "./support/prng.ts";

const N = 1000;

function label(r: Prng): string {
  const special = [
    "1e5",
    "0o17",
    "0b1",
    "true",
    "yes",
    "null",
    "off",
    "0x1f",
    "nan",
    "inf",
    "-a",
    "a-",
  ];
  if (r.int(10) === 0) return r.pick(special);
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
  const len = 1 + r.int(r.int(8) === 0 ? 63 : 12);
  let s = "";
  for (let i = 0; i < len; i++) s += alphabet[r.int(alphabet.length)];
  if (r.int(15) === 0) s = r.pick(["bücher", "münchen", "例え", "テスト", "straße", "ελλάδα"]);
  return s;
}

function rawHost(r: Prng): string {
  if (r.int(12) === 0) return [r.int(256), r.int(256), r.int(256), r.int(256)].join(".");
  const n = 1 + r.int(4);
  const labels = Array.from({ length: n }, () => label(r));
  if (/^[0-9]+$|^0x/i.test(labels[labels.length - 1])) labels.push("example");
  return labels.join(".");
}

function rawEndpoints(r: Prng): { host: string; port?: number }[] {
  const n = 1 + r.int(r.int(5) === 0 ? 60 : 8);
  const out: { host: string; port?: number }[] = [];
  for (let i = 0; i < n; i++) {
    const e: { host: string; port?: number } = { host: rawHost(r) };
    const k = r.int(4);
    if (k === 1) e.port = 443;
    else if (k >= 2) e.port = 1 + r.int(65535);
    out.push(e);
    if (r.int(6) === 0) out.push({ ...e }); // duplicates
  }
  return out;
}

/** Generated canonical lists (inputs whose host turns out invalid are skipped, not counted). */
function generate(seed: number, count: number): { generation: number; endpoints: Endpoint[] }[] {
  const r = prng(seed);
  const out: { generation: number; endpoints: Endpoint[] }[] = [];
  while (out.length < count) {
    try {
      const endpoints = canonicalizeEndpoints(rawEndpoints(r));
      const generation = r.int(3) === 0 ? 1 + r.int(1e9) : 1 + r.int(20);
      out.push({ generation, endpoints });
    } catch (e) {
      if (!isKarsError(e, "INPUT")) throw e;
    }
  }
  return out;
}

const lists = generate(20260501, N);

function expectedObject(l: { generation: number; endpoints: Endpoint[] }) {
  return {
    apiVersion: "kars.dev/v1alpha1",
    kind: "EgressAllowlist",
    metadata: { generation: l.generation },
    spec: { endpoints: l.endpoints.map((e) => ({ host: e.host, port: e.port })) },
  };
}

Deno.test(`property: ${N} canonical allowlists read back exactly (YAML 1.2 and 1.1)`, () => {
  let quoted = 0;
  for (const l of lists) {
    const bytes = emitCanonicalAllowlist(l);
    const text = fromUtf8(bytes);
    const want = expectedObject(l);
    assert.deepEqual(parse(text, { version: "1.2" }), want);
    assert.deepEqual(parse(text, { version: "1.1" }), want);
    assert.deepEqual(parseCanonicalAllowlist(bytes), l);
    assert.ok(
      text.endsWith("\n") && !text.endsWith("\n\n") && !/ \n/.test(text) && !text.includes("\r"),
    );
    if (text.includes('host: "')) quoted++;
  }
  assert.ok(quoted > 10, `generator too narrow: only ${quoted} inputs needed quoting`);
});

type Mutation = [string, (t: string) => string | null];

const MUTATIONS: Mutation[] = [
  ["CRLF", (t) => t.replace(/\n/g, "\r\n")],
  ["one CR", (t) => t.replace("\n", "\r\n")],
  [
    "reordered top keys",
    (t) =>
      t.replace(
        "apiVersion: kars.dev/v1alpha1\nkind: EgressAllowlist",
        "kind: EgressAllowlist\napiVersion: kars.dev/v1alpha1",
      ),
  ],
  [
    "reordered entry keys",
    (t) => t.replace(/ {4}- host: (.*)\n {6}port: (.*)\n/, "    - port: $2\n      host: $1\n"),
  ],
  ["extra key", (t) => t.replace("kind: EgressAllowlist\n", "kind: EgressAllowlist\nextra: 1\n")],
  ["extra entry key", (t) => t.replace(/( {6}port: .*\n)/, "$1      protocol: tcp\n")],
  ["comment line", (t) => "# signed\n" + t],
  ["trailing comment", (t) => t.replace("kind: EgressAllowlist", "kind: EgressAllowlist # x")],
  ["tab indent", (t) => t.replace("  generation", "\tgeneration")],
  [
    "indent changed",
    (t) => t.replace(/\n {4}- host/g, "\n  - host").replace(/\n {6}port/g, "\n    port"),
  ],
  ["trailing space", (t) => t.replace("metadata:", "metadata: ")],
  ["no trailing newline", (t) => t.slice(0, -1)],
  ["extra trailing newline", (t) => t + "\n"],
  ["BOM", (t) => "\ufeff" + t],
  ["leading zero generation", (t) => t.replace(/generation: /, "generation: 0")],
  ["port leading zero", (t) => t.replace(/port: /, "port: 0")],
  ["port quoted", (t) => t.replace(/port: ([0-9]+)/, 'port: "$1"')],
  ["host requoted", (t) => {
    const m = / {4}- host: ("?)([^"\n]+)"?\n/.exec(t)!;
    return m[1]
      ? t.replace(m[0], `    - host: ${m[2]}\n`)
      : t.replace(m[0], `    - host: "${m[2]}"\n`);
  }],
  ["host single-quoted", (t) => t.replace(/ {4}- host: "?([^"\n]+)"?\n/, "    - host: '$1'\n")],
  [
    "uppercase host",
    (t) => {
      const m = /( {4}- host: "?[^a-z\n]*)([a-z])/.exec(t);
      return m ? t.replace(m[0], m[1] + m[2].toUpperCase()) : null;
    },
  ],
  [
    "flow style",
    (t) => t.replace(/ {4}- host: (.*)\n {6}port: (.*)\n/, "    - {host: $1, port: $2}\n"),
  ],
  ["duplicate entry", (t) => t.replace(/( {4}- host: .*\n {6}port: .*\n)/, "$1$1")],
  ["unsorted entries", (t) => {
    const m = /( {4}- host: .*\n {6}port: .*\n)( {4}- host: .*\n {6}port: .*\n)/.exec(t);
    return m ? t.replace(m[0], m[2] + m[1]) : null;
  }],
  ["port out of range", (t) => t.replace(/port: [0-9]+/, "port: 65536")],
  // `  endpoints: []` alone is the deny-all allowlist (formats.md §2): accepted, see below
  ["empty list without []", (t) => t.replace(/ {2}endpoints:\n[\s\S]*$/, "  endpoints:\n")],
  ["empty flow list spaced", (t) => t.replace(/ {2}endpoints:\n[\s\S]*$/, "  endpoints: [ ]\n")],
  ["deny-all followed by entries", (t) => t.replace(/ {2}endpoints:\n/, "  endpoints: []\n")],
  ["document marker", (t) => "---\n" + t],
];

Deno.test("property: the strict parser rejects mutated canonical bytes", () => {
  const applied = new Map<string, number>();
  for (const l of lists.slice(0, 300)) {
    const text = fromUtf8(emitCanonicalAllowlist(l));
    for (const [name, mutate] of MUTATIONS) {
      const m = mutate(text);
      if (m === null) continue;
      assert.notEqual(m, text, `mutation ${name} did nothing`);
      assert.throws(
        () => parseCanonicalAllowlist(utf8(m)),
        (e: unknown) =>
          isKarsError(e, "VERIFY") && e.details?.reason === "CanonicalFormViolation" &&
          e.message.startsWith("allowlist is not in canonical form: "),
        `mutation ${name} was accepted:\n${m}`,
      );
      applied.set(name, (applied.get(name) ?? 0) + 1);
    }
  }
  for (const [name] of MUTATIONS) {
    assert.ok((applied.get(name) ?? 0) > 0, `mutation ${name} never applied`);
  }
});

Deno.test("property: strict parser messages say what is wrong", () => {
  const text = fromUtf8(emitCanonicalAllowlist(lists[0]));
  const msg = (t: string) => {
    try {
      parseCanonicalAllowlist(utf8(t));
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error("accepted");
  };
  assert.match(msg(text.replace(/\n/g, "\r\n")), /CRLF/);
  assert.match(msg("# c\n" + text), /comments are not allowed/);
  assert.match(msg(text.replace("  generation", "\tgeneration")), /tab/);
  assert.match(msg(text.slice(0, -1)), /missing trailing newline/);
  assert.match(
    msg(text.replace("kind: EgressAllowlist\n", "kind: EgressAllowlist\nx: 1\n")),
    /line 3: expected "metadata:"/,
  );
});

function name(r: Prng): string {
  const specials = ["123", "1e5", "true", "null", "a", "my-agent", "a.b", "0o17", "yes"];
  if (r.int(5) === 0) return r.pick(specials);
  const n = 1 + r.int(30);
  let s = "abcdefghijklmnopqrstuvwxyz"[r.int(26)];
  for (let i = 1; i < n; i++) s += "abcdefghijklmnopqrstuvwxyz0123456789-"[r.int(37)];
  return s.replace(/-+$/, "") || "x";
}

Deno.test(`property: ${N} GitOps manifests read back exactly, with fixed key order`, () => {
  const r = prng(7);
  for (let i = 0; i < N; i++) {
    const sandbox = name(r);
    const hasNs = r.int(2) === 0 || sandbox.includes("."); // kars-<a.b> is not a namespace
    const namespace = hasNs
      ? name(r).slice(0, 63).replace(/[.]/g, "-").replace(/-+$/, "") || "ns"
      : undefined;
    const registry = r.pick([
      "myacr.azurecr.io",
      "localhost:5000",
      "127.0.0.1:5000",
      "ghcr.io",
      "reg.example:443",
    ]);
    const repository = r.pick(["policy/egress-allowlist/", "a/b/", "x_y/", ""]) +
      sandbox.replace(/[.]/g, "-");
    const digest = "sha256:" + toHex(crypto.getRandomValues(new Uint8Array(32)));
    const signer = r.pick([
      "keyless:fulcio",
      "key:sha256-abc",
      "https://github.com/acme/gitops/.github/workflows/p.yml@refs/heads/main",
      "true",
      "1e5",
    ]);
    const egressMode = r.pick([undefined, "Strict", "Learn"] as const);
    const allowedEndpoints = r.int(3) === 0 ? lists[i].endpoints : r.int(10) === 0 ? [] : undefined;
    const bytes = emitGitopsManifest({
      name: sandbox,
      namespace,
      signer,
      registry,
      repository,
      digest,
      egressMode,
      allowedEndpoints,
    });
    const text = fromUtf8(bytes);
    const np: Record<string, unknown> = {};
    if (egressMode) np.egressMode = egressMode;
    if (allowedEndpoints) {
      np.allowedEndpoints = allowedEndpoints.map((e) => ({ host: e.host, port: e.port }));
    }
    np.allowlistRef = { registry, repository, digest, artifactType: ALLOWLIST_MEDIA_TYPE };
    const want = {
      apiVersion: "kars.azure.com/v1alpha1",
      kind: "KarsSandbox",
      metadata: {
        name: sandbox,
        namespace: namespace ?? `kars-${sandbox}`,
        annotations: { "kars.io/applied-via-gitops": "true" },
      },
      spec: { networkPolicy: np },
    };
    for (const version of ["1.2", "1.1"] as const) {
      const got = parse(text, { version });
      assert.deepEqual(got, want);
      assert.deepEqual(Object.keys(got), ["apiVersion", "kind", "metadata", "spec"]);
      assert.deepEqual(Object.keys(got.spec.networkPolicy), Object.keys(np));
      assert.deepEqual(Object.keys(got.spec.networkPolicy.allowlistRef), [
        "registry",
        "repository",
        "digest",
        "artifactType",
      ]);
    }
    assert.ok(text.startsWith(`# kars egress allowlist — digest=${digest} signer=${signer}\n`));
    assert.ok(
      text.endsWith("\n") && !text.endsWith("\n\n") && !/[ \t]\n/.test(text) &&
        !text.includes("\r"),
    );
    const back = readGitopsManifest(bytes, "m.yaml");
    assert.equal(back.allowlistRef.digest, digest);
    assert.equal(back.name, sandbox);
    // Deterministic: the same input gives the same bytes.
    assert.deepEqual(
      emitGitopsManifest({
        name: sandbox,
        namespace,
        signer,
        registry,
        repository,
        digest,
        egressMode,
        allowedEndpoints,
      }),
      bytes,
    );
  }
});

Deno.test("yaml_emit: scalars read back as the same string (YAML 1.2 and 1.1)", () => {
  const r = prng(99);
  const chars = "abcXYZ019._/:@+=- \"'#\\\n\t\u0001\u007f\u0085\u2028é例{}[],&*!|>%`?~";
  for (let i = 0; i < 3000; i++) {
    let s = "";
    const n = r.int(8);
    for (let j = 0; j < n; j++) s += chars[r.int(chars.length)];
    if (r.int(4) === 0) {
      s = r.pick([
        "true",
        "y",
        "No",
        "~",
        "null",
        "1_000",
        "1:20",
        "0x1F",
        ".5",
        "+1",
        "-.inf",
        ".NaN",
        "012",
        "1e3",
        "0b10",
        "0o7",
        "a:",
        "-",
        "--- ",
      ]);
    }
    for (const version of ["1.2", "1.1"] as const) {
      assert.deepEqual(
        parse(`k: ${scalar(s)}\n`, { version }),
        { k: s },
        `${JSON.stringify(s)} as ${version}: ${scalar(s)}`,
      );
    }
    if (isPlainSafe(s)) assert.equal(scalar(s), s);
  }
});
