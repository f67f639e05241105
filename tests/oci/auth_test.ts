import { allowlistArtifact } from "../support/oci_fixtures.ts";
import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { parseChallenges, staticCredentials } from "../../lib/oci/auth.ts";
import type { RequestLogEntry } from "../../lib/oci/request_log.ts";
import { pushArtifact } from "../../lib/oci/copy.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { needs, startDockerRegistry } from "../support/docker_registry.ts";
import { startRegistryServer } from "../support/registry_server.ts";
import { startTokenServer } from "../support/token_server.ts";

const REPO = "policy/egress-allowlist/auth";

Deno.test("parseChallenges: Bearer with quoted params, several challenges", () => {
  const c = parseChallenges(
    'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push", Basic realm="x"',
  );
  assert.deepEqual(c, [
    {
      scheme: "bearer",
      params: {
        realm: "https://auth.example/token",
        service: "reg",
        scope: "repository:a/b:pull,push",
      },
    },
    { scheme: "basic", params: { realm: "x" } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [
    { scheme: "basic", params: { realm: "Registry Realm" } },
  ]);
});

Deno.test(
  "docker-registry with htpasswd: Basic auth push/pull, refusals are AUTH",
  needs("docker-registry"),
  async () => {
    const user = "kars", password = `pw-${crypto.randomUUID()}`;
    const reg = await startDockerRegistry({ htpasswd: { user, password } });
    try {
      const log: RequestLogEntry[] = [];
      const t = new RegistryTarget({
        registry: reg.host,
        repository: REPO,
        credentials: staticCredentials({ username: user, password }),
        log: (e) => log.push(e),
      });
      const a = allowlistArtifact("basic\n");
      const d = await pushArtifact(t, a, { tags: ["latest"] });
      console.log(`fresh push with htpasswd Basic: ${log.length} requests`);
      assert.equal(d.digest, a.digest);
      assert.deepEqual((await t.fetchManifest("latest")).bytes, a.manifestBytes);
      // One 401 to learn the scheme, then Basic is sent up front.
      assert.equal(log.filter((e) => e.status === 401).length, 1);
      assert.ok(!JSON.stringify(log).includes(password));

      const anon = new RegistryTarget({ registry: reg.host, repository: REPO });
      await assert.rejects(
        () => anon.fetchManifest("latest"),
        (e) => isKarsError(e, "AUTH") && /UNAUTHORIZED/.test(e.message) && /log in/.test(e.message),
      );
      const wrong = new RegistryTarget({
        registry: reg.host,
        repository: REPO,
        credentials: staticCredentials({ username: user, password: "wrong" }),
      });
      await assert.rejects(
        () => wrong.resolve("latest"),
        (e) => isKarsError(e, "AUTH") && !e.message.includes("wrong"),
      );
    } finally {
      await reg.stop();
    }
  },
);

Deno.test(
  "docker-registry with token auth: JWT token flow (GET+Basic, OAuth2 refresh), scopes",
  needs("docker-registry"),
  async () => {
    const user = "kars", password = `pw-${crypto.randomUUID()}`;
    const ts = await startTokenServer({ user, password, anonymousPull: true });
    try {
      const reg = await startDockerRegistry({
        token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertPem: ts.certPem },
      });
      try {
        const log: RequestLogEntry[] = [];
        const t = new RegistryTarget({
          registry: reg.host,
          repository: REPO,
          credentials: staticCredentials({ username: user, password }),
          log: (e) => log.push(e),
        });
        const a = allowlistArtifact("token\n");
        assert.equal((await pushArtifact(t, a, { tags: ["latest"] })).digest, a.digest);
        console.log(`fresh push with token auth: ${log.length} requests (token request included)`);
        const before = log.length;
        await pushArtifact(t, a, { tags: ["latest"] });
        console.log(`repeat push with token auth (cached token): ${log.length - before} requests`);
        // willPush: one token with pull,push for the whole push.
        assert.equal(ts.requests.length, 1);
        assert.deepEqual(ts.requests[0].scopes, [`repository:${REPO}:pull,push`]);
        assert.ok(ts.requests[0].authorized);
        assert.ok(!JSON.stringify(log).includes(password));

        // Anonymous pull is granted, anonymous push is refused.
        const anon = new RegistryTarget({ registry: reg.host, repository: REPO });
        assert.deepEqual((await anon.fetchManifest(a.digest)).bytes, a.manifestBytes);
        const b = allowlistArtifact("anon push\n");
        await assert.rejects(
          () => pushArtifact(anon, b, { tags: ["x"] }),
          (e) => isKarsError(e, "AUTH") && /(UNAUTHORIZED|DENIED)/.test(e.message),
        );

        // OAuth2 POST with a refresh token (identitytoken).
        ts.requests.length = 0;
        const rt = new RegistryTarget({
          registry: reg.host,
          repository: REPO,
          credentials: staticCredentials({ username: "x", refreshToken: ts.refreshToken }),
        });
        const c = allowlistArtifact("refresh\n");
        assert.equal((await pushArtifact(rt, c, { tags: ["refresh"] })).digest, c.digest);
        assert.ok(ts.requests.every((r) => r.method === "POST" && r.grant === "refresh_token"));
        assert.ok(ts.requests.length >= 1);

        // Expired/revoked token (docker-registry rejects only by exp; the in-process registry
        // tests revocation) — here: a wrong password fails with AUTH from the token server.
        const bad = new RegistryTarget({
          registry: reg.host,
          repository: REPO,
          credentials: staticCredentials({ username: user, password: "nope" }),
        });
        await assert.rejects(() => bad.resolve("latest"), (e) => isKarsError(e, "AUTH"));
      } finally {
        await reg.stop();
      }
    } finally {
      await ts.stop();
    }
  },
);

Deno.test("credentials are looked up only when the registry asks (anonymous registry: never)", async () => {
  const reg = await startRegistryServer();
  const basicReg = await startRegistryServer({ basic: { user: "u", password: "p" } });
  try {
    let calls = 0;
    const credentials = () => {
      calls++;
      return Promise.resolve({ username: "u", password: "p" });
    };
    const a = allowlistArtifact("lazy\n");
    await pushArtifact(
      new RegistryTarget({ registry: reg.host, repository: REPO, credentials }),
      a,
      {
        tags: ["latest"],
      },
    );
    assert.equal(calls, 0);
    await pushArtifact(
      new RegistryTarget({ registry: basicReg.host, repository: REPO, credentials }),
      a,
      { tags: ["latest"] },
    );
    assert.equal(calls, 1, "looked up once per client, after the first 401");
  } finally {
    await reg.stop();
    await basicReg.stop();
  }
});
