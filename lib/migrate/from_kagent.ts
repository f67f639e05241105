/**
 * `kars migrate from-kagent`: translates kagent (`kagent.dev/v1alpha2`) `Agent`/`SandboxAgent`
 * objects — with the `ModelConfig` and `RemoteMCPServer` objects they reference, from the same
 * multi-document input — into `KarsSandbox`, `InferencePolicy` and `ToolPolicy`
 * (`kars.azure.com/v1alpha1`).
 *
 * The egress allowlist is built from `spec.sandbox.network.allowedDomains`, the referenced
 * `RemoteMCPServer.spec.url`s and the `ModelConfig`'s endpoint; every entry gets a port (the
 * URL's, else 443 for https and 80 for http) and goes through the canonical allowlist builder.
 * Wildcard domains cannot be expressed in a v1 allowlist: they are reported and left out.
 *
 * Every input field is either translated, reported as a warning (data dropped: the translation
 * is lossy), or — for runtime state such as `status` — mentioned in an informational note.
 * Pure: no I/O; same input, same output.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { canonicalizeEndpoints, type Endpoint } from "../allowlist.ts";
import { checkHost } from "../host.ts";
import { parseYamlDocuments } from "../yaml_read.ts";
import type { Json } from "./emit.ts";

/** kagent API version this translator reads. */
export const KAGENT_API_VERSION = "kagent.dev/v1alpha2";
/** API version of what it writes. */
export const KARS_API_VERSION = "kars.azure.com/v1alpha1";
/** `--isolation` values. */
export const ISOLATION_LEVELS = ["standard", "enhanced", "confidential"] as const;
/** An isolation level. */
export type Isolation = typeof ISOLATION_LEVELS[number];

/** Options of {@link translateKagent}. */
export interface MigrateOptions {
  /** `-n/--namespace` for every emitted object (default `kars-<agent name>`). */
  namespace?: string;
  /** `--isolation` (default `enhanced`). */
  isolation?: Isolation;
  /** `--image`: container image of the sandbox (overrides a BYO agent's image). */
  image?: string;
  /** Names the input in errors (a path or `<stdin>`). */
  source?: string;
}

/** A warning (data dropped) or a note (informational), tied to a field path. */
export interface Finding {
  /** `<Kind>/<name> <field path>`, e.g. `Agent/my-agent spec.declarative.memory`. */
  path: string;
  /** What was dropped, or what the note says. */
  message: string;
}

/** An emitted Kubernetes object. */
export interface KarsResource {
  /** `kars.azure.com/v1alpha1`. */
  apiVersion: string;
  /** What it is. */
  kind: "KarsSandbox" | "InferencePolicy" | "ToolPolicy";
  /** Name (the agent's), namespace, labels, annotations. */
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
  /** In output order: per agent, KarsSandbox, then InferencePolicy, then ToolPolicy. */
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

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

interface Doc {
  index: number;
  kind: string;
  name: string;
  namespace?: string;
  obj: Obj;
}

const KAGENT_KINDS = new Set(["Agent", "SandboxAgent", "ModelConfig", "RemoteMCPServer"]);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const RUNTIME_METADATA = new Set([
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
  "finalizers",
  "ownerReferences",
  "generateName",
]);
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  return `a ${typeof v}`;
}

