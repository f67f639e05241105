/**
 * `kars migrate from-kagent <file|->`: the CLI face of `lib/migrate/from_kagent.ts`.
 *
 * @module
 */
import { resolve } from "node:path";
import { KarsError } from "../errors.ts";
import { utf8 } from "../encoding/bytes.ts";
import { readInputText } from "../encoding/yaml_read.ts";
import { checkWritable, writeFileAtomic } from "../io/fs_atomic.ts";
import {
  type Isolation,
  ISOLATION_LEVELS,
  type KarsResource,
  migrateFromKagent,
  nextStepHint,
} from "../migrate/from_kagent.ts";
import { emitJson, emitYamlDocument, type Json } from "../migrate/emit.ts";
import { type Command, EXIT } from "./command.ts";

const HELP = `Usage: kars migrate from-kagent <file|-> [options]

Translates kagent.dev/v1alpha2 Agent (and SandboxAgent) objects, with the ModelConfig and
RemoteMCPServer objects they reference in the same multi-document input, into KarsSandbox,
InferencePolicy, McpServer and ToolPolicy objects (kars.azure.com/v1alpha1). Every object is
checked against the kars CRD schemas before anything is written.

The egress allowlist comes from spec.sandbox.network.allowedDomains, the referenced
RemoteMCPServer URLs and the ModelConfig endpoint. Every entry gets a port (the URL's, else
443; 80 for http URLs). Wildcard domains cannot be expressed in a v1 allowlist: they are
reported and left out. A sandbox with an allowlist gets egressMode: Strict.

Options:
  -n, --namespace NS     namespace of every emitted object (default: kars-<agent name>)
      --isolation LEVEL  standard | enhanced | confidential (default: enhanced)
      --image IMAGE      the runtime's image (OpenClaw image; overrides a BYO agent's image)
      --allow-lossy      write the result even when data had to be dropped
      --out-dir DIR      write one file per object, <kind>-<name>.yaml (or .json;
                         <kind>-<namespace>-<name> when two objects share kind and name)
      --force            overwrite existing files in --out-dir
      --format FMT       yaml | json (default: yaml); json on stdout is a v1 List
      --dry-run          print what would be written; write nothing
  -h, --help             this help

Dropped data is reported as "! <field path>: <what was dropped>" and makes the translation
lossy; informational notes ("note: ...") never do.

Exit codes: 0 ok, 1 failure, 2 usage error or bad input (the document and field are named),
4 lossy translation without --allow-lossy (nothing is written).
`;

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * File name of one emitted object: `<kind>-<name>.<ext>`, kind lowercased; with `qualify`
 * (two emitted objects share kind and name, e.g. one McpServer per agent namespace)
 * `<kind>-<namespace>-<name>.<ext>`.
 */
export function resourceFileName(
  r: KarsResource,
  format: "yaml" | "json",
  qualify = false,
): string {
  const ns = qualify ? `${r.metadata.namespace}-` : "";
  return `${r.kind.toLowerCase()}-${ns}${r.metadata.name}.${format}`;
}

/** Whether another resource in `all` has the same kind and name as `r`. */
function clashes(r: KarsResource, all: readonly KarsResource[]): boolean {
  return all.some((o) => o !== r && o.kind === r.kind && o.metadata.name === r.metadata.name);
}

/**
 * `kars migrate from-kagent`.
 *
 * @example
 * ```ts
 * import { migrateFromKagentCommand } from "./migrate.ts";
 * migrateFromKagentCommand.path; // ["migrate", "from-kagent"]
 * ```
 */
