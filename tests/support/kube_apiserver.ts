/**
 * A small HTTPS Kubernetes API server for tests (no real kube-apiserver can be installed here).
 *
 * Resources: `karssandboxes.kars.azure.com/v1alpha1` (namespaced) and core `configmaps` (v1).
 * - GET, LIST (per namespace and across namespaces; `fieldSelector` on metadata.name /
 *   metadata.namespace; `limit` + `continue` paging), PATCH with `application/merge-patch+json`
 *   (RFC 7386; a `resourceVersion` precondition is answered with a 409 `Status`).
 * - WATCH (`?watch=1`): a chunked stream of newline-delimited JSON events from
 *   `resourceVersion` on (ADDED / MODIFIED / DELETED), BOOKMARK events when
 *   `allowWatchBookmarks=true`, `timeoutSeconds`, and `410 Gone` as an ERROR event (as
 *   kube-apiserver does) when the resourceVersion is older than the compacted history.
 *   Hooks: {@link KubeApiServer.expireWatches} (410 mid-watch), {@link KubeApiServer.dropWatches}
 *   (connection reset), {@link KubeApiServer.bookmark}.
 * - `status` a controller would write: {@link KubeApiServer.setConditions}.
 * - Server-side printing (`as=Table`) for kubectl, the discovery documents kubectl reads
 *   (`/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`; legacy, not aggregated).
 * - Kubernetes `Status` error bodies, 403 for configured verbs, a request log, and a hook that runs
 *   before each request (to change an object behind the client's back and force a 409).
 *
 * Authentication like kube-apiserver: a client certificate signed by the test CA, or a bearer
 * token from `tokens`. Anything else gets 401. It listens on 127.0.0.1 on a free port and is
 * built on `node:https` because `Deno.serve` cannot request client certificates.
 *
 * Certificates are made with `openssl` once per process and written to a temp dir, which
 * `stop()` removes.
 *
 * @module
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One logged request. */
export interface LoggedRequest {
  method: string;
  /** Path with query string. */
  path: string;
  /** Authenticated user (client-cert CN or `token:<name>`). */
  user: string;
}

/** A verb refused with 403 (optionally only in one namespace or for one resource). */
export interface ForbiddenRule {
  verb: "get" | "list" | "patch" | "watch";
  namespace?: string;
  /** `karssandboxes` (default) or `configmaps`. */
  resource?: string;
}

/** Options of {@link startKubeApiServer}. */
export interface KubeApiServerOptions {
  /**
   * Initial objects (KarsSandbox, ConfigMap — by `kind`, KarsSandbox when absent); each needs
   * metadata.name and metadata.namespace.
   */
  objects?: Record<string, unknown>[];
  /** Accepted bearer tokens → user name. */
  tokens?: Record<string, string>;
  /** Verbs answered with 403. */
  forbidden?: ForbiddenRule[];
  /** Runs before each authenticated request is handled (may call `server.mutate`). */
  beforeRequest?: (req: LoggedRequest, server: KubeApiServer) => void | Promise<void>;
  /** Namespace written into the generated kubeconfig's context. */
  contextNamespace?: string;
  /** Interval of BOOKMARK events on watches that asked for them (default 1 000 ms; 0: never). */
  bookmarkIntervalMs?: number;
  /**
   * Extra routes answered before the built-in ones (authenticated requests only): return a
   * status and a JSON body (or bytes with their content type) to answer, or `undefined` to fall
   * through.
   */
  routes?: (
    method: string,
    path: string,
  ) => { status: number; body: unknown; contentType?: string } | undefined;
}

/** A condition as a controller writes it on `status.conditions`. */
export interface TestCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message?: string;
  /** Default: the object's current `metadata.generation`. */
  observedGeneration?: number;
  /** Default: now, or kept when status did not change. */
  lastTransitionTime?: string;
}