class Run {
  warnings: Finding[] = [];
  notes: Finding[] = [];
  constructor(readonly source: string) {}
  #seen = new Set<string>();
  warn(path: string, message: string) {
    if (this.#once("!", path, message)) this.warnings.push({ path, message });
  }
  note(path: string, message: string) {
    if (this.#once("i", path, message)) this.notes.push({ path, message });
  }
  /** A finding about a shared object (one RemoteMCPServer used by two agents) is reported once. */
  #once(kind: string, path: string, message: string): boolean {
    const k = `${kind}\u0000${path}\u0000${message}`;
    if (this.#seen.has(k)) return false;
    this.#seen.add(k);
    return true;
  }
  bad(d: Doc | number, field: string, what: string): never {
    const doc = typeof d === "number"
      ? `document ${d}`
      : `document ${d.index} (${d.kind}/${d.name})`;
    throw new KarsError(
      "INPUT",
      `${this.source} ${doc}: ${field ? `${field}: ` : ""}${what}`,
      { details: { document: typeof d === "number" ? d : d.index, field } },
    );
  }
}

/** Where a resource lives: `-n`, else `kars-<name>`. */
function targetNamespace(run: Run, d: Doc, opts: MigrateOptions): string {
  if (opts.namespace) return opts.namespace;
  const ns = `kars-${d.name}`;
  if (!DNS_LABEL.test(ns) || ns.length > 63) {
    run.bad(
      d,
      "metadata.name",
      `the default namespace "${ns}" is not a valid namespace name; pass -n/--namespace`,
    );
  }
  return ns;
}

/** An endpoint candidate and where it came from. */
interface Candidate {
  host: string;
  port: number;
  from: string;
}

function endpointFromUrl(
  run: Run,
  d: Doc,
  field: string,
  raw: unknown,
  opts: { defaultScheme: "https" | "http" },
): Candidate | undefined {
  const path = `${d.kind}/${d.name} ${field}`;
  if (typeof raw !== "string" || raw.trim() === "") {
    run.bad(d, field, `expected a URL, got ${describe(raw)}`);
  }
  const text = raw.trim();
  const hasScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text);
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `${opts.defaultScheme}://${text}`);
  } catch {
    run.bad(d, field, `${JSON.stringify(text)} is not a valid URL`);
  }
  if (!hasScheme) {
    run.note(path, `"${text}" has no scheme; read as ${opts.defaultScheme}://${text}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    run.bad(d, field, `${JSON.stringify(text)}: only http and https URLs are supported`);
  }
  const hostname = url.hostname;
  if (hostname.startsWith("[")) {
    run.warn(
      path,
      `IPv6 address ${hostname} left out of the allowlist (v1 allowlists cannot express IPv6 literals)`,
    );
    return undefined;
  }
  const h = checkHost(hostname);
  if (!h.ok) run.bad(d, field, `host of ${JSON.stringify(text)} ${h.reason}`);
  const port = url.port ? Number(url.port) : url.protocol === "http:" ? 80 : 443;
  if (!url.port && url.protocol === "http:") {
    run.note(path, `http URL without a port: ${h.host} allowed on port 80`);
  }
  return { host: h.host, port, from: path };
}

function copyJson(v: unknown): Json {
  return JSON.parse(JSON.stringify(v ?? null)) as Json;
}

function readDocs(run: Run, docs: unknown[]): Doc[] {
  const out: Doc[] = [];
  const seen = new Set<string>();
  docs.forEach((raw, i) => {
    const n = i + 1;
    if (raw === null || raw === undefined) return;
    if (!isObj(raw)) {
      run.bad(n, "", `expected a Kubernetes object (a mapping), got ${describe(raw)}`);
    }
    if (typeof raw.apiVersion !== "string" || !raw.apiVersion) {
      run.bad(n, "apiVersion", "missing (every document needs apiVersion and kind)");
    }
    if (typeof raw.kind !== "string" || !raw.kind) {
      run.bad(n, "kind", "missing (every document needs apiVersion and kind)");
    }
    const name = isObj(raw.metadata) ? raw.metadata.name : undefined;
    const nameStr = typeof name === "string" ? name : "";
    const isKagent = raw.apiVersion.startsWith("kagent.dev/");
    if (isKagent && KAGENT_KINDS.has(raw.kind)) {
      if (raw.apiVersion !== KAGENT_API_VERSION) {
        run.bad(
          n,
          "apiVersion",
          `${raw.apiVersion} ${raw.kind} is not supported; only ${KAGENT_API_VERSION} is (upgrade kagent and re-export the objects)`,
        );
      }
      if (!nameStr) run.bad(n, "metadata.name", `missing on ${raw.kind}`);
      if (!DNS_SUBDOMAIN.test(nameStr) || nameStr.length > 253) {
        run.bad(n, "metadata.name", `${JSON.stringify(nameStr)} is not a valid Kubernetes name`);
      }
      const ns = isObj(raw.metadata) && typeof raw.metadata.namespace === "string" &&
          raw.metadata.namespace
        ? raw.metadata.namespace as string
        : undefined;
      const key = `${raw.kind}/${ns ?? ""}/${nameStr}`;
      if (seen.has(key)) {
        run.bad(
          n,
          "metadata.name",
          `a second ${raw.kind} named ${nameStr}${ns ? ` in ${ns}` : ""}`,
        );
      }
      seen.add(key);
      out.push({ index: n, kind: raw.kind, name: nameStr, namespace: ns, obj: raw });
    } else {
      run.warn(
        `${raw.kind}/${nameStr || "?"} (document ${n})`,
        `not translated: only ${KAGENT_API_VERSION} Agent, SandboxAgent, ModelConfig and RemoteMCPServer objects are`,
      );
    }
  });
  return out;
}

function lookup(docs: Doc[], kind: string, name: string, namespace?: string): Doc | undefined {
  const same = docs.filter((d) => d.kind === kind && d.name === name);
  return same.find((d) => d.namespace === namespace) ??
    same.find((d) => !d.namespace || !namespace);
}

function checkKeys(run: Run, path: string, obj: Obj, known: readonly string[], what: string) {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) run.warn(`${path}.${k}`, `dropped (${what} has no equivalent)`);
  }
}

function translateMetadata(run: Run, d: Doc): Obj {
  const md = isObj(d.obj.metadata) ? d.obj.metadata : {};
  const out: Obj = {};
  const path = `${d.kind}/${d.name}`;
  const runtime: string[] = [];
  for (const [k, v] of Object.entries(md)) {
    if (k === "name" || k === "namespace") continue;
    if (RUNTIME_METADATA.has(k)) {
      runtime.push(k);
      continue;
    }
    if (k === "labels" && isObj(v)) {
      out.labels = copyJson(v);
    } else if (k === "annotations" && isObj(v)) {
      const a: Obj = {};
      for (const [ak, av] of Object.entries(v)) {
        if (ak === LAST_APPLIED) {
          run.note(`${path} metadata.annotations`, `${LAST_APPLIED} not carried over`);
        } else a[ak] = av;
      }
      if (Object.keys(a).length) out.annotations = copyJson(a);
    } else {
      run.warn(`${path} metadata.${k}`, "dropped (not carried over to the KarsSandbox)");
    }
  }
  if (runtime.length) {
    run.note(
      `${path} metadata`,
      `runtime fields not carried over: ${runtime.sort().join(", ")}`,
    );
  }
  if ("status" in d.obj) run.note(`${path} status`, "runtime status not carried over");
  return out;
}

interface Inference {
  resource: Obj;
  endpoints: Candidate[];
}

const PROVIDER_BLOCK: Record<string, string> = {
  OpenAI: "openAI",
  Anthropic: "anthropic",
  AzureOpenAI: "azureOpenAI",
  Ollama: "ollama",
  Gemini: "gemini",
  GeminiVertexAI: "geminiVertexAI",
  AnthropicVertexAI: "anthropicVertexAI",
  SAPAICore: "sapAICore",
};

/** Header names whose values are credentials (never copied into the output). */
const CREDENTIAL_HEADER =
  /^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-goog-api-key|ocp-apim-subscription-key)$/i;

const DEFAULT_ENDPOINT: Record<string, string> = {
  OpenAI: "https://api.openai.com",
  Anthropic: "https://api.anthropic.com",
  Gemini: "https://generativelanguage.googleapis.com",
};

function translateModelConfig(run: Run, mc: Doc): Inference {
  const path = `ModelConfig/${mc.name}`;
  const spec = mc.obj.spec;
  if (!isObj(spec)) run.bad(mc, "spec", "missing or not a mapping");
  checkKeys(
    run,
    `${path} spec`,
    spec,
    [
      "model",
      "apiKeySecret",
      "apiKeySecretKey",
      "defaultHeaders",
      "provider",
      ...Object.values(
        PROVIDER_BLOCK,
      ),
    ],
    "InferencePolicy",
  );
  const provider = spec.provider ?? "OpenAI";
  if (typeof provider !== "string" || !(provider in PROVIDER_BLOCK)) {
    run.bad(
      mc,
      "spec.provider",
      `${JSON.stringify(provider)} is not a kagent provider (${
        Object.keys(PROVIDER_BLOCK).join(", ")
      })`,
    );
  }
  if (typeof spec.model !== "string" || !spec.model) {
    run.bad(mc, "spec.model", "missing (the model name is required)");
  }
  for (const [p, block] of Object.entries(PROVIDER_BLOCK)) {
    if (p !== provider && spec[block] !== undefined) {
      run.bad(
        mc,
        `spec.${block}`,
        `set, but spec.provider is ${provider} (kagent rejects this too)`,
      );
    }
  }
  const blockName = PROVIDER_BLOCK[provider];
  const block = spec[blockName] ?? {};
  if (!isObj(block)) run.bad(mc, `spec.${blockName}`, `expected a mapping, got ${describe(block)}`);
  const endpoints: Candidate[] = [];
  const parameters: Obj = {};
  let endpoint: string | undefined;
  const addUrl = (field: string, raw: unknown, scheme: "https" | "http" = "https") => {
    const c = endpointFromUrl(run, mc, field, raw, { defaultScheme: scheme });
    if (c) endpoints.push(c);
    const text = String(raw).trim();
    return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text) ? text : `${scheme}://${text}`;
  };
  const endpointKeys: Record<string, string[]> = {
    OpenAI: ["baseUrl"],
    Anthropic: ["baseUrl"],
    AzureOpenAI: ["azureEndpoint"],
    Ollama: ["host"],
    SAPAICore: ["baseUrl", "authUrl"],
  };
  for (const [k, v] of Object.entries(block)) {
    if ((endpointKeys[provider] ?? []).includes(k)) continue;
    if (provider === "AzureOpenAI" && k === "azureAdToken") {
      run.warn(
        `${path} spec.azureOpenAI.azureAdToken`,
        "inline Azure AD token dropped (secrets are never copied; reference a Secret via apiKeySecret instead)",
      );
      continue;
    }
    parameters[k] = copyJson(v);
  }
  switch (provider) {
    case "OpenAI":
    case "Anthropic":
      if (block.baseUrl !== undefined) {
        endpoint = addUrl(`spec.${blockName}.baseUrl`, block.baseUrl);
      } else {
        endpoint = DEFAULT_ENDPOINT[provider];
        addUrl(`spec.${blockName}.baseUrl`, endpoint);
        run.note(
          `${path} spec.${blockName}.baseUrl`,
          `not set: provider default ${endpoint} allowed`,
        );
      }
      break;
    case "AzureOpenAI":
      if (block.azureEndpoint === undefined) {
        run.bad(
          mc,
          "spec.azureOpenAI.azureEndpoint",
          "missing (required for provider AzureOpenAI)",
        );
      }
      endpoint = addUrl("spec.azureOpenAI.azureEndpoint", block.azureEndpoint);
      break;
    case "Ollama":
      if (block.host !== undefined) {
        endpoint = addUrl("spec.ollama.host", block.host, "http");
      } else {
        run.note(
          `${path} spec.ollama.host`,
          "not set: the Ollama server's address is unknown, so no endpoint was added for it",
        );
      }
      break;
    case "Gemini":
      endpoint = DEFAULT_ENDPOINT.Gemini;
      addUrl("spec.gemini", endpoint);
      run.note(`${path} spec.provider`, `Gemini: ${endpoint} allowed`);
      break;
    case "GeminiVertexAI":
    case "AnthropicVertexAI": {
      const loc = block.location;
      if (loc !== undefined && (typeof loc !== "string" || !/^[a-z0-9-]+$/.test(loc))) {
        run.bad(mc, `spec.${blockName}.location`, `${JSON.stringify(loc)} is not a region name`);
      }
      endpoint = !loc || loc === "global"
        ? "https://aiplatform.googleapis.com"
        : `https://${loc}-aiplatform.googleapis.com`;
      addUrl(`spec.${blockName}.location`, endpoint);
      run.note(`${path} spec.${blockName}.location`, `Vertex AI endpoint ${endpoint} allowed`);
      break;
    }
    case "SAPAICore":
      if (block.baseUrl === undefined) {
        run.bad(mc, "spec.sapAICore.baseUrl", "missing (required for provider SAPAICore)");
      }
      endpoint = addUrl("spec.sapAICore.baseUrl", block.baseUrl);
      if (block.authUrl !== undefined) {
        parameters.authUrl = copyJson(block.authUrl);
        addUrl("spec.sapAICore.authUrl", block.authUrl);
      }
      break;
  }
  const ip: Obj = { provider, model: spec.model };
  if (endpoint !== undefined) ip.endpoint = endpoint;
  if (spec.apiKeySecret !== undefined || spec.apiKeySecretKey !== undefined) {
    if (typeof spec.apiKeySecret !== "string" || typeof spec.apiKeySecretKey !== "string") {
      run.bad(mc, "spec.apiKeySecret", "apiKeySecret and apiKeySecretKey must be set together");
    }
    ip.apiKeySecretRef = { name: spec.apiKeySecret, key: spec.apiKeySecretKey };
  }
  if (spec.defaultHeaders !== undefined) {
    if (!isObj(spec.defaultHeaders)) {
      run.bad(
        mc,
        "spec.defaultHeaders",
        `expected a mapping, got ${describe(spec.defaultHeaders)}`,
      );
    }
    const headers: Obj = {};
    for (const [h, v] of Object.entries(spec.defaultHeaders)) {
      if (CREDENTIAL_HEADER.test(h)) {
        run.warn(
          `${path} spec.defaultHeaders.${h}`,
          "credential header dropped (secrets are never copied; keep the key in the Secret named by apiKeySecret)",
        );
      } else headers[h] = v;
    }
    if (Object.keys(headers).length) ip.defaultHeaders = copyJson(headers);
  }
  if (Object.keys(parameters).length) ip.parameters = parameters;
  translateMetadata(run, mc);
  return { resource: ip, endpoints };
}

