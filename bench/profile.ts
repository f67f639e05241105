/**
 * Where a signing run's time goes, for both runtimes (`deno run cli.ts` and the standalone
 * binary): runtime boot, module graph evaluation, the in-process work (trust root, keys,
 * crypto) and the network, with what is left as "other". Used by `bench/run.ts` (section
 * "Profile") and runnable alone: `deno run -A bench/profile.ts [--binary dist/kars]`.
 *
 * How each phase is measured, in one bench run:
 * - boot: a bare process of the runtime (`deno run` of an empty module; `node -e 0`, the
 *   runtime the SEA binary embeds);
 * - module graph: `KARS_PROFILE` makes the entry point record when its body started
 *   (`lib/cli/profile.ts`); minus boot;
 * - network: the same profile records every request's duration (overlaps counted once);
 * - trust root, keyless signing (key generation + two signatures), verification: timed cold
 *   in a fresh process of the runtime by `bench/profile_probe.ts` (bundled for Node);
 * - other: the rest of the run (YAML, canonical form, JSON, files, scheduling).
 *
 * @module
 */
import { join } from "node:path";
import { median } from "./harness.ts";
import type { RunProfile } from "../lib/cli/profile.ts";

/** A measured breakdown of one runtime. */
export interface Breakdown {
  /** Label of the runtime. */
  label: string;
  /** Phase → milliseconds (medians). */
  phases: Record<string, number>;
  /** Whole run, ms (median). */
  total: number;
}

async function run(
  argv: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ ms: number; stdout: string; stderr: string; code: number }> {
  const t0 = performance.now();
  const o = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    ms: performance.now() - t0,
    stdout: new TextDecoder().decode(o.stdout),
    stderr: new TextDecoder().decode(o.stderr),
    code: o.code,
  };
}

/** Median wall time of `runs` runs of `argv`. */
async function wall(argv: string[], runs: number, cwd: string): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push((await run(argv, {}, cwd)).ms);
  return median(ms);
}

/**
 * Times the probe's in-process phases under `argv` (a command that runs the probe).
 *
 * @example
 * ```ts
 * // await probe([Deno.execPath(), "run", "-A", "bench/profile_probe.ts"], 3, ".")
 * ```
 */
export async function probe(
  argv: string[],
  runs: number,
  cwd: string,
): Promise<Record<string, number>> {
  const all: Record<string, number[]> = {};
  for (let i = 0; i < runs; i++) {
    const r = await run(argv, { PATH: Deno.env.get("PATH") ?? "" }, cwd);
    if (r.code !== 0) throw new Error(`probe failed: ${r.stderr.slice(-500)}`);
    for (const [k, v] of Object.entries(JSON.parse(r.stdout) as Record<string, number>)) {
      (all[k] ??= []).push(v);
    }
  }
  return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, median(v)]));
}

/**
 * Builds the breakdown of one runtime from its boot time, its run profiles and its probe.
 *
 * @example
 * ```ts
 * // breakdown("deno run", 30, profiles, { trustRoot: 5, keylessSign: 40, verify: 9 })
 * ```
 */
export function breakdown(
  label: string,
  boot: number,
  profiles: RunProfile[],
  inProcess: Record<string, number>,
): Breakdown {
  const entry = median(profiles.map((p) => p.entry));
  const end = median(profiles.map((p) => p.end));
  const network = median(profiles.map((p) => p.network));
  const trust = inProcess.trustRoot ?? 0;
  const crypto = inProcess.keylessSign ?? 0;
  const phases: Record<string, number> = {
    "runtime boot": boot,
    "module graph evaluation": Math.max(0, entry - boot),
    "trust-root parsing": trust,
    "keyless crypto (key + 2 signatures, cold)": crypto,
    "network (requests in flight)": network,
  };
  phases.other = Math.max(0, end - entry - network - trust - crypto);
  return { label, phases, total: end };
}

/**
 * Markdown table of breakdowns side by side.
 *
 * @example
 * ```ts
 * import { table } from "./profile.ts";
 * table([{ label: "deno run", phases: { boot: 30 }, total: 30 }]).length > 0; // true
 * ```
 */
