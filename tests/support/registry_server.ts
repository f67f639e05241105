/**
 * A small in-process OCI distribution registry for tests (Deno.serve on 127.0.0.1), covering
 * what docker-registry 2.8 lacks — the referrers API, `n`/`last` pagination, single-POST
 * uploads completed with 201 — and able to inject faults (any status, wrong bytes, redirects)
 * and to require Basic or Bearer auth. State is in memory.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";

function digestOf(b: Uint8Array): string {
  return "sha256:" + Array.from(sha256(b), (x) => x.toString(16).padStart(2, "0")).join("");
}

/** One request seen by the server. */
export interface SeenRequest {
  /** Method. */
  method: string;
  /** Path and query, raw. */
  path: string;
  /** Status answered. */
  status: number;
  /** The `Authorization` header received, if any. */
  authorization: string | null;
}

/** A fault hook: return a Response to answer instead of the registry, or undefined. */
export type FaultHook = (
  req: Request,
  url: URL,
) => Response | undefined | Promise<Response | undefined>;

/** Options of {@link startRegistryServer}. */
export interface RegistryServerOptions {
  /** Serve `GET /v2/<name>/referrers/<digest>` (default true). */
  referrersApi?: boolean;
  /** Complete `POST ?digest=` uploads with 201 (default true). */
  singlePost?: boolean;
  /** Require Basic auth with these credentials. */
  basic?: { user: string; password: string };
  /** Require Bearer tokens; `validate` says whether a token is acceptable. */
  bearer?: { realm: string; service: string; validate: (token: string) => boolean };
  /** Injected faults, consulted first for every request. */
  fault?: FaultHook;
}

/** A running in-process registry. */
export interface RegistryServer {
  /** `127.0.0.1:PORT`. */
  host: string;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Requests seen, in order. */
  requests: SeenRequest[];
  /** Replace the fault hook. */
  setFault(f: FaultHook | undefined): void;
  /** Tags of a repository (test inspection). */
  tags(repo: string): Map<string, string>;
  /** Stops the server. */
  stop(): Promise<void>;
}

/** The raw `_state` query value issued with upload locations (checked verbatim on return). */
export const UPLOAD_STATE = "a%2Bb%2Fc%3D%3D.x+y";

interface Repo {
  blobs: Map<string, Uint8Array>;
  manifests: Map<string, { mediaType: string; bytes: Uint8Array }>;
  tags: Map<string, string>;
}