interface Tools {
  servers: Obj[];
  endpoints: Candidate[];
}

function translateTools(run: Run, agent: Doc, tools: unknown, docs: Doc[], used: Set<Doc>): Tools {
  const base = `${agent.kind}/${agent.name} spec.declarative.tools`;
  const out: Tools = { servers: [], endpoints: [] };
  if (tools === undefined || tools === null) return out;
  if (!Array.isArray(tools)) {
    run.bad(agent, "spec.declarative.tools", `expected a list, got ${describe(tools)}`);
  }
  tools.forEach((t, i) => {
    const field = `spec.declarative.tools[${i}]`;
    if (!isObj(t)) run.bad(agent, field, `expected a mapping, got ${describe(t)}`);
    const type = t.type ?? (t.mcpServer ? "McpServer" : t.agent ? "Agent" : undefined);
    if (type === "Agent") {
      run.warn(
        `${base}[${i}]`,
        `agent tool ${
          JSON.stringify(t.agent?.name ?? "?")
        } dropped (kars has no agent-as-tool equivalent)`,
      );
      return;
    }
    if (type !== "McpServer" || !isObj(t.mcpServer)) {
      run.bad(agent, field, `type must be McpServer (with mcpServer) or Agent (with agent)`);
    }
    const ref = t.mcpServer;
    if (typeof ref.name !== "string" || !ref.name) {
      run.bad(agent, `${field}.mcpServer.name`, "missing");
    }
    checkKeys(
      run,
      `${base}[${i}]`,
      t,
      ["type", "mcpServer", "headersFrom"],
      "ToolPolicy",
    );
    checkKeys(
      run,
      `${base}[${i}].mcpServer`,
      ref,
      ["kind", "apiGroup", "name", "namespace", "toolNames", "requireApproval", "allowedHeaders"],
      "ToolPolicy",
    );
    const kind = ref.kind || "RemoteMCPServer";
    if (kind !== "RemoteMCPServer" || (ref.apiGroup && ref.apiGroup !== "kagent.dev")) {
      run.warn(
        `${base}[${i}].mcpServer`,
        `${ref.apiGroup ? `${ref.apiGroup}/` : ""}${kind} ${
          JSON.stringify(ref.name)
        } dropped (only kagent.dev RemoteMCPServer tool servers are translated; add its URL to spec.sandbox.network.allowedDomains)`,
      );
      return;
    }
    const ns = typeof ref.namespace === "string" && ref.namespace ? ref.namespace : agent.namespace;
    const srv = lookup(docs, "RemoteMCPServer", ref.name, ns);
    if (!srv) {
      run.warn(
        `${base}[${i}].mcpServer`,
        `RemoteMCPServer ${
          JSON.stringify(ref.name)
        } is not in the input: its URL is not in the allowlist and its tools are not in the ToolPolicy (add the RemoteMCPServer document)`,
      );
      return;
    }
    used.add(srv);
    const ep = validateRemoteMCPServer(run, srv);
    const spec = srv.obj.spec;
    if (ep) out.endpoints.push(ep);
    checkKeys(
      run,
      `RemoteMCPServer/${srv.name} spec`,
      spec,
      [
        "description",
        "protocol",
        "url",
        "headersFrom",
        "timeout",
        "sseReadTimeout",
        "terminateOnClose",
      ],
      "ToolPolicy",
    );
    translateMetadata(run, srv);
    const entry: Obj = { name: srv.name, url: String(spec.url).trim() };
    for (const k of ["protocol", "description", "timeout", "sseReadTimeout", "terminateOnClose"]) {
      if (spec[k] !== undefined && spec[k] !== "") entry[k] = copyJson(spec[k]);
    }
    for (
      const [from, to] of [
        ["toolNames", "tools"],
        ["requireApproval", "requireApproval"],
        ["allowedHeaders", "allowedHeaders"],
      ]
    ) {
      if (ref[from] === undefined) continue;
      if (!Array.isArray(ref[from]) || ref[from].some((x: unknown) => typeof x !== "string")) {
        run.bad(agent, `${field}.mcpServer.${from}`, "expected a list of strings");
      }
      entry[to] = copyJson(ref[from]);
    }
    const headers = [
      ...(Array.isArray(spec.headersFrom) ? spec.headersFrom : []),
      ...(Array.isArray(t.headersFrom) ? t.headersFrom : []),
    ];
    if (headers.length) entry.headersFrom = copyJson(headers);
    out.servers.push(entry);
  });
  return out;
}

