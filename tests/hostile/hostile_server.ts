/**
 * A small hostile HTTP server for the attack tests: binds a loopback address (127.0.0.1, or
 * 127.0.0.2, 127.0.0.3, … — on Linux the whole 127.0.0.0/8 is loopback, so each address is a
 * distinct "host" to the client's same-host rules), answers with a handler the test writes,
 * and records every request: method, path, `Authorization`, and the body (so credentials sent
 * in a form — OAuth2 refresh tokens, Entra tokens — are seen too).
 *
 * Names that are not IP literals (`evil.azurecr.io`) are mapped to such servers by
 * {@link mappedFetch}, a `fetch` the test injects into the CLI: the client believes it talks
 * HTTPS to that name, and the request reaches the loopback server over HTTP.
 */

/** One request seen. */
export interface Seen {
  method: string;
  path: string;
  authorization: string | null;
  body: string;
}

/** A running hostile server. */
export interface Hostile {
  /** `ADDR:PORT`. */
  host: string;
  /** `http://ADDR:PORT`. */
  url: string;
  /** Requests seen, in order. */
  seen: Seen[];
  /** True when any request carried `needle` in its Authorization, path or body. */
  received(needle: string): boolean;
  stop(): Promise<void>;
}

/** Starts a hostile server on `hostname` (default 127.0.0.1), port chosen by the system. */
export function startHostile(
  handler: (req: Request, url: URL, seen: Seen) => Response | Promise<Response>,
  hostname = "127.0.0.1",
): Promise<Hostile> {
  const seen: Seen[] = [];
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname,
      port: 0,
      onListen: () => {},
    }, async (req) => {
      const url = new URL(req.url);
      const body = req.body ? (await req.text()).slice(0, 65536) : "";
      const s: Seen = {
        method: req.method,
        path: url.pathname + url.search,
        authorization: req.headers.get("authorization"),
        body,
      };
      if (seen.length < 10_000) seen.push(s);
      return await handler(req, url, s);
    });
    const host = `${hostname}:${server.addr.port}`;
    resolve({
      host,
      url: `http://${host}`,
      seen,
      received: (needle) =>
        seen.some((s) =>
          (s.authorization ?? "").includes(needle) || s.path.includes(needle) ||
          s.body.includes(needle)
        ),
      stop: () => server.shutdown(),
    });
  });
}

/**
 * A `fetch` that sends requests for the named hosts (any scheme, default port) to loopback
 * servers over HTTP, and records every URL asked for. Other URLs go to the real fetch.
 */
export function mappedFetch(map: Record<string, string>): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  const f = (input: RequestInfo | URL, init?: RequestInit) => {
    const raw = input instanceof Request ? input.url : String(input);
    calls.push(raw);
    const u = new URL(raw);
    const to = map[u.hostname];
    if (to) {
      const target = new URL(`http://${to}${u.pathname}${u.search}`);
      return fetch(target, init);
    }
    return fetch(input, init);
  };
  return { fetch: f as typeof fetch, calls };
}

/** `WWW-Authenticate` challenge response with a distribution-style error body. */
export function challenge(header: string): Response {
  return new Response(
    JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }),
    { status: 401, headers: { "www-authenticate": header, "content-type": "application/json" } },
  );
}

/** A KarsSandbox GitOps manifest whose allowlistRef names `registry`. */
export function manifestNaming(registry: string, digest = "sha256:" + "ab".repeat(32)): string {
  return `apiVersion: kars.azure.com/v1alpha1
kind: KarsSandbox
metadata:
  name: web
  namespace: kars-web
spec:
  networkPolicy:
    defaultDeny: true
    egressMode: Strict
    allowedEndpoints:
      - host: api.github.com
        port: 443
    allowlistRef:
      registry: ${JSON.stringify(registry)}
      repository: policy/egress-allowlist/web
      digest: ${digest}
      artifactType: application/vnd.kars.egress-allowlist.v1+yaml
`;
}

/** A minimal SignerPolicy ConfigMap (optionally with `registries`). */
export function policyConfigMap(registries?: string[]): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: kars-signer-policy
data:
  fulcioIssuers: |
    https://token.actions.githubusercontent.com
  sanPatterns: |
    https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main
${registries ? `  registries: |\n${registries.map((r) => `    ${r}\n`).join("")}` : ""}`;
}
