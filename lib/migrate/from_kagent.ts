/**
 * `kars migrate from-kagent`: translates kagent (`kagent.dev/v1alpha2`) `Agent`/`SandboxAgent`
 * objects — with the `ModelConfig` and `RemoteMCPServer` objects they reference, from the same
 * multi-document input — into the kars CRDs (`kars.azure.com/v1alpha1`): per agent a
 * `KarsSandbox`, an `InferencePolicy`, the `McpServer`s of its tools and its `ToolPolicy`s.
 * The mapping is described in `kagent/agent.ts`, `kagent/model_config.ts` and `kagent/mcp.ts`
 * (and the README's table).
 *
 * The egress allowlist is built from `spec.sandbox.network.allowedDomains`, the referenced
 * `RemoteMCPServer.spec.url`s and the `ModelConfig`'s endpoint; every entry gets a port (the
 * URL's, else 443 for https and 80 for http) and goes through the canonical allowlist builder.
 *
 * Every input field is either translated, reported as a warning (data dropped: the translation
 * is lossy), or — for runtime state such as `status` — mentioned in an informational note.
 * Every emitted object is validated against the vendored kars CRD schemas before it is
 * returned; a failure is an `INTERNAL` error (a bug in this translator), never output.
 * Pure: no I/O; same input, same output.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import type { Endpoint } from "../allowlist/canonical.ts";
import { parseYamlDocuments } from "../encoding/yaml_read.ts";
import { formatFieldErrors, validateKarsResource } from "../kube/schema/mod.ts";
import type { Json } from "./emit.ts";
import {
  type Doc,
  type Finding,
  KAGENT_API_VERSION,
  KARS_API_VERSION,
  Run,
  SANDBOX_LABEL,
} from "./kagent/common.ts";
import { readDocs, translateMetadata } from "./kagent/documents.ts";
import { isDnsLabel } from "../model/names.ts";
import { translateAgent } from "./kagent/agent.ts";
import { type McpServerOut, mcpServerSpec, remoteServerEndpoint } from "./kagent/mcp.ts";
import { translateModelConfig } from "./kagent/model_config.ts";

export { KAGENT_API_VERSION, KARS_API_VERSION, SANDBOX_LABEL };
export type { Finding };

/** Isolation levels (the KarsSandbox CRD's `spec.sandbox.isolation` enum). */
export const ISOLATION_LEVELS = ["standard", "enhanced", "confidential"] as const;
/** An isolation level. */
export type Isolation = typeof ISOLATION_LEVELS[number];

/** Options of {@link translateKagent}. */
export interface MigrateOptions {
  /** Namespace of every emitted object (default `kars-<agent name>`). */
  namespace?: string;
  /** Isolation level (default `enhanced`). */
  isolation?: Isolation;
  /** Container image of the sandbox: the runtime's image (overrides a BYO agent's image). */
  image?: string;
  /** Names the input in errors (a path or `<stdin>`). */
  source?: string;
}

/** Kinds emitted. */
export type KarsKind = "KarsSandbox" | "InferencePolicy" | "McpServer" | "ToolPolicy";

/** An emitted Kubernetes object. */
export interface KarsResource {
  /** `kars.azure.com/v1alpha1`. */
  apiVersion: string;
  /** What it is. */
  kind: KarsKind;
  /** Name, namespace, labels, annotations. */
  metadata: { name: string; namespace: string; [k: string]: Json };
  /** The translated spec. */
  spec: { [k: string]: Json };
  /** Nothing else is emitted; the index signature keeps the object JSON-typed. */
  [k: string]: Json;
}

/** One translated sandbox. */
export interface TranslatedSandbox {
  /** KarsSandbox name (the agent's). */
  name: string;
  /** Namespace it is written to. */
  namespace: string;
  /** The canonical allowlist (empty when the agent had none). */
  allowlist: Endpoint[];
}

/** What {@link translateKagent} returns. */
export interface MigrationResult {
  /**
   * In output order, per agent: KarsSandbox, InferencePolicy, the McpServers first used by that
   * agent, then its ToolPolicies.
   */
  resources: KarsResource[];
  /** Dropped data. Non-empty means lossy. */
  warnings: Finding[];
  /** Informational; never makes the translation lossy. */
  notes: Finding[];
  /** One per agent. */
  sandboxes: TranslatedSandbox[];
  /** `warnings.length > 0`. */
  lossy: boolean;
}

/** A label value (RFC 1123-ish: alphanumerics, `-`, `_`, `.`; alphanumeric at both ends). */
const DNS_LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Where a resource lives: the namespace option, else `kars-<name>`. */
function targetNamespace(run: Run, d: Doc, opts: MigrateOptions): string {
  if (opts.namespace) return opts.namespace;
  const ns = `kars-${d.name}`;
  if (!isDnsLabel(ns)) {
    run.bad(
      d,
      "metadata.name",
      `the default namespace "${ns}" is not a valid namespace name; choose a namespace`,
      { fixOptions: ["namespace"] },
    );
  }
  return ns;
}

