/**
 * `kars demo`: the main job, offline, on the embedded default sandbox.
 *
 * @module
 */
import { readFileBounded } from "../io/file_read.ts";
import { join, relative, resolve } from "node:path";
import { fromUtf8, utf8 } from "../encoding/bytes.ts";
import { writeFileAtomic } from "../io/fs_atomic.ts";
import { generateKeyPair, writeKeyPair } from "../sign/keyfile.ts";
import { DEMO_PASSWORD, DEMO_SANDBOX, demoSignerPolicy } from "../workflow/demo.ts";
import { egress, type EgressResult } from "../workflow/egress.ts";
import { type Command, EXIT } from "./command.ts";
import {
  egressTarget,
  fileSource,
  type PlanContext,
  policyFile,
  registryAccess,
  signingPart,
  trustLoader,
} from "./egress_plan.ts";

/** What the demo says about a real cluster (it signs with a key, offline). */
export const DEMO_CLUSTER_NOTE =
  "note: the demo signs offline with a key file, which this verifier accepts through the\n" +
  "      policy's publicKeys; a real kars cluster accepts only keyless signatures and would\n" +
  "      refuse this artifact (IdentityMismatch). In CI, sign keylessly (kars egress\n" +
  "      --sign-mode keyless, or the ambient OIDC token) and list the workflow's exact SAN\n" +
  "      in sanPatterns; check a policy with 'kars signer-policy lint FILE'.\n";

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
 * Runs the demo in `<cwd>/<dir>` (default `demo-out`), re-using the key pair of an earlier run:
 * the embedded sandbox is pushed to an OCI image layout, signed with a cosign key pair in the
 * demo folder (no Rekor upload: no network), verified against a SignerPolicy pinning that key,
 * and written as a GitOps manifest — the plan `kars egress` builds, from the same builders.
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
    publicPem = fromUtf8(await readFileBounded(files.publicKey, { maxBytes: 64 * 1024 }));
    await readFileBounded(files.key, { maxBytes: 64 * 1024 });
  } catch {
    opts.progress?.(`generating a cosign key pair in ${rel(root)}`);
    const pair = await generateKeyPair({ password: DEMO_PASSWORD });
    await writeKeyPair(join(root, "cosign"), pair);
    publicPem = pair.publicPem;
  }
  await writeFileAtomic(files.policy, utf8(demoSignerPolicy(publicPem)), { force: true });

  const ctx: PlanContext = {
    env: { COSIGN_PASSWORD: DEMO_PASSWORD },
    cwd: opts.cwd,
    progress: opts.progress,
    warn: opts.progress,
  };
  const access = registryAccess(ctx, { credentialHost: null });
  const repository = "policy/egress-allowlist/demo-agent";
  const result = await egress({
    sandbox: { name: "demo-agent" },
    repository,
    source: fileSource(ctx, files.sandbox),
    change: { enforce: true, approve: [], deny: [] },
    target: egressTarget({ kind: "layout", path: files.layout }, repository, undefined, access),
    openPrevious: (ref) => access.openNamed(ref.registry, ref.repository),
    signing: signingPart(ctx, { key: files.key, signatureFormat: "legacy", tlogUpload: false }),
    trustedRoot: trustLoader(ctx, {}),
    verification: policyFile(ctx, files.policy),
    sink: { kind: "file", path: files.manifest, force: true, label: files.manifest },
  }, { logger: { progress: opts.progress, warn: opts.progress } });
  const manifest = fromUtf8(await readFileBounded(files.manifest));
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

/**
 * The `kars demo` command.
 *
 * @example
 * ```ts
 * import { demoCommand } from "./demo.ts";
 * demoCommand.path; // ["demo"]
 * ```
 */
export const demoCommand: Command = {
  path: ["demo"],
  summary: "run the whole flow offline on an embedded sandbox (OCI layout + local key)",
  help: `kars demo [--dir DIR]

Runs the whole kars egress job offline on an embedded default sandbox: builds the
canonical allowlist, pushes it to an OCI image layout in DIR/layout, signs it with a
cosign key pair generated in DIR (re-used on later runs), verifies it against a
SignerPolicy pinning that key, writes DIR/gitops/demo-agent-allowlist.yaml and prints it.

It shows both verdicts: ours (True: the policy pins the demo key) and the kars
controller's, predicted (False/IdentityMismatch: a real cluster accepts only keyless
signatures). For a cluster, sign in CI keylessly and list the workflow's exact SAN.

  --dir DIR   working directory of the demo (default demo-out)
`,
  options: { dir: { type: "string" } },
  async run(values, _positionals, ctx) {
    const { manifest, files, result } = await runDemo({
      cwd: ctx.cwd,
      dir: typeof values.dir === "string" ? values.dir : undefined,
      progress: (line) => ctx.stderr(`${line}\n`),
    });
    const controller = result.verdicts?.controller.condition;
    ctx.stderr(
      `\nsandbox ${files.sandbox} → layout ${files.layout} (digest ${result.digest})\n` +
        `signed with ${files.key} (${result.signer})\n` +
        `  ours:       ${result.verification}\n` +
        (controller
          ? `  controller: ${controller.status}/${controller.reason} (predicted)\n`
          : "") +
        DEMO_CLUSTER_NOTE +
        `GitOps manifest ${files.manifest}:\n\n`,
    );
    ctx.stdout(manifest);
    return EXIT.OK;
  },
};
