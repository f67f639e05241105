/**
 * Fresh and repeat keyless `kars egress --enforce --emit-manifest` runs with `KARS_PROFILE`,
 * against Debian's docker-registry and the `@sigstore/mock` services on loopback:
 * - `--timeline`: each request's start, duration and the gap before it (time the process
 *   spent between requests), so the "other" of `bench/profile.ts` can be attributed to the
 *   step that precedes a gap;
 * - `--compare DIR`: the same runs of another checkout (e.g. `git archive main | tar -x -C
 *   DIR`), interleaved run by run with this one so both see the same machine load; prints the
 *   medians side by side (wall time, requests, the longest in-process gap).
 * Not part of the package.
 *
 * `deno run -A bench/timeline.ts [--runs N] [--timeline] [--compare DIR] [--binary "CMD"] [--proxy]`
 * (`--binary` replaces `deno run cli.ts` and may carry arguments, e.g.
 * `"node --cpu-prof --cpu-prof-dir=/tmp/prof kars.cjs"`; `--proxy` puts the counting proxy of
 * `bench/flow.ts` between the client and the registry, as the flow bench does).
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startDockerRegistry } from "../tests/support/docker_registry.ts";
import { startSigstoreMock } from "../tests/support/sigstore_mock.ts";
import { startCountingProxy } from "../tests/support/counting_proxy.ts";
import type { RunProfile } from "../lib/cli/profile.ts";
import { median } from "./harness.ts";
import { keylessEgressArgs, prepareKeylessFlowDir } from "../tests/support/keyless_flow.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    binary: { type: "string" },
    runs: { type: "string", default: "1" },
    timeline: { type: "boolean", default: false },
    compare: { type: "string" },
    proxy: { type: "boolean", default: false },
  },
});
const here = new URL("..", import.meta.url).pathname;
const denoCli = (root: string) => [Deno.execPath(), "run", "-A", "--frozen", join(root, "cli.ts")];
const clis: Array<{ label: string; cli: string[] }> = [
  {
    label: "this tree",
    // A relative path names a file here (the runs happen in a scratch directory).
    cli: values.binary
      ? values.binary.split(" ").map((w, i) => i === 0 && w.includes("/") ? resolve(w) : w)
      : denoCli(here),
  },
];
if (values.compare) clis.push({ label: values.compare, cli: denoCli(values.compare) });

interface Sample {
  wall: number;
  requests: number;
  /** The longest stretch without a request in flight after the entry (ms). */
  longestGap: number;
  /** Entry → first request (ms). */
  firstRequest: number;
  /** The gap before the last GET of the `.sig` tag: the re-check delay after writing it (ms). */
  confirmGap: number;
}

function print(label: string, wall: number, p: RunProfile): void {
  console.log(
    `\n## ${label}: wall ${wall.toFixed(0)} ms; entry ${p.entry.toFixed(1)} ms; ` +
      `end ${p.end.toFixed(1)} ms; network ${p.network.toFixed(1)} ms; ` +
      `${p.requests.length} requests`,
  );
  let last = p.entry;
  for (const r of p.requests) {
    console.log(
      `${r.start.toFixed(1).padStart(7)} +${(r.start - last).toFixed(1).padStart(6)} ` +
        `${r.ms.toFixed(1).padStart(6)} ms ${r.status} ${
          r.what.replace(/([0-9a-f]{8})[0-9a-f]{32,}/g, "$1…").replace(
            /uploads\/[0-9a-f-]{36}/,
            "uploads/…",
          )
        }`,
    );
    last = Math.max(last, r.start + r.ms);
  }
  console.log(`${p.end.toFixed(1).padStart(7)} +${(p.end - last).toFixed(1).padStart(6)} end`);
}

function sample(wall: number, p: RunProfile): Sample {
  let last = p.entry, longestGap = 0, confirmGap = 0;
  for (const r of p.requests) {
    longestGap = Math.max(longestGap, r.start - last);
    if (/^GET .*\.sig$/.test(r.what)) confirmGap = Math.max(0, r.start - last);
    last = Math.max(last, r.start + r.ms);
  }
  longestGap = Math.max(longestGap, p.end - last);
  return {
    wall,
    requests: p.requests.length,
    longestGap,
    firstRequest: (p.requests[0]?.start ?? p.end) - p.entry,
    confirmGap,
  };
}

const reg = await startDockerRegistry();
const proxy = values.proxy ? await startCountingProxy(reg.url) : undefined;
const mock = await startSigstoreMock();
const dir = await Deno.makeTempDir({ prefix: "kars-timeline-" });
const results = new Map<string, { fresh: Sample[]; repeat: Sample[] }>();
try {
  const env = await prepareKeylessFlowDir(dir, here, mock);
  for (let i = 0; i < Number(values.runs); i++) {
    for (const [k, c] of clis.entries()) {
      const repo = `policy/egress-allowlist/timeline-${k}-${i}`;
      const got = results.get(c.label) ?? { fresh: [], repeat: [] };
      results.set(c.label, got);
      for (const kind of ["fresh", "repeat"] as const) {
        const file = join(dir, `${kind}-${k}-${i}.json`);
        const t0 = performance.now();
        const o = await new Deno.Command(c.cli[0], {
          args: [
            ...c.cli.slice(1),
            ...keylessEgressArgs({
              registry: proxy?.host ?? reg.host,
              repository: repo,
              fulcioUrl: mock.fulcioUrl,
              rekorUrl: mock.rekorUrl,
              trustedRoot: "root.json",
            }),
          ],
          env: { ...env, KARS_PROFILE: file },
          cwd: dir,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        const wall = performance.now() - t0;
        if (!o.success) throw new Error(new TextDecoder().decode(o.stderr));
        const p = JSON.parse(await Deno.readTextFile(file)) as RunProfile;
        if (values.timeline) print(`${c.label}, ${kind} ${i}`, wall, p);
        got[kind].push(sample(wall, p));
      }
    }
  }
  console.log(
    `\n| tree | run | median wall | requests | entry → first request | longest gap | ` +
      `gap before the last GET .sig |\n|---|---|--:|--:|--:|--:|--:|`,
  );
  for (const [label, r] of results) {
    for (const kind of ["fresh", "repeat"] as const) {
      const s = r[kind];
      const m = (f: (x: Sample) => number) => median(s.map(f)).toFixed(0);
      console.log(
        `| ${label} | ${kind} | ${m((x) => x.wall)} ms | ${m((x) => x.requests)} | ` +
          `${m((x) => x.firstRequest)} ms | ${m((x) => x.longestGap)} ms | ` +
          `${m((x) => x.confirmGap)} ms |`,
      );
    }
  }
} finally {
  await mock.stop();
  await proxy?.stop();
  await reg.stop();
  await Deno.remove(dir, { recursive: true });
}
