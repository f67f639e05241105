/**
 * Where the OIDC identity token for keyless signing comes from, auto-detected in the
 * order of issue 6: `SIGSTORE_ID_TOKEN`, `OIDC_TOKEN`, GitHub Actions ambient credentials
 * (`ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, audience
 * `sigstore`), then the `identityTokenFile` option (a path, or `-` for stdin), then (on a terminal, when the caller
 * passes `interactive`) the browser sign-in of `oidc_interactive.ts`.
 *
 * The token is returned to the caller only; it never appears in an error message.
 *
 * @module
 */
import { fromBase64, fromUtf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import { callService, type FetchFn, parseServiceJson } from "./http.ts";

/** Options of {@link getIdentityToken}. */
export interface IdentityTokenOptions {
  /** The process environment (passed in: lib/ reads no globals). */
  env: Record<string, string | undefined>;
  /** A file holding the token: a path, or `-` for standard input. */
  identityTokenFile?: string;
  /** Reads a file (for `identityTokenFile`). */
  readFile?: (path: string) => Promise<Uint8Array>;
  /** Reads all of standard input (for `identityTokenFile === "-"`). */
  readStdin?: () => Promise<Uint8Array>;
  /** Transport for the GitHub Actions token request and the interactive flow. */
  fetch?: FetchFn;
  /**
   * On a terminal with no other source: run the interactive browser sign-in (PKCE,
   * loopback redirect), printing the URL with `print`. Absent → no interactive flow.
   */
  interactive?: { print: (line: string) => void; issuer?: string; timeoutMs?: number };
}

/** A token and where it came from (the source is safe to print; the token is not). */
export interface IdentityToken {
  /** The raw JWT. Never print it. */
  token: string;
  /** `SIGSTORE_ID_TOKEN`, `OIDC_TOKEN`, `github-actions` or `file:<path>` / `stdin`. */
  source: string;
}

/**
 * Finds an identity token; throws `KarsError("SIGN")` when none is available, naming the
 * sources tried.
 *
 * @example
 * ```ts
 * import { getIdentityToken } from "./oidc.ts";
 * const { source } = await getIdentityToken({ env: { SIGSTORE_ID_TOKEN: "eyJ…" } });
 * // source === "SIGSTORE_ID_TOKEN"
 * ```
 */
export async function getIdentityToken(opts: IdentityTokenOptions): Promise<IdentityToken> {
  const env = opts.env;
  for (const name of ["SIGSTORE_ID_TOKEN", "OIDC_TOKEN"]) {
    const v = env[name]?.trim();
    if (v) return { token: checkJwt(v, name), source: name };
  }
  const reqUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const reqToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (reqUrl && reqToken) {
    let url: URL;
    try {
      url = new URL(reqUrl);
    } catch {
      throw new KarsError("SIGN", "ACTIONS_ID_TOKEN_REQUEST_URL is not a URL");
    }
    url.searchParams.set("audience", "sigstore");
    const body = await callService(url.toString(), {
      method: "GET",
      headers: { Authorization: `bearer ${reqToken}`, Accept: "application/json" },
    }, {
      service: "GitHub Actions OIDC",
      hint: "give the workflow `permissions: id-token: write`",
      secrets: [reqToken],
      fetch: opts.fetch,
    });
    const json = parseServiceJson(body, "GitHub Actions OIDC") as { value?: unknown };
    if (typeof json?.value !== "string" || !json.value) {
      throw new KarsError("SIGN", "GitHub Actions OIDC returned no token value");
    }
    return { token: checkJwt(json.value, "GitHub Actions OIDC"), source: "github-actions" };
  }
  const file = opts.identityTokenFile;
  if (file !== undefined) {
    // Errors about the token file name the option, so the CLI can name its flag.
    const details = { option: "identityTokenFile" };
    const what = file === "-"
      ? "identity token from standard input"
      : `identity token file ${file}`;
    let bytes: Uint8Array;
    if (file === "-") {
      if (!opts.readStdin) throw new KarsError("INPUT", `${what}: no stdin reader`, { details });
      bytes = await opts.readStdin();
    } else {
      if (!opts.readFile) throw new KarsError("INPUT", `${what}: no file reader`, { details });
      try {
        bytes = await opts.readFile(file);
      } catch (e) {
        throw new KarsError("FILE", `${what}: cannot read the file`, { cause: e, details });
      }
    }
    let text: string;
    try {
      text = fromUtf8(bytes).trim();
    } catch {
      throw new KarsError("INPUT", `${what}: not UTF-8 text`, { details });
    }
    const where = file === "-" ? "stdin" : `file:${file}`;
    return { token: checkJwt(text, what, details), source: where };
  }
  if (opts.interactive) {
    // The browser sign-in (node:http) is loaded only when it runs.
    const { interactiveIdentityToken } = await import("./oidc_interactive.ts");
    const token = await interactiveIdentityToken({ ...opts.interactive, fetch: opts.fetch });
    return { token, source: "interactive" };
  }
  throw new KarsError(
    "UNAVAILABLE",
    "no OIDC identity token: set SIGSTORE_ID_TOKEN, run in GitHub Actions with " +
      "`permissions: id-token: write`, give an identity token file (a path, or - for " +
      "stdin), or run on a terminal for the browser sign-in; or sign with a key",
    { details: { fixOptions: ["identityTokenFile", "key"] } },
  );
}

/**
 * The claims of a JWT, decoded without verification (Fulcio verifies the token); throws
 * `TypeError` when malformed.
 *
 * @example
 * ```ts
 * import { decodeJwtClaims } from "./oidc.ts";
 * declare const token: string;
 * decodeJwtClaims(token).sub; // "https://github.com/acme/…"
 * ```
 */
export function decodeJwtClaims(token: string): Record<string, unknown> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new TypeError("not a JWT");
  const claims = JSON.parse(fromUtf8(fromBase64(parts[1])));
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw new TypeError("JWT claims are not an object");
  }
  return claims as Record<string, unknown>;
}

/**
 * The subject Fulcio expects the proof of possession over: the `email` claim when present
 * and `email_verified` is true, else `sub`. Throws `KarsError("SIGN")` when neither exists.
 *
 * @example
 * ```ts
 * import { tokenSubject } from "./oidc.ts";
 * declare const token: string;
 * tokenSubject(token); // "https://github.com/acme/…" or "alice@example.com"
 * ```
 */
export function tokenSubject(token: string): string {
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwtClaims(token);
  } catch {
    throw new KarsError("SIGN", "the OIDC identity token is not a well-formed JWT");
  }
  if (typeof claims.email === "string" && claims.email && claims.email_verified === true) {
    return claims.email;
  }
  if (typeof claims.sub === "string" && claims.sub) return claims.sub;
  throw new KarsError("SIGN", "the OIDC identity token has neither a verified email nor a sub");
}

function checkJwt(token: string, source: string, details?: Record<string, unknown>): string {
  try {
    decodeJwtClaims(token);
  } catch {
    const from = source.startsWith("identity token") ? source : `the identity token from ${source}`;
    throw new KarsError("INPUT", `${from} is not a well-formed JWT`, details ? { details } : {});
  }
  return token;
}
