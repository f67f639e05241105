/**
 * Where a distinct keyless verdict spends its CPU, in this tree and in the baseline, from one
 * run: `bench/verdict_runner.ts` runs under V8's sampling profiler (`--cpu-prof`) in both trees,
 * and each sample taken in a verdict is charged to the innermost verification phase on
 * its stack (signature discovery, legacy layer → bundle, bundle parse, the artifact signature,
 * the Fulcio chain, the SCT, the Rekor entry, manifest/layer/canonical checks, binding and
 * policy; the rest is "other"). Figures are per distinct verdict, with the profiler running
 * (it slows everything alike), so the shares are what to compare.
 *
 * Usage: `deno run -A bench/verdict_profile.ts [--sizes 50,500] [--verdicts 1000] [--baseline REV]`
 *
 * @module
 */
import { join } from "node:path";
import { BASELINE, exportRevision, spawnVerdictRunner } from "./verdicts.ts";

/** Phases, by the function names that start them (the same in both trees). */
export const PHASES: readonly { phase: string; functions: readonly string[] }[] = [
  { phase: "signature discovery (registry reads, referrers)", functions: ["discoverSignatures"] },
  { phase: "legacy layer → Sigstore bundle", functions: ["legacyLayerToBundle"] },
  { phase: "bundle parse (base64, X.509)", functions: ["parseBundle"] },
  { phase: "artifact signature (leaf key, P-256)", functions: ["signatureVerifies"] },
  { phase: "Fulcio chain", functions: ["chainsAt"] },
  { phase: "SCT", functions: ["verifiedSctCount"] },
  { phase: "Rekor entry (body, SET)", functions: ["verifyTlogEntry"] },
  {
    phase: "manifest/layer re-hash, canonical parse",
    functions: [
      "digestBytes",
      "parseAllowlistManifest",
      "checkLayerBytes",
      "parseCanonicalAllowlist",
    ],
  },
  { phase: "payload binding, policy", functions: ["checkSimpleSigningPayload", "matchIdentity"] },
];

/**
 * Frames that belong to a verdict outside the phases (either tree). After an `await` a stack
 * starts at the resumed async function, not at `verifyAllowlist`, so these are all named.
 */
const VERDICT_FRAMES = new Set([
  "verifyAllowlist",
  "preflightAllowlist",
  "verifyUncached",
  "judgeAllowlist",
  "judgeUncaught",
  "checkCandidate",
  "checkSignatureCandidate",
  "checkSignature",
  "verifyLegacyCertificate",
  "legacyBundle",
  "verifyBundle",
  "verifyBundleSync",
  "discoverLegacy",
  "discoverBundles",
]);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string };
  children?: number[];
}

/**
 * Charges the samples of a `.cpuprofile` taken in a verdict to {@link PHASES}; returns
 * milliseconds per phase (plus "other" and "garbage collection (whole run)").
 *
 * @example
 * ```ts
 * import { phaseTimes } from "./verdict_profile.ts";
 * phaseTimes({ nodes: [], samples: [], timeDeltas: [] }); // { other: 0, … }
 * ```
 */
export function phaseTimes(
  profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] },
): Record<string, number> {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const phaseOf = new Map<string, string>();
  for (const p of PHASES) for (const f of p.functions) phaseOf.set(f, p.phase);
  const out: Record<string, number> = { other: 0, "garbage collection (whole run)": 0 };
  for (const p of PHASES) out[p.phase] = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000; // a sample's time runs to the next one
    const leaf = profile.samples[i];
    if (byId.get(leaf)?.callFrame.functionName === "(garbage collector)") {
      out["garbage collection (whole run)"] += ms;
      continue;
    }
    let phase: string | undefined;
    let inVerdict = false;
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const name = byId.get(id)!.callFrame.functionName;
      phase ??= phaseOf.get(name);
      if (VERDICT_FRAMES.has(name)) inVerdict = true;
    }
    if (phase || inVerdict) out[phase ?? "other"] += ms;
  }
  return out;
}

async function profileTree(root: string, n: number, rounds: number) {
  const dir = await Deno.makeTempDir({ prefix: "kars-verdict-prof-" });
  try {
    await spawnVerdictRunner(root, n, rounds, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
    const file = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".cpuprofile"));
    if (!file) throw new Error(`runner (${root}) wrote no CPU profile`);
    const times = phaseTimes(JSON.parse(await Deno.readTextFile(join(dir, file.name))));
    // Distinct verdicts the runner made: warm-up, the measured rounds, and the cache fill.
    const verdicts = 10 + rounds * n + n;
    return { times, verdicts };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Profiles both trees for each size and returns Markdown lines.
 *
 * @example
 * ```ts
 * import { runVerdictProfile } from "./verdict_profile.ts";
 * // console.log((await runVerdictProfile({ root: ".", sizes: [50] })).join("\n"));
 * ```
 */
export async function runVerdictProfile(
  opts: { root: string; sizes?: number[]; verdicts?: number; baseline?: string },
): Promise<string[]> {
  const rev = opts.baseline ?? BASELINE;
  const base = await exportRevision(opts.root, rev);
  const out: string[] = [];
  try {
    for (const n of opts.sizes ?? [50]) {
      const rounds = Math.max(1, Math.ceil((opts.verdicts ?? 1000) / n));
      const then = await profileTree(base, n, rounds);
      const now = await profileTree(opts.root, n, rounds);
      const per = (r: typeof now, k: string) => r.times[k] / r.verdicts;
      const keys = [...PHASES.map((p) => p.phase), "other"];
      const total = (r: typeof now) => keys.reduce((a, k) => a + per(r, k), 0);
      const cell = (r: typeof now, k: string) =>
        `${per(r, k).toFixed(2)} (${Math.round((100 * per(r, k)) / total(r))}%)`;
      out.push(
        `${n} distinct allowlists, ${rounds} round(s): ms of CPU per distinct verdict, profiled`,
        "",
        `| phase | baseline ${rev} | now |`,
        "|---|--:|--:|",
        ...keys.map((k) => `| ${k} | ${cell(then, k)} | ${cell(now, k)} |`),
        `| **verdict total** | **${total(then).toFixed(2)}** | **${total(now).toFixed(2)}** |`,
        `| garbage collection (whole run, per verdict) | ${
          per(then, "garbage collection (whole run)").toFixed(2)
        } | ${per(now, "garbage collection (whole run)").toFixed(2)} |`,
        "",
      );
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
  return out;
}

if (import.meta.main) {
  const args = Deno.args;
  const opt = (name: string) => args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
  const sizes = (opt("--sizes") ?? "50").split(",").map(Number);
  const verdicts = Number(opt("--verdicts") ?? "1000");
  if (!sizes.every((n) => Number.isSafeInteger(n) && n >= 1 && n <= 5000) || !(verdicts >= 1)) {
    throw new Error("--sizes takes counts from 1 to 5000; --verdicts a positive count");
  }
  const root = new URL("..", import.meta.url).pathname;
  console.log(
    (await runVerdictProfile({ root, sizes, verdicts, baseline: opt("--baseline") })).join("\n"),
  );
}