/** A running test API server. */
export interface KubeApiServer {
  /** `https://127.0.0.1:<port>`. */
  url: string;
  /** Temp dir holding certs and the kubeconfig. */
  dir: string;
  /** Kubeconfig using client-certificate auth (context `test`, cluster `test`, user `admin`). */
  kubeconfigPath: string;
  /** PEMs and their files. */
  certs: {
    caPem: string;
    caPath: string;
    clientCertPem: string;
    clientCertPath: string;
    clientKeyPem: string;
    clientKeyPath: string;
  };
  /** Every authenticated or rejected request, in order. */
  requests: LoggedRequest[];
  /** Current copy of a KarsSandbox (or of another kind with `resource`). */
  get(namespace: string, name: string, resource?: string): Record<string, unknown> | undefined;
  /** Changes an object in place and bumps its resourceVersion (like a concurrent writer). */
  mutate(
    namespace: string,
    name: string,
    fn: (obj: Record<string, unknown>) => void,
    resource?: string,
  ): void;
  /**
   * Creates or replaces an object (like `kubectl apply` by Argo CD / Flux): spec changes bump
   * `metadata.generation`; status is kept.
   */
  apply(obj: Record<string, unknown>): Record<string, unknown>;
  /** Deletes an object (DELETED event). */
  remove(namespace: string, name: string, resource?: string): void;
  /**
   * Writes `status.conditions` (merged by type) and `status.observedGeneration`, as the kars
   * controller would; bumps resourceVersion (not generation).
   */
  setConditions(namespace: string, name: string, conditions: TestCondition[]): void;
  /** Ends every open watch with a 410 Gone ERROR event and compacts the history (relist needed). */
  expireWatches(): void;
  /** Compacts the event history: watches from an older resourceVersion get 410. */
  compact(): void;
  /** Resets every open watch connection (socket destroyed, no final chunk). */
  dropWatches(): void;
  /** Sends a BOOKMARK now on every watch that allows them. */
  bookmark(): void;
  /** Open watch streams. */
  readonly openWatches: number;
  /** Current resourceVersion of the store. */
  readonly resourceVersion: string;
  /** Mutable list of 403 rules. */
  forbidden: ForbiddenRule[];
  /** Stops the server and removes the temp dir. */
  stop(): Promise<void>;
}

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const GROUP = "kars.azure.com";
const VERSION = "v1alpha1";
const PLURAL = "karssandboxes";

interface ResourceDef {
  plural: string;
  group: string;
  version: string;
  kind: string;
  singular: string;
  shortNames: string[];
}
const RESOURCES: Record<string, ResourceDef> = {
  karssandboxes: {
    plural: PLURAL,
    group: GROUP,
    version: VERSION,
    kind: "KarsSandbox",
    singular: "karssandbox",
    shortNames: ["cs"],
  },
  configmaps: {
    plural: "configmaps",
    group: "",
    version: "v1",
    kind: "ConfigMap",
    singular: "configmap",
    shortNames: ["cm"],
  },
};
const KIND_TO_RESOURCE: Record<string, string> = { KarsSandbox: PLURAL, ConfigMap: "configmaps" };

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Generates a CA, a server certificate for 127.0.0.1/localhost and a client certificate
 * (CN `admin`, O `system:masters`) in `dir`.
 */