export function table(rows: Breakdown[]): string[] {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.phases)))];
  const f = (ms: number) => `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`;
  return [
    `| phase | ${rows.map((r) => r.label).join(" | ")} |`,
    `|---|${rows.map(() => "--:").join("|")}|`,
    ...names.map((n) => `| ${n} | ${rows.map((r) => f(r.phases[n] ?? 0)).join(" | ")} |`),
    `| **whole run** | ${rows.map((r) => `**${f(r.total)}**`).join(" | ")} |`,
  ];
}

/**
 * Profiles `--help` and the keyless flow under each runtime. `flow(cli, profileFile)` must run
 * one fresh keyless flow with `KARS_PROFILE=profileFile` (bench/flow.ts provides it).
 *
 * @example
 * ```ts
 * // const lines = await runProfile({ root: ".", runs: 5, binary: "dist/kars", flow });
 * ```
 */
export async function runProfile(opts: {
  root: string;
  runs: number;
  binary?: string;
  flow: (cli: string[], profileFile: string) => Promise<void>;
}): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "kars-profile-" });
  try {
    await Deno.writeTextFile(join(dir, "empty.ts"), "");
    const denoCli = [Deno.execPath(), "run", "-A", "--frozen", join(opts.root, "cli.ts")];
    const runtimes: Array<{ label: string; cli: string[]; boot: string[]; probe: string[] }> = [{
      label: "`deno run cli.ts`",
      cli: denoCli,
      boot: [Deno.execPath(), "run", "-A", join(dir, "empty.ts")],
      probe: [Deno.execPath(), "run", "-A", "--frozen", join(opts.root, "bench/profile_probe.ts")],
    }];
    if (opts.binary) {
      // ESM: the probe uses top-level await, which a CommonJS bundle cannot carry.
      const cjs = join(dir, "probe.mjs");
      const b = await run(
        [
          Deno.execPath(),
          "bundle",
          "--quiet",
          "--frozen",
          "--format",
          "esm",
          "--platform",
          "deno",
          "--output",
          cjs,
          join(opts.root, "bench/profile_probe.ts"),
        ],
        { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "" },
        opts.root,
      );
      if (b.code === 0) {
        runtimes.push({
          label: "standalone binary (Node SEA)",
          cli: [opts.binary],
          boot: ["node", "-e", "0"],
          probe: ["node", cjs],
        });
      }
    }
    const rows: Breakdown[] = [];
    const helpRows: string[] = [];
    for (const rt of runtimes) {
      const boot = await wall(rt.boot, opts.runs, dir);
      const inProcess = await probe(rt.probe, Math.max(3, Math.min(opts.runs, 5)), dir);
      const helpProfiles: RunProfile[] = [];
      const flowProfiles: RunProfile[] = [];
      for (let i = 0; i < opts.runs; i++) {
        const file = join(dir, `help-${i}.json`);
        await run([...rt.cli, "--help"], { KARS_PROFILE: file }, dir);
        helpProfiles.push(JSON.parse(await Deno.readTextFile(file)));
        const ff = join(dir, `flow-${i}.json`);
        await opts.flow(rt.cli, ff);
        flowProfiles.push(JSON.parse(await Deno.readTextFile(ff)));
      }
      rows.push(breakdown(rt.label, boot, flowProfiles, inProcess));
      helpRows.push(
        `| ${rt.label} | ${boot.toFixed(1)} ms | ${
          (median(helpProfiles.map((p) => p.entry)) - boot).toFixed(1)
        } ms | ${median(helpProfiles.map((p) => p.end)).toFixed(1)} ms |`,
      );
    }
    return [
      "Fresh keyless `kars egress --enforce --emit-manifest` (medians of " +
      `${opts.runs} runs each; in-process phases timed cold in a fresh process):`,
      "",
      ...table(rows),
      "",
      ...(Deno.env.get("NODE_EXTRA_CA_CERTS") !== undefined
        ? [
          "`NODE_EXTRA_CA_CERTS` is set in this environment and inherited by every Node row here " +
          "(boot included): Node 20 reads and parses that bundle at start, which a bare " +
          "`env -i node -e 0` (the start-up table) does not pay. The standalone binary adds " +
          "nothing to Node's own boot: an empty SEA starts as fast as `node -e 0`.",
          "",
        ]
        : []),
      "`kars --help` (process start → entry body → exit):",
      "",
      "| runtime | boot (bare runtime) | module graph | whole `--help` |",
      "|---|--:|--:|--:|",
      ...helpRows,
      "",
    ];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
