/**
 * Scale checks (issue 15, item 6):
 *
 * 1. The canonical form + digest curve up to the 100,000-endpoint limit, each size in a fresh
 *    process: time per endpoint (flat means linear) and the process's peak resident memory.
 * 2. The largest sandbox file the reader takes, end to end: `kars egress --from-file …
 *    --registry oci:DIR --key … --enforce --emit-manifest` (read, canonicalise, push to a
 *    layout, sign, verify, write the manifest), wall time and peak memory.
 * 3. Peak resident memory and wall time of each CLI command on a small input (the embedded
 *    demo sandbox), under `deno run` and, when given, the standalone binary; peers measured in
 *    the same run: a bare runtime start (`deno run` of an empty module, `node -e 0`).
 *
 * Peak memory is GNU time's maximum resident set size (`/usr/bin/time -f %M`). The commands run
 * in a clean environment (PATH, HOME, COSIGN_PASSWORD, NO_COLOR only). Cluster
 * commands (`egress status`, `egress audit`, `webhook`) need an API server: the fleet audit's
 * memory is in `bench/audit_bench.ts`.
 *
 * Usage: `deno run -A bench/scale.ts [--binary dist/kars] [--runs 3] [--output FILE]`
 * (prints Markdown; used by `bench/run.ts` for the section "Scale").
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { rawEndpoints } from "./canonical_bench.ts";
import { median } from "./harness.ts";
import { MAX_YAML_NODES } from "../lib/encoding/yaml_read.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TIME = "/usr/bin/time";

/** One measured process run. */
interface Run {
  wallMs: number;
  peakKiB: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `argv` under GNU time; wall from our clock, peak RSS from time's `%M`. */
async function timed(
  argv: string[],
  opts: { cwd?: string; env?: Record<string, string>; stdin?: string } = {},
): Promise<Run> {
  const t0 = performance.now();
  const child = new Deno.Command(TIME, {
    args: ["-f", "KARS_MAXRSS_KB=%M", ...argv],
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: opts.env !== undefined,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const o = await child.output();
  const wallMs = performance.now() - t0;
  const stderr = new TextDecoder().decode(o.stderr);
  const m = /KARS_MAXRSS_KB=(\d+)/.exec(stderr);
  return {
    wallMs,
    peakKiB: m ? Number(m[1]) : NaN,
    code: o.code,
    stdout: new TextDecoder().decode(o.stdout),
    stderr: stderr.replace(/KARS_MAXRSS_KB=\d+\n?/, ""),
  };
}

/** Median wall and peak memory over `runs` runs (after one warm-up); fails on an unexpected exit. */
async function medianOf(
  argv: string[],
  runs: number,
  opts: { cwd?: string; env?: Record<string, string>; expect?: number[] } = {},
): Promise<{ wallMs: number; peakKiB: number }> {
  const expect = opts.expect ?? [0];
  const walls: number[] = [];
  const peaks: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const r = await timed(argv, opts);
    if (!expect.includes(r.code)) {
      throw new Error(`${argv.join(" ")} exited ${r.code}:\n${r.stderr.slice(0, 2000)}`);
    }
    if (i === 0) continue; // warm-up (module cache, page cache)
    walls.push(r.wallMs);
    peaks.push(r.peakKiB);
  }
  return { wallMs: median(walls), peakKiB: median(peaks) };
}

const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const ms = (x: number) => x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`;

/** A KarsSandbox with `n` distinct endpoints (host and port each), as JSON. */
function sandboxJson(name: string, n: number): string {
  const allowedEndpoints = [];
  for (let i = 0; i < n; i++) {
    const k = (i * 7919) % n; // scrambled order, as in the canonical bench
    allowedEndpoints.push({ host: `svc-${k}.team${k % 97}.example.com`, port: 443 + (k % 3) });
  }
  return JSON.stringify({
    apiVersion: "kars.azure.com/v1alpha1",
    kind: "KarsSandbox",
    metadata: { name, namespace: `kars-${name}` },
    spec: { networkPolicy: { egressMode: "Learn", allowedEndpoints } },
  });
}

/** The most endpoints a sandbox file may hold: the YAML reader's node cap, 7 nodes each. */
const FILE_ENDPOINTS = Math.floor((MAX_YAML_NODES - 100) / 7 / 100) * 100;

/** The child mode: canonical + digest of `n` endpoints, once warm, three times timed. */
async function child(n: number): Promise<void> {
  const { canonicalizeEndpoints, emitCanonicalAllowlist } = await import(
    "../lib/allowlist/canonical.ts"
  );
  const { digestBytes } = await import("../lib/encoding/digest.ts");
  const raw = rawEndpoints(n);
  const once = () =>
    digestBytes(emitCanonicalAllowlist({ generation: 1, endpoints: canonicalizeEndpoints(raw) }));
  once();
  const ts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    once();
    ts.push(performance.now() - t0);
  }
  console.log(JSON.stringify({ n, ms: median(ts) }));
}

/**
 * Runs the three scale checks and returns the Markdown section.
 *
 * @example
 * ```ts
 * import { runScaleBench } from "./scale.ts";
 * // console.log((await runScaleBench({ runs: 3 })).join("\n"));
 * ```
 */
export async function runScaleBench(
  opts: { binary?: string; runs?: number } = {},
): Promise<string[]> {
  const runs = opts.runs ?? 3;
  const deno = Deno.execPath();
  const out: string[] = ["## Scale (`bench/scale.ts`)", ""];

  // 1. The curve, each size in its own process.
  const sizes = [1_000, 3_000, 10_000, 30_000, 100_000];
  out.push(
    "Canonical form + digest (normalise, validate, dedup, sort, emit, SHA-256), each size in a fresh `deno run` process (median of 3 warm passes; peak memory of the whole process, start-up included):",
    "",
    "| endpoints | time | per endpoint | peak memory (process) |",
    "|--:|--:|--:|--:|",
  );
  const self = fileURLToPath(import.meta.url);
  const rowsOut: { n: number; ms: number; per: number; peakKiB: number }[] = [];
  for (const n of sizes) {
    const r = await timed([deno, "run", "-A", "--frozen", self, "--child", String(n)], {
      cwd: ROOT,
    });
    if (r.code !== 0) throw new Error(`child ${n} failed: ${r.stderr}`);
    const j = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { ms: number };
    rowsOut.push({ n, ms: j.ms, per: j.ms * 1000 / n, peakKiB: r.peakKiB });
  }
  const last = rowsOut.at(-1)!;
  for (const r of rowsOut) {
    out.push(
      `| ${r.n.toLocaleString("en-US")} | ${ms(r.ms)} | ${r.per.toFixed(2)} µs (${
        (r.per / last.per).toFixed(2)
      }× the largest) | ${mib(r.peakKiB)} |`,
    );
  }
  out.push("");

  // 2 and 3 share a working directory.
  const work = await Deno.makeTempDir({ prefix: "kars-bench-scale-" });
  try {
    const runtimes: { name: string; argv: string[] }[] = [
      { name: "`deno run cli.ts`", argv: [deno, "run", "-A", "--frozen", join(ROOT, "cli.ts")] },
    ];
    if (opts.binary) runtimes.push({ name: "standalone binary", argv: [opts.binary] });
    // A clean environment, as a CI runner's (no NODE_EXTRA_CA_CERTS: Node 20 parses that bundle
    // at start), with the real HOME so that `deno run` finds its warm module cache.
    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? work,
      COSIGN_PASSWORD: "bench-password",
      NO_COLOR: "1",
    };

    // 2. The largest sandbox file end to end.
    const big = join(work, "big.json");
    await Deno.writeTextFile(big, sandboxJson("big-agent", FILE_ENDPOINTS));
    const bigSize = (await Deno.stat(big)).size;
    out.push(
      `The largest sandbox file end to end: ${FILE_ENDPOINTS.toLocaleString("en-US")} endpoints (${
        (bigSize / 1024).toFixed(0)
      } KiB of JSON; the sandbox reader refuses YAML/JSON of more than ${
        MAX_YAML_NODES.toLocaleString("en-US")
      } nodes, 7 per endpoint, to bound the parser's memory — an allowlist artifact may hold 100,000 and is read by its own line parser), \`kars egress big-agent --from-file big.json --registry oci:DIR --key cosign.key --tlog-upload false --enforce --emit-manifest F --force\` (read, canonicalise, push to a layout, sign, verify, write the manifest; median of ${runs}):`,
      "",
      "| runtime | wall | peak memory |",
      "|---|--:|--:|",
    );
    const keyDir = join(work, "keys");
    await Deno.mkdir(keyDir);
    const kp = await timed([...runtimes[0].argv, "generate-key-pair"], { cwd: keyDir, env });
    if (kp.code !== 0) throw new Error(`generate-key-pair failed: ${kp.stderr}`);
    for (const rt of runtimes) {
      const r = await medianOf(
        [
          ...rt.argv,
          "egress",
          "big-agent",
          "--from-file",
          big,
          "--registry",
          `oci:${join(work, "big-layout")}`,
          "--key",
          join(keyDir, "cosign.key"),
          "--tlog-upload",
          "false",
          "--enforce",
          "--emit-manifest",
          join(work, "big-manifest.yaml"),
          "--force",
        ],
        runs,
        { cwd: work, env },
      );
      out.push(`| ${rt.name} | ${ms(r.wallMs)} | ${mib(r.peakKiB)} |`);
    }
    out.push("");

    // 3. Each command on a small input.
    out.push(
      `Each CLI command on a small input (the embedded demo sandbox; median of ${runs} runs after one warm-up; peak memory = maximum resident set of the process):`,
      "",
      `| command | ${runtimes.map((r) => `${r.name}: wall`).join(" | ")} | ${
        runtimes.map((r) => `${r.name}: peak memory`).join(" | ")
      } |`,
      `|---|${runtimes.map(() => "--:").join("|")}|${runtimes.map(() => "--:").join("|")}|`,
    );
    const empty = join(work, "empty.ts");
    await Deno.writeTextFile(empty, "");
    const rows: { label: string; args: (dir: string) => string[]; expect?: number[] }[] = [
      { label: "`--help`", args: () => ["--help"] },
      { label: "`completion bash`", args: () => ["completion", "bash"] },
      {
        label: "`demo` (first run: key pair, push, sign, verify)",
        args: (d) => ["demo", "--dir", `${d}-first-${crypto.randomUUID()}`],
      },
      { label: "`demo` (again: already signed)", args: (d) => ["demo", "--dir", d] },
      {
        label: "`egress verify --manifest` (layout, key policy; controller verdict False)",
        args: (d) => [
          "egress",
          "verify",
          "--manifest",
          join(d, "gitops", "demo-agent-allowlist.yaml"),
          "--signer-policy",
          join(d, "signer-policy.yaml"),
          "--verdict",
          "ours",
        ],
      },
      {
        label: "`egress diff` (same artifact twice)",
        args: (d) => [
          "egress",
          "diff",
          "--registry",
          `oci:${join(d, "layout")}`,
          join(d, "gitops", "demo-agent-allowlist.yaml"),
          join(d, "gitops", "demo-agent-allowlist.yaml"),
        ],
      },
      {
        label:
          "`signer-policy lint` (the demo's key policy: exit 3, the controller would refuse it)",
        args: (d) => ["signer-policy", "lint", join(d, "signer-policy.yaml")],
        expect: [3],
      },
      {
        label: "`migrate from-kagent` (testdata/kagent/declarative)",
        args: () => [
          "migrate",
          "from-kagent",
          "--allow-lossy",
          join(ROOT, "testdata/kagent/declarative/input.yaml"),
        ],
      },
    ];
    const results = new Map<string, { wallMs: number; peakKiB: number }[]>();
    for (const [i, rt] of runtimes.entries()) {
      const dir = join(work, `demo-${i}`);
      // The demo directory the later rows read.
      const first = await timed([...rt.argv, "demo", "--dir", dir], { cwd: work, env });
      if (first.code !== 0) throw new Error(`demo failed under ${rt.name}: ${first.stderr}`);
      for (const row of rows) {
        const r = await medianOf([...rt.argv, ...row.args(dir)], runs, {
          cwd: work,
          env,
          expect: row.expect,
        });
        results.set(row.label, [...(results.get(row.label) ?? []), r]);
      }
    }
    for (const row of rows) {
      const rs = results.get(row.label)!;
      out.push(
        `| ${row.label} | ${rs.map((r) => ms(r.wallMs)).join(" | ")} | ${
          rs.map((r) => mib(r.peakKiB)).join(" | ")
        } |`,
      );
    }
    const peers = [
      { label: "peer: `deno run` of an empty module", argv: [deno, "run", empty] },
      { label: "peer: `node -e 0`", argv: ["node", "-e", "0"] },
    ];
    for (const p of peers) {
      const r = await medianOf(p.argv, runs, { cwd: work, env });
      out.push(
        `| ${p.label} | ${runtimes.map(() => ms(r.wallMs)).join(" | ")} | ${
          runtimes.map(() => mib(r.peakKiB)).join(" | ")
        } |`,
      );
    }
    out.push(
      "",
      "The first `demo` row includes the key pair: cosign's scrypt (N = 65,536, r = 8) needs 64 MiB by design.",
      "",
    );
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      child: { type: "string" },
      binary: { type: "string" },
      runs: { type: "string" },
      output: { type: "string" },
    },
  });
  if (values.child) {
    await child(Number(values.child));
  } else {
    const lines = await runScaleBench({
      binary: values.binary ? resolve(values.binary) : undefined,
      runs: values.runs ? Number(values.runs) : 3,
    });
    const text = lines.join("\n") + "\n";
    if (values.output) await Deno.writeTextFile(values.output, text);
    else console.log(text);
  }
}
