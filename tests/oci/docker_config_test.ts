import assert from "assert";
import { toBase64, utf8 } from "../../lib/encoding/bytes.ts";
import { isKarsError } from "../../lib/errors.ts";
import { pushArtifact } from "../../lib/oci/copy.ts";
import { acrCredentials } from "../../lib/oci/acr_credentials.ts";
import { HELPER_OUTPUT_LIMIT, runCredentialHelper } from "../../lib/oci/credential_helper.ts";
import { defaultCredentials } from "../../lib/oci/credentials.ts";
import {
  ACR_REFRESH_USER,
  dockerConfigCredentials,
  normalizeRegistryKey,
} from "../../lib/oci/docker_config.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { allowlistArtifact } from "../support/oci_fixtures.ts";
import { startRegistryServer } from "../support/registry_server.ts";

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "kars-dockercfg-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const b64 = (s: string) => toBase64(utf8(s));

Deno.test("normalizeRegistryKey: host, host:port, https://host, Docker Hub aliases", () => {
  assert.equal(normalizeRegistryKey("r.example"), "r.example");
  assert.equal(normalizeRegistryKey("R.Example:5000"), "r.example:5000");
  assert.equal(normalizeRegistryKey("https://r.example/"), "r.example");
  assert.equal(normalizeRegistryKey("http://r.example:5000/v2/"), "r.example:5000");
  assert.equal(normalizeRegistryKey("https://index.docker.io/v1/"), "index.docker.io");
  assert.equal(normalizeRegistryKey("docker.io"), "index.docker.io");
  assert.equal(normalizeRegistryKey("registry-1.docker.io"), "index.docker.io");
});

