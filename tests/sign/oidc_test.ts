import assert from "assert";
import { toBase64, utf8 } from "../../lib/encoding/bytes.ts";
import { isKarsError } from "../../lib/errors.ts";
import { getIdentityToken, tokenSubject } from "../../lib/sign/oidc.ts";

function jwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) =>
    toBase64(utf8(JSON.stringify(o))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${enc({ alg: "none" })}.${enc(claims)}.c2lnbmF0dXJl`;
}

Deno.test("oidc: sources in order SIGSTORE_ID_TOKEN, OIDC_TOKEN, GitHub Actions, --identity-token-file", async () => {
  const a = jwt({ sub: "a" }), b = jwt({ sub: "b" }), c = jwt({ sub: "c" }), f = jwt({ sub: "f" });
  let audience: string | null = null, auth: string | null = null;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    audience = new URL(req.url).searchParams.get("audience");
    auth = req.headers.get("authorization");
    return Response.json({ value: c });
  });
  try {
    const gh = {
      ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${server.addr.port}/token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: "runtime-req-token",
    };
    const readFile = (p: string) =>
      p === "tok.jwt" ? Promise.resolve(utf8(`${f}\n`)) : Promise.reject(new Error("x"));
    const file = { identityTokenFile: "tok.jwt", readFile };
    let r = await getIdentityToken({
      env: { SIGSTORE_ID_TOKEN: a, OIDC_TOKEN: b, ...gh },
      ...file,
    });
    assert.deepEqual(r, { token: a, source: "SIGSTORE_ID_TOKEN" });
    r = await getIdentityToken({ env: { OIDC_TOKEN: b, ...gh }, ...file });
    assert.deepEqual(r, { token: b, source: "OIDC_TOKEN" });
    r = await getIdentityToken({ env: { ...gh }, ...file });
    assert.deepEqual(r, { token: c, source: "github-actions" });
    assert.equal(audience, "sigstore");
    assert.equal(auth, "bearer runtime-req-token");
    r = await getIdentityToken({ env: {}, ...file });
    assert.deepEqual(r, { token: f, source: "file:tok.jwt" });
    r = await getIdentityToken({
      env: {},
      identityTokenFile: "-",
      readStdin: () => Promise.resolve(utf8(a)),
    });
    assert.deepEqual(r, { token: a, source: "stdin" });
  } finally {
    await server.shutdown();
  }
});

Deno.test("oidc: no source → UNAVAILABLE naming the options; malformed tokens refused without quoting them", async () => {
  await assert.rejects(getIdentityToken({ env: {} }), (e) => {
    assert.ok(isKarsError(e, "UNAVAILABLE"));
    assert.match(e.message, /SIGSTORE_ID_TOKEN/);
    assert.match(e.message, /identity token file/);
    assert.deepEqual(e.details?.fixOptions, ["identityTokenFile", "key"]);
    return true;
  });
  await assert.rejects(
    getIdentityToken({ env: { SIGSTORE_ID_TOKEN: "not-a-jwt-secret" } }),
    (e) => {
      assert.ok(isKarsError(e, "INPUT"));
      assert.ok(!e.message.includes("not-a-jwt-secret"));
      return true;
    },
  );
});

Deno.test("oidc: GitHub Actions endpoint failure is clear and does not leak the request token", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => new Response(`denied for ${req.headers.get("authorization")}`, { status: 403 }),
  );
  try {
    await assert.rejects(
      getIdentityToken({
        env: {
          ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${server.addr.port}/t`,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: "req-token-canary-77",
        },
      }),
      (e) => {
        assert.ok(isKarsError(e, "SIGN"));
        assert.match(e.message, /GitHub Actions OIDC .* HTTP 403.*id-token: write/);
        assert.ok(!e.message.includes("req-token-canary-77"));
        return true;
      },
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("oidc: proof-of-possession subject is the verified email, else sub", () => {
  assert.equal(tokenSubject(jwt({ sub: "s", email: "a@b.c", email_verified: true })), "a@b.c");
  assert.equal(tokenSubject(jwt({ sub: "s", email: "a@b.c", email_verified: false })), "s");
  assert.equal(tokenSubject(jwt({ sub: "s" })), "s");
  assert.throws(() => tokenSubject(jwt({})), (e) => isKarsError(e, "SIGN"));
});

