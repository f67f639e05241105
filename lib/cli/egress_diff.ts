/**
 * `kars egress diff OLD NEW`: the endpoint difference between two allowlist artifacts, each
 * named by a GitOps manifest file or `<registry>/<repository>@<digest>`. Verifies nothing.
 *
 * @module
 */
import { readFileBounded } from "../io/file_read.ts";
import { isAbsolute, join } from "node:path";
import { type Allowlist, parseCanonicalAllowlist } from "../allowlist/canonical.ts";
import { diffAllowlists, renderDiffText } from "../allowlist/diff.ts";
import { fromUtf8 } from "../encoding/bytes.ts";
import type { Digest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { readGitopsManifest } from "../gitops/manifest.ts";
import { parseAllowlistManifest } from "../oci/artifact.ts";
import type { Target } from "../oci/types.ts";
import type { CliContext, Command, OptionValues } from "./command.ts";
import { readFlagFile } from "./flag_file.ts";
import { registryAccess } from "./egress_plan.ts";
import { parseRefArgument, parseRegistrySpec } from "./registry_spec.ts";
import { EXIT } from "./exit_codes.ts";
import { okJson, printJson } from "./json_output.ts";
import { findLayoutBeside, ociLayoutHint } from "./layout_hint.ts";

const HELP = `kars egress diff OLD NEW [flags]

Prints the endpoints added and removed from the allowlist OLD to the allowlist NEW, and how
many are unchanged. OLD and NEW are each a GitOps manifest / KarsSandbox file (its
allowlistRef is read) or <registry>/<repository>@<digest>.

This VERIFIES NOTHING: no signature, identity or SignerPolicy is checked (only the content
digests, as any fetch by digest is). Use kars egress verify for the cluster's verdict.

  --registry oci:DIR         read both artifacts from an OCI image layout (a reference to the
                             placeholder registry oci-layout needs it, unless a layout/ is
                             found beside the manifest, as kars demo writes it)
  --plain-http               talk HTTP, not HTTPS (automatic for localhost/127.0.0.1)
  --ca-file PATH             extra CA certificates (PEM) for the registry
  --json                     one JSON object: {"ok": true, "old", "new", "diff"}

Output: "+ host:port" added, "- host:port" removed ("(port changed)" when the host stays
under another port), "= N unchanged".
Exit codes: 0 ok (whether or not they differ); 1 registry failure; 2 usage or input error
(missing file, bad reference, an artifact that is not an allowlist); 5 transient fault.
`;

interface Side {
  reference: string;
  allowlist: Allowlist;
}

async function readSide(
  arg: string,
  ctx: CliContext,
  open: (registry: string, repository: string, besideManifest?: string) => Target,
): Promise<Side> {
  let ref;
  let beside: string | undefined;
  const path = isAbsolute(arg) ? arg : join(ctx.cwd, arg);
  let bytes: Uint8Array | undefined;
  if (!/^[^/]+\/[^@]+@sha256:/.test(arg)) {
    try {
      bytes = await readFileBounded(path);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new KarsError(
        "INPUT",
        `${arg}: ${
          code === "NOT_FOUND" ? "no such file" : (e as Error).message
        } (give a GitOps manifest file or <registry>/<repository>@sha256:<hex>)`,
        { cause: e },
      );
    }
  }
  if (bytes) {
    ref = readGitopsManifest(bytes, arg).allowlistRef;
    beside = await findLayoutBeside(path);
  } else {
    ref = parseRefArgument(arg);
  }
  const reference = `${ref.registry}/${ref.repository}@${ref.digest}`;
  const target = open(ref.registry, ref.repository, beside);
  const m = await target.fetchManifest(ref.digest);
  let allowlist: Allowlist;
  try {
    const parsed = parseAllowlistManifest(m.bytes, { expectedDigest: ref.digest as Digest });
    allowlist = parseCanonicalAllowlist(
      await target.fetchBlob(parsed.layer.digest, parsed.layer.size),
    );
  } catch (e) {
    if (e instanceof KarsError && (e.code === "TRANSIENT" || e.code === "AUTH")) throw e;
    throw new KarsError(
      "INPUT",
      `${reference}: not a readable allowlist: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  return { reference, allowlist };
}

/**
 * The `kars egress diff` command.
 *
 * @example
 * ```ts
 * import { egressDiffCommand } from "./egress_diff.ts";
 * egressDiffCommand.path; // ["egress", "diff"]
 * ```
 */
export const egressDiffCommand: Command = {
  path: ["egress", "diff"],
  summary: "endpoints added/removed between two allowlists (verifies nothing)",
  help: HELP,
  options: {
    registry: { type: "string" },
    "plain-http": { type: "boolean" },
    "ca-file": { type: "string" },
    json: { type: "boolean" },
  },
  async run(values: OptionValues, positionals: string[], ctx: CliContext): Promise<number> {
    if (positionals.length !== 2) {
      throw new KarsError(
        "USAGE",
        `expected two allowlists, OLD and NEW (each a GitOps manifest file or <registry>/<repository>@<digest>), got ${positionals.length}`,
      );
    }
    const registry = values.registry as string | undefined;
    const layoutOnly = "--registry takes only oci:DIR here (references name the registry)";
    const layout = registry === undefined
      ? undefined
      : parseRegistrySpec(registry, { what: "--registry", layoutOnly });
    const caFile = values["ca-file"] as string | undefined;
    const caPem = caFile ? fromUtf8(await readFlagFile(ctx, caFile, "--ca-file")) : undefined;
    // Withheld credentials are reported, as in egress verify (the refs may come from a PR).
    const access = registryAccess({ ...ctx, warn: (line) => ctx.stderr(`warning: ${line}\n`) }, {
      caPem,
      plainHttp: values["plain-http"] === true,
    });
    const open = (registry: string, repository: string, beside?: string): Target => {
      if (layout) return access.open(layout, repository);
      if (registry === "oci-layout") {
        if (beside) return access.open({ kind: "layout", path: beside }, repository);
        throw new KarsError("USAGE", ociLayoutHint(`${registry}/${repository}`));
      }
      return access.open({ kind: "registry", host: registry }, repository);
    };
    const before = await readSide(positionals[0], ctx, open);
    const after = await readSide(positionals[1], ctx, open);
    const diff = diffAllowlists(before.allowlist.endpoints, after.allowlist.endpoints);
    if (values.json === true) {
      ctx.stdout(printJson(okJson({
        old: { reference: before.reference, generation: before.allowlist.generation },
        new: { reference: after.reference, generation: after.allowlist.generation },
        diff,
      })));
    } else {
      ctx.stdout(
        `--- ${before.reference} (generation ${before.allowlist.generation})\n` +
          `+++ ${after.reference} (generation ${after.allowlist.generation})\n` +
          renderDiffText(diff),
      );
    }
    return EXIT.OK;
  },
};