function resource(
  kind: KarsKind,
  name: string,
  namespace: string,
  extra: { labels?: { [k: string]: string }; annotations?: { [k: string]: string } },
  spec: { [k: string]: Json },
): KarsResource {
  const metadata: KarsResource["metadata"] = { name, namespace };
  if (extra.labels && Object.keys(extra.labels).length) metadata.labels = extra.labels;
  if (extra.annotations) metadata.annotations = extra.annotations;
  return { apiVersion: KARS_API_VERSION, kind, metadata, spec };
}

/**
 * Validates emitted objects against the vendored kars CRDs (strict, CEL included); throws
 * `KarsError("INTERNAL")` naming the object and its field errors — the translator produced
 * something a cluster would refuse, which is a bug, never output.
 *
 * @example
 * ```ts
 * import { assertValidResources } from "./from_kagent.ts";
 * assertValidResources([]); // nothing to check
 * ```
 */
export function assertValidResources(resources: readonly KarsResource[]): void {
  for (const r of resources) {
    const v = validateKarsResource(r);
    if (!v.ok || v.unchecked.length) {
      const lines = [
        ...formatFieldErrors(v.errors),
        ...v.unchecked.map((u) => `unchecked rule ${u}`),
      ];
      throw new KarsError(
        "INTERNAL",
        `bug: the emitted ${r.kind} ${r.metadata.namespace}/${r.metadata.name} does not validate against the kars CRD (please report it with the input): ${
          lines.slice(0, 5).join("; ")
        }`,
        { details: { kind: r.kind, name: r.metadata.name, errors: lines } },
      );
    }
  }
}

/**
 * Translates parsed kagent documents. Pure and deterministic. Every returned resource has been
 * validated against the vendored kars CRD schemas.
 *
 * @throws KarsError `INPUT` naming the document and field for bad input, or the option
 * (`details.option`) for a bad option; `INTERNAL` if an emitted object does not validate (a bug)
 *
 * @example
 * ```ts
 * import { translateKagent } from "./from_kagent.ts";
 * const r = translateKagent([{
 *   apiVersion: "kagent.dev/v1alpha2", kind: "Agent", metadata: { name: "a" },
 *   spec: { type: "BYO", byo: { deployment: { image: "ghcr.io/x/a:1" } },
 *           sandbox: { network: { allowedDomains: ["api.github.com"] } } },
 * }]);
 * r.sandboxes[0].allowlist; // [{ host: "api.github.com", port: 443 }]
 * ```
 */
