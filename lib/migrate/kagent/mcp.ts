/**
 * kagent MCP tools → kars: each referenced `RemoteMCPServer` becomes an `McpServer` in the
 * sandbox's namespace (`url`, `displayName` from the description, `allowedTools` from the
 * agent's `toolNames`, else `["*"]`), referenced from `spec.governance.mcpServerRefs` (at most
 * 8). Tool governance becomes `ToolPolicy` objects selecting the sandbox by its
 * `kars.io/sandbox` label: `<agent>` (every tool, `approval.mode: never` — kagent's default) and
 * one `<agent>-approve-<n>` per `requireApproval` tool (`approval.mode: always`).
 *
 * An McpServer cannot send custom headers, so `headersFrom` (usually a token from a Secret) is a
 * warning that points at `spec.bearerFromEnv`/`spec.oauth`; header values are never copied.
 *
 * @module
 */
import type { Json } from "../emit.ts";
import { type Candidate, copyJson, type Doc, type Obj, type Run } from "./common.ts";
import { lookup, translateMetadata } from "./documents.ts";
import { endpointFromUrl } from "./endpoints.ts";

/** Most `spec.governance.mcpServerRefs` entries the KarsSandbox CRD accepts. */
export const MAX_MCP_SERVER_REFS = 8;

/** An McpServer to emit (shared by the agents of one namespace that use it). */
export interface McpServerOut {
  name: string;
  namespace: string;
  spec: { url: string; displayName?: string; allowedTools: string[] };
  /** The RemoteMCPServer it came from (for metadata). */
  from: Doc;
}

/** One `requireApproval` tool. */
export interface ApprovalOut {
  server: string;
  tool: string;
}

/** What an agent's tools translate to. */
export interface Tools {
  /** McpServer names referenced by the sandbox, in input order, unique. */
  refs: string[];
  /** Servers first seen with this agent (to emit). */
  servers: McpServerOut[];
  /** Tools that require approval. */
  approvals: ApprovalOut[];
  /** Allowlist candidates (server URLs). */
  endpoints: Candidate[];
}

const SERVER_KEYS = [
  "description",
  "protocol",
  "url",
  "headersFrom",
  "timeout",
  "sseReadTimeout",
  "terminateOnClose",
];

function headerWarnings(run: Run, path: string, list: unknown[]) {
  list.forEach((h, i) => {
    const rec = (h !== null && typeof h === "object" ? h : {}) as Obj;
    const name = typeof rec.name === "string" ? rec.name : `#${i}`;
    const vf = (rec.valueFrom ?? {}) as Obj;
    const from = typeof vf.name === "string"
      ? ` (from ${typeof vf.type === "string" ? vf.type : "Secret"} ${vf.name}${
        typeof vf.key === "string" ? `, key ${vf.key}` : ""
      })`
      : "";
    run.warn(
      `${path}[${i}]`,
      `header ${
        JSON.stringify(name)
      }${from} dropped: an McpServer cannot send custom headers (for a bearer token set spec.bearerFromEnv to an env var of the inference router, or use spec.oauth); header values are never copied`,
    );
  });
}

/** Validates a RemoteMCPServer's URL; its allowlist candidate (or none for IPv6). */
export function remoteServerEndpoint(run: Run, srv: Doc): Candidate | undefined {
  const spec = run.obj(srv, "spec", srv.obj.spec);
  if (!spec) run.bad(srv, "spec", "missing or not a mapping");
  if (spec.url === undefined) run.bad(srv, "spec.url", "missing (required)");
  return endpointFromUrl(run, srv, "spec.url", spec.url, { defaultScheme: "https" });
}

function translateServer(run: Run, srv: Doc, namespace: string, tools: string[]): McpServerOut {
  const P = `RemoteMCPServer/${srv.name}`;
  const spec = srv.obj.spec as Obj;
  run.checkKeys(`${P} spec`, spec, SERVER_KEYS, "McpServer");
  const protocol = run.str(srv, "spec.protocol", spec.protocol);
  if (protocol === "SSE") {
    run.warn(
      `${P} spec.protocol`,
      "SSE dropped (a kars McpServer is reached over streamable HTTP)",
    );
  } else if (protocol !== undefined) {
    run.note(`${P} spec.protocol`, `${protocol}: a kars McpServer has no transport field`);
  }
  for (const k of ["timeout", "sseReadTimeout", "terminateOnClose"]) {
    if (spec[k] !== undefined) run.warn(`${P} spec.${k}`, "dropped (McpServer has no equivalent)");
  }
  const headers = run.list(srv, "spec.headersFrom", spec.headersFrom);
  if (headers) headerWarnings(run, `${P} spec.headersFrom`, headers);
  translateMetadata(run, srv);
  const out: McpServerOut = {
    name: srv.name,
    namespace,
    spec: { url: String(spec.url).trim(), allowedTools: tools },
    from: srv,
  };
  const description = run.str(srv, "spec.description", spec.description);
  if (description) out.spec = { url: out.spec.url, displayName: description, allowedTools: tools };
  return out;
}