/** A minimal OIDC provider: discovery, an authorize endpoint that signs the user straight in, PKCE-checking token endpoint. */
function startProvider(opts: { badState?: boolean } = {}) {
  const codes = new Map<string, { challenge: string; nonce: string; redirect: string }>();
  const seenTokenRequests: string[] = [];
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, async (req): Promise<Response> => {
    const url = new URL(req.url);
    const base: string = `http://127.0.0.1:${server.addr.port}`;
    if (url.pathname === "/auth/.well-known/openid-configuration") {
      return Response.json({
        issuer: `${base}/auth`,
        authorization_endpoint: `${base}/auth/authorize`,
        token_endpoint: `${base}/auth/token`,
      });
    }
    if (url.pathname === "/auth/authorize") {
      const p = url.searchParams;
      assert.equal(p.get("code_challenge_method"), "S256");
      assert.equal(p.get("response_type"), "code");
      assert.equal(p.get("client_id"), "sigstore");
      const code = crypto.randomUUID();
      codes.set(code, {
        challenge: p.get("code_challenge")!,
        nonce: p.get("nonce")!,
        redirect: p.get("redirect_uri")!,
      });
      const back = new URL(p.get("redirect_uri")!);
      back.hostname = "127.0.0.1";
      back.searchParams.set("code", code);
      back.searchParams.set("state", opts.badState ? "forged" : p.get("state")!);
      return Response.redirect(back.toString(), 302);
    }
    if (url.pathname === "/auth/token") {
      const form = new URLSearchParams(await req.text());
      seenTokenRequests.push(form.toString());
      const c = codes.get(form.get("code") ?? "");
      const { sha256 } = await import("@noble/hashes/sha2.js");
      const enc = (b: Uint8Array) =>
        toBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      if (
        !c || enc(sha256(utf8(form.get("code_verifier") ?? ""))) !== c.challenge ||
        form.get("redirect_uri") !== c.redirect
      ) {
        return new Response("invalid_grant", { status: 400 });
      }
      return Response.json({
        id_token: jwt({ sub: "interactive-user", nonce: c.nonce, iss: `${base}/auth` }),
      });
    }
    return new Response("nf", { status: 404 });
  });
  return {
    issuer: `http://127.0.0.1:${server.addr.port}/auth`,
    seenTokenRequests,
    stop: () => server.shutdown(),
  };
}

/** Plays the user's browser: opens the printed URL and follows the redirect to the loopback listener. */
function browser(lines: string[]) {
  const visits: Promise<string>[] = [];
  const print = (line: string) => {
    lines.push(line);
    const url = line.split("\n").find((l) => l.startsWith("http"))!;
    visits.push(fetch(url).then((r) => r.text()));
  };
  return { print, done: () => Promise.all(visits) };
}

Deno.test("oidc: interactive sign-in (PKCE S256, loopback redirect) when no other source", async () => {
  const provider = startProvider();
  try {
    const lines: string[] = [];
    const b = browser(lines);
    const r = await getIdentityToken({
      env: {},
      interactive: { print: b.print, issuer: provider.issuer },
    });
    assert.deepEqual(await b.done(), ["Signed in. You may close this window."]);
    assert.equal(r.source, "interactive");
    assert.equal(JSON.parse(atob(r.token.split(".")[1])).sub, "interactive-user");
    assert.equal(lines.length, 1);
    assert.match(lines[0], /Open this URL/);
    assert.match(lines[0], /redirect_uri=http%3A%2F%2Flocalhost%3A\d+%2Fauth%2Fcallback/);
    assert.ok(!lines[0].includes(r.token), "the token is never printed");
    assert.equal(provider.seenTokenRequests.length, 1);
  } finally {
    await provider.stop();
  }
});

Deno.test("oidc: interactive sign-in with a forged state is refused", async () => {
  const provider = startProvider({ badState: true });
  try {
    const b = browser([]);
    await assert.rejects(
      getIdentityToken({ env: {}, interactive: { print: b.print, issuer: provider.issuer } }),
      (e) => isKarsError(e, "SIGN") && /state mismatch/.test(e.message),
    );
    assert.deepEqual(await b.done(), ["Sign-in failed."]);
    assert.equal(provider.seenTokenRequests.length, 0, "no code exchange after a state mismatch");
  } finally {
    await provider.stop();
  }
});
