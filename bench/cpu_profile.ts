/**
 * Summarizes a V8 CPU profile of the standalone binary: self time by bundled module (from the
 * readable bundle's `// path` comments) and by call path, optionally only between the first
 * sample under one function and the first sample under another. Not part of the package.
 *
 * The recipe (Node refuses `--cpu-prof` in `NODE_OPTIONS`, and a SEA takes no Node flags):
 *
 * ```sh
 * deno task build:binary --output /tmp/kr/kars --readable   # also writes /tmp/kr/kars.cjs
 * KARS_CPU_PROFILE=/tmp/run.cpuprofile /tmp/kr/kars egress …
 * deno run -A bench/cpu_profile.ts /tmp/run.cpuprofile --bundle /tmp/kr/kars.cjs \
 *   [--from verifyBundleSync] [--to tagManifest] [--top 25]
 * ```
 *
 * The profiler slows V8's code-cache deserialization a lot (it logs every function): read the
 * compile phase from `KARS_PROFILE`'s timings instead, and this for what runs after it.
 *
 * @module
 */
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** A parsed `.cpuprofile`. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self time (ms) by key, over the samples between the first one whose stack holds `from` and
 * the first one whose stack holds `to` (both optional).
 *
 * @example
 * ```ts
 * import { selfTime } from "./cpu_profile.ts";
 * const p = { nodes: [{ id: 1, callFrame: { functionName: "f", url: "a", lineNumber: 0 } }],
 *   samples: [1, 1], timeDeltas: [1000, 1000] };
 * selfTime(p, (n) => n.callFrame.functionName).get("f"); // 2
 * ```
 */
export function selfTime(
  p: CpuProfile,
  key: (n: ProfileNode, stack: () => ProfileNode[]) => string,
  window: { from?: string; to?: string } = {},
): Map<string, number> {
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stack = (id: number) => {
    const out: ProfileNode[] = [];
    for (let c: number | undefined = id; c !== undefined; c = parent.get(c)) {
      out.push(nodes.get(c)!);
    }
    return out;
  };
  const holds = (id: number, name: string) =>
    stack(id).some((n) => n.callFrame.functionName === name);
  const out = new Map<string, number>();
  let started = window.from === undefined;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i];
    if (!started) {
      if (!holds(id, window.from!)) continue;
      started = true;
    }
    if (window.to !== undefined && holds(id, window.to)) break;
    const k = key(nodes.get(id)!, () => stack(id));
    out.set(k, (out.get(k) ?? 0) + p.timeDeltas[i] / 1000);
  }
  return out;
}

/**
 * Maps a line of the readable bundle to the module it came from (the last `// path` comment
 * at or before it).
 *
 * @example
 * ```ts
 * import { moduleOfLine } from "./cpu_profile.ts";
 * moduleOfLine("// lib/errors.ts\nlet a;\n// lib/x.ts\n")(1); // "lib/errors.ts"
 * ```
 */
export function moduleOfLine(bundle: string): (line: number) => string {
  const marks: Array<[number, string]> = [];
  bundle.split("\n").forEach((l, i) => {
    if (/^\/\/ (lib|scripts|\.\.\/)/.test(l)) {
      marks.push([i, l.slice(3).replace(/.*registry\.npmjs\.org\//, "npm:")]);
    }
  });
  return (line) => {
    let lo = 0, hi = marks.length - 1, found = "(bundle)";
    while (lo <= hi) {
      const m = (lo + hi) >> 1;
      if (marks[m][0] <= line) {
        found = marks[m][1];
        lo = m + 1;
      } else hi = m - 1;
    }
    return found;
  };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      bundle: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      top: { type: "string", default: "25" },
    },
  });
  if (positionals.length !== 1) {
    console.error("usage: cpu_profile.ts PROFILE [--bundle B.cjs] [--from FN] [--to FN] [--top N]");
    Deno.exit(2);
  }
  const p = JSON.parse(await Deno.readTextFile(positionals[0])) as CpuProfile;
  const mod = values.bundle ? moduleOfLine(await Deno.readTextFile(values.bundle)) : undefined;
  const window = { from: values.from, to: values.to };
  const top = Number(values.top);
  const print = (title: string, m: Map<string, number>) => {
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    console.log(`\n${title} (${total.toFixed(1)} ms sampled)`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${v.toFixed(1).padStart(7)} ${k}`);
    }
  };
  print(
    "self time by module",
    selfTime(p, (n) => {
      const { url, lineNumber, functionName } = n.callFrame;
      if (url.endsWith("kars.cjs")) return mod ? mod(lineNumber) : "kars.cjs";
      return url ? url.replace(/^node:internal\//, "node:") : functionName || "(native)";
    }, window),
  );
  print(
    "self time by call path (innermost 6 named frames)",
    selfTime(
      p,
      (_n, stack) =>
        stack().map((s) => s.callFrame.functionName).filter((f) => f).slice(0, 6).reverse()
          .join(" > "),
      window,
    ),
  );
}