export const migrateFromKagentCommand: Command = {
  path: ["migrate", "from-kagent"],
  summary:
    "translate kagent Agents into KarsSandbox, InferencePolicy, McpServer and ToolPolicy objects",
  help: HELP,
  options: {
    namespace: { type: "string", short: "n" },
    isolation: { type: "string" },
    image: { type: "string" },
    "allow-lossy": { type: "boolean" },
    "out-dir": { type: "string" },
    force: { type: "boolean" },
    format: { type: "string" },
    "dry-run": { type: "boolean" },
  },
  async run(values, positionals, ctx) {
    if (positionals.length !== 1) {
      throw new KarsError(
        "USAGE",
        positionals.length === 0
          ? "kars migrate from-kagent needs one input: a file, or - for stdin"
          : `kars migrate from-kagent takes one input, got ${positionals.length}: ${
            positionals.join(" ")
          }`,
      );
    }
    const format = str(values.format) ?? "yaml";
    if (format !== "yaml" && format !== "json") {
      throw new KarsError("USAGE", `--format must be yaml or json, got ${JSON.stringify(format)}`);
    }
    const isolation = str(values.isolation) ?? "enhanced";
    if (!(ISOLATION_LEVELS as readonly string[]).includes(isolation)) {
      throw new KarsError(
        "USAGE",
        `--isolation must be one of ${ISOLATION_LEVELS.join(", ")}, got ${
          JSON.stringify(isolation)
        }`,
      );
    }
    const image = str(values.image);
    if (image !== undefined && (image.trim() === "" || /\s/.test(image))) {
      throw new KarsError("USAGE", `--image ${JSON.stringify(image)} is not an image reference`);
    }
    const outDirArg = str(values["out-dir"]);
    if (outDirArg === "") throw new KarsError("USAGE", "--out-dir needs a directory");
    const force = values.force === true;
    const dryRun = values["dry-run"] === true;
    if (force && outDirArg === undefined) {
      throw new KarsError("USAGE", "--force only applies with --out-dir");
    }
    const input = positionals[0];
    const source = input === "-" ? "<stdin>" : input;
    const text = await readInputText(
      input === "-" ? "-" : resolve(ctx.cwd, input),
      input === "-" ? { stdin: ctx.stdin() } : {},
    );
    const result = migrateFromKagent(text, {
      source,
      namespace: str(values.namespace),
      isolation: isolation as Isolation,
      image,
    });
    for (const w of result.warnings) ctx.stderr(`! ${w.path}: ${w.message}\n`);
    for (const n of result.notes) ctx.stderr(`note: ${n.path}: ${n.message}\n`);
    if (result.lossy && values["allow-lossy"] !== true) {
      const n = result.warnings.length;
      ctx.stderr(
        `kars: the translation is lossy (${n} warning${
          n === 1 ? "" : "s"
        } above); nothing was written. Re-run with --allow-lossy to accept the loss.\n`,
      );
      return EXIT.LOSSY;
    }
    const render = (r: KarsResource) =>
      format === "json"
        ? emitJson(r as unknown as Json)
        : emitYamlDocument(r as { [k: string]: Json });
    if (outDirArg !== undefined) {
      const dir = resolve(ctx.cwd, outDirArg);
      const files = result.resources.map((r) => ({
        path: resolve(dir, resourceFileName(r, format, clashes(r, result.resources))),
        bytes: utf8(render(r)),
      }));
      // Every overwrite check happens before anything is written.
      for (const f of files) await checkWritable(f.path, { force });
      for (const [i, f] of files.entries()) {
        if (dryRun) {
          ctx.stderr(`would write ${f.path}\n`);
          if (i > 0 && format === "yaml") ctx.stdout("---\n");
          ctx.stdout(f.bytes);
        } else {
          await writeFileAtomic(f.path, f.bytes, { force });
          ctx.stderr(`wrote ${f.path}\n`);
        }
      }
    } else if (format === "json") {
      ctx.stdout(
        emitJson({
          apiVersion: "v1",
          kind: "List",
          items: result.resources as unknown as Json[],
        }),
      );
    } else {
      ctx.stdout(result.resources.map(render).join("---\n"));
    }
    for (const s of result.sandboxes) {
      if (s.allowlist.length) ctx.stderr(nextStepHint(s.name, s.namespace) + "\n");
    }
    return EXIT.OK;
  },
};
