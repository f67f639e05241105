/**
 * kagent `Agent`/`SandboxAgent` → kars `KarsSandbox` (plus, through `model_config.ts` and
 * `mcp.ts`, its InferencePolicy, McpServers and ToolPolicies).
 *
 * - Declarative agent → `spec.runtime.kind: OpenClaw`; the system message goes to
 *   `spec.runtime.openclaw.config.systemPrompt`, the image (the image option) to
 *   `spec.runtime.openclaw.image`, plain `env` values to `spec.runtime.openclaw.extraEnv`.
 * - BYO agent → `spec.runtime.kind: BYO` with `byo.image` (the image option overrides
 *   `byo.deployment.image`), `command` (from `cmd`), `args`, `env` (raw EnvVars) and
 *   `contractVersion: v1`.
 * - The isolation level → `spec.sandbox.isolation`; `spec.inferenceRef.name` → the agent's
 *   InferencePolicy (always written: the CRD requires the reference); `deployment.resources`
 *   (requests/limits) → `spec.resources`; the description → annotation `kars.io/description`.
 * - MCP tools → `spec.governance` (`enabled`, `toolPolicyRef`, `mcpServerRefs` ≤ 8).
 * - The egress allowlist → `spec.networkPolicy` exactly as before (Strict with the canonical
 *   list, or Learn without one).
 *
 * @module
 */
import { canonicalizeEndpoints, type Endpoint } from "../../allowlist/canonical.ts";
import type { Json } from "../emit.ts";
import { type Candidate, copyJson, describe, type Doc, type Obj, type Run } from "./common.ts";
import { lookup } from "./documents.ts";
import { allowedDomains } from "./endpoints.ts";
import { type Inference, translateModelConfig } from "./model_config.ts";
import { MAX_MCP_SERVER_REFS, type Tools, translateTools } from "./mcp.ts";
import type { McpServerOut } from "./mcp.ts";

/** Options that shape a sandbox. */
export interface AgentOptions {
  isolation: string;
  image?: string;
}

/** What one agent translates to (rendered into resources by the caller). */
export interface AgentOut {
  /** KarsSandbox spec. */
  sandboxSpec: { [k: string]: Json };
  /** InferencePolicy spec fields besides `appliesTo`. */
  inference: { [k: string]: Json };
  /** McpServers first seen with this agent. */
  servers: McpServerOut[];
  /** Tools and approvals (ToolPolicies are written when `refs` is non-empty). */
  tools: Tools;
  /** Canonical allowlist. */
  allowlist: Endpoint[];
  /** The description, carried as an annotation. */
  description?: string;
}

const DEPLOYMENT_COMMON = ["env", "resources"];

function resources(run: Run, agent: Doc, field: string, v: unknown): Obj | undefined {
  const r = run.obj(agent, field, v);
  if (!r) return undefined;
  run.checkKeys(`${agent.kind}/${agent.name} ${field}`, r, ["requests", "limits"], "KarsSandbox");
  const out: Obj = {};
  for (const k of ["requests", "limits"]) {
    const x = run.obj(agent, `${field}.${k}`, r[k]);
    if (x) out[k] = copyJson(x);
  }
  return Object.keys(out).length ? out : undefined;
}

function declarativeEnv(run: Run, agent: Doc, field: string, v: unknown): Obj | undefined {
  const list = run.list(agent, field, v);
  if (!list) return undefined;
  const out: Obj = {};
  list.forEach((e, i) => {
    const entry = run.obj(agent, `${field}[${i}]`, e);
    if (!entry || typeof entry.name !== "string") run.bad(agent, `${field}[${i}].name`, "missing");
    if (entry.valueFrom !== undefined) {
      run.warn(
        `${agent.kind}/${agent.name} ${field}[${i}]`,
        `env ${entry.name} from valueFrom dropped (openclaw.extraEnv holds plain values only)`,
      );
      return;
    }
    out[entry.name] = typeof entry.value === "string" ? entry.value : String(entry.value ?? "");
  });
  return Object.keys(out).length ? out : undefined;
}

