/**
 * The standalone binary against `deno run cli.ts` on the keyless flow, interleaved run by
 * run in one process so that both see the same machine: `kars egress --enforce
 * --emit-manifest` (fresh repository, then the same again: the repeat) against Debian's
 * docker-registry and the `@sigstore/mock` Fulcio/Rekor on loopback, plus `kars --help` (the
 * binary's fast path) and `kars egress --help` (through the bundle) beside a bare `node -e 0`.
 * Reports median wall time and median CPU time (user + system of the child, through
 * `/usr/bin/time`), which a busy machine disturbs far less than wall time. Start-up rows time
 * batches of 10 runs in one `/bin/sh` loop (`/usr/bin/time` counts in 10 ms steps), per run.
 *
 * Usage: `deno run -A bench/standalone_flow.ts --binary dist/kars [--binary OTHER] [--runs 7]`
 * (several `--binary` compare builds; each is also run without `NODE_EXTRA_CA_CERTS` when
 * the environment sets it).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { startDockerRegistry } from "../tests/support/docker_registry.ts";
import { startSigstoreMock } from "../tests/support/sigstore_mock.ts";
import { median } from "./harness.ts";
import { keylessEgressArgs, prepareKeylessFlowDir } from "../tests/support/keyless_flow.ts";

const ROOT = resolve(import.meta.dirname!, "..");

/** Wall and CPU time of one child process, ms. */
interface Timing {
  wall: number;
  cpu: number;
}

/**
 * Runs `argv` under `/usr/bin/time` and returns its wall and CPU time; throws when it fails.
 *
 * @example
 * ```ts
 * const t = await timed(["node", "-e", "0"], { env: {}, cwd: "/tmp" });
 * ```
 */
export async function timed(
  argv: string[],
  opts: { env: Record<string, string>; cwd: string; clearEnv?: boolean },
): Promise<Timing & { stdout: string }> {
  const tf = await Deno.makeTempFile({ prefix: "kars-time-" });
  try {
    const t0 = performance.now();
    const o = await new Deno.Command("/usr/bin/time", {
      args: ["-o", tf, "-f", "%U %S", ...argv],
      env: opts.env,
      clearEnv: opts.clearEnv ?? true,
      cwd: opts.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const wall = performance.now() - t0;
    if (!o.success) {
      throw new Error(
        `${argv.slice(0, 3).join(" ")}… exited ${o.code}: ${new TextDecoder().decode(o.stderr)}`,
      );
    }
    const [u, s] = (await Deno.readTextFile(tf)).trim().split("\n").pop()!.split(" ").map(Number);
    return { wall, cpu: (u + s) * 1000, stdout: new TextDecoder().decode(o.stdout) };
  } finally {
    await Deno.remove(tf).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      binary: { type: "string", multiple: true },
      runs: { type: "string" },
      "no-flow": { type: "boolean" },
    },
  });
  const runs = Number(values.runs ?? 7);
  const binaries = (values.binary ?? [join(ROOT, "dist/kars")]).map((b) => resolve(b));
  const work = await Deno.makeTempDir({ prefix: "kars-bench-standalone-" });
  const rows = new Map<string, Timing[]>();
  const add = (k: string, t: Timing) => rows.set(k, [...(rows.get(k) ?? []), t]);
  const empty = join(work, "empty");
  await Deno.mkdir(empty);
  const node = new TextDecoder().decode(
    (await new Deno.Command("node", { args: ["-p", "process.execPath"] }).output()).stdout,
  ).trim();
  try {
    // Start-up: `env -i CMD` from an empty directory, as bench/run.ts measures it.
    const batch = async (argv: string[]): Promise<Timing> => {
      const loop = 'i=0; while [ $i -lt 10 ]; do "$@" >/dev/null || exit 1; i=$((i+1)); done';
      const t = await timed(["/bin/sh", "-c", loop, "sh", ...argv], { env: {}, cwd: empty });
      return { wall: t.wall / 10, cpu: t.cpu / 10 };
    };
    for (let i = 0; i <= runs; i++) {
      const skip = i === 0; // warm-up
      const n = await batch([node, "-e", "0"]);
      if (!skip) add("node -e 0", n);
      const d = await batch([
        Deno.execPath(),
        "run",
        "-A",
        "--frozen",
        join(ROOT, "cli.ts"),
        "--help",
      ]);
      if (!skip) add("deno run cli.ts --help", d);
      for (const b of binaries) {
        const h = await batch([b, "--help"]);
        if (!skip) add(`${b} --help`, h);
        // Through the bundle (no fast path): a command's help.
        const e = await batch([b, "egress", "--help"]);
        if (!skip) add(`${b} egress --help`, e);
      }
    }
    if (!values["no-flow"]) {
      const reg = await startDockerRegistry();
      const mock = await startSigstoreMock();
      try {
        const dir = join(work, "flow");
        const env = await prepareKeylessFlowDir(dir, ROOT, mock);
        const noCa = { ...env };
        delete noCa.NODE_EXTRA_CA_CERTS;
        let n = 0;
        const flow = async (label: string, cli: string[], e: Record<string, string>) => {
          const repo = `policy/egress-allowlist/sf-${n++}`;
          const args = keylessEgressArgs({
            registry: reg.host,
            repository: repo,
            fulcioUrl: mock.fulcioUrl,
            rekorUrl: mock.rekorUrl,
            trustedRoot: "root.json",
          });
          const f = await timed([...cli, ...args], { env: e, cwd: dir });
          const r = await timed([...cli, ...args], { env: e, cwd: dir });
          if (!JSON.parse(f.stdout).digest) throw new Error(`${label}: no digest`);
          return { f, r };
        };
        const deno = [Deno.execPath(), "run", "-A", "--frozen", join(ROOT, "cli.ts")];
        for (let i = 0; i <= runs; i++) {
          const variants: [string, string[], Record<string, string>][] = [
            ["deno run cli.ts", deno, env],
            ...binaries.map((b) => [b, [b], env] as [string, string[], Record<string, string>]),
            ...(env.NODE_EXTRA_CA_CERTS === undefined
              ? []
              : binaries.map((b) =>
                [`${b} (no NODE_EXTRA_CA_CERTS)`, [b], noCa] as [
                  string,
                  string[],
                  Record<string, string>,
                ]
              )),
          ];
          for (const [label, cli, e] of variants) {
            const { f, r } = await flow(label, cli, e);
            if (i === 0) continue; // warm-up
            add(`${label} fresh`, f);
            add(`${label} repeat`, r);
          }
        }
      } finally {
        await mock.stop();
        await reg.stop();
      }
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ")[0];
  console.log(`runs: ${runs}, load at end ${load}`);
  console.log("| what | median wall | median CPU |\n|---|--:|--:|");
  for (const [k, ts] of rows) {
    console.log(
      `| ${k} | ${median(ts.map((t) => t.wall)).toFixed(1)} ms | ${
        median(ts.map((t) => t.cpu)).toFixed(1)
      } ms |`,
    );
  }
}
