import assert from "assert";
import { checkTokenRealm, hostCredentials, isLoopbackHostname } from "../../lib/oci/auth.ts";
import { acrCredentials, isAcrHost } from "../../lib/oci/acr_credentials.ts";

Deno.test("checkTokenRealm: https on the registry's own host, or auth.docker.io for Docker Hub", () => {
  const ok: [string, string][] = [
    ["https://myacr.azurecr.io", "https://myacr.azurecr.io/oauth2/token"],
    ["https://ghcr.io", "https://ghcr.io/token"],
    ["https://r.example:5000", "https://r.example/token"],
    ["https://registry-1.docker.io", "https://auth.docker.io/token"],
    ["http://127.0.0.1:5000", "http://127.0.0.1:5001/token"],
    ["http://localhost:5000", "http://localhost:6000/token"],
  ];
  for (const [reg, realm] of ok) assert.deepEqual(checkTokenRealm(reg, realm), { ok: true }, realm);
  const bad: [string, string, RegExp][] = [
    ["https://r.example", "https://evil.example/token", /not on the registry's own host/],
    ["https://r.example", "https://r.example.evil.example/token", /not on the registry's own host/],
    ["https://r.example", "http://r.example/token", /is not https/],
    ["https://ghcr.io", "https://auth.docker.io/token", /not on the registry's own host/],
    ["http://127.0.0.1:5000", "http://127.0.0.2:5000/token", /not on the registry's own host/],
    ["https://r.example", "https://u:p@r.example/token", /user information/],
    ["https://r.example", "ftp://r.example/token", /is not https/],
    ["https://r.example", "not a url", /not a valid URL/],
  ];
  for (const [reg, realm, re] of bad) {
    const r = checkTokenRealm(reg, realm);
    assert.equal(r.ok, false, realm);
    if (!r.ok) assert.match(r.why, re, realm);
  }
  assert.ok(isLoopbackHostname("127.9.9.9"));
  assert.ok(!isLoopbackHostname("127.0.0.1.evil.example"));
});

Deno.test("hostCredentials: only the bound host, and a note otherwise", async () => {
  const notes: string[] = [];
  const ctx = { withheld: (n: string) => notes.push(n) };
  const src = hostCredentials({ username: "u", password: "p" }, "R.example:5000", "CI login");
  assert.deepEqual(await src("r.example:5000", ctx), { username: "u", password: "p" });
  assert.equal(await src("r.example", ctx), undefined);
  assert.equal(await src("evil.example", ctx), undefined);
  assert.deepEqual(notes, [
    "CI login not sent to r.example: they apply only to r.example:5000",
    "CI login not sent to evil.example: they apply only to r.example:5000",
  ]);
  const none = hostCredentials({ username: "u", password: "p" }, undefined, "CI login");
  assert.equal(await none("r.example", ctx), undefined);
  assert.match(notes[2], /bound to no registry/);
});

Deno.test("ACR: login-server suffixes per cloud; exchange only for bound registries", async () => {
  for (
    const h of [
      "myacr.azurecr.io",
      "MyACR.azurecr.io:443",
      "a.azurecr.cn",
      "a.azurecr.us",
      "a.azurecr.microsoft.scloud",
      "a.azurecr.eaglex.ic.gov",
    ]
  ) assert.ok(isAcrHost(h), h);
  for (
    const h of [
      "azurecr.io",
      ".azurecr.io",
      "myacr.azurecr.io.evil.example",
      "myacr.azurecr.io:5000",
      "myacrazurecr.io",
      "a.b.azurecr.io",
    ]
  ) assert.ok(!isAcrHost(h), h);
  const calls: string[] = [];
  const f = ((u: string) => {
    calls.push(String(u));
    return Promise.resolve(Response.json({ refresh_token: "r" }));
  }) as unknown as typeof fetch;
  const notes: string[] = [];
  const src = acrCredentials({
    env: { AZURE_ACCESS_TOKEN: "entra-s3cret" },
    fetch: f,
    registries: ["myacr.azurecr.io"],
  });
  assert.equal(await src("evil.azurecr.io", { withheld: (n) => notes.push(n) }), undefined);
  assert.deepEqual(calls, []);
  assert.match(notes[0], /not used for evil\.azurecr\.io: it applies only to myacr\.azurecr\.io/);
  assert.ok(!notes.join().includes("entra-s3cret"));
  assert.equal((await src("myacr.azurecr.io"))?.refreshToken, "r");
  assert.deepEqual(calls, ["https://myacr.azurecr.io/oauth2/exchange"]);
  // Not ACR at all: a note only when the name looks like one.
  assert.equal(
    await src("myacr.azurecr.io.evil.example", { withheld: (n) => notes.push(n) }),
    undefined,
  );
  assert.match(notes[1], /not an ACR login server/);
});
