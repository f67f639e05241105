import assert from "assert";
import { toBase64, utf8 } from "../../lib/bytes.ts";
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
    assert.match(e.message, /--identity-token-file/);
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