Deno.test("docker config: auths in every key form, identitytoken, env precedence", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: b64("hubuser:hubpass") },
          "r.example:5000": { auth: b64("portuser:pa:ss") },
          "https://plain.example": { username: "u2", password: "p2" },
          "myreg.azurecr.io": {
            auth: b64("00000000-0000-0000-0000-000000000000:"),
            identitytoken: "idtok",
          },
          "empty.example": {},
        },
      }),
    );
    const src = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } });
    const origin = (h: string) => `${dir}/config.json auths entry for ${h}`;
    assert.deepEqual(await src("docker.io"), {
      username: "hubuser",
      password: "hubpass",
      origin: origin("index.docker.io"),
    });
    assert.deepEqual(await src("r.example:5000"), {
      username: "portuser",
      password: "pa:ss",
      origin: origin("r.example:5000"),
    });
    assert.equal(await src("r.example"), undefined);
    assert.deepEqual(await src("plain.example"), {
      username: "u2",
      password: "p2",
      origin: origin("plain.example"),
    });
    assert.deepEqual(await src("myreg.azurecr.io"), {
      username: "00000000-0000-0000-0000-000000000000",
      refreshToken: "idtok",
      origin: origin("myreg.azurecr.io"),
    });
    assert.equal(await src("empty.example"), undefined);
    // HOME fallback when DOCKER_CONFIG is unset.
    await Deno.mkdir(`${dir}/home/.docker`, { recursive: true });
    await Deno.copyFile(`${dir}/config.json`, `${dir}/home/.docker/config.json`);
    assert.deepEqual(
      await dockerConfigCredentials({ env: { HOME: `${dir}/home` } })("plain.example"),
      {
        username: "u2",
        password: "p2",
        origin: `${dir}/home/.docker/config.json auths entry for plain.example`,
      },
    );
    // Chain: explicit > env > file, for the configured registry (KARS_REGISTRY) only.
    const env = {
      DOCKER_CONFIG: dir,
      KARS_REGISTRY: "Plain.Example",
      KARS_REGISTRY_USERNAME: "envuser",
      KARS_REGISTRY_PASSWORD: "envpass",
    };
    assert.deepEqual(await defaultCredentials({ env })("plain.example"), {
      username: "envuser",
      password: "envpass",
      origin: "KARS_REGISTRY_USERNAME/KARS_REGISTRY_PASSWORD",
    });
    assert.deepEqual(
      await defaultCredentials({ env, explicit: { username: "x", password: "y" } })(
        "plain.example",
      ),
      { username: "x", password: "y", origin: "the explicit credentials" },
    );
    assert.deepEqual(await defaultCredentials({ env: { DOCKER_CONFIG: dir } })("plain.example"), {
      username: "u2",
      password: "p2",
      origin: origin("plain.example"),
    });
    // Another registry gets neither the explicit nor the environment credentials, only its
    // own docker config entry (or nothing), and hears what was withheld.
    const notes: string[] = [];
    const ctx = { withheld: (n: string) => notes.push(n) };
    const chain = defaultCredentials({ env, explicit: { username: "x", password: "y" } });
    assert.deepEqual(await chain("r.example:5000", ctx), {
      username: "portuser",
      password: "pa:ss",
      origin: origin("r.example:5000"),
    });
    assert.equal(await chain("evil.example", ctx), undefined);
    assert.ok(notes.some((n) => /the explicit credentials not sent to evil\.example/.test(n)));
    assert.ok(
      notes.some((n) =>
        /KARS_REGISTRY_USERNAME\/KARS_REGISTRY_PASSWORD not sent to evil\.example: they apply only to plain\.example/
          .test(n)
      ),
    );
    assert.ok(notes.every((n) => !n.includes("envpass") && !n.includes("envuser")), notes.join());
    // Without KARS_REGISTRY (and no registry option) they apply to no registry at all.
    const unbound = { ...env, KARS_REGISTRY: undefined };
    assert.deepEqual(await defaultCredentials({ env: unbound })("plain.example"), {
      username: "u2",
      password: "p2",
      origin: origin("plain.example"),
    });
    // The registry option wins over KARS_REGISTRY.
    assert.deepEqual(
      await defaultCredentials({ env: unbound, registry: "r.example:5000" })("r.example:5000"),
      {
        username: "envuser",
        password: "envpass",
        origin: "KARS_REGISTRY_USERNAME/KARS_REGISTRY_PASSWORD",
      },
    );
    await Deno.writeTextFile(`${dir}/config.json`, "{not json");
    await assert.rejects(() => src("plain.example"), (e) => isKarsError(e, "INPUT"));
  });
});