function validateRemoteMCPServer(run: Run, srv: Doc): Candidate | undefined {
  const spec = srv.obj.spec;
  if (!isObj(spec)) run.bad(srv, "spec", "missing or not a mapping");
  if (spec.url === undefined) run.bad(srv, "spec.url", "missing (required)");
  return endpointFromUrl(run, srv, "spec.url", spec.url, { defaultScheme: "https" });
}

const SHARED_DEPLOYMENT_COPIED = ["env", "resources"];

function translateDeployment(
  run: Run,
  agent: Doc,
  dep: unknown,
  field: string,
  extra: readonly string[],
): Obj {
  if (dep === undefined || dep === null) return {};
  if (!isObj(dep)) run.bad(agent, field, `expected a mapping, got ${describe(dep)}`);
  const path = `${agent.kind}/${agent.name} ${field}`;
  checkKeys(run, path, dep, [...SHARED_DEPLOYMENT_COPIED, ...extra], "KarsSandbox");
  const out: Obj = {};
  if (dep.env !== undefined) {
    if (!Array.isArray(dep.env)) run.bad(agent, `${field}.env`, "expected a list");
    out.env = copyJson(dep.env);
  }
  if (dep.resources !== undefined) out.resources = copyJson(dep.resources);
  return out;
}

function allowedDomains(run: Run, agent: Doc, sandbox: unknown): Candidate[] {
  if (sandbox === undefined || sandbox === null) return [];
  const base = `${agent.kind}/${agent.name} spec.sandbox`;
  if (!isObj(sandbox)) {
    run.bad(agent, "spec.sandbox", `expected a mapping, got ${describe(sandbox)}`);
  }
  checkKeys(run, base, sandbox, ["network"], "KarsSandbox");
  const net = sandbox.network;
  if (net === undefined || net === null) return [];
  if (!isObj(net)) {
    run.bad(agent, "spec.sandbox.network", `expected a mapping, got ${describe(net)}`);
  }
  checkKeys(run, `${base}.network`, net, ["allowedDomains"], "KarsSandbox");
  const list = net.allowedDomains;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    run.bad(agent, "spec.sandbox.network.allowedDomains", `expected a list, got ${describe(list)}`);
  }
  const out: Candidate[] = [];
  list.forEach((raw, i) => {
    const field = `spec.sandbox.network.allowedDomains[${i}]`;
    const path = `${base}.network.allowedDomains[${i}]`;
    if (typeof raw !== "string" || !raw.trim()) {
      run.bad(agent, field, `expected a domain name, got ${describe(raw)}`);
    }
    const text = raw.trim();
    if (text.includes("*")) {
      run.warn(
        path,
        `wildcard domain ${
          JSON.stringify(text)
        } left out (v1 allowlists cannot express wildcards; list each host explicitly)`,
      );
      return;
    }
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) {
      run.bad(
        agent,
        field,
        `${JSON.stringify(text)}: a domain must be a bare host[:port], not a URL`,
      );
    }
    let host = text;
    let port = 443;
    const m = /^(.*):(\d{1,5})$/.exec(text);
    if (m && !m[1].includes(":")) {
      host = m[1];
      port = Number(m[2]);
      if (port < 1 || port > 65535) run.bad(agent, field, `port ${m[2]} is out of range 1-65535`);
    }
    const h = checkHost(host);
    if (!h.ok) run.bad(agent, field, `${JSON.stringify(text)} ${h.reason}`);
    out.push({ host: h.host, port, from: path });
  });
  return out;
}

