/**
 * Attack: hostile YAML inside the 4 MiB input cap (issue 10, "Memory"). Before: 4,190,000
 * unclosed `[` took 30–90 s and 3.7 GB before a stack overflow; a 1 MiB SignerPolicy 6–12 s and
 * 1 GB; 172k endpoints 7–18 s and 600 MB. Each attack here runs in a child process
 * (tests/hostile/yaml_probe.ts) that reports its peak RSS (VmHWM) — asserted under 150 MB —
 * and the time of the operation, asserted only as a ratio to a benign input of the same size.
 * The in-process tests count lexer tokens: a refusal reads a bounded prefix of the input.
 */
import assert from "assert";
import { join } from "node:path";
import {
  MAX_YAML_DEPTH,
  MAX_YAML_DOCUMENTS,
  MAX_YAML_NODES,
  parseYamlDocuments,
  scanYaml,
} from "../../lib/encoding/yaml_read.ts";
import { isKarsError } from "../../lib/errors.ts";

const PROBE = new URL("./yaml_probe.ts", import.meta.url).pathname;
const SIZE = 4_190_000;
const MAX_HWM_MB = 150;
/** Peak memory is read from /proc (Linux); elsewhere the subprocess tests are ignored. */
const NO_PROC = Deno.build.os !== "linux";

interface Probe {
  ok: boolean;
  code?: number;
  error?: string;
  /** CPU time (user + system) of the operation, ms: compared against a benign input's. */
  ms: number;
  /** Wall time, ms (printed only: a loaded machine stretches it). */
  wallMs: number;
  hwmKiB: number;
}

async function probe(dir: string, name: string, text: string, mode: string, args: string[] = []) {
  const file = join(dir, name);
  await Deno.writeTextFile(file, text);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--frozen", PROBE, mode, file, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  assert.ok(out.success, `probe failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(stdout.split("\n").pop()!) as Probe;
}

const HEAD =
  "apiVersion: kars.azure.com/v1alpha1\nkind: KarsSandbox\nmetadata:\n  name: agent\n  namespace: kars-agent\n";

/** A benign KarsSandbox of about `size` bytes: many annotations of ~1 KB plain text. */
function benignSandbox(size: number): string {
  let s = HEAD + "  annotations:\n";
  for (let i = 0; s.length < size - 1100; i++) {
    s += `    note-${i}: ${"lorem ipsum dolor sit amet ".repeat(37)}\n`;
  }
  return s + "spec:\n  networkPolicy:\n    allowedEndpoints:\n      - host: api.github.com\n";
}

function pad(s: string, size: number): string {
  return s.length >= size ? s : s + "\n#" + " ".repeat(size - s.length - 3) + "\n";
}

const ATTACKS: Record<string, () => string> = {
  "4,190,000 unclosed [": () => "[".repeat(SIZE),
  "4,190,000 unclosed {": () => "{".repeat(SIZE),
  "deep flow nesting in a sandbox": () =>
    HEAD + "spec:\n  networkPolicy:\n    allowedEndpoints: " + "[{a: ".repeat(SIZE / 5 - 40),
  "deep block nesting - - - -": () => "- ".repeat(SIZE / 2),
  "deep indented block nesting": () => {
    let s = "";
    for (let i = 0; s.length < SIZE - 4000; i++) s += " ".repeat(i) + "k:\n";
    return s;
  },
  "172k endpoints (flow)": () =>
    pad(
      HEAD + "spec:\n  networkPolicy:\n    allowedEndpoints: [" +
        Array.from({ length: 172_000 }, (_, i) => `{host: h${i}.io}`).join(",") + "]\n",
      SIZE,
    ),
  "172k endpoints (block)": () =>
    pad(
      HEAD + "spec:\n  networkPolicy:\n    allowedEndpoints:\n" +
        Array.from({ length: 172_000 }, (_, i) => `    - host: h${i}.io\n`).join(""),
      SIZE,
    ),
  "1,000,000 documents": () => "---\n".repeat(SIZE / 4),
  "billion laughs": () =>
    pad(
      "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" +
        "bcdefghi".split("").map((k, i) =>
          `${k}: &${k} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(",")}]\n`
        ).join(""),
      SIZE,
    ),
};

