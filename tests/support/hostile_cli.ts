/**
 * Helpers of the attack tests: a canonical allowlist artifact to serve, the environment
 * that gives `kars egress verify` a SignerPolicy, and a subprocess run of the CLI that
 * records its peak resident memory (VmHWM from /proc/<pid>/status, polled).
 *
 * @module
 */
import { emitCanonicalAllowlist } from "../../lib/allowlist/canonical.ts";
import { KarsError } from "../../lib/errors.ts";
import { exitCodeOf } from "../../lib/cli/main.ts";
import { buildAllowlistArtifact } from "../../lib/oci/artifact.ts";

/** A small valid allowlist artifact (manifest, layer). */
export function hostileArtifact() {
  const layer = emitCanonicalAllowlist({
    generation: 1,
    endpoints: [{ host: "api.example.com", port: 443 }],
  });
  return { ...buildAllowlistArtifact(layer), layerBytes: layer };
}

/** A SignerPolicy through the environment (so verification reaches the registry). */
export const POLICY_ENV = {
  KARS_SIGNER_FULCIO_ISSUERS: "https://token.actions.githubusercontent.com",
  KARS_SIGNER_SAN_PATTERNS: "https://github.com/acme/*",
};

/** The exit code of a transient failure, from the CLI's own table. */
export const TRANSIENT_EXIT = exitCodeOf(new KarsError("TRANSIENT", "t"));

/** The result of {@link spawnMeasured}. */
export interface MeasuredRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Peak resident set size in MiB; undefined where /proc is not available. */
  peakRssMiB?: number;
}

/** True where /proc/<pid>/status can be read (Linux). */
export const canMeasureRss = (() => {
  try {
    return Deno.readTextFileSync("/proc/self/status").includes("VmHWM:");
  } catch {
    return false;
  }
})();

/** Runs `deno run cli.ts <args>` and polls its VmHWM until it exits. */
export async function spawnMeasured(
  args: string[],
  env: Record<string, string> = {},
): Promise<MeasuredRun> {
  const cli = new URL("../../cli.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", cli, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peakKiB = 0;
  let polling = canMeasureRss;
  const poll = (async () => {
    while (polling) {
      try {
        const s = await Deno.readTextFile(`/proc/${child.pid}/status`);
        const m = /VmHWM:\s+(\d+)\s+kB/.exec(s);
        if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
      } catch { /* exited */ }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const out = await child.output();
  polling = false;
  await poll;
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    ...(canMeasureRss ? { peakRssMiB: Math.round(peakKiB / 1024) } : {}),
  };
}
