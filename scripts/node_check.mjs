// Node import check for the @kars/egress library (issue 5).
//
//   node scripts/node_check.mjs <bundle.mjs>
//
// Imports the `deno bundle` of mod.ts under Node, runs the fixture checks below and prints
// one JSON object (check name → result) on stdout; exits 1 when a check throws or a
// required export is missing. `scripts/node_check.ts` runs the same `runChecks` under Deno
// against mod.ts itself and compares the two outputs byte for byte.
//
// Plain JavaScript (no build step) so that Node runs it as it is.

/** Fixture: raw entries as a KarsSandbox would hold them (mixed case, IDN, dup, default port). */
export const FIXTURE_ENDPOINTS = [
  { host: "API.GitHub.com" },
  { host: "bücher.example", port: 8443 },
  { host: "api.github.com", port: 443 },
  { host: "10.0.0.1", port: 5432 },
];

/** formats.md §2 bytes for FIXTURE_ENDPOINTS at generation 3 (the spec's own example, plus IPv4). */
export const EXPECTED_CANONICAL = [
  "apiVersion: kars.dev/v1alpha1",
  "kind: EgressAllowlist",
  "metadata:",
  "  generation: 3",
  "spec:",
  "  endpoints:",
  "    - host: 10.0.0.1",
  "      port: 5432",
  "    - host: api.github.com",
  "      port: 443",
  "    - host: xn--bcher-kva.example",
  "      port: 8443",
  "",
].join("\n");

/** Exports the check needs now; grows as the library's public API lands. */
export const REQUIRED_EXPORTS = [
  "digestBytes",
  "digestStream",
  "isDigest",
  "KarsError",
  "isKarsError",
  "canonicalizeEndpoints",
  "emitCanonicalAllowlist",
  "parseCanonicalAllowlist",
  "buildAllowlistArtifact",
  "verifyBundle",
  "parseTrustedRoot",
];

/** Default identity of the Sigstore conformance cases. */
const CONFORMANCE_IDENTITY = {
  san: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/" +
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
  issuer: "https://token.actions.githubusercontent.com",
};

const hex = (u8) => Array.from(u8, (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * Runs every check against a module namespace; returns name → JSON-able result.
 * @param {Record<string, unknown>} mod the library (bundle under Node, mod.ts under Deno)
 * @param {{ readFile: (path: string) => Promise<Uint8Array>, conformanceDir?: string }} io
 */
export async function runChecks(mod, io) {
  const missing = REQUIRED_EXPORTS.filter((n) => !(n in mod));
  if (missing.length) throw new Error(`mod.ts does not export: ${missing.join(", ")}`);
  const out = {};
  const enc = new TextEncoder();

  // Digests: bytes and a web stream in uneven chunks give the same, known value.
  out.emptyConfigDigest = mod.digestBytes(enc.encode("{}"));
  const big = new Uint8Array(3 * 65536 + 17).map((_, i) => (i * 31) & 255);
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < big.length; i += 40000) c.enqueue(big.subarray(i, i + 40000));
      c.close();
    },
  });
  const streamed = await mod.digestStream(stream);
  if (streamed.digest !== mod.digestBytes(big)) throw new Error("digestStream != digestBytes");
  out.streamDigest = streamed;

  // Errors carry codes across the bundle boundary.
  const err = new mod.KarsError("INPUT", "x");
  out.karsError = {
    code: err.code,
    isKarsError: mod.isKarsError(err),
    instanceOfError: err instanceof Error,
  };

  // Canonicalise → emit → digest, and the strict parser round-trips.
  const endpoints = mod.canonicalizeEndpoints(FIXTURE_ENDPOINTS);
  const canonical = mod.emitCanonicalAllowlist({ generation: 3, endpoints });
  const text = new TextDecoder().decode(canonical);
  if (text !== EXPECTED_CANONICAL) throw new Error(`canonical bytes differ:\n${text}`);
  out.canonicalDigest = mod.digestBytes(canonical);
  out.parsed = mod.parseCanonicalAllowlist(canonical);
  try {
    mod.canonicalizeEndpoints([{ host: "https://evil.example/" }, { host: "*.example.com" }]);
    throw new Error("bad entries were accepted");
  } catch (e) {
    if (!mod.isKarsError(e)) throw e;
    out.rejected = { code: e.code, count: e.details?.errors?.length };
  }

  // OCI artifact (formats.md §3), when exported.
  {
    const a = await mod.buildAllowlistArtifact(canonical);
    out.artifact = JSON.parse(JSON.stringify(a, (_k, v) => (v instanceof Uint8Array ? hex(v) : v)));
  }

  // Sigstore verification of shared conformance cases (a passing and a failing one).
  if (io.conformanceDir) {
    const base = `${io.conformanceDir}/sigstore`;
    const trustedRoot = mod.parseTrustedRoot(
      await io.readFile(`${base}/trusted_root.production.json`),
    );
    const artifact = { bytes: await io.readFile(`${base}/bundle-verify/a.txt`) };
    out.verify = {};
    for (const name of ["happy-path-v0.3", "signature-mismatch_fail"]) {
      const bundle = JSON.parse(
        new TextDecoder().decode(
          await io.readFile(`${base}/bundle-verify/${name}/bundle.sigstore.json`),
        ),
      );
      try {
        const v = await mod.verifyBundle(bundle, artifact, {
          trustedRoot,
          identity: CONFORMANCE_IDENTITY,
        });
        out.verify[name] = { verified: true, san: v.san, tlog: v.tlog };
      } catch (e) {
        out.verify[name] = { verified: false, code: e?.code, reason: e?.details?.reason };
      }
    }
    if (!out.verify["happy-path-v0.3"].verified) throw new Error("happy-path-v0.3 did not verify");
    if (out.verify["signature-mismatch_fail"].verified) {
      throw new Error("signature-mismatch_fail verified");
    }
  }
  return out;
}

const isMain = typeof process !== "undefined" && process.argv?.[1] &&
  import.meta.url === (await import("node:url")).pathToFileURL(process.argv[1]).href;
if (isMain) {
  const { readFile } = await import("node:fs/promises");
  const { pathToFileURL } = await import("node:url");
  const bundlePath = process.argv[2];
  if (!bundlePath) {
    console.error("usage: node scripts/node_check.mjs <bundle.mjs> [conformance-dir]");
    process.exit(2);
  }
  try {
    const mod = await import(pathToFileURL(bundlePath).href);
    const result = await runChecks(mod, {
      readFile: async (p) => new Uint8Array(await readFile(p)),
      conformanceDir: process.argv[3],
    });
    process.stdout.write(JSON.stringify(result) + "\n");
  } catch (e) {
    console.error(`node check failed: ${e?.stack ?? e}`);
    process.exitCode = 1;
  }
}
