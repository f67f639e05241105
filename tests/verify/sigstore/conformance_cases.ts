/**
 * Loads the vendored Sigstore conformance cases (`testdata/conformance/sigstore/bundle-verify/`;
 * provenance in `testdata/conformance/PROVENANCE.md`).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { loadTrustedRoot } from "../../../lib/verify/sigstore/mod.ts";

/** Root of the vendored conformance data (overridable with `KARS_CONFORMANCE_DIR`). */
export const CONFORMANCE_DIR = Deno.env.get("KARS_CONFORMANCE_DIR") ??
  fromFileUrl(new URL("../../../testdata/conformance/sigstore", import.meta.url));

/** The default identity of the sigstore-conformance suite. */
export const DEFAULT_IDENTITY =
  "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
/** The default OIDC issuer of the sigstore-conformance suite. */
export const DEFAULT_ISSUER = "https://token.actions.githubusercontent.com";

/** One conformance case, with file paths and parsed contents. */
export interface ConformanceCase {
  name: string;
  dir: string;
  /** True when the case must verify. */
  expectOk: boolean;
  bundlePath: string;
  bundleText: string;
  artifactPath: string;
  artifact: Uint8Array;
  trustedRootPath: string;
  trustedRoot: unknown;
  /** Present unless the case verifies with `key.pub`. */
  identity?: { san: string; issuer: string };
  keyPath?: string;
  keyPem?: string;
}

function readTrim(p: string): string | undefined {
  return existsSync(p) ? readFileSync(p, "utf8").trim() : undefined;
}

/** Reads every case folder, sorted by name. */
export function loadConformanceCases(): ConformanceCase[] {
  const base = join(CONFORMANCE_DIR, "bundle-verify");
  const names = readdirSync(base, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return names.map((name) => {
    const dir = join(base, name);
    const bundlePath = join(dir, "bundle.sigstore.json");
    const artifactPath = existsSync(join(dir, "artifact"))
      ? join(dir, "artifact")
      : join(base, "a.txt");
    const trustedRootPath = existsSync(join(dir, "trusted_root.json"))
      ? join(dir, "trusted_root.json")
      : join(CONFORMANCE_DIR, "trusted_root.production.json");
    const keyPath = existsSync(join(dir, "key.pub")) ? join(dir, "key.pub") : undefined;
    return {
      name,
      dir,
      expectOk: !name.endsWith("_fail"),
      bundlePath,
      bundleText: readFileSync(bundlePath, "utf8"),
      artifactPath,
      artifact: new Uint8Array(readFileSync(artifactPath)),
      trustedRootPath,
      trustedRoot: JSON.parse(readFileSync(trustedRootPath, "utf8")),
      identity: keyPath ? undefined : {
        san: readTrim(join(dir, "identity")) ?? DEFAULT_IDENTITY,
        issuer: readTrim(join(dir, "issuer")) ?? DEFAULT_ISSUER,
      },
      keyPath,
      keyPem: keyPath ? readFileSync(keyPath, "utf8") : undefined,
    };
  });
}

const roots = new Map<string, ReturnType<typeof loadTrustedRoot>>();

/**
 * `loadTrustedRoot(c.trustedRoot)`, shared by the cases that use the same trust root file: one
 * loaded root per file, as a long-running verifier (webhook, audit) holds one, so each
 * trust-root key's precompute table is built once per test file rather than once per case
 * (hundreds of ms of CPU each). A root that fails to load fails again on every call.
 */
export function sharedTrustedRoot(c: ConformanceCase): ReturnType<typeof loadTrustedRoot> {
  let root = roots.get(c.trustedRootPath);
  if (!root) roots.set(c.trustedRootPath, root = loadTrustedRoot(c.trustedRoot));
  return root;
}
