/**
 * The interactive OIDC sign-in for keyless signing on a terminal: OAuth 2.0 authorization
 * code flow with PKCE (S256), a one-shot loopback redirect listener on 127.0.0.1, and the
 * sign-in URL printed for the user to open (nothing is launched). The identity token is
 * returned to the caller only.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { toBase64, utf8 } from "../encoding/bytes.ts";
import { sha256Bytes } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { callService, type FetchFn, parseServiceJson } from "./http.ts";
import { decodeJwtClaims } from "./oidc.ts";

/** Sigstore's public-good OIDC issuer. */
export const SIGSTORE_OIDC_ISSUER = "https://oauth2.sigstore.dev/auth";

/** Options of {@link interactiveIdentityToken}. */
export interface InteractiveOidcOptions {
  /** OIDC issuer (default {@link SIGSTORE_OIDC_ISSUER}). */
  issuer?: string;
  /** OAuth client ID (default `sigstore`). */
  clientId?: string;
  /** Prints one line for the user (the URL to open); e.g. write to stderr. */
  print: (line: string) => void;
  /** Gives up after this long (default 5 minutes). */
  timeoutMs?: number;
  /** Transport for discovery and the token exchange. */
  fetch?: FetchFn;
}

function b64url(b: Uint8Array): string {
  return toBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function random(n = 32): string {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

/**
 * Runs the browser sign-in and returns the ID token.
 *
 * @example
 * ```ts
 * import { interactiveIdentityToken } from "./oidc_interactive.ts";
 * const token = await interactiveIdentityToken({ print: (l) => console.error(l) });
 * ```
 */
export async function interactiveIdentityToken(opts: InteractiveOidcOptions): Promise<string> {
  const issuer = (opts.issuer ?? SIGSTORE_OIDC_ISSUER).replace(/\/+$/, "");
  const clientId = opts.clientId ?? "sigstore";
  const call = {
    service: "OIDC provider",
    hint: `check the issuer ${issuer}, or use SIGSTORE_ID_TOKEN or an identity token file`,
    fixOptions: ["identityTokenFile"],
    fetch: opts.fetch,
  };
  const config = parseServiceJson(
    await callService(`${issuer}/.well-known/openid-configuration`, { method: "GET" }, call),
    "OIDC provider",
  ) as { authorization_endpoint?: unknown; token_endpoint?: unknown } | null;
  const authz = config?.authorization_endpoint, tokenUrl = config?.token_endpoint;
  if (typeof authz !== "string" || typeof tokenUrl !== "string") {
    throw new KarsError("SIGN", `OIDC provider ${issuer}: discovery document lacks endpoints`);
  }
  const verifier = random(32);
  const challenge = b64url(sha256Bytes(utf8(verifier)));
  const state = random(16), nonce = random(16);

  let settle!: (r: { code?: string; error?: string }) => void;
  const result = new Promise<{ code?: string; error?: string }>((res) => (settle = res));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/auth/callback") {
      res.writeHead(404).end();
      return;
    }
    const ok = url.searchParams.get("state") === state && url.searchParams.get("code");
    res.writeHead(ok ? 200 : 400, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(ok ? "Signed in. You may close this window." : "Sign-in failed.");
    if (url.searchParams.get("state") !== state) settle({ error: "state mismatch" });
    else if (!ok) settle({ error: url.searchParams.get("error") ?? "no code" });
    else settle({ code: url.searchParams.get("code")! });
  });
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(0, "127.0.0.1", () => res());
  });
  const port = (server.address() as AddressInfo).port;
  const redirectUri = `http://localhost:${port}/auth/callback`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const u = new URL(authz);
    for (
      const [k, v] of Object.entries({
        response_type: "code",
        client_id: clientId,
        redirect_uri: redirectUri,
        scope: "openid email",
        state,
        nonce,
        code_challenge: challenge,
        code_challenge_method: "S256",
      })
    ) u.searchParams.set(k, v);
    opts.print(`Open this URL in a browser to sign in for keyless signing:\n${u.toString()}`);
    const timeout = new Promise<{ error: string }>((res) => {
      timer = setTimeout(
        () => res({ error: "timed out waiting for the browser sign-in" }),
        opts.timeoutMs ?? 300_000,
      );
    });
    const r = await Promise.race([result, timeout]);
    if (!("code" in r) || !r.code) {
      throw new KarsError("SIGN", `interactive sign-in failed: ${r.error}`);
    }
    const body = await callService(tokenUrl, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: r.code,
        redirect_uri: redirectUri,
        client_id: clientId,
        code_verifier: verifier,
      }).toString(),
    }, { ...call, secrets: [r.code, verifier] });
    // deno-lint-ignore no-explicit-any
    const idToken = (parseServiceJson(body, "OIDC provider") as any)?.id_token;
    if (typeof idToken !== "string") {
      throw new KarsError("SIGN", "the OIDC provider returned no id_token");
    }
    let claims;
    try {
      claims = decodeJwtClaims(idToken);
    } catch {
      throw new KarsError("SIGN", "the OIDC provider returned a malformed id_token");
    }
    if (claims.nonce !== nonce) throw new KarsError("SIGN", "the id_token nonce does not match");
    return idToken;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    await new Promise<void>((res) => server.close(() => res()));
    server.closeAllConnections?.();
  }
}
