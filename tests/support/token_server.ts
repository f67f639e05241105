/**
 * A Docker token server for tests (Deno.serve on 127.0.0.1): issues ES256 JWTs that
 * docker-registry trusts (`auth.token` with `rootcertbundle` = {@link TokenServer.certPem};
 * each JWT carries the self-signed certificate in `x5c`). Supports the GET flow with Basic
 * credentials and the OAuth2 POST flow (`password` and `refresh_token` grants), records
 * requests, and can revoke every token issued so far (to simulate expiry).
 *
 * @module
 */
import { fromBase64, toBase64 } from "../../lib/encoding/bytes.ts";

/** A running token server. */
export interface TokenServer {
  /** Token endpoint URL (`realm`). */
  realm: string;
  /** Service name put in `aud`. */
  service: string;
  /** Issuer put in `iss`. */
  issuer: string;
  /** PEM certificate for the registry's `rootcertbundle`. */
  certPem: string;
  /** Requests seen: method, scope(s), grant, whether Basic credentials were valid. */
  requests: { method: string; scopes: string[]; grant: string; authorized: boolean }[];
  /** Refresh token accepted by the POST flow. */
  refreshToken: string;
  /** True when `token` was issued here, not revoked, and grants `actions` on `repo`. */
  validate(token: string): boolean;
  /** Makes every token issued so far invalid for {@link TokenServer.validate}. */
  revokeAll(): void;
  /** Stops the server. */
  stop(): Promise<void>;
}

/** Options of {@link startTokenServer}. */
export interface TokenServerOptions {
  /** Credentials required for push (and for pull unless `anonymousPull`). */
  user: string;
  /** Password. */
  password: string;
  /** Grant pull to anonymous requests (default false). */
  anonymousPull?: boolean;
  /** Service name (default `kars-test-registry`). */
  service?: string;
}

function b64url(b: Uint8Array): string {
  return toBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function pemBody(pem: string): Uint8Array {
  return fromBase64(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""));
}

/**
 * Starts a token server with a fresh P-256 key and self-signed certificate (made by openssl).
 *
 * @example
 * ```ts
 * import { startTokenServer } from "./token_server.ts";
 * const ts = await startTokenServer({ user: "u", password: "p" });
 * await ts.stop();
 * ```
 */
export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const dir = await Deno.makeTempDir({ prefix: "kars-token-" });
  let certPem: string;
  let keyPem: string;
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "2",
        "-subj",
        "/CN=kars-test-token-issuer",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`openssl failed: ${new TextDecoder().decode(out.stderr)}`);
    certPem = await Deno.readTextFile(`${dir}/cert.pem`);
    keyPem = await Deno.readTextFile(`${dir}/key.pem`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const key = await crypto.subtle.importKey(
    "pkcs8",
    pemBody(keyPem) as Uint8Array<ArrayBuffer>,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const certDer = toBase64(pemBody(certPem));
  const service = opts.service ?? "kars-test-registry";
  const issuer = "kars-test-issuer";
  const refreshToken = `rt-${crypto.randomUUID()}`;
  const issued = new Set<string>();
  const requests: TokenServer["requests"] = [];

  async function sign(sub: string, access: unknown[]): Promise<string> {
    const enc = new TextEncoder();
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(enc.encode(JSON.stringify({ typ: "JWT", alg: "ES256", x5c: [certDer] })));
    const claims = b64url(enc.encode(JSON.stringify({
      iss: issuer,
      sub,
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    })));
    const sig = new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        enc.encode(`${header}.${claims}`),
      ),
    );
    const jwt = `${header}.${claims}.${b64url(sig)}`;
    issued.add(jwt);
    return jwt;
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    let scopes = url.searchParams.getAll("scope");
    let grant = "basic";
    let authorized = false;
    const want = "Basic " + btoa(`${opts.user}:${opts.password}`);
    if (req.method === "POST") {
      const form = new URLSearchParams(await req.text());
      grant = form.get("grant_type") ?? "";
      scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
      authorized = (grant === "refresh_token" && form.get("refresh_token") === refreshToken) ||
        (grant === "password" && form.get("username") === opts.user &&
          form.get("password") === opts.password);
    } else {
      authorized = req.headers.get("authorization") === want;
      if (req.headers.get("authorization") && !authorized) {
        requests.push({ method: req.method, scopes, grant, authorized });
        return new Response('{"details":"bad credentials"}', { status: 401 });
      }
    }
    requests.push({ method: req.method, scopes, grant, authorized });
    if (req.method === "POST" && !authorized) {
      return new Response('{"error":"invalid_grant"}', { status: 401 });
    }
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(":");
      const actions = rest.pop()!.split(",");
      const name = rest.join(":");
      const granted = authorized
        ? actions
        : opts.anonymousPull
        ? actions.filter((a) => a === "pull")
        : [];
      return { type, name, actions: granted };
    });
    const token = await sign(authorized ? opts.user : "", access);
    const body: Record<string, unknown> = { expires_in: 300, issued_at: new Date().toISOString() };
    if (req.method === "POST") {
      body.access_token = token;
      if (grant === "password") body.refresh_token = refreshToken;
    } else body.token = token;
    return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
  });
  const realm = `http://127.0.0.1:${server.addr.port}/token`;
  return {
    realm,
    service,
    issuer,
    certPem,
    requests,
    refreshToken,
    validate: (t) => issued.has(t),
    revokeAll: () => issued.clear(),
    stop: () => server.shutdown(),
  };
}