Deno.test("docker config: credHelpers and credsStore via docker-credential-<name> get (URL on stdin)", async () => {
  await withDir(async (dir) => {
    const bin = `${dir}/bin`;
    await Deno.mkdir(bin);
    const helper = (name: string, body: string) =>
      Deno.writeTextFile(`${bin}/docker-credential-${name}`, `#!/bin/sh\n${body}\n`, {
        mode: 0o755,
      });
    await helper(
      "kars-test",
      `echo "$@" > ${dir}/argv; cat > ${dir}/stdin; ` +
        `printf '{"ServerURL":"x","Username":"helperuser","Secret":"helpersecret"}'`,
    );
    await helper(
      "kars-token",
      `cat >/dev/null; printf '{"Username":"<token>","Secret":"refresh-xyz"}'`,
    );
    await helper(
      "kars-none",
      `cat >/dev/null; echo "credentials not found in native keychain"; exit 1`,
    );
    await helper("kars-broken", `cat >/dev/null; echo "secret-ish output"; exit 3`);
    const env = { PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` };
    const runHelper = (h: string, s: string) => runCredentialHelper(h, s, { env });
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({
        auths: { "fallback.example": { auth: b64("fileuser:filepass") } },
        credHelpers: {
          "helped.example:5000": "kars-test",
          "https://tok.example": "kars-token",
          "broken.example": "kars-broken",
        },
        credsStore: "kars-none",
      }),
    );
    const src = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir }, runHelper });
    assert.deepEqual(await src("helped.example:5000"), {
      username: "helperuser",
      password: "helpersecret",
      origin: "docker-credential-kars-test (credHelpers) for helped.example:5000",
    });
    assert.equal((await Deno.readTextFile(`${dir}/argv`)).trim(), "get");
    assert.equal(await Deno.readTextFile(`${dir}/stdin`), "helped.example:5000");
    assert.deepEqual(await src("tok.example"), {
      username: ACR_REFRESH_USER,
      refreshToken: "refresh-xyz",
      origin: "docker-credential-kars-token (credHelpers) for tok.example",
    });
    // credsStore says "not found": fall through to auths.
    assert.deepEqual(await src("fallback.example"), {
      username: "fileuser",
      password: "filepass",
      origin: `${dir}/config.json auths entry for fallback.example`,
    });
    await assert.rejects(
      () => src("broken.example"),
      (e) => isKarsError(e, "AUTH") && !e.message.includes("secret-ish"),
    );
    await assert.rejects(() => runCredentialHelper("../evil", "x"), (e) => isKarsError(e, "INPUT"));
    await assert.rejects(
      () => runCredentialHelper("kars-absent-helper", "x", { env }),
      (e) => isKarsError(e, "AUTH") && /docker-credential-kars-absent-helper/.test(e.message),
    );
  });
});

Deno.test("docker config: a credential helper's answer is bounded in size, time and shape", async () => {
  await withDir(async (dir) => {
    const bin = `${dir}/bin`;
    await Deno.mkdir(bin);
    const helper = (name: string, body: string) =>
      Deno.writeTextFile(`${bin}/docker-credential-${name}`, `#!/bin/sh\n${body}\n`, {
        mode: 0o755,
      });
    // `exec` so that killing the helper leaves no child behind.
    await helper("kars-hang", `echo $$ > ${dir}/pid; exec sleep 30`);
    await helper("kars-flood", `cat >/dev/null; head -c ${HELPER_OUTPUT_LIMIT + 1} /dev/zero`);
    await helper("kars-shape", `cat >/dev/null; printf '{"Username":1,"Secret":"s3cret"}'`);
    await helper("kars-array", `cat >/dev/null; printf '["s3cret"]'`);
    const env = { PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` };
    await assert.rejects(
      () => runCredentialHelper("kars-hang", "x", { env, timeoutMs: 300 }),
      (e) =>
        isKarsError(e, "TRANSIENT") && /docker-credential-kars-hang did not answer/.test(e.message),
    );
    // The helper was stopped, not left running (bounded poll: at most 50 × 20 ms).
    const pid = Number((await Deno.readTextFile(`${dir}/pid`)).trim());
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      alive = await Deno.stat(`/proc/${pid}`).then(() => true, () => false);
      if (alive) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(alive, false, "the timed-out helper process is gone");
    await assert.rejects(
      () => runCredentialHelper("kars-flood", "x", { env }),
      (e) => isKarsError(e, "AUTH") && /more than 65536 bytes on stdout/.test(e.message),
    );
    for (const name of ["kars-shape", "kars-array"]) {
      await assert.rejects(
        () => runCredentialHelper(name, "x", { env }),
        (e) =>
          isKarsError(e, "AUTH") && /not \{"Username"/.test(e.message) &&
          !e.message.includes("s3cret"),
      );
    }
  });
});

Deno.test("ACR: workload identity → Entra token → /oauth2/exchange → refresh token → /oauth2/token", async () => {
  await withDir(async (dir) => {
    const seen: { path: string; form: Record<string, string> }[] = [];
    const issued = new Set<string>();
    const acr = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
      const url = new URL(req.url);
      const form = Object.fromEntries(new URLSearchParams(await req.text()));
      seen.push({ path: url.pathname, form });
      const json = (o: unknown, status = 200) =>
        new Response(JSON.stringify(o), {
          status,
          headers: { "content-type": "application/json" },
        });
      if (url.pathname === "/tenant-1/oauth2/v2.0/token") {
        return form.client_assertion === "federated-jwt" && form.client_id === "client-1"
          ? json({ access_token: "entra-token", expires_in: 3600 })
          : json({ error: "invalid_client" }, 401);
      }
      if (url.pathname === "/oauth2/exchange") {
        return form.access_token === "entra-token" || form.access_token === "direct-token"
          ? json({ refresh_token: "acr-refresh" })
          : json({ error: "unauthorized" }, 401);
      }
      if (url.pathname === "/oauth2/token") {
        if (form.grant_type !== "refresh_token" || form.refresh_token !== "acr-refresh") {
          return json({ error: "invalid_grant" }, 401);
        }
        const tok = `acr-access-${crypto.randomUUID()}`;
        issued.add(tok);
        return json({ access_token: tok });
      }
      return json({}, 404);
    });
    const base = `http://127.0.0.1:${acr.addr.port}`;
    const reg = await startRegistryServer({
      bearer: {
        realm: `${base}/oauth2/token`,
        service: "myreg.azurecr.io",
        validate: (t) => issued.has(t),
      },
    });
    try {
      await Deno.writeTextFile(`${dir}/federated`, "federated-jwt\n");
      const env = {
        AZURE_FEDERATED_TOKEN_FILE: `${dir}/federated`,
        AZURE_CLIENT_ID: "client-1",
        AZURE_TENANT_ID: "tenant-1",
        AZURE_AUTHORITY_HOST: base,
      };
      const credentials = acrCredentials({ env, registryBaseUrl: () => base, match: () => true });
      const t = new RegistryTarget({
        registry: reg.host,
        repository: "policy/egress-allowlist/acr",
        credentials,
      });
      const a = allowlistArtifact("acr\n");
      assert.equal((await pushArtifact(t, a, { tags: ["latest"] })).digest, a.digest);
      assert.deepEqual(seen.map((s) => s.path), [
        "/tenant-1/oauth2/v2.0/token",
        "/oauth2/exchange",
        "/oauth2/token",
      ]);
      assert.equal(seen[0].form.grant_type, "client_credentials");
      assert.equal(
        seen[0].form.client_assertion_type,
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      );
      assert.deepEqual(
        {
          grant: seen[1].form.grant_type,
          service: seen[1].form.service,
          tenant: seen[1].form.tenant,
        },
        { grant: "access_token", service: reg.host, tenant: "tenant-1" },
      );
      assert.equal(seen[2].form.scope, "repository:policy/egress-allowlist/acr:pull,push");

      // AZURE_ACCESS_TOKEN is used directly (no Entra call).
      seen.length = 0;
      const direct = acrCredentials({
        env: { AZURE_ACCESS_TOKEN: "direct-token" },
        registryBaseUrl: () => base,
        match: () => true,
      });
      assert.deepEqual(await direct(reg.host), {
        username: ACR_REFRESH_USER,
        refreshToken: "acr-refresh",
        origin: `ACR refresh token for ${reg.host} (from the Entra ID token)`,
      });
      assert.deepEqual(seen.map((s) => s.path), ["/oauth2/exchange"]);
      // Not an ACR host by default; no Azure env → no credential.
      assert.equal(
        await acrCredentials({ env: { AZURE_ACCESS_TOKEN: "x" } })("r.example"),
        undefined,
      );
      assert.equal(await acrCredentials({ env: {} })("myreg.azurecr.io"), undefined);
      // A refused Entra assertion is AUTH.
      await Deno.writeTextFile(`${dir}/federated`, "wrong");
      await assert.rejects(
        () => acrCredentials({ env, registryBaseUrl: () => base, match: () => true })(reg.host),
        (e) => isKarsError(e, "AUTH") && /invalid_client/.test(e.message),
      );
    } finally {
      await reg.stop();
      await acr.shutdown();
    }
  });
});