Deno.test({
  name:
    "hostile yaml: every attack through `kars egress verify --manifest` is refused (exit 2) under 150 MB and no slower than a benign input of the same size",
  ignore: NO_PROC, // peak RSS is read from /proc/<pid>/status (Linux only)
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kars-hostile-yaml-" });
    try {
      const args = ["egress", "verify", "--manifest", "@"];
      const benign = await probe(dir, "benign.yaml", benignSandbox(SIZE), "cli", args);
      // The benign sandbox is parsed (its verdict, inline-only, is not our concern here).
      assert.ok(benign.error === undefined || !/YAML|refusing/.test(benign.error), benign.error);
      console.log(
        `  benign ${SIZE} bytes: ${benign.ms.toFixed(0)} ms CPU, ${
          (benign.hwmKiB / 1024).toFixed(0)
        } MB`,
      );
      for (const [name, make] of Object.entries(ATTACKS)) {
        const text = make();
        assert.ok(text.length <= 4 * 1024 * 1024, `${name}: ${text.length} bytes`);
        const r = await probe(dir, "attack.yaml", text, "cli", args);
        const mb = r.hwmKiB / 1024;
        console.log(
          `  ${name} (${text.length} bytes): exit ${r.code}, ${r.ms.toFixed(0)} ms CPU, ${
            mb.toFixed(0)
          } MB — ${r.error?.trim().slice(0, 140)}`,
        );
        assert.equal(r.code, 2, `${name}: ${r.error}`);
        assert.ok(mb < MAX_HWM_MB, `${name}: peak RSS ${mb.toFixed(0)} MB`);
        assert.ok(r.ms <= 3 * benign.ms + 200, `${name}: ${r.ms} ms vs benign ${benign.ms} ms`);
        assert.ok(r.error!.length < 600, r.error);
      }
      // Inputs that fill the node budget in the costliest shapes are parsed (whatever the
      // verdict), within the same memory bound.
      const n = MAX_YAML_NODES - 40;
      const atBudget: Record<string, string> = {
        "flow scalars": HEAD + "  annotations:\n    a: [" + "a,".repeat(n - 2) + "a]\n",
        "empty sequence entries": HEAD + "  annotations:\n    x:\n" + "      -\n".repeat(n),
        "endpoints with host and port": HEAD + "spec:\n  networkPolicy:\n    allowedEndpoints:\n" +
          Array.from(
            { length: Math.floor(n / 7) },
            (_, i) => `      - host: h${i}.example.io\n        port: 443\n`,
          ).join(""),
      };
      for (const [name, text] of Object.entries(atBudget)) {
        const r = await probe(dir, "budget.yaml", text, "cli", args);
        const mb = r.hwmKiB / 1024;
        console.log(
          `  at the node budget, ${name}: exit ${r.code}, ${r.ms.toFixed(0)} ms CPU, ${
            mb.toFixed(0)
          } MB`,
        );
        assert.ok(!/YAML|refusing/.test(r.error ?? ""), `${name}: ${r.error}`);
        assert.ok(mb < MAX_HWM_MB, `${name}: peak RSS ${mb.toFixed(0)} MB`);
        assert.ok(r.ms <= 3 * benign.ms + 200, `${name}: ${r.ms} ms vs benign ${benign.ms} ms`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A SignerPolicy ConfigMap whose sanPatterns block holds `body` (indented). */
function policy(body: string): string {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kars-signer-policy\ndata:\n" +
    "  fulcioIssuers: https://token.actions.githubusercontent.com\n  sanPatterns: |\n" +
    body.split("\n").map((l) => `    ${l}`).join("\n") + "\n";
}

Deno.test({
  name:
    "hostile yaml: 1 MiB SignerPolicies are refused under 150 MB, no slower than a benign 1 MiB policy",
  ignore: NO_PROC, // peak RSS is read from /proc/<pid>/status (Linux only)
  async fn() {
    const MiB = 1024 * 1024 - 200;
    const dir = await Deno.makeTempDir({ prefix: "kars-hostile-policy-" });
    try {
      // Benign: a valid policy padded to 1 MiB with comment lines in the pattern block.
      const comments = Array.from({ length: MiB / 110 }, () => "#" + " note".repeat(19)).join("\n");
      const benign = await probe(
        dir,
        "benign.yaml",
        policy(
          "https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main\n" + comments,
        ),
        "policy",
      );
      assert.ok(benign.ok, benign.error);
      console.log(
        `  benign 1 MiB policy: ${benign.ms.toFixed(0)} ms CPU, ${
          (benign.hwmKiB / 1024).toFixed(0)
        } MB`,
      );
      const attacks: Record<string, string> = {
        "nested flow": "a: " + "[".repeat(MiB),
        "50,000 patterns": policy(
          Array.from({ length: 50_000 }, (_, i) => `re:(a+)+x${i}`).join("\n"),
        ),
        "1,000 patterns of 1 KiB": policy(
          Array.from({ length: 1000 }, (_, i) => `re:(a|a)*${i}`.padEnd(1000, "a")).join("\n"),
        ),
        "one 1 MiB pattern": policy("re:" + "(a+)+".repeat(MiB / 5 - 20)),
        "many documents": "---\n".repeat(MiB / 4),
      };
      for (const [name, text] of Object.entries(attacks)) {
        const r = await probe(dir, "attack.yaml", text, "policy");
        const mb = r.hwmKiB / 1024;
        console.log(
          `  ${name}: ${r.ms.toFixed(0)} ms CPU, ${mb.toFixed(0)} MB — ${r.error?.slice(0, 140)}`,
        );
        assert.equal(r.ok, false, name);
        assert.match(r.error!, /SignerPolicyMalformed|signer policy|YAML/);
        assert.ok(mb < MAX_HWM_MB, `${name}: peak RSS ${mb.toFixed(0)} MB`);
        // The benign policy is one short block scalar (tens of ms), so the ratio is generous.
        assert.ok(r.ms <= 10 * benign.ms + 500, `${name}: ${r.ms} ms vs benign ${benign.ms} ms`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "hostile yaml: kubeconfig and kagent input go through the same bounded reader",
  ignore: NO_PROC, // peak RSS is read from /proc/<pid>/status (Linux only)
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kars-hostile-kube-" });
    try {
      const deep = "apiVersion: v1\nkind: Config\nclusters: " + "[".repeat(SIZE - 100);
      const k = await probe(dir, "kubeconfig", deep, "kubeconfig");
      assert.equal(k.ok, false);
      assert.match(k.error!, /kubeconfig .* YAML nesting is deeper than 100 levels/);
      assert.ok(k.hwmKiB / 1024 < MAX_HWM_MB, `${k.hwmKiB} KiB`);
      const m = await probe(dir, "kagent.yaml", "- ".repeat(SIZE / 2), "cli", [
        "migrate",
        "from-kagent",
        "@",
      ]);
      assert.equal(m.code, 2, m.error);
      assert.match(m.error!, /YAML nesting is deeper than 100 levels/);
      assert.ok(m.hwmKiB / 1024 < MAX_HWM_MB, `${m.hwmKiB} KiB`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function limitError(part: RegExp) {
  return (e: unknown) => {
    assert.ok(isKarsError(e, "INPUT"), String(e));
    assert.equal(e.details?.reason, "YamlLimit");
    assert.match(e.message, part);
    return true;
  };
}

Deno.test("yaml limits: refusals read only a bounded prefix (lexer token counts)", () => {
  const tokensOf = (text: string): number => {
    try {
      scanYaml(text, "x.yaml");
    } catch (e) {
      if (isKarsError(e) && typeof e.details?.tokens === "number") return e.details.tokens;
      throw e;
    }
    assert.fail("not refused");
  };
  assert.ok(tokensOf("[".repeat(SIZE)) <= MAX_YAML_DEPTH + 5);
  assert.ok(tokensOf("{".repeat(SIZE)) <= MAX_YAML_DEPTH + 5);
  assert.ok(tokensOf("- ".repeat(SIZE / 2)) <= 2 * MAX_YAML_DEPTH + 10);
  assert.ok(tokensOf("---\n".repeat(SIZE / 4)) <= 3 * MAX_YAML_DOCUMENTS + 10);
  assert.ok(tokensOf("[" + "a,".repeat(2_000_000) + "]") <= 3 * MAX_YAML_NODES + 10);
});

Deno.test("yaml limits: exact boundaries for depth, documents and collection size", () => {
  const nest = (d: number) => "[".repeat(d) + "]".repeat(d);
  assert.equal(scanYaml(nest(MAX_YAML_DEPTH), "x").depth, MAX_YAML_DEPTH);
  assert.equal((parseYamlDocuments(nest(MAX_YAML_DEPTH), "x")[0] as unknown[]).length, 1);
  assert.throws(
    () => parseYamlDocuments(nest(MAX_YAML_DEPTH + 1), "x.yaml"),
    limitError(/x\.yaml line 1: YAML nesting is deeper than 100 levels/),
  );
  let block = "";
  for (let i = 0; i < MAX_YAML_DEPTH; i++) block += " ".repeat(i) + "k:\n";
  assert.equal(scanYaml(block, "x").depth, MAX_YAML_DEPTH);
  block += " ".repeat(MAX_YAML_DEPTH) + "k: v\n";
  assert.throws(
    () => parseYamlDocuments(block, "b.yaml"),
    limitError(/b\.yaml line 101: YAML nesting/),
  );
  assert.throws(() => parseYamlDocuments("- ".repeat(101) + "x", "c"), limitError(/nesting/));
  assert.equal(parseYamlDocuments("- ".repeat(100) + "x", "c").length, 1);

  const docs = (n: number) => Array.from({ length: n }, (_, i) => `n: ${i}\n`).join("---\n");
  assert.equal(parseYamlDocuments(docs(MAX_YAML_DOCUMENTS), "d").length, MAX_YAML_DOCUMENTS);
  assert.throws(
    () => parseYamlDocuments(docs(MAX_YAML_DOCUMENTS + 1), "d"),
    limitError(/more than 1000 documents/),
  );
  assert.equal(
    parseYamlDocuments("---\n" + docs(MAX_YAML_DOCUMENTS), "d").length,
    MAX_YAML_DOCUMENTS,
  );

  // Nodes: an allowlist written with host and port is 7 nodes an entry (-, host, :, value,
  // port, :, value); the header `eps:` is 2.
  const list = (n: number) => "eps:\n" + "  - host: a.io\n    port: 443\n".repeat(n);
  assert.equal(scanYaml(list(10), "e").nodes, 2 + 70);
  const fits = Math.floor((MAX_YAML_NODES - 2) / 7);
  assert.equal(scanYaml(list(fits), "e").nodes, 2 + 7 * fits);
  assert.ok(fits >= 3500, String(fits));
  assert.equal((parseYamlDocuments(list(fits), "e")[0] as { eps: unknown[] }).eps.length, fits);
  assert.throws(() => scanYaml(list(fits + 1), "e"), limitError(/more than 25000 nodes/));
  const flow = (n: number) => "[" + "a,".repeat(n - 2) + "a]"; // n - 1 scalars + the list
  assert.equal(scanYaml(flow(MAX_YAML_NODES), "f").nodes, MAX_YAML_NODES);
  assert.throws(() => scanYaml(flow(MAX_YAML_NODES + 1), "f"), limitError(/more than 25000/));
  // Small limits can be passed per call (e.g. for tests or stricter readers).
  assert.throws(
    () => parseYamlDocuments("[1,[2,[3]]]", "g", { maxDepth: 2 }),
    limitError(/deeper than 2/),
  );
  assert.throws(
    () => parseYamlDocuments("[1,2,3]", "g", { maxNodes: 3 }),
    limitError(/more than 3 nodes/),
  );
});

Deno.test("yaml limits: the scan agrees with the parser on ordinary YAML (no false refusals)", () => {
  const samples = [
    "a: 1\nb:\n  - x\n  - y: [1, {z: 2}]\n    w: |\n      [[[[ {{{{ - - - not structure\n",
    "key: 'it''s [ not ] a { flow'\nother: \"x[ \\\" {\"\n# [[[[ comment\n",
    "%YAML 1.2\n---\n? a\n: c\n...\n---\n&anchor k: *anchor\n",
    "seq:\n- a\n- b:\n  - c\n",
    "plain: a [b] {c} - d\nmulti: line one\n  line two [\n",
  ];
  for (const s of samples) {
    const scan = scanYaml(s, "s");
    assert.ok(scan.depth <= 5, `${JSON.stringify(s)}: depth ${scan.depth}`);
    parseYamlDocuments(s, "s");
  }
});

Deno.test("yaml errors: quote a short escaped excerpt of the input only", () => {
  const evil = "\u001b]0;pwned\u0007" + "x".repeat(100_000);
  for (const text of [`!${evil} a: 1\n`, `a: *${evil}\n`, `a: [${evil}\n`]) {
    try {
      parseYamlDocuments(text, "e.yaml");
      assert.fail("accepted");
    } catch (e) {
      const m = (e as Error).message;
      assert.ok(m.length < 1000, `${m.length} characters: ${m.slice(0, 200)}`);
      // deno-lint-ignore no-control-regex
      assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(m), JSON.stringify(m.slice(0, 200)));
    }
  }
});

Deno.test("kubeconfig: read through the hardened reader (custom tags, documents, limits)", async () => {
  const { loadKubeConfig } = await import("../../lib/kube/kubeconfig.ts");
  const load = (text: string) =>
    loadKubeConfig({ kubeconfig: "/k/config", env: {}, readFile: () => Promise.resolve(text) });
  const good =
    "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: https://127.0.0.1:6443}\n" +
    "users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
  assert.equal((await load(good)).server, "https://127.0.0.1:6443");
  await assert.rejects(load(good + "---\n" + good), /holds 2 YAML documents/);
  await assert.rejects(
    load("clusters: !!binary aGk=\n"),
    /tag tag:yaml.org,2002:binary is not allowed/,
  );
  await assert.rejects(
    load("a: " + "{".repeat(200)),
    /kubeconfig \/k\/config line 1: YAML nesting/,
  );
});
