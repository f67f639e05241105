/**
 * The sigstore-js oracle: runs `@sigstore/verify` 3.1.0 (pinned in deno.json) under Node 20
 * on a batch of cases, so tests can compare its verdicts with ours.
 *
 * Why Node: `@sigstore/verify` calls `node:crypto` `verify(null, …)` for EC keys, which
 * throws "no default digest" under Deno 2.9.6. The oracle script
 * (`tests/support/oracle/verify_main.ts`) is bundled once per process with `deno bundle`
 * into a temp dir, then run as `node bundle.mjs` with the cases as JSON on stdin.
 *
 * The generated entry imports `@sigstore/protobuf-specs` (already locked as a dependency of
 * `@sigstore/verify`, but not named in deno.json) by its `npm:` specifier; the bundle step
 * uses a private copy of `deno.lock` in the temp dir, so the shared lockfile is never
 * modified and `deno check tests/` needs nothing outside the import map.
 *
 * Limitation: digest-only cases (`digestHex` without `artifact`) are not supported by the
 * oracle; they come back as `{ ok: false, error: "oracle: digest-only …" }`.
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";
import { toBase64 } from "../../lib/encoding/bytes.ts";

/** One verification case for the oracle. */
export interface OracleCase {
  /** The bundle JSON (parsed). */
  bundle: unknown;
  /** The signed artifact bytes. */
  artifact?: Uint8Array;
  /** SHA-256 of the artifact, hex (not supported by the oracle). */
  digestHex?: string;
  /** `trusted_root.json` (parsed). */
  trustedRoot: unknown;
  /** Expected certificate identity (exact SAN and OIDC issuer). */
  identity?: { san: string; issuer: string };
  /** Verify with this PEM public key instead of a certificate. */
  keyPem?: string;
}

/** The oracle's verdict on one case. */
export interface OracleResult {
  /** True when `@sigstore/verify` accepted the bundle. */
  ok: boolean;
  /** Its error (name: message) when it refused. */
  error?: string;
}

const SCRIPT_URL = new URL("./oracle/verify_main.ts", import.meta.url).href;
const DENO_JSON = fromFileUrl(new URL("../../deno.json", import.meta.url));
const DENO_LOCK = fromFileUrl(new URL("../../deno.lock", import.meta.url));

let bundled: Promise<string> | undefined;

async function run(
  cmd: string,
  args: string[],
  stdin?: Uint8Array,
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

/** Bundles the oracle script once per process; returns the path of `bundle.mjs`. */
function bundleOracle(): Promise<string> {
  bundled ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "kars-oracle-" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    });
    const lock = `${dir}/deno.lock`;
    await Deno.copyFile(DENO_LOCK, lock);
    const entry = `${dir}/entry.ts`;
    await Deno.writeTextFile(
      entry,
      `import { TrustedRoot } from "npm:@sigstore/protobuf-specs@0.5.2";\n` +
        `import { main } from ${JSON.stringify(SCRIPT_URL)};\n` +
        `await main(TrustedRoot);\n`,
    );
    const out = `${dir}/bundle.mjs`;
    const r = await run(Deno.execPath(), [
      "bundle",
      "--quiet",
      `--config=${DENO_JSON}`,
      `--lock=${lock}`,
      "--platform=deno",
      "-o",
      out,
      entry,
    ]);
    if (r.code !== 0) throw new Error(`deno bundle of the oracle failed: ${r.stderr}`);
    return out;
  })();
  return bundled;
}

/**
 * Runs `@sigstore/verify` under `node` on each case and returns its verdicts, in order.
 *
 * @example
 * ```ts
 * import { oracleVerify } from "./node_oracle.ts";
 * const [r] = await oracleVerify([{ bundle, artifact, trustedRoot, identity }]);
 * console.log(r.ok, r.error);
 * ```
 */
export async function oracleVerify(cases: OracleCase[]): Promise<OracleResult[]> {
  const script = await bundleOracle();
  const wire = cases.map((c) => ({
    bundle: c.bundle,
    artifact: c.artifact === undefined ? undefined : toBase64(c.artifact),
    digestHex: c.digestHex,
    trustedRoot: c.trustedRoot,
    identity: c.identity,
    keyPem: c.keyPem,
  }));
  const r = await run("node", [script], new TextEncoder().encode(JSON.stringify(wire)));
  if (r.code !== 0) throw new Error(`node oracle exited ${r.code}: ${r.stderr}`);
  const results = JSON.parse(new TextDecoder().decode(r.stdout)) as OracleResult[];
  if (!Array.isArray(results) || results.length !== cases.length) {
    throw new Error(`node oracle returned ${results?.length} results for ${cases.length} cases`);
  }
  return results;
}
