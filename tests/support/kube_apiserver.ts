/**
 * A small HTTPS Kubernetes API server for tests (no real kube-apiserver can be installed here).
 * It serves `karssandboxes.kars.azure.com` (GET, LIST per namespace and across namespaces with a
 * `metadata.name`/`metadata.namespace` field selector, PATCH with `application/merge-patch+json`
 * — RFC 7386, `resourceVersion` preconditions answered with a 409 `Status`), Kubernetes `Status`
 * error bodies, 403 for configured verbs, a request log, and a hook that runs before each request
 * (to change an object behind the client's back and force a 409).
 *
 * Authentication like kube-apiserver: a client certificate signed by the test CA, or a bearer
 * token from `tokens`. Anything else gets 401. It listens on 127.0.0.1 on a free port and is
 * built on `node:https` because `Deno.serve` cannot request client certificates.
 *
 * Certificates are made with `openssl` in a temp dir, which `stop()` removes.
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

/** A verb refused with 403 (optionally only in one namespace). */
export interface ForbiddenRule {
  verb: "get" | "list" | "patch";
  namespace?: string;
}

/** Options of {@link startKubeApiServer}. */
export interface KubeApiServerOptions {
  /** Initial objects (KarsSandbox); each needs metadata.name and metadata.namespace. */
  objects?: Record<string, unknown>[];
  /** Accepted bearer tokens → user name. */
  tokens?: Record<string, string>;
  /** Verbs answered with 403. */
  forbidden?: ForbiddenRule[];
  /** Runs before each authenticated request is handled (may call `server.mutate`). */
  beforeRequest?: (req: LoggedRequest, server: KubeApiServer) => void | Promise<void>;
  /** Namespace written into the generated kubeconfig's context. */
  contextNamespace?: string;
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
  /** Current copy of an object. */
  get(namespace: string, name: string): Record<string, unknown> | undefined;
  /** Changes an object in place and bumps its resourceVersion (like a concurrent writer). */
  mutate(namespace: string, name: string, fn: (obj: Record<string, unknown>) => void): void;
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
  const store = new Map<string, Obj>();
  let rv = 1000;
  const key = (ns: string, n: string) => `${ns}/${n}`;
  for (const o of opts.objects ?? []) {
    const c = structuredClone(o) as Obj;
    c.apiVersion ??= `${GROUP}/${VERSION}`;
    c.kind ??= "KarsSandbox";
    c.metadata = { ...(c.metadata ?? {}) };
    c.metadata.resourceVersion = String(++rv);
    c.metadata.generation ??= 1;
    c.metadata.uid ??= crypto.randomUUID();
    store.set(key(c.metadata.namespace, c.metadata.name), c);
  }
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
    get: (ns, n) => {
      const o = store.get(key(ns, n));
      return o ? structuredClone(o) : undefined;
    },
    mutate: (ns, n, fn) => {
      const o = store.get(key(ns, n));
      if (!o) throw new Error(`no object ${ns}/${n}`);
      fn(o);
      o.metadata.resourceVersion = String(++rv);
    },
    stop: async () => {},
  };

  const send = (res: ServerResponse, code: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(code, { "content-type": "application/json" });
    res.end(text);
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
    // /apis/kars.azure.com/v1alpha1[/namespaces/{ns}]/karssandboxes[/{name}]
    if (parts[0] !== "apis" || parts[1] !== GROUP || parts[2] !== VERSION) {
      return send(
        res,
        404,
        status(404, "NotFound", "the server could not find the requested resource"),
      );
    }
    let ns: string | undefined;
    let rest = parts.slice(3);
    if (rest[0] === "namespaces" && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    if (rest[0] !== PLURAL || rest.length > 2) {
      return send(
        res,
        404,
        status(404, "NotFound", "the server could not find the requested resource"),
      );
    }
    const name = rest[1];
    const verb = method === "GET" ? (name ? "get" : "list") : method === "PATCH" ? "patch" : "";
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
    if (verb !== "list" && !ns) {
      return send(
        res,
        404,
        status(404, "NotFound", "the server could not find the requested resource"),
      );
    }
    const denied = forbidden.find((f) => f.verb === verb && (!f.namespace || f.namespace === ns));
    if (denied) {
      const subject = `${PLURAL}.${GROUP}${name ? ` "${name}"` : ""}`;
      const scope = ns ? `in the namespace "${ns}"` : "at the cluster scope";
      return send(
        res,
        403,
        status(
          403,
          "Forbidden",
          `${subject} is forbidden: User "${user}" cannot ${verb} resource "${PLURAL}" in API group "${GROUP}" ${scope}`,
          { ...(name ? { name } : {}), group: GROUP, kind: PLURAL },
        ),
      );
    }
    if (verb === "list") {
      let items = [...store.values()].filter((o) => !ns || o.metadata.namespace === ns);
      const fs = url.searchParams.get("fieldSelector");
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
          const field = m[1] === "metadata.name" ? "name" : "namespace";
          items = items.filter((o) => (o.metadata[field] === m[3]) === (m[2] !== "!="));
        }
      }
      items.sort((a, b) =>
        key(a.metadata.namespace, a.metadata.name) < key(b.metadata.namespace, b.metadata.name)
          ? -1
          : 1
      );
      return send(res, 200, {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "KarsSandboxList",
        metadata: { resourceVersion: String(rv) },
        items: items.map((o) => structuredClone(o)),
      });
    }
    const cur = store.get(key(ns!, name!));
    if (!cur) {
      return send(
        res,
        404,
        status(404, "NotFound", `${PLURAL}.${GROUP} "${name}" not found`, {
          name,
          group: GROUP,
          kind: PLURAL,
        }),
      );
    }
    if (verb === "get") return send(res, 200, cur);
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
          `Operation cannot be fulfilled on ${PLURAL}.${GROUP} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          { name, group: GROUP, kind: PLURAL },
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
    next.metadata.resourceVersion = String(++rv);
    if (JSON.stringify(next.spec) !== JSON.stringify(cur.spec)) {
      next.metadata.generation = (cur.metadata.generation ?? 1) + 1;
    } else {
      next.metadata.generation = cur.metadata.generation;
    }
    store.set(key(ns!, name!), next);
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
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // deno-lint-ignore no-explicit-any
      (server as any).closeAllConnections?.();
    });
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  return api;
}