function translateAgent(
  run: Run,
  agent: Doc,
  docs: Doc[],
  opts: MigrateOptions,
  used: Set<Doc>,
): { resources: KarsResource[]; sandbox: TranslatedSandbox } {
  const P = `${agent.kind}/${agent.name}`;
  const spec = agent.obj.spec;
  if (!isObj(spec)) run.bad(agent, "spec", "missing or not a mapping");
  const type = spec.type ?? "Declarative";
  if (type !== "Declarative" && type !== "BYO") {
    run.bad(agent, "spec.type", `must be Declarative or BYO, got ${describe(type)}`);
  }
  if (type === "Declarative" && !isObj(spec.declarative)) {
    run.bad(agent, "spec.declarative", "required when spec.type is Declarative");
  }
  if (type === "BYO" && !isObj(spec.byo)) {
    run.bad(agent, "spec.byo", "required when spec.type is BYO");
  }
  checkKeys(
    run,
    `${P} spec`,
    spec,
    ["type", "byo", "declarative", "description", "sandbox"],
    "KarsSandbox",
  );
  const ns = targetNamespace(run, agent, opts);
  if (agent.namespace && agent.namespace !== ns) {
    run.note(`${P} metadata.namespace`, `written to namespace ${ns} (was ${agent.namespace})`);
  }
  const candidates: Candidate[] = [...allowedDomains(run, agent, spec.sandbox)];
  const sbSpec: Obj = { isolation: opts.isolation ?? "enhanced" };
  let image = opts.image;
  let inference: Inference | undefined;
  let tools: Tools = { servers: [], endpoints: [] };
  let runtime: Obj = {};
  if (type === "BYO") {
    if (spec.declarative !== undefined) {
      run.warn(`${P} spec.declarative`, "dropped (spec.type is BYO)");
    }
    const dep = spec.byo.deployment;
    runtime = translateDeployment(run, agent, dep, "spec.byo.deployment", ["image", "cmd", "args"]);
    checkKeys(run, `${P} spec.byo`, spec.byo, ["deployment"], "KarsSandbox");
    if (isObj(dep)) {
      if (dep.image !== undefined && (typeof dep.image !== "string" || !dep.image)) {
        run.bad(
          agent,
          "spec.byo.deployment.image",
          `expected an image reference, got ${describe(dep.image)}`,
        );
      }
      if (typeof dep.image === "string") {
        if (image && image !== dep.image) {
          run.note(`${P} spec.byo.deployment.image`, `${dep.image} replaced by --image ${image}`);
        }
        image ??= dep.image;
      }
      if (dep.cmd !== undefined) {
        if (typeof dep.cmd !== "string") {
          run.bad(agent, "spec.byo.deployment.cmd", "expected a string");
        }
        runtime.command = [dep.cmd];
      }
      if (dep.args !== undefined) {
        if (!Array.isArray(dep.args) || dep.args.some((a: unknown) => typeof a !== "string")) {
          run.bad(agent, "spec.byo.deployment.args", "expected a list of strings");
        }
        runtime.args = copyJson(dep.args);
      }
    }
  } else {
    if (spec.byo !== undefined) run.warn(`${P} spec.byo`, "dropped (spec.type is Declarative)");
    const dec = spec.declarative;
    checkKeys(
      run,
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
    if (dec.systemMessage !== undefined) {
      if (typeof dec.systemMessage !== "string") {
        run.bad(agent, "spec.declarative.systemMessage", "expected a string");
      }
      runtime.systemMessage = dec.systemMessage;
    }
    if (dec.systemMessageFrom !== undefined) {
      runtime.systemMessageFrom = copyJson(dec.systemMessageFrom);
    }
    runtime = {
      ...runtime,
      ...translateDeployment(run, agent, dec.deployment, "spec.declarative.deployment", []),
    };
    const mcName = dec.modelConfig ?? "default-model-config";
    if (typeof mcName !== "string" || !mcName) {
      run.bad(agent, "spec.declarative.modelConfig", "expected a ModelConfig name");
    }
    if (dec.modelConfig === undefined) {
      run.note(
        `${P} spec.declarative.modelConfig`,
        `not set: kagent's default-model-config assumed`,
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
        } is not in the input: no InferencePolicy written and its endpoint is not in the allowlist (add the ModelConfig document)`,
      );
    }
    tools = translateTools(run, agent, dec.tools, docs, used);
    if (!image) {
      run.note(
        `${P} spec`,
        "declarative agent: no --image given, so spec.image is left for the kars controller's default",
      );
    }
  }
  if (image) sbSpec.image = image;
  if (spec.description !== undefined) {
    if (typeof spec.description !== "string") {
      run.bad(agent, "spec.description", "expected a string");
    }
    if (spec.description) sbSpec.description = spec.description;
  }
  for (const k of ["command", "args", "systemMessage", "systemMessageFrom", "env", "resources"]) {
    if (runtime[k] !== undefined) sbSpec[k] = runtime[k];
  }
  if (inference) sbSpec.inferencePolicyRef = { name: agent.name };
  if (tools.servers.length) sbSpec.toolPolicyRef = { name: agent.name };
  candidates.push(...(inference?.endpoints ?? []), ...tools.endpoints);
  const allowlist = candidates.length
    ? canonicalizeEndpoints(candidates.map((c) => ({ host: c.host, port: c.port })), {
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
  sbSpec.networkPolicy = np;
  const md = translateMetadata(run, agent);
  const annotations: Obj = {
    ...(md.annotations ?? {}),
    "kars.io/migrated-from": `${KAGENT_API_VERSION} ${agent.kind} ${
      agent.namespace ? `${agent.namespace}/` : ""
    }${agent.name}`,
  };
  const meta = (): KarsResource["metadata"] => ({
    name: agent.name,
    namespace: ns,
    ...(md.labels ? { labels: md.labels } : {}),
    annotations,
  });
  const resources: KarsResource[] = [{
    apiVersion: KARS_API_VERSION,
    kind: "KarsSandbox",
    metadata: meta(),
    spec: sbSpec,
  }];
  if (inference) {
    resources.push({
      apiVersion: KARS_API_VERSION,
      kind: "InferencePolicy",
      metadata: meta(),
      spec: inference.resource,
    });
  }
  if (tools.servers.length) {
    resources.push({
      apiVersion: KARS_API_VERSION,
      kind: "ToolPolicy",
      metadata: meta(),
      spec: { mcpServers: tools.servers },
    });
  }
  return { resources, sandbox: { name: agent.name, namespace: ns, allowlist } };
}

/**
 * Translates parsed kagent documents. Pure and deterministic.
 *
 * @throws KarsError `INPUT` naming the document and field for bad input; `USAGE` for bad options
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
      "USAGE",
      `--isolation must be one of ${ISOLATION_LEVELS.join(", ")}, got ${
        JSON.stringify(opts.isolation)
      }`,
    );
  }
  if (
    opts.namespace !== undefined && (!DNS_LABEL.test(opts.namespace) || opts.namespace.length > 63)
  ) {
    throw new KarsError(
      "USAGE",
      `--namespace ${
        JSON.stringify(opts.namespace)
      } is not a valid namespace name (lowercase letters, digits and '-', at most 63)`,
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
  const resources: KarsResource[] = [];
  const sandboxes: TranslatedSandbox[] = [];
  const names = new Map<string, Doc>();
  for (const a of agents) {
    const r = translateAgent(run, a, all, opts, used);
    const k = `${r.sandbox.namespace}/${r.sandbox.name}`;
    if (names.has(k)) {
      run.bad(
        a,
        "metadata.name",
        `a second agent would become KarsSandbox ${k}; pass them separately or rename`,
      );
    }
    names.set(k, a);
    resources.push(...r.resources);
    sandboxes.push(r.sandbox);
  }
  for (const d of all) {
    if ((d.kind === "ModelConfig" || d.kind === "RemoteMCPServer") && !used.has(d)) {
      // Still validated (bad input is bad input), but its findings are not reported.
      const scratch = new Run(run.source);
      if (d.kind === "ModelConfig") translateModelConfig(scratch, d);
      else validateRemoteMCPServer(scratch, d);
      run.note(`${d.kind}/${d.name}`, "not referenced by any translated agent; ignored");
    }
  }
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