export async function makeTestPki(dir: string, clientCN = "admin"): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=kars-test-ca",
  ]);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  await Deno.writeTextFile(`${dir}/client.ext`, "extendedKeyUsage=clientAuth\n");
  for (
    const [n, subj] of [["server", "/CN=127.0.0.1"], ["client", `/O=system:masters/CN=${clientCN}`]]
  ) {
    await openssl(dir, ["req", ...ec, "-keyout", `${n}.key`, "-out", `${n}.csr`, "-subj", subj]);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${n}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${n}.crt`,
      "-days",
      "2",
      "-extfile",
      `${n}.ext`,
    ]);
  }
}

const PKI_FILES = ["ca.crt", "server.crt", "server.key", "client.crt", "client.key"];
let pkiOnce: Promise<Record<string, string>> | undefined;

/**
 * The test PKI, generated once per process (openssl is slow on a loaded machine) and kept in
 * memory; the generation dir is removed at once.
 */
function testPki(): Promise<Record<string, string>> {
  pkiOnce ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "kars-pki-" });
    try {
      await makeTestPki(dir);
      const out: Record<string, string> = {};
      for (const f of PKI_FILES) out[f] = await Deno.readTextFile(`${dir}/${f}`);
      return out;
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  pkiOnce.catch(() => (pkiOnce = undefined));
  return pkiOnce;
}

function b64(s: string): string {
  return btoa(s);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Obj = target && typeof target === "object" && !Array.isArray(target)
    ? { ...(target as Obj) }
    : {};
  for (const [k, v] of Object.entries(patch as Obj)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function status(code: number, reason: string, message: string, details?: Obj): Obj {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/**
 * Starts the server.
 *
 * @example
 * ```ts
 * const srv = await startKubeApiServer({ objects: [sandbox] });
 * try { ... srv.kubeconfigPath ... srv.requests ... } finally { await srv.stop(); }
 * ```
 */
export async function startKubeApiServer(opts: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const pki = await testPki();
  const dir = await Deno.makeTempDir({ prefix: "kars-kube-" });
  for (const [f, pem] of Object.entries(pki)) await Deno.writeTextFile(`${dir}/${f}`, pem);
  const rd = (f: string) => Deno.readTextFileSync(`${dir}/${f}`);
  /** resource → "ns/name" → object */
  const stores = new Map<string, Map<string, Obj>>(
    Object.keys(RESOURCES).map((r) => [r, new Map()]),
  );
  let rv = 1000;
  /** Events after `compactedRv`, in order. */
  let history: { rv: number; resource: string; type: string; object: Obj }[] = [];
  let compactedRv = rv;
  const key = (ns: string, n: string) => `${ns}/${n}`;
  const storeOf = (resource = PLURAL) => {
    const s = stores.get(resource);
    if (!s) throw new Error(`unknown resource ${resource}`);
    return s;
  };
  const now = () =>
    new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(".000", "");

  interface Watch {
    resource: string;
    ns?: string;
    fieldName?: string;
    bookmarks: boolean;
    table: boolean;
    res: ServerResponse;
    end(): void;
  }
  const watches = new Set<Watch>();

  const matches = (
    w: { resource: string; ns?: string; fieldName?: string },
    o: Obj,
    resource: string,
  ) =>
    w.resource === resource && (!w.ns || o.metadata.namespace === w.ns) &&
    (!w.fieldName || o.metadata.name === w.fieldName);

  const emit = (resource: string, type: string, object: Obj) => {
    const ev = {
      rv: Number(object.metadata.resourceVersion),
      resource,
      type,
      object: structuredClone(object),
    };
    history.push(ev);
    if (history.length > 100_000) history = history.slice(-50_000);
    for (const w of watches) {
      if (matches(w, object, resource)) writeEvent(w, type, object);
    }
  };

  const writeEvent = (w: Watch, type: string, object: Obj) => {
    const obj = w.table && type !== "BOOKMARK" && type !== "ERROR"
      ? table(w.resource, [object], undefined, false)
      : object;
    try {
      w.res.write(JSON.stringify({ type, object: obj }) + "\n");
    } catch { /* gone */ }
  };

  const put = (resource: string, o: Obj, type?: string) => {
    o.metadata.resourceVersion = String(++rv);
    storeOf(resource).set(key(o.metadata.namespace, o.metadata.name), o);
    emit(resource, type ?? "MODIFIED", o);
  };

  for (const o of opts.objects ?? []) {
    const c = structuredClone(o) as Obj;
    const resource = KIND_TO_RESOURCE[c.kind ?? "KarsSandbox"];
    if (!resource) throw new Error(`unsupported kind ${c.kind}`);
    const def = RESOURCES[resource];
    c.apiVersion ??= def.group ? `${def.group}/${def.version}` : def.version;
    c.kind ??= def.kind;
    c.metadata = { ...(c.metadata ?? {}) };
    c.metadata.resourceVersion = String(++rv);
    if (resource === PLURAL) c.metadata.generation ??= 1;
    c.metadata.uid ??= crypto.randomUUID();
    c.metadata.creationTimestamp ??= now();
    storeOf(resource).set(key(c.metadata.namespace, c.metadata.name), c);
  }
  compactedRv = rv;
  const requests: LoggedRequest[] = [];
  const forbidden = [...(opts.forbidden ?? [])];
  const tokens = opts.tokens ?? {};

  const api: KubeApiServer = {
    url: "",
    dir,
    kubeconfigPath: `${dir}/kubeconfig.yaml`,
    certs: {
      caPem: rd("ca.crt"),
      caPath: `${dir}/ca.crt`,
      clientCertPem: rd("client.crt"),
      clientCertPath: `${dir}/client.crt`,
      clientKeyPem: rd("client.key"),
      clientKeyPath: `${dir}/client.key`,
    },
    requests,
    forbidden,
    get: (ns, n, resource) => {
      const o = storeOf(resource).get(key(ns, n));
      return o ? structuredClone(o) : undefined;
    },
    mutate: (ns, n, fn, resource = PLURAL) => {
      const o = storeOf(resource).get(key(ns, n));
      if (!o) throw new Error(`no object ${ns}/${n}`);
      fn(o);
      put(resource, o);
    },
    apply: (input) => {
      const c = structuredClone(input) as Obj;
      const resource = KIND_TO_RESOURCE[c.kind ?? "KarsSandbox"];
      if (!resource) throw new Error(`unsupported kind ${c.kind}`);
      const def = RESOURCES[resource];
      c.apiVersion ??= def.group ? `${def.group}/${def.version}` : def.version;
      c.kind ??= def.kind;
      const cur = storeOf(resource).get(key(c.metadata.namespace, c.metadata.name));
      if (!cur) {
        c.metadata = { ...c.metadata, uid: crypto.randomUUID(), creationTimestamp: now() };
        if (resource === PLURAL) c.metadata.generation = 1;
        put(resource, c, "ADDED");
        return structuredClone(c);
      }
      const next = mergePatch(cur, { ...c, status: undefined }) as Obj;
      next.metadata = { ...cur.metadata, ...next.metadata };
      if (resource === PLURAL && JSON.stringify(next.spec) !== JSON.stringify(cur.spec)) {
        next.metadata.generation = (cur.metadata.generation ?? 1) + 1;
      }
      next.status = cur.status;
      if (next.status === undefined) delete next.status;
      put(resource, next);
      return structuredClone(next);
    },
    remove: (ns, n, resource = PLURAL) => {
      const s = storeOf(resource);
      const o = s.get(key(ns, n));
      if (!o) throw new Error(`no object ${ns}/${n}`);
      s.delete(key(ns, n));
      o.metadata.resourceVersion = String(++rv);
      emit(resource, "DELETED", o);
    },
    setConditions: (ns, n, conditions) => {
      const o = storeOf(PLURAL).get(key(ns, n));
      if (!o) throw new Error(`no object ${ns}/${n}`);
      const gen = o.metadata.generation ?? 1;
      const status = { ...(o.status ?? {}) };
      const list: Obj[] = [...(status.conditions ?? [])];
      for (const c of conditions) {
        const i = list.findIndex((x) => x.type === c.type);
        const prev = i >= 0 ? list[i] : undefined;
        const entry = {
          type: c.type,
          status: c.status,
          observedGeneration: c.observedGeneration ?? gen,
          lastTransitionTime: c.lastTransitionTime ??
            (prev && prev.status === c.status ? prev.lastTransitionTime : now()),
          reason: c.reason,
          message: c.message ?? "",
        };
        if (i >= 0) list[i] = entry;
        else list.push(entry);
      }
      status.conditions = list;
      status.observedGeneration = Math.max(
        ...conditions.map((c) => c.observedGeneration ?? gen),
      );
      o.status = status;
      put(PLURAL, o);
    },
    expireWatches: () => {
      compactedRv = rv;
      history = [];
      for (const w of [...watches]) {
        writeEvent(w, "ERROR", gone(`too old resource version: ${rv - 1} (${rv})`));
        w.end();
      }
    },
    compact: () => {
      compactedRv = rv;
      history = [];
    },
    dropWatches: () => {
      for (const w of [...watches]) {
        watches.delete(w);
        w.res.socket?.destroy();
      }
    },
    bookmark: () => {
      for (const w of watches) if (w.bookmarks) sendBookmark(w);
    },
    get openWatches() {
      return watches.size;
    },
    get resourceVersion() {
      return String(rv);
    },
    stop: async () => {},
  };

  const sendBookmark = (w: Watch) => {
    const def = RESOURCES[w.resource];
    writeEvent(w, "BOOKMARK", {
      kind: def.kind,
      apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
      metadata: { resourceVersion: String(rv) },
    });
  };

  const send = (res: ServerResponse, code: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(code, { "content-type": "application/json" });
    res.end(text);
  };
  const notFound = (res: ServerResponse) =>
    send(res, 404, status(404, "NotFound", "the server could not find the requested resource"));

  const table = (resource: string, items: Obj[], listRv: string | undefined, withList = true) => {
    const sandbox = resource === PLURAL;
    const columns = [
      { name: "Name", type: "string", format: "name", description: "Name", priority: 0 },
      sandbox
        ? { name: "Phase", type: "string", format: "", description: "", priority: 0 }
        : { name: "Data", type: "string", format: "", description: "", priority: 0 },
      { name: "Age", type: "string", format: "", description: "", priority: 0 },
    ];
    const age = (o: Obj) => {
      const t = Date.parse(o.metadata.creationTimestamp ?? "");
      if (!Number.isFinite(t)) return "<unknown>";
      const s = Math.max(0, Math.floor((Date.now() - t) / 1000));
      return s < 120 ? `${s}s` : `${Math.floor(s / 60)}m`;
    };
    return {
      kind: "Table",
      apiVersion: "meta.k8s.io/v1",
      metadata: withList ? { resourceVersion: listRv } : {},
      ...(withList ? { columnDefinitions: columns } : { columnDefinitions: null }),
      rows: items.map((o) => ({
        cells: [
          o.metadata.name,
          sandbox ? (o.status?.phase ?? "") : Object.keys(o.data ?? {}).length,
          age(o),
        ],
        object: {
          kind: "PartialObjectMetadata",
          apiVersion: "meta.k8s.io/v1",
          metadata: o.metadata,
        },
      })),
    };
  };

  const discovery = (parts: string[]): Obj | undefined => {
    const resList = (groupVersion: string, defs: ResourceDef[]) => ({
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion,
      resources: defs.flatMap((d) => [
        {
          name: d.plural,
          singularName: d.singular,
          namespaced: true,
          kind: d.kind,
          verbs: ["get", "list", "patch", "watch"],
          shortNames: d.shortNames,
        },
        ...(d.plural === PLURAL
          ? [{
            name: `${d.plural}/status`,
            singularName: "",
            namespaced: true,
            kind: d.kind,
            verbs: ["get"],
          }]
          : []),
      ]),
    });
    const p = parts.join("/");
    if (p === "version") {
      return {
        major: "1",
        minor: "32",
        gitVersion: "v1.32.0-kars-test",
        platform: "linux/amd64",
      };
    }
    if (p === "api") {
      return {
        kind: "APIVersions",
        versions: ["v1"],
        serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1" }],
      };
    }
    if (p === "api/v1") return resList("v1", [RESOURCES.configmaps]);
    if (p === "apis") {
      return {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: [{
          name: GROUP,
          versions: [{ groupVersion: `${GROUP}/${VERSION}`, version: VERSION }],
          preferredVersion: { groupVersion: `${GROUP}/${VERSION}`, version: VERSION },
        }],
      };
    }
    if (p === `apis/${GROUP}`) {
      return {
        kind: "APIGroup",
        apiVersion: "v1",
        name: GROUP,
        versions: [{ groupVersion: `${GROUP}/${VERSION}`, version: VERSION }],
        preferredVersion: { groupVersion: `${GROUP}/${VERSION}`, version: VERSION },
      };
    }
    if (p === `apis/${GROUP}/${VERSION}`) {
      return resList(`${GROUP}/${VERSION}`, [RESOURCES.karssandboxes]);
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Uint8Array[] = [];
    for await (const c of req) chunks.push(c as Uint8Array);
    const bodyText = new TextDecoder().decode(
      chunks.length ? new Uint8Array(chunks.flatMap((c) => [...c])) : new Uint8Array(),
    );
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    // deno-lint-ignore no-explicit-any
    const sock = req.socket as any;
    let user = "";
    const cert = sock.authorized ? sock.getPeerCertificate?.() : undefined;
    if (cert?.subject?.CN) user = String(cert.subject.CN);
    const authz = req.headers.authorization;
    if (!user && typeof authz === "string" && authz.startsWith("Bearer ")) {
      const u = tokens[authz.slice(7)];
      if (u) user = `token:${u}`;
    }
    const entry = { method, path, user: user || "anonymous" };
    requests.push(entry);
    if (!user) {
      return send(res, 401, status(401, "Unauthorized", "Unauthorized"));
    }
    await opts.beforeRequest?.(entry, api);
    const extra = opts.routes?.(method, path);
    if (extra?.body instanceof Uint8Array) {
      res.writeHead(extra.status, { "content-type": extra.contentType ?? "application/json" });
      return res.end(extra.body);
    }
    if (extra) return send(res, extra.status, extra.body);

    const url = new URL(path, "https://x");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (method === "GET") {
      const d = discovery(parts);
      if (d) return send(res, 200, d);
      if (parts.length === 4 && parts[0] === "api" && parts[2] === "namespaces") {
        // A namespace exists when an object lives in it (kubectl asks after a 404).
        const ns = parts[3];
        const exists = [...stores.values()].some((s) =>
          [...s.values()].some((o) => o.metadata.namespace === ns)
        );
        return exists
          ? send(res, 200, {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: ns },
            status: { phase: "Active" },
          })
          : send(
            res,
            404,
            status(404, "NotFound", `namespaces "${ns}" not found`, {
              name: ns,
              kind: "namespaces",
            }),
          );
      }
    }
    // /apis/kars.azure.com/v1alpha1[/namespaces/{ns}]/karssandboxes[/{name}]
    // /api/v1[/namespaces/{ns}]/configmaps[/{name}]
    let rest: string[];
    let def: ResourceDef;
    if (parts[0] === "apis" && parts[1] === GROUP && parts[2] === VERSION) {
      rest = parts.slice(3);
      def = RESOURCES.karssandboxes;
    } else if (parts[0] === "api" && parts[1] === "v1") {
      rest = parts.slice(2);
      def = RESOURCES.configmaps;
    } else {
      return notFound(res);
    }
    let ns: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    if (rest[0] !== def.plural || rest.length > 2) return notFound(res);
    const resource = def.plural;
    const store = storeOf(resource);
    const name = rest[1];
    const isWatch = ["1", "true"].includes(url.searchParams.get("watch") ?? "");
    const verb = method === "GET"
      ? (name ? "get" : isWatch ? "watch" : "list")
      : method === "PATCH"
      ? "patch"
      : "";
    if (!verb || (verb === "patch" && !name)) {
      return send(
        res,
        405,
        status(
          405,
          "MethodNotAllowed",
          `the server does not allow this method on the requested resource`,
        ),
      );
    }
    if (verb !== "list" && verb !== "watch" && !ns) return notFound(res);
    const denied = forbidden.find((f) =>
      f.verb === verb && (!f.namespace || f.namespace === ns) &&
      (f.resource ?? PLURAL) === resource
    );
    if (denied) {
      const subject = `${resource}${def.group ? `.${def.group}` : ""}${name ? ` "${name}"` : ""}`;
      const scope = ns ? `in the namespace "${ns}"` : "at the cluster scope";
      return send(
        res,
        403,
        status(
          403,
          "Forbidden",
          `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${def.group}" ${scope}`,
          { ...(name ? { name } : {}), group: def.group, kind: resource },
        ),
      );
    }
    const wantsTable = /as=Table/.test(String(req.headers.accept ?? ""));
    let fieldName: string | undefined;
    let fieldNs: string | undefined;
    const fs = url.searchParams.get("fieldSelector");
    const fieldTerms: [string, string, string][] = [];
    if (fs) {
      for (const term of fs.split(",")) {
        const m = /^(metadata\.name|metadata\.namespace)(==?|!=)(.*)$/.exec(term);
        if (!m) {
          return send(
            res,
            400,
            status(
              400,
              "BadRequest",
              `unable to parse requirement: field label not supported: ${term}`,
            ),
          );
        }
        fieldTerms.push([m[1], m[2], m[3]]);
        if (m[2] !== "!=" && m[1] === "metadata.name") fieldName = m[3];
        if (m[2] !== "!=" && m[1] === "metadata.namespace") fieldNs = m[3];
      }
    }
    const selected = (o: Obj) =>
      (!ns || o.metadata.namespace === ns) &&
      fieldTerms.every(([f, op, v]) => {
        const field = f === "metadata.name" ? "name" : "namespace";
        return (o.metadata[field] === v) === (op !== "!=");
      });
    if (verb === "watch") {
      const from = url.searchParams.get("resourceVersion");
      const fromRv = from === null || from === "" || from === "0" ? undefined : Number(from);
      if (fromRv !== undefined && !Number.isInteger(fromRv)) {
        return send(res, 400, status(400, "BadRequest", `invalid resourceVersion ${from}`));
      }
      res.writeHead(200, {
        "content-type": "application/json",
        "transfer-encoding": "chunked",
        "cache-control": "no-cache, private",
      });
      res.flushHeaders();
      const timeout = Number(url.searchParams.get("timeoutSeconds") ?? "1800");
      let timer: ReturnType<typeof setTimeout> | undefined;
      let bm: ReturnType<typeof setInterval> | undefined;
      const w: Watch = {
        resource,
        ns: ns ?? fieldNs,
        fieldName,
        bookmarks: url.searchParams.get("allowWatchBookmarks") === "true",
        table: wantsTable,
        res,
        end: () => {
          watches.delete(w);
          clearTimeout(timer);
          clearInterval(bm);
          try {
            res.end();
          } catch { /* gone */ }
        },
      };
      res.on("close", () => {
        watches.delete(w);
        clearTimeout(timer);
        clearInterval(bm);
      });
      if (fromRv !== undefined && fromRv < compactedRv) {
        writeEvent(w, "ERROR", gone(`too old resource version: ${fromRv} (${rv})`));
        return w.end();
      }
      if (fromRv === undefined) {
        // "Get State and Start at Most Recent": synthetic ADDED for everything that matches.
        for (const o of store.values()) if (selected(o)) writeEvent(w, "ADDED", o);
      } else {
        for (const ev of history) {
          if (ev.rv > fromRv && matches(w, ev.object, ev.resource) && selected(ev.object)) {
            writeEvent(w, ev.type, ev.object);
          }
        }
      }
      watches.add(w);
      if (Number.isFinite(timeout) && timeout > 0) {
        timer = setTimeout(() => w.end(), timeout * 1000);
      }
      const every = opts.bookmarkIntervalMs ?? 1000;
      if (w.bookmarks && every > 0) bm = setInterval(() => sendBookmark(w), every);
      return;
    }
    if (verb === "list") {
      let items = [...store.values()].filter(selected);
      items.sort((a, b) =>
        key(a.metadata.namespace, a.metadata.name) < key(b.metadata.namespace, b.metadata.name)
          ? -1
          : 1
      );
      const limit = Number(url.searchParams.get("limit") ?? "0");
      const cont = url.searchParams.get("continue");
      let listRv = String(rv);
      let next: string | undefined;
      let start = 0;
      if (cont) {
        try {
          const c = JSON.parse(atob(cont));
          start = c.start;
          listRv = c.rv;
        } catch {
          return send(res, 400, status(400, "BadRequest", "invalid continue token"));
        }
        if (Number(listRv) < compactedRv) {
          return send(
            res,
            410,
            status(
              410,
              "Expired",
              "The provided continue parameter is too old to display a consistent list result.",
            ),
          );
        }
      }
      if (limit > 0) {
        if (start + limit < items.length) {
          next = btoa(JSON.stringify({ start: start + limit, rv: listRv }));
        }
        items = items.slice(start, start + limit);
      }
      if (wantsTable) {
        const t = table(resource, items, listRv) as Obj;
        if (next) t.metadata.continue = next;
        return send(res, 200, t);
      }
      return send(res, 200, {
        apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
        kind: `${def.kind}List`,
        metadata: { resourceVersion: listRv, ...(next ? { continue: next } : {}) },
        items: items.map((o) => structuredClone(o)),
      });
    }
    const cur = store.get(key(ns!, name!));
    if (!cur) {
      return send(
        res,
        404,
        status(
          404,
          "NotFound",
          `${resource}${def.group ? `.${def.group}` : ""} "${name}" not found`,
          {
            name,
            group: def.group,
            kind: resource,
          },
        ),
      );
    }
    if (verb === "get") {
      return send(res, 200, wantsTable ? table(resource, [cur], String(rv)) : cur);
    }
    // PATCH
    const ct = String(req.headers["content-type"] ?? "").split(";")[0].trim();
    if (ct !== "application/merge-patch+json") {
      return send(
        res,
        415,
        status(
          415,
          "UnsupportedMediaType",
          `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json`,
        ),
      );
    }
    let patch: Obj;
    try {
      patch = JSON.parse(bodyText);
    } catch {
      return send(res, 400, status(400, "BadRequest", "error decoding patch: invalid JSON"));
    }
    const want = patch?.metadata?.resourceVersion;
    if (want !== undefined && want !== cur.metadata.resourceVersion) {
      return send(
        res,
        409,
        status(
          409,
          "Conflict",
          `Operation cannot be fulfilled on ${resource}.${def.group} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          { name, group: def.group, kind: resource },
        ),
      );
    }
    const next = mergePatch(cur, patch) as Obj;
    next.metadata = { ...next.metadata };
    next.metadata.name = cur.metadata.name;
    next.metadata.namespace = cur.metadata.namespace;
    next.metadata.uid = cur.metadata.uid;
    next.kind = cur.kind;
    next.apiVersion = cur.apiVersion;
    if (resource === PLURAL) {
      if (JSON.stringify(next.spec) !== JSON.stringify(cur.spec)) {
        next.metadata.generation = (cur.metadata.generation ?? 1) + 1;
      } else {
        next.metadata.generation = cur.metadata.generation;
      }
    }
    put(resource, next);
    return send(res, 200, next);
  };

  const server = https.createServer({
    key: rd("server.key"),
    cert: rd("server.crt"),
    ca: rd("ca.crt"),
    requestCert: true,
    rejectUnauthorized: false,
  }, (req, res) => {
    handle(req, res).catch((e) => {
      try {
        send(res, 500, status(500, "InternalError", String(e)));
      } catch { /* response already gone */ }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  api.url = `https://127.0.0.1:${port}`;
  const ctxNs = opts.contextNamespace ? `\n    namespace: ${opts.contextNamespace}` : "";
  await Deno.writeTextFile(
    api.kubeconfigPath,
    `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${api.url}
    certificate-authority-data: ${b64(api.certs.caPem)}
users:
- name: admin
  user:
    client-certificate-data: ${b64(api.certs.clientCertPem)}
    client-key-data: ${b64(api.certs.clientKeyPem)}
contexts:
- name: test
  context:
    cluster: test
    user: admin${ctxNs}
current-context: test
`,
  );
  api.stop = async () => {
    for (const w of [...watches]) w.end();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // deno-lint-ignore no-explicit-any
      (server as any).closeAllConnections?.();
    });
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  return api;
}

function gone(message: string): Obj {
  return status(410, "Expired", message);
}
