/**
 * The demo: the whole `kars egress` job, offline, on an embedded default sandbox. It
 * pushes to an OCI image layout on disk, signs with a cosign key pair generated into the
 * demo folder (no Rekor upload: no network), verifies the result against a SignerPolicy
 * pinning that key, predicts the kars controller's verdict (False: it accepts only keyless
 * signatures) and returns the GitOps manifest.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fromUtf8, utf8 } from "../encoding/bytes.ts";
import { egress, type EgressResult } from "./egress.ts";
import { parseEgressOptions } from "../cli/egress_options.ts";
import { writeFileAtomic } from "../io/fs_atomic.ts";
import { generateKeyPair, writeKeyPair } from "../sign/keyfile.ts";

/**
 * The embedded default sandbox (mixed case, an IDN, a duplicate); a valid KarsSandbox by the
 * kars CRD (`tests/ship/schema_docs_test.ts` checks it).
 */
export const DEMO_SANDBOX = `apiVersion: kars.azure.com/v1alpha1
kind: KarsSandbox
metadata:
  name: demo-agent
  namespace: kars-demo-agent
spec:
  runtime:
    kind: OpenClaw
    openclaw: {}
  sandbox:
    isolation: enhanced
  inferenceRef:
    name: demo-agent
  networkPolicy:
    defaultDeny: true
    egressMode: Learn
    allowedEndpoints:
      - host: API.GitHub.com
        port: 443
      - host: pypi.org
        port: 443
      - host: files.pythonhosted.org
        port: 443
      - host: bücher.example
        port: 8443
      - host: api.github.com
        port: 443
      - host: 10.0.0.12
        port: 5432
`;

/** Password of the demo key (the demo is local; real keys take COSIGN_PASSWORD or a prompt). */
const DEMO_PASSWORD = "kars-demo";

/** What {@link runDemo} produced. */
export interface DemoResult {
  /** The egress result. */
  result: EgressResult;
  /** The GitOps manifest text. */
  manifest: string;
  /** The files the demo used or wrote, relative to `cwd`. */
  files: {
    sandbox: string;
    key: string;
    publicKey: string;
    layout: string;
    manifest: string;
    policy: string;
  };
}

/**
 * Runs the demo in `<cwd>/<dir>` (default `demo-out`), re-using the key pair of an earlier run.
 *
 * @example
 * ```ts
 * import { runDemo } from "./demo.ts";
 * const { manifest } = await runDemo({ cwd: "." });
 * console.log(manifest);
 * ```
 */
export async function runDemo(opts: {
  cwd: string;
  dir?: string;
  progress?: (line: string) => void;
}): Promise<DemoResult> {
  const root = resolve(opts.cwd, opts.dir ?? "demo-out");
  const rel = (p: string) => relative(opts.cwd, p) || ".";
  const files = {
    sandbox: join(root, "sandbox.yaml"),
    key: join(root, "cosign.key"),
    publicKey: join(root, "cosign.pub"),
    layout: join(root, "layout"),
    manifest: join(root, "gitops", "demo-agent-allowlist.yaml"),
    policy: join(root, "signer-policy.yaml"),
  };
  await writeFileAtomic(files.sandbox, utf8(DEMO_SANDBOX), { force: true });
  let publicPem: string;
  try {
    publicPem = fromUtf8(new Uint8Array(await readFile(files.publicKey)));
    await readFile(files.key);
  } catch {
    opts.progress?.(`generating a cosign key pair in ${rel(root)}`);
    const pair = await generateKeyPair({ password: DEMO_PASSWORD });
    await writeKeyPair(join(root, "cosign"), pair);
    publicPem = pair.publicPem;
  }
  await writeFileAtomic(files.policy, utf8(signerPolicyFor(publicPem)), { force: true });

  const options = parseEgressOptions(
    {
      enforce: true,
      "from-file": files.sandbox,
      registry: `oci:${files.layout}`,
      key: files.key,
      "tlog-upload": "false",
      "emit-manifest": files.manifest,
      "signer-policy": files.policy,
      force: true,
    },
    ["demo-agent"],
    {},
  );
  const result = await egress(options, {
    env: { COSIGN_PASSWORD: DEMO_PASSWORD },
    cwd: opts.cwd,
    progress: opts.progress,
    warn: opts.progress,
  });
  const manifest = fromUtf8(new Uint8Array(await readFile(files.manifest)));
  return {
    result,
    manifest,
    files: {
      sandbox: rel(files.sandbox),
      key: rel(files.key),
      publicKey: rel(files.publicKey),
      layout: rel(files.layout),
      manifest: rel(files.manifest),
      policy: rel(files.policy),
    },
  };
}

/** A SignerPolicy ConfigMap that accepts the demo key only (no keyless signers). */
function signerPolicyFor(publicPem: string): string {
  const indented = publicPem.trimEnd().split("\n").map((l) => `    ${l}`).join("\n");
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: kars-signer-policy
  namespace: kars-system
data:
  fulcioIssuers: |
    https://token.actions.githubusercontent.com
  sanPatterns: |
    https://github.com/example/gitops/.github/workflows/promote.yml@refs/heads/main
  publicKeys: |
${indented}
`;
}