function err(status: number, code: string, message: string, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify({ errors: [{ code, message }] }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/**
 * Starts the in-process registry on a free 127.0.0.1 port.
 *
 * @example
 * ```ts
 * import { startRegistryServer } from "./registry_server.ts";
 * const reg = await startRegistryServer({ referrersApi: true });
 * try { (await fetch(`${reg.url}/v2/`)).body?.cancel(); } finally { await reg.stop(); }
 * ```
 */
export function startRegistryServer(opts: RegistryServerOptions = {}): Promise<RegistryServer> {
  const repos = new Map<string, Repo>();
  const uploads = new Map<string, { repo: string; data: Uint8Array[]; size: number }>();
  const requests: SeenRequest[] = [];
  let fault = opts.fault;
  const repoOf = (name: string): Repo => {
    let r = repos.get(name);
    if (!r) repos.set(name, r = { blobs: new Map(), manifests: new Map(), tags: new Map() });
    return r;
  };
  const authCheck = (req: Request, name: string | undefined): Response | undefined => {
    const a = req.headers.get("authorization");
    if (opts.basic) {
      const want = "Basic " + btoa(`${opts.basic.user}:${opts.basic.password}`);
      if (a !== want) {
        return err(401, "UNAUTHORIZED", "authentication required", {
          "www-authenticate": 'Basic realm="test"',
        });
      }
    }
    if (opts.bearer) {
      const tok = a?.startsWith("Bearer ") ? a.slice(7) : "";
      if (!tok || !opts.bearer.validate(tok)) {
        const scope = name ? `,scope="repository:${name}:pull"` : "";
        return err(401, "UNAUTHORIZED", "authentication required", {
          "www-authenticate":
            `Bearer realm="${opts.bearer.realm}",service="${opts.bearer.service}"${scope}`,
        });
      }
    }
    return undefined;
  };

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const f = await fault?.(req, url);
    if (f) return f;
    const p = url.pathname;
    if (p === "/v2/" || p === "/v2") return authCheck(req, undefined) ?? new Response("{}");
    const m = /^\/v2\/(.+)\/(blobs|manifests|tags|referrers)\/(.*)$/.exec(p);
    if (!m) return err(404, "NOT_FOUND", "no route");
    const [, name, kind, rest] = m;
    const denied = authCheck(req, name);
    if (denied) return denied;
    const repo = repoOf(name);
    const method = req.method;
    if (kind === "blobs" && rest.startsWith("uploads/")) {
      const id = rest.slice("uploads/".length);
      if (method === "POST" && id === "") {
        const mount = url.searchParams.get("mount");
        const from = url.searchParams.get("from");
        if (mount && from) {
          const b = repos.get(from)?.blobs.get(mount);
          if (b) {
            repo.blobs.set(mount, b);
            return new Response(null, {
              status: 201,
              headers: { location: `/v2/${name}/blobs/${mount}`, "docker-content-digest": mount },
            });
          }
        }
        const body = new Uint8Array(await req.arrayBuffer());
        const d = url.searchParams.get("digest");
        if (d && opts.singlePost !== false) {
          if (digestOf(body) !== d) return err(400, "DIGEST_INVALID", "digest mismatch");
          repo.blobs.set(d, body);
          return new Response(null, {
            status: 201,
            headers: { location: `/v2/${name}/blobs/${d}`, "docker-content-digest": d },
          });
        }
        const uid = crypto.randomUUID();
        uploads.set(uid, { repo: name, data: [], size: 0 });
        return new Response(null, {
          status: 202,
          headers: {
            location: `/v2/${name}/blobs/uploads/${uid}?_state=${UPLOAD_STATE}`,
            range: "0-0",
            "docker-upload-uuid": uid,
          },
        });
      }
      const up = uploads.get(id);
      if (!up || up.repo !== name) return err(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
      const rawState = /[?&]_state=([^&]*)/.exec(url.search)?.[1];
      if (rawState !== UPLOAD_STATE) return err(400, "BLOB_UPLOAD_INVALID", "_state altered");
      if (method === "PATCH") {
        const body = new Uint8Array(await req.arrayBuffer());
        const range = req.headers.get("content-range");
        if (range) {
          const [s, e] = range.split("-").map(Number);
          if (s !== up.size || e - s + 1 !== body.length) {
            return new Response(null, { status: 416 });
          }
        }
        up.data.push(body);
        up.size += body.length;
        return new Response(null, {
          status: 202,
          headers: {
            location: `/v2/${name}/blobs/uploads/${id}?_state=${UPLOAD_STATE}`,
            range: `0-${up.size - 1}`,
          },
        });
      }
      if (method === "PUT") {
        const body = new Uint8Array(await req.arrayBuffer());
        if (body.length) {
          up.data.push(body);
          up.size += body.length;
        }
        const all = new Uint8Array(up.size);
        let o = 0;
        for (const c of up.data) {
          all.set(c, o);
          o += c.length;
        }
        uploads.delete(id);
        const d = url.searchParams.get("digest");
        if (!d || digestOf(all) !== d) return err(400, "DIGEST_INVALID", "digest mismatch");
        repo.blobs.set(d, all);
        return new Response(null, {
          status: 201,
          headers: { location: `/v2/${name}/blobs/${d}`, "docker-content-digest": d },
        });
      }
      if (method === "DELETE") {
        uploads.delete(id);
        return new Response(null, { status: 204 });
      }
    }
    if (kind === "blobs") {
      const b = repo.blobs.get(rest);
      if (method === "DELETE") {
        if (!b) return err(404, "BLOB_UNKNOWN", "blob unknown");
        repo.blobs.delete(rest);
        return new Response(null, { status: 202 });
      }
      if (!b) return err(404, "BLOB_UNKNOWN", "blob unknown");
      const headers = {
        "content-length": String(b.length),
        "docker-content-digest": rest,
        "content-type": "application/octet-stream",
      };
      return new Response(method === "HEAD" ? null : (b as Uint8Array<ArrayBuffer>), { headers });
    }
    if (kind === "manifests") {
      if (method === "PUT") {
        const bytes = new Uint8Array(await req.arrayBuffer());
        const d = digestOf(bytes);
        const j = JSON.parse(new TextDecoder().decode(bytes));
        for (const desc of [j.config, ...(j.layers ?? [])]) {
          if (desc && !repo.blobs.has(desc.digest)) {
            return err(400, "MANIFEST_BLOB_UNKNOWN", `blob ${desc.digest} unknown`);
          }
        }
        for (const desc of j.manifests ?? []) {
          if (!repo.manifests.has(desc.digest)) {
            return err(400, "MANIFEST_BLOB_UNKNOWN", `manifest ${desc.digest} unknown`);
          }
        }
        if (rest.startsWith("sha256:") && rest !== d) return err(400, "DIGEST_INVALID", "mismatch");
        repo.manifests.set(d, {
          mediaType: req.headers.get("content-type") ?? j.mediaType,
          bytes,
        });
        if (!rest.startsWith("sha256:")) repo.tags.set(rest, d);
        const headers: Record<string, string> = {
          location: `/v2/${name}/manifests/${d}`,
          "docker-content-digest": d,
        };
        if (j.subject?.digest && opts.referrersApi !== false) {
          headers["oci-subject"] = j.subject.digest;
        }
        return new Response(null, { status: 201, headers });
      }
      const d = rest.startsWith("sha256:") ? rest : repo.tags.get(rest);
      const man = d ? repo.manifests.get(d) : undefined;
      if (method === "DELETE") {
        if (!d || !man) return err(404, "MANIFEST_UNKNOWN", "manifest unknown");
        repo.manifests.delete(d);
        for (const [t, v] of repo.tags) if (v === d) repo.tags.delete(t);
        return new Response(null, { status: 202 });
      }
      if (!d || !man) return err(404, "MANIFEST_UNKNOWN", "manifest unknown");
      const headers = {
        "content-type": man.mediaType,
        "content-length": String(man.bytes.length),
        "docker-content-digest": d,
      };
      return new Response(method === "HEAD" ? null : (man.bytes as Uint8Array<ArrayBuffer>), {
        headers,
      });
    }
    if (kind === "tags" && rest === "list") {
      if (!repos.get(name)?.tags.size) return err(404, "NAME_UNKNOWN", "repository unknown");
      let tags = [...repo.tags.keys()].sort();
      const last = url.searchParams.get("last");
      if (last) tags = tags.filter((t) => t > last);
      const n = url.searchParams.get("n");
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (n !== null && tags.length > Number(n)) {
        tags = tags.slice(0, Number(n));
        headers.link = `</v2/${name}/tags/list?n=${n}&last=${tags[tags.length - 1]}>; rel="next"`;
      }
      return new Response(JSON.stringify({ name, tags }), { headers });
    }
    if (kind === "referrers" && opts.referrersApi !== false && method === "GET") {
      const at = url.searchParams.get("artifactType");
      const list = [];
      for (const [d, man] of repo.manifests) {
        const j = JSON.parse(new TextDecoder().decode(man.bytes));
        if (j.subject?.digest !== rest) continue;
        const artifactType = j.artifactType ?? j.config?.mediaType;
        if (at && artifactType !== at) continue;
        list.push({ mediaType: man.mediaType, digest: d, size: man.bytes.length, artifactType });
      }
      list.sort((a, b) => (a.digest < b.digest ? -1 : 1));
      // One entry per page, to exercise Link pagination.
      const page = Number(url.searchParams.get("page") ?? "0");
      const headers: Record<string, string> = {
        "content-type": "application/vnd.oci.image.index.v1+json",
      };
      if (at) headers["oci-filters-applied"] = "artifactType";
      if (page + 1 < list.length) {
        const q = new URLSearchParams(url.search);
        q.set("page", String(page + 1));
        headers.link = `<${url.pathname}?${q}>; rel="next"`;
      }
      return new Response(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.index.v1+json",
          manifests: list.slice(page, page + 1),
        }),
        { headers },
      );
    }
    return err(404, "NOT_FOUND", "no route");
  }

  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
    }, async (req) => {
      const url = new URL(req.url);
      let res: Response;
      try {
        res = await handle(req);
      } catch (e) {
        res = err(500, "UNKNOWN", String(e));
      }
      requests.push({
        method: req.method,
        path: url.pathname + url.search,
        status: res.status,
        authorization: req.headers.get("authorization"),
      });
      return res;
    });
    const port = server.addr.port;
    resolve({
      host: `127.0.0.1:${port}`,
      url: `http://127.0.0.1:${port}`,
      requests,
      setFault: (f) => fault = f,
      tags: (r) => repos.get(r)?.tags ?? new Map(),
      stop: async () => {
        await server.shutdown();
      },
    });
  });
}

/**
 * A server that records the requests it receives (to assert what crossed a redirect) and
 * answers `body` to every GET.
 *
 * @example
 * ```ts
 * import { startRecordingServer } from "./registry_server.ts";
 * const s = await startRecordingServer(new Uint8Array([1]));
 * await s.stop();
 * ```
 */
export function startRecordingServer(
  body: Uint8Array,
): Promise<
  { url: string; seen: { path: string; authorization: string | null }[]; stop(): Promise<void> }
> {
  const seen: { path: string; authorization: string | null }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const u = new URL(req.url);
    seen.push({ path: u.pathname + u.search, authorization: req.headers.get("authorization") });
    return new Response(body as Uint8Array<ArrayBuffer>);
  });
  return Promise.resolve({
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    stop: () => server.shutdown(),
  });
}