/** Translates one agent. `emitted` tracks McpServers already written (by namespace/name). */
export function translateAgent(
  run: Run,
  agent: Doc,
  docs: Doc[],
  namespace: string,
  opts: AgentOptions,
  used: Set<Doc>,
  emitted: Map<string, McpServerOut>,
): AgentOut {
  const P = `${agent.kind}/${agent.name}`;
  const spec = run.obj(agent, "spec", agent.obj.spec);
  if (!spec) run.bad(agent, "spec", "missing or not a mapping");
  const type = spec.type ?? "Declarative";
  if (type !== "Declarative" && type !== "BYO") {
    run.bad(agent, "spec.type", `must be Declarative or BYO, got ${describe(type)}`);
  }
  const dec = run.obj(agent, "spec.declarative", spec.declarative);
  const byo = run.obj(agent, "spec.byo", spec.byo);
  if (type === "Declarative" && !dec) {
    run.bad(agent, "spec.declarative", "required when spec.type is Declarative");
  }
  if (type === "BYO" && !byo) run.bad(agent, "spec.byo", "required when spec.type is BYO");
  run.checkKeys(
    `${P} spec`,
    spec,
    ["type", "byo", "declarative", "description", "sandbox"],
    "KarsSandbox",
  );
  const candidates: Candidate[] = [...allowedDomains(run, agent, spec.sandbox)];
  let runtime: Obj;
  let res: Obj | undefined;
  let inference: Inference | undefined;
  let tools: Tools = { refs: [], servers: [], approvals: [], endpoints: [] };
  if (byo) {
    if (dec) run.warn(`${P} spec.declarative`, "dropped (spec.type is BYO)");
    run.checkKeys(`${P} spec.byo`, byo, ["deployment"], "KarsSandbox");
    const dep: Obj = run.obj(agent, "spec.byo.deployment", byo.deployment) ?? {};
    run.checkKeys(
      `${P} spec.byo.deployment`,
      dep,
      [...DEPLOYMENT_COMMON, "image", "cmd", "args"],
      "KarsSandbox",
    );
    const depImage = run.str(agent, "spec.byo.deployment.image", dep.image);
    if (depImage !== undefined && !depImage.trim()) {
      run.bad(
        agent,
        "spec.byo.deployment.image",
        "expected an image reference, got an empty string",
      );
    }
    if (opts.image && depImage && opts.image !== depImage) {
      run.note(
        `${P} spec.byo.deployment.image`,
        `${depImage} replaced by the image option ${opts.image}`,
      );
    }
    const image = opts.image ?? depImage;
    if (!image) {
      run.bad(
        agent,
        "spec.byo.deployment.image",
        "missing: a BYO runtime needs an image (set it, or give one with the image option)",
      );
    }
    const b: Obj = { image };
    const cmd = run.str(agent, "spec.byo.deployment.cmd", dep.cmd);
    if (cmd !== undefined) b.command = [cmd];
    const args = run.strings(agent, "spec.byo.deployment.args", dep.args);
    if (args) b.args = [...args];
    const env = run.list(agent, "spec.byo.deployment.env", dep.env);
    if (env?.length) b.env = copyJson(env);
    b.contractVersion = "v1";
    run.note(
      `${P} spec.byo`,
      "BYO runtime declared with contractVersion v1: the image must honour the kars BYO contract",
    );
    runtime = { kind: "BYO", byo: b };
    res = resources(run, agent, "spec.byo.deployment.resources", dep.resources);
    run.note(
      `${P} spec`,
      "BYO agent: an InferencePolicy with only appliesTo is written because the KarsSandbox CRD requires spec.inferenceRef",
    );
  } else {
    if (!dec) run.bad(agent, "spec.declarative", "required when spec.type is Declarative");
    if (spec.byo !== undefined) run.warn(`${P} spec.byo`, "dropped (spec.type is Declarative)");
    run.checkKeys(
      `${P} spec.declarative`,
      dec,
      [
        "systemMessage",
        "systemMessageFrom",
        "modelConfig",
        "tools",
        "deployment",
        "stream",
        "executeCodeBlocks",
      ],
      "KarsSandbox",
    );
    if (dec.stream === true) {
      run.warn(`${P} spec.declarative.stream`, "dropped (streaming is not configurable in kars)");
    }
    if (dec.executeCodeBlocks === true) {
      run.warn(`${P} spec.declarative.executeCodeBlocks`, "dropped (no kars equivalent)");
    }
    const oc: Obj = {};
    if (opts.image) oc.image = opts.image;
    else {
      run.note(
        `${P} spec`,
        "declarative agent: no image given, so spec.runtime.openclaw.image is left for the kars controller's default",
      );
    }
    const system = run.str(agent, "spec.declarative.systemMessage", dec.systemMessage);
    if (system !== undefined) oc.config = { systemPrompt: system };
    if (dec.systemMessageFrom !== undefined) {
      run.warn(
        `${P} spec.declarative.systemMessageFrom`,
        "dropped (a system message read from a ConfigMap or Secret cannot be referenced; inline it as systemMessage)",
      );
    }
    const dep: Obj = run.obj(agent, "spec.declarative.deployment", dec.deployment) ?? {};
    run.checkKeys(`${P} spec.declarative.deployment`, dep, DEPLOYMENT_COMMON, "KarsSandbox");
    const env = declarativeEnv(run, agent, "spec.declarative.deployment.env", dep.env);
    if (env) oc.extraEnv = env;
    runtime = { kind: "OpenClaw", openclaw: oc };
    res = resources(run, agent, "spec.declarative.deployment.resources", dep.resources);
    const mcName = dec.modelConfig ?? "default-model-config";
    if (typeof mcName !== "string" || !mcName) {
      run.bad(agent, "spec.declarative.modelConfig", "expected a ModelConfig name");
    }
    if (dec.modelConfig === undefined) {
      run.note(
        `${P} spec.declarative.modelConfig`,
        "not set: kagent's default-model-config assumed",
      );
    }
    const mc = lookup(docs, "ModelConfig", mcName, agent.namespace);
    if (mc) {
      used.add(mc);
      inference = translateModelConfig(run, mc);
    } else {
      run.warn(
        `${P} spec.declarative.modelConfig`,
        `ModelConfig ${
          JSON.stringify(mcName)
        } is not in the input: the InferencePolicy has no model and its endpoint is not in the allowlist (add the ModelConfig document)`,
      );
    }
    tools = translateTools(run, agent, dec.tools, docs, used, namespace, emitted);
  }
  const description = run.str(agent, "spec.description", spec.description) || undefined;
  const sandboxSpec: { [k: string]: Json } = {
    runtime: copyJson(runtime),
    sandbox: { isolation: opts.isolation },
    inferenceRef: { name: agent.name },
  };
  if (tools.refs.length) {
    const refs = tools.refs.slice(0, MAX_MCP_SERVER_REFS);
    for (const extra of tools.refs.slice(MAX_MCP_SERVER_REFS)) {
      run.warn(
        `${P} spec.declarative.tools`,
        `McpServer ${extra} not referenced: a KarsSandbox takes at most ${MAX_MCP_SERVER_REFS} mcpServerRefs (the McpServer is still written)`,
      );
    }
    if (refs.length > 1) {
      run.note(
        `${P} spec.declarative.tools`,
        `${refs.length} MCP servers: check that your kars controller serves more than the first mcpServerRefs entry`,
      );
    }
    sandboxSpec.governance = {
      enabled: true,
      toolPolicyRef: { name: agent.name },
      mcpServerRefs: refs.map((name) => ({ name })),
    };
  }
  if (res) sandboxSpec.resources = copyJson(res);
  const all = [...candidates, ...(inference?.endpoints ?? []), ...tools.endpoints];
  const allowlist = all.length
    ? canonicalizeEndpoints(all.map((c) => ({ host: c.host, port: c.port })), {
      source: `${P} allowlist`,
    })
    : [];
  const np: Obj = { defaultDeny: true };
  if (allowlist.length) {
    np.egressMode = "Strict";
    np.allowedEndpoints = allowlist.map((e) => ({ host: e.host, port: e.port }));
  } else {
    np.egressMode = "Learn";
    run.note(
      `${P} spec.networkPolicy`,
      "no egress allowlist could be derived: egressMode Learn (observe traffic, then run kars egress --enforce)",
    );
  }
  sandboxSpec.networkPolicy = copyJson(np);
  return {
    sandboxSpec,
    inference: inference?.spec ?? {},
    servers: tools.servers,
    tools,
    allowlist,
    description,
  };
}