/** Translates `spec.declarative.tools`. `emitted` holds McpServers already written (by ns/name). */
export function translateTools(
  run: Run,
  agent: Doc,
  tools: unknown,
  docs: Doc[],
  used: Set<Doc>,
  namespace: string,
  emitted: Map<string, McpServerOut>,
): Tools {
  const base = `${agent.kind}/${agent.name} spec.declarative.tools`;
  const out: Tools = { refs: [], servers: [], approvals: [], endpoints: [] };
  const list = run.list(agent, "spec.declarative.tools", tools);
  if (!list) return out;
  list.forEach((raw, i) => {
    const field = `spec.declarative.tools[${i}]`;
    const t = run.obj(agent, field, raw);
    if (!t) run.bad(agent, field, "expected a mapping, got null");
    const type = t.type ?? (t.mcpServer ? "McpServer" : t.agent ? "Agent" : undefined);
    if (type === "Agent") {
      const a = (t.agent ?? {}) as Obj;
      run.warn(
        `${base}[${i}]`,
        `agent tool ${
          JSON.stringify(a.name ?? "?")
        } dropped (kars has no agent-as-tool equivalent)`,
      );
      return;
    }
    const ref = run.obj(agent, `${field}.mcpServer`, t.mcpServer);
    if (type !== "McpServer" || !ref) {
      run.bad(agent, field, "type must be McpServer (with mcpServer) or Agent (with agent)");
    }
    const name = run.str(agent, `${field}.mcpServer.name`, ref.name);
    if (!name) run.bad(agent, `${field}.mcpServer.name`, "missing");
    run.checkKeys(`${base}[${i}]`, t, ["type", "mcpServer", "headersFrom"], "McpServer");
    run.checkKeys(
      `${base}[${i}].mcpServer`,
      ref,
      ["kind", "apiGroup", "name", "namespace", "toolNames", "requireApproval", "allowedHeaders"],
      "McpServer",
    );
    const toolNames = run.strings(agent, `${field}.mcpServer.toolNames`, ref.toolNames);
    const approval = run.strings(agent, `${field}.mcpServer.requireApproval`, ref.requireApproval);
    const allowedHeaders = run.strings(
      agent,
      `${field}.mcpServer.allowedHeaders`,
      ref.allowedHeaders,
    );
    const kind = typeof ref.kind === "string" && ref.kind ? ref.kind : "RemoteMCPServer";
    const group = typeof ref.apiGroup === "string" ? ref.apiGroup : "";
    if (kind !== "RemoteMCPServer" || (group && group !== "kagent.dev")) {
      run.warn(
        `${base}[${i}].mcpServer`,
        `${group ? `${group}/` : ""}${kind} ${
          JSON.stringify(name)
        } dropped (only kagent.dev RemoteMCPServer tool servers are translated; add its URL to spec.sandbox.network.allowedDomains)`,
      );
      return;
    }
    const ns = typeof ref.namespace === "string" && ref.namespace ? ref.namespace : agent.namespace;
    const srv = lookup(docs, "RemoteMCPServer", name, ns);
    if (!srv) {
      run.warn(
        `${base}[${i}].mcpServer`,
        `RemoteMCPServer ${
          JSON.stringify(name)
        } is not in the input: no McpServer written and its URL is not in the allowlist (add the RemoteMCPServer document)`,
      );
      return;
    }
    used.add(srv);
    const ep = remoteServerEndpoint(run, srv);
    if (ep) out.endpoints.push(ep);
    if (allowedHeaders?.length) {
      run.warn(
        `${base}[${i}].mcpServer.allowedHeaders`,
        "dropped (an McpServer cannot forward request headers)",
      );
    }
    const toolHeaders = run.list(agent, `${field}.headersFrom`, t.headersFrom);
    if (toolHeaders) headerWarnings(run, `${base}[${i}].headersFrom`, toolHeaders);
    const allowed = toolNames?.length ? [...toolNames] : ["*"];
    const key = `${namespace}/${srv.name}`;
    const prior = emitted.get(key);
    if (prior) {
      const a = prior.spec.allowedTools;
      if (JSON.stringify(a) !== JSON.stringify(allowed)) {
        const union = a.includes("*") || allowed.includes("*")
          ? ["*"]
          : [...a, ...allowed.filter((x) => !a.includes(x))];
        run.warn(
          `${base}[${i}].mcpServer.toolNames`,
          `McpServer ${key} is referenced more than once in this namespace (by this or another agent) with different tool lists: its allowedTools became the union (${
            union.join(", ")
          }); per-agent tool lists cannot be expressed`,
        );
        prior.spec.allowedTools = union;
      }
    } else {
      const s = translateServer(run, srv, namespace, allowed);
      emitted.set(key, s);
      out.servers.push(s);
    }
    if (!out.refs.includes(srv.name)) out.refs.push(srv.name);
    for (const tool of approval ?? []) out.approvals.push({ server: srv.name, tool });
  });
  return out;
}

/** The McpServer objects' `spec` as JSON. */
export function mcpServerSpec(s: McpServerOut): { [k: string]: Json } {
  return copyJson(s.spec) as { [k: string]: Json };
}