export function translateKagent(docs: unknown[], opts: MigrateOptions = {}): MigrationResult {
  const run = new Run(opts.source ?? "input");
  if (opts.isolation !== undefined && !ISOLATION_LEVELS.includes(opts.isolation)) {
    throw new KarsError(
      "INPUT",
      `isolation must be one of ${ISOLATION_LEVELS.join(", ")}, got ${
        JSON.stringify(opts.isolation)
      }`,
      { details: { option: "isolation" } },
    );
  }
  if (
    opts.namespace !== undefined && !isDnsLabel(opts.namespace)
  ) {
    throw new KarsError(
      "INPUT",
      `namespace ${
        JSON.stringify(opts.namespace)
      } is not a valid namespace name (lowercase letters, digits and '-', at most 63)`,
      { details: { option: "namespace" } },
    );
  }
  const all = readDocs(run, docs);
  const agents = all.filter((d) => d.kind === "Agent" || d.kind === "SandboxAgent");
  if (agents.length === 0) {
    throw new KarsError(
      "INPUT",
      `${run.source}: no ${KAGENT_API_VERSION} Agent or SandboxAgent found (nothing to migrate)`,
    );
  }
  const used = new Set<Doc>();
  const emitted = new Map<string, McpServerOut>();
  const perAgent: { resources: (() => KarsResource)[] }[] = [];
  const sandboxes: TranslatedSandbox[] = [];
  const names = new Map<string, Doc>();
  for (const a of agents) {
    const ns = targetNamespace(run, a, opts);
    const P = `${a.kind}/${a.name}`;
    if (a.namespace && a.namespace !== ns) {
      run.note(`${P} metadata.namespace`, `written to namespace ${ns} (was ${a.namespace})`);
    }
    const out = translateAgent(
      run,
      a,
      all,
      ns,
      { isolation: opts.isolation ?? "enhanced", image: opts.image },
      used,
      emitted,
    );
    const k = `${ns}/${a.name}`;
    if (names.has(k)) {
      run.bad(
        a,
        "metadata.name",
        `a second agent would become KarsSandbox ${k}; pass them separately or rename`,
      );
    }
    names.set(k, a);
    const md = translateMetadata(run, a);
    const annotations: { [k: string]: string } = {
      ...(md.annotations ?? {}),
      "kars.io/migrated-from": `${KAGENT_API_VERSION} ${a.kind} ${
        a.namespace ? `${a.namespace}/` : ""
      }${a.name}`,
    };
    if (out.description) {
      annotations["kars.io/description"] = out.description;
      run.note(`${P} spec.description`, "carried as the annotation kars.io/description");
    }
    const governed = out.tools.refs.length > 0;
    if (governed && (a.name.length > 63 || !DNS_LABEL_VALUE.test(a.name))) {
      run.bad(
        a,
        "metadata.name",
        `${a.name.length} characters: an agent with MCP tools needs a name usable as a label value (at most 63 characters), because its ToolPolicies select the sandbox by the label ${SANDBOX_LABEL}`,
      );
    }
    const sandboxLabels = governed ? { ...(md.labels ?? {}), [SANDBOX_LABEL]: a.name } : md.labels;
    const meta = {
      labels: md.labels,
      annotations: { "kars.io/migrated-from": annotations["kars.io/migrated-from"] },
    };
    const selector = { [SANDBOX_LABEL]: a.name };
    const list: (() => KarsResource)[] = [
      () =>
        resource(
          "KarsSandbox",
          a.name,
          ns,
          { labels: sandboxLabels, annotations },
          out.sandboxSpec,
        ),
      () =>
        resource("InferencePolicy", a.name, ns, meta, {
          appliesTo: { sandboxName: a.name },
          ...out.inference,
        }),
    ];
    for (const s of out.servers) {
      const smd = translateMetadata(run, s.from);
      list.push(() =>
        resource("McpServer", s.name, s.namespace, {
          labels: smd.labels,
          annotations: {
            ...(smd.annotations ?? {}),
            "kars.io/migrated-from": `${KAGENT_API_VERSION} RemoteMCPServer ${
              s.from.namespace ? `${s.from.namespace}/` : ""
            }${s.from.name}`,
          },
        }, mcpServerSpec(s))
      );
    }
    if (governed) {
      list.push(() =>
        resource("ToolPolicy", a.name, ns, meta, {
          displayName: `Tools of ${a.name} (migrated from kagent; approval as in kagent)`,
          appliesTo: { sandboxMatchLabels: selector, tool: "*" },
          approval: { mode: "never" },
        })
      );
      out.tools.approvals.forEach((ap, i) => {
        list.push(() =>
          resource("ToolPolicy", `${a.name}-approve-${i + 1}`, ns, meta, {
            displayName: `Approve ${ap.server}/${ap.tool} (kagent requireApproval)`,
            appliesTo: { sandboxMatchLabels: selector, mcpServer: ap.server, tool: ap.tool },
            approval: { mode: "always" },
          })
        );
      });
    }
    perAgent.push({ resources: list });
    sandboxes.push({ name: a.name, namespace: ns, allowlist: out.allowlist });
  }
  for (const d of all) {
    if ((d.kind === "ModelConfig" || d.kind === "RemoteMCPServer") && !used.has(d)) {
      // Still validated (bad input is bad input), but its findings are not reported.
      const scratch = new Run(run.source);
      if (d.kind === "ModelConfig") translateModelConfig(scratch, d);
      else remoteServerEndpoint(scratch, d);
      run.note(`${d.kind}/${d.name}`, "not referenced by any translated agent; ignored");
    }
  }
  // Rendered last: a shared McpServer's allowedTools may grow with later agents.
  const resources = perAgent.flatMap((p) => p.resources.map((f) => f()));
  assertValidResources(resources);
  return {
    resources,
    warnings: run.warnings,
    notes: run.notes,
    sandboxes,
    lossy: run.warnings.length > 0,
  };
}

/**
 * Parses a kagent YAML/JSON text (one or more documents) and translates it.
 *
 * @example
 * ```ts
 * import { migrateFromKagent } from "./from_kagent.ts";
 * const r = migrateFromKagent("apiVersion: kagent.dev/v1alpha2\nkind: Agent\n...", { source: "agent.yaml" });
 * ```
 */
export function migrateFromKagent(text: string, opts: MigrateOptions = {}): MigrationResult {
  const docs = parseYamlDocuments(text, opts.source ?? "input");
  return translateKagent(docs, opts);
}

/**
 * The one-line hint printed per translated sandbox with an allowlist.
 *
 * @example
 * ```ts
 * import { nextStepHint } from "./from_kagent.ts";
 * nextStepHint("my-agent", "kars-my-agent");
 * // "Next step: kars egress my-agent --namespace kars-my-agent --enforce --emit-manifest ./gitops/my-agent-allowlist.yaml"
 * ```
 */
export function nextStepHint(name: string, namespace: string): string {
  return `Next step: kars egress ${name} --namespace ${namespace} --enforce --emit-manifest ./gitops/${name}-allowlist.yaml`;
}
