/**
 * Attack suite, credentials (issue 10 item 1): one test per attack, each against a hostile
 * HTTP server on loopback written for it, each asserting that no credential configured for
 * another host reaches it, that the verdict is not True, and the exit code.
 *
 * "Another host" on one machine: distinct loopback addresses (127.0.0.1 is the trusted
 * registry, 127.0.0.2 / 127.0.0.3 the attacker's; on Linux all of 127.0.0.0/8 is loopback),
 * and, where a name matters (ACR's `*.azurecr.io`, an https registry), names mapped to those
 * servers by an injected `fetch` (see hostile_server.ts).
 *
 * Every attack also runs a control where the credential IS meant for the attacker's host and
 * asserts the server then receives it: the detector works, so the test can fail.
 */
import assert from "assert";
import { join } from "node:path";
import { toBase64, utf8 } from "../../lib/encoding/bytes.ts";
import { copy } from "../../lib/oci/copy.ts";
import { defaultCredentials } from "../../lib/oci/credentials.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { allowlistArtifact } from "../support/oci_fixtures.ts";
import { pushArtifact } from "../../lib/oci/copy.ts";
import { startRegistryServer } from "../support/registry_server.ts";
import { runKars } from "../support/cli.ts";
import {
  challenge,
  type Hostile,
  manifestNaming,
  mappedFetch,
  policyConfigMap,
  startHostile,
} from "./hostile_server.ts";

/** README "Exit codes": our own registry credentials refused (False/Unauthorized printed) is 1. */
const UNAUTHORIZED_EXIT = 1;

const USER = "ci-user";
const PASS = "ci-s3cret-pass-7f1c";
const BASIC = toBase64(utf8(`${USER}:${PASS}`));
const DOCKER_PASS = "docker-cfg-s3cret-93ab";
const DOCKER_BASIC = toBase64(utf8(`cfguser:${DOCKER_PASS}`));
const ENTRA = "entra-access-token-s3cret-5d2e";
const SECRETS = [PASS, BASIC, DOCKER_PASS, DOCKER_BASIC, ENTRA];
const DIGEST = "sha256:" + "ab".repeat(32);

function noSecretIn(h: Hostile, what: string): void {
  for (const s of SECRETS) {
    assert.ok(!h.received(s), `${what} received a credential: ${JSON.stringify(h.seen)}`);
  }
}

function noSecretInText(text: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `secret in output: ${text}`);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kars-hostile-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Env with every ambient credential bound to `trusted`. */
async function ambient(dir: string, trusted: string): Promise<Record<string, string>> {
  await Deno.writeTextFile(
    join(dir, "config.json"),
    JSON.stringify({ auths: { [trusted]: { auth: DOCKER_BASIC } } }),
  );
  return {
    KARS_REGISTRY: trusted,
    KARS_REGISTRY_USERNAME: USER,
    KARS_REGISTRY_PASSWORD: PASS,
    DOCKER_CONFIG: dir,
    AZURE_ACCESS_TOKEN: ENTRA,
  };
}

/** An attacker registry that demands credentials (Basic, or Bearer on itself) on every request. */
function greedy(scheme: "basic" | "bearer", hostname: string): Promise<Hostile> {
  let self = "";
  const h = startHostile((_req, url) => {
    if (url.pathname === "/token" || url.pathname === "/oauth2/token") {
      return Response.json({ token: "attacker-token" });
    }
    if (url.pathname === "/oauth2/exchange") return Response.json({ refresh_token: "r" });
    return challenge(
      scheme === "basic"
        ? 'Basic realm="attacker"'
        : `Bearer realm="${self}/token",service="attacker"`,
    );
  }, hostname);
  return h.then((x) => {
    self = x.url;
    return x;
  });
}

Deno.test("attack: env, docker config and Entra credentials to a manifest-named attacker registry (egress verify)", async (t) => {
  await withDir(async (dir) => {
    const trusted = "127.0.0.1:9"; // never contacted; the credentials are bound to it
    const env = await ambient(dir, trusted);
    await Deno.writeTextFile(join(dir, "policy.yaml"), policyConfigMap());
    for (const scheme of ["basic", "bearer"] as const) {
      await t.step(`${scheme} challenge from 127.0.0.2`, async () => {
        const evil = await greedy(scheme, "127.0.0.2");
        try {
          await Deno.writeTextFile(join(dir, "m.yaml"), manifestNaming(evil.host));
          const args = [
            "egress",
            "verify",
            "--manifest",
            "m.yaml",
            "--signer-policy",
            "policy.yaml",
            "--plain-http",
          ];
          const r = await runKars(args, { env, cwd: dir });
          assert.ok(evil.seen.length > 0, "the attacker registry was contacted");
          noSecretIn(evil, evil.host);
          assert.equal(r.code, UNAUTHORIZED_EXIT, r.stdout + r.stderr);
          assert.match(r.stdout, /^AllowlistVerified=False\/Unauthorized: /);
          assert.match(
            r.stderr,
            /credentials withheld: KARS_REGISTRY_USERNAME\/KARS_REGISTRY_PASSWORD not sent to 127\.0\.0\.2:\d+: they apply only to 127\.0\.0\.1:9/,
          );
          noSecretInText(r.stdout + r.stderr);
          // Control: the same credentials bound to the attacker's host are sent (detector works).
          evil.seen.length = 0;
          const c = await runKars(args, { env: { ...env, KARS_REGISTRY: evil.host }, cwd: dir });
          assert.equal(c.code, UNAUTHORIZED_EXIT); // the control is refused by the greedy registry
          assert.ok(evil.received(BASIC), JSON.stringify(evil.seen));
        } finally {
          await evil.stop();
        }
      });
    }
    await t.step("an attacker's ACR (evil.azurecr.io) gets no Entra token", async () => {
      const evil = await greedy("bearer", "127.0.0.3");
      try {
        const net = mappedFetch({ "evil.azurecr.io": evil.host });
        await Deno.writeTextFile(join(dir, "m.yaml"), manifestNaming("evil.azurecr.io"));
        const args = ["egress", "verify", "--manifest", "m.yaml", "--signer-policy", "policy.yaml"];
        // Only the Entra token and a docker config entry for another host are configured.
        const azureEnv = { ...env, KARS_REGISTRY_USERNAME: "", KARS_REGISTRY_PASSWORD: "" };
        const r = await runKars(args, { env: azureEnv, cwd: dir, fetch: net.fetch });
        assert.ok(evil.seen.length > 0);
        noSecretIn(evil, "evil.azurecr.io");
        assert.ok(!evil.seen.some((s) => s.path.startsWith("/oauth2/exchange")));
        assert.equal(r.code, UNAUTHORIZED_EXIT, r.stdout + r.stderr);
        assert.match(r.stdout, /^AllowlistVerified=False\/Unauthorized: /);
        assert.match(
          r.stderr,
          /Entra ID token .* not used for evil\.azurecr\.io: it applies only to/,
        );
        noSecretInText(r.stdout + r.stderr);
        // Control: allowed explicitly, the exchange is made (with the Entra token).
        evil.seen.length = 0;
        const c = await runKars([...args, "--allowed-registry", "evil.azurecr.io"], {
          env: azureEnv,
          cwd: dir,
          fetch: net.fetch,
        });
        assert.equal(c.code, UNAUTHORIZED_EXIT); // the control is refused by the greedy registry
        assert.ok(evil.received(ENTRA), JSON.stringify(evil.seen));
      } finally {
        await evil.stop();
      }
    });
  });
});

Deno.test("attack: a Bearer realm on another host gets no Basic credentials (egress verify)", async () => {
  await withDir(async (dir) => {
    const realm = await startHostile(() => Response.json({ token: "anonymous" }), "127.0.0.2");
    let realmUrl = `${realm.url}/token`;
    const reg = await startHostile(
      () => challenge(`Bearer realm="${realmUrl}",service="reg"`),
      "127.0.0.1",
    );
    try {
      const env = await ambient(dir, reg.host);
      await Deno.writeTextFile(join(dir, "policy.yaml"), policyConfigMap());
      const args = [
        "egress",
        "verify",
        `${reg.host}/policy/egress-allowlist/web@${DIGEST}`,
        "--signer-policy",
        "policy.yaml",
      ];
      const r = await runKars(args, { env, cwd: dir });
      assert.ok(realm.seen.length > 0, "the realm was asked for a token");
      assert.ok(realm.seen.every((s) => s.authorization === null), JSON.stringify(realm.seen));
      noSecretIn(realm, "foreign realm");
      assert.equal(r.code, UNAUTHORIZED_EXIT, r.stdout + r.stderr);
      assert.match(r.stdout, /^AllowlistVerified=False\/Unauthorized: /);
      assert.match(
        r.stderr,
        /not sent to token realm http:\/\/127\.0\.0\.2:\d+: the token realm .* is not on the registry's own host 127\.0\.0\.1/,
      );
      noSecretInText(r.stdout + r.stderr);
      // Control: a realm on the registry's own host (another port) does get them.
      const own = await startHostile(() => Response.json({ token: "t" }), "127.0.0.1");
      try {
        realmUrl = `${own.url}/token`;
        await runKars(args, { env, cwd: dir });
        assert.ok(own.received(BASIC), JSON.stringify(own.seen));
      } finally {
        await own.stop();
      }
    } finally {
      await reg.stop();
      await realm.stop();
    }
  });
});

Deno.test("attack: a token realm over plain http on a non-loopback host gets no credentials", async () => {
  await withDir(async (dir) => {
    // registry.example is https to the client; its realm is http://registry.example/token —
    // same host name, but plain HTTP on a non-loopback host. Both are mapped to loopback.
    const realm = await startHostile(() => Response.json({ token: "anonymous" }), "127.0.0.2");
    const reg = await startHostile(
      () => challenge(`Bearer realm="http://registry.example/token",service="reg"`),
      "127.0.0.1",
    );
    try {
      const net = mappedFetch({ "registry.example": reg.host });
      const realmNet = (input: RequestInfo | URL, init?: RequestInit) => {
        const u = new URL(input instanceof Request ? input.url : String(input));
        if (u.protocol === "http:" && u.hostname === "registry.example") {
          return fetch(`${realm.url}${u.pathname}${u.search}`, init);
        }
        return net.fetch(input, init);
      };
      const env = await ambient(dir, "registry.example");
      await Deno.writeTextFile(join(dir, "policy.yaml"), policyConfigMap());
      const r = await runKars([
        "egress",
        "verify",
        `registry.example/policy/egress-allowlist/web@${DIGEST}`,
        "--signer-policy",
        "policy.yaml",
      ], { env, cwd: dir, fetch: realmNet as typeof fetch });
      assert.ok(reg.seen.length > 0 && realm.seen.length > 0, JSON.stringify(net.calls));
      assert.ok(realm.seen.every((s) => s.authorization === null), JSON.stringify(realm.seen));
      noSecretIn(realm, "plain-http realm");
      assert.equal(r.code, UNAUTHORIZED_EXIT, r.stdout + r.stderr);
      assert.match(r.stdout, /^AllowlistVerified=False\/Unauthorized: /);
      assert.match(r.stderr, /the token realm http:\/\/registry\.example is not https/);
      noSecretInText(r.stdout + r.stderr);
    } finally {
      await reg.stop();
      await realm.stop();
    }
  });
});

Deno.test("attack: a redirect to another host carries no Authorization (egress verify)", async () => {
  await withDir(async (dir) => {
    const elsewhere = await startHostile(
      () => new Response("nope", { status: 404 }),
      "127.0.0.2",
    );
    // The trusted registry checks the credentials, then redirects the manifest elsewhere.
    const reg = await startHostile((req, url) => {
      if (req.headers.get("authorization") !== `Basic ${BASIC}`) {
        return challenge('Basic realm="reg"');
      }
      return Response.redirect(`${elsewhere.url}${url.pathname}`, 307);
    }, "127.0.0.1");
    try {
      const env = await ambient(dir, reg.host);
      await Deno.writeTextFile(join(dir, "policy.yaml"), policyConfigMap());
      const r = await runKars([
        "egress",
        "verify",
        `${reg.host}/policy/egress-allowlist/web@${DIGEST}`,
        "--signer-policy",
        "policy.yaml",
      ], { env, cwd: dir });
      assert.ok(reg.received(BASIC), "the trusted registry got its own credentials");
      assert.ok(elsewhere.seen.length > 0, "the redirect was followed");
      assert.ok(
        elsewhere.seen.every((s) => s.authorization === null),
        JSON.stringify(elsewhere.seen),
      );
      noSecretIn(elsewhere, "redirect target");
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /=True/);
    } finally {
      await reg.stop();
      await elsewhere.stop();
    }
  });
});

Deno.test("attack: a registry string with userinfo is refused before any request", async () => {
  await withDir(async (dir) => {
    const evil = await startHostile(() => challenge('Basic realm="x"'), "127.0.0.2");
    try {
      const net = mappedFetch({});
      const env = await ambient(dir, "myacr.azurecr.io");
      await Deno.writeTextFile(join(dir, "policy.yaml"), policyConfigMap());
      const sneaky = `myacr.azurecr.io:443@${evil.host}`;
      await Deno.writeTextFile(join(dir, "m.yaml"), manifestNaming(sneaky));
      for (
        const args of [
          ["egress", "verify", "--manifest", "m.yaml", "--signer-policy", "policy.yaml"],
          [
            "egress",
            "verify",
            `${sneaky}/policy/egress-allowlist/web@${DIGEST}`,
            "--signer-policy",
            "policy.yaml",
          ],
        ]
      ) {
        const r = await runKars(args, { env, cwd: dir, fetch: net.fetch });
        assert.equal(r.code, 3, r.stdout + r.stderr);
        assert.match(r.stdout, /^AllowlistVerified=False\/InvalidRef: .*user information/);
      }
      // As a flag or in the environment it is a usage error (exit 2).
      const e = await runKars([
        "egress",
        "basic",
        "--enforce",
        "--dry-run",
        "--from-file",
        new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname,
        "--registry",
        sneaky,
      ], { env, cwd: dir, fetch: net.fetch });
      assert.equal(e.code, 2, e.stderr);
      assert.match(e.stderr, /--registry .*user information/);
      const v = await runKars(
        ["egress", "verify", "--allowed-registry", sneaky, `r.example/a@${DIGEST}`],
        { env, cwd: dir, fetch: net.fetch },
      );
      assert.equal(v.code, 2, v.stderr);
      assert.deepEqual(net.calls, []);
      assert.equal(evil.seen.length, 0);
    } finally {
      await evil.stop();
    }
  });
});

Deno.test("attack: a registry outside --allowed-registry / SignerPolicy registries: InvalidRef, zero requests", async () => {
  await withDir(async (dir) => {
    const evil = await greedy("basic", "127.0.0.2");
    try {
      const env = await ambient(dir, "127.0.0.1:9");
      await Deno.writeTextFile(join(dir, "m.yaml"), manifestNaming(evil.host));
      await Deno.writeTextFile(join(dir, "open.yaml"), policyConfigMap());
      await Deno.writeTextFile(join(dir, "pinned.yaml"), policyConfigMap(["myacr.azurecr.io"]));
      const net = mappedFetch({});
      for (
        const extra of [
          ["--signer-policy", "open.yaml", "--allowed-registry", "myacr.azurecr.io"],
          [
            "--signer-policy",
            "open.yaml",
            "--allowed-registry",
            "a.example",
            "--allowed-registry",
            "b.example",
          ],
          ["--signer-policy", "pinned.yaml"],
        ]
      ) {
        const r = await runKars([
          "egress",
          "verify",
          "--manifest",
          "m.yaml",
          "--plain-http",
          ...extra,
        ], {
          env,
          cwd: dir,
          fetch: net.fetch,
        });
        assert.equal(r.code, 3, r.stdout + r.stderr);
        assert.match(
          r.stdout,
          /^AllowlistVerified=False\/InvalidRef: .*not among the allowed registries/,
        );
      }
      assert.deepEqual(net.calls, []);
      assert.equal(evil.seen.length, 0);
      // Control: allowed, it is contacted.
      const c = await runKars(
        [
          "egress",
          "verify",
          "--manifest",
          "m.yaml",
          "--plain-http",
          "--signer-policy",
          "pinned.yaml",
          "--allowed-registry",
          evil.host,
        ],
        { env, cwd: dir, fetch: net.fetch },
      );
      assert.equal(c.code, UNAUTHORIZED_EXIT); // the control is refused by the greedy registry
      assert.ok(net.calls.length > 0 && evil.seen.length > 0);
    } finally {
      await evil.stop();
    }
  });
});

Deno.test("attack: link-local and metadata registries are refused with no list given, zero requests", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "policy.yaml"), policyConfigMap());
    const net = mappedFetch({});
    for (
      const host of [
        "169.254.169.254",
        "169.254.169.254:80",
        "[fe80::1]:5000",
        "[::ffff:169.254.169.254]",
        "metadata.google.internal",
      ]
    ) {
      await Deno.writeTextFile(join(dir, "m.yaml"), manifestNaming(host));
      const r = await runKars(
        ["egress", "verify", "--manifest", "m.yaml", "--signer-policy", "policy.yaml"],
        { env: {}, cwd: dir, fetch: net.fetch },
      );
      assert.equal(r.code, 3, host + r.stdout + r.stderr);
      assert.match(r.stdout, /^AllowlistVerified=False\/InvalidRef: .*refused/, host);
    }
    // Numeric spellings of 169.254.169.254 are not registry hosts at all.
    for (const host of ["2852039166", "0xa9fea9fe", "169.254.43518"]) {
      await Deno.writeTextFile(join(dir, "m.yaml"), manifestNaming(host));
      const r = await runKars(
        ["egress", "verify", "--manifest", "m.yaml", "--signer-policy", "policy.yaml"],
        { env: {}, cwd: dir, fetch: net.fetch },
      );
      assert.equal(r.code, 3, host);
      assert.match(r.stdout, /^AllowlistVerified=False\/InvalidRef: /, host);
    }
    // kars egress: neither as --registry nor as the sandbox's allowlistRef (previous allowlist).
    const sandbox = join(dir, "sandbox.yaml");
    await Deno.writeTextFile(
      sandbox,
      manifestNaming("169.254.169.254").replace("egressMode: Strict", "egressMode: Learn"),
    );
    for (const [registry, code] of [["169.254.169.254", 2], ["r.example", 1]] as const) {
      const r = await runKars(
        ["egress", "web", "--enforce", "--dry-run", "--from-file", sandbox, "--registry", registry],
        { env: {}, cwd: dir, fetch: net.fetch },
      );
      assert.equal(r.code, code, r.stderr);
      assert.match(
        r.stderr,
        /registry "169\.254\.169\.254" is refused: it is a link-local address/,
      );
    }
    assert.deepEqual(net.calls, []);
  });
});

Deno.test("attack: kars egress reading the previous allowlist from a sandbox-named attacker registry", async () => {
  await withDir(async (dir) => {
    const evil = await greedy("basic", "127.0.0.2");
    const trusted = await startRegistryServer({ basic: { user: USER, password: PASS } });
    try {
      const env = await ambient(dir, trusted.host);
      const sandbox = join(dir, "sandbox.yaml");
      const body = manifestNaming(evil.host).replace("egressMode: Strict", "egressMode: Learn");
      await Deno.writeTextFile(sandbox, body);
      const args = [
        "egress",
        "web",
        "--enforce",
        "--dry-run",
        "--from-file",
        sandbox,
        "--registry",
        trusted.host,
        "--plain-http",
      ];
      const r = await runKars(args, { env, cwd: dir });
      assert.ok(evil.seen.length > 0, "the attacker registry was contacted");
      noSecretIn(evil, evil.host);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot read the previous allowlist/);
      assert.match(
        r.stderr,
        /KARS_REGISTRY_USERNAME\/KARS_REGISTRY_PASSWORD not sent to 127\.0\.0\.2/,
      );
      noSecretInText(r.stdout + r.stderr);
      // --username/--password-stdin are bound to --registry as well.
      evil.seen.length = 0;
      const s = await runKars([...args, "--username", "other", "--password-stdin"], {
        env: { DOCKER_CONFIG: dir },
        cwd: dir,
        stdin: "explicit-s3cret-pw\n",
      });
      assert.equal(s.code, 1, s.stderr);
      assert.ok(evil.seen.length > 0 && !evil.received("explicit-s3cret-pw"));
      assert.ok(!evil.received(toBase64(utf8("other:explicit-s3cret-pw"))));
      // Control: the sandbox naming the configured registry itself gets the credentials.
      evil.seen.length = 0;
      const c = await runKars(args, { env: { ...env, KARS_REGISTRY: evil.host }, cwd: dir });
      assert.equal(c.code, 1);
    } finally {
      await evil.stop();
      await trusted.stop();
    }
  });
});

Deno.test("attack: copy between registries keeps each credential with its host", async () => {
  const src = await startRegistryServer({ basic: { user: USER, password: PASS } });
  const evil = await greedy("basic", "127.0.0.2");
  try {
    const notes: string[] = [];
    const credentials = defaultCredentials({
      env: {},
      registry: src.host,
      explicit: { username: USER, password: PASS },
    });
    const from = new RegistryTarget({ registry: src.host, repository: "a/b", credentials });
    const a = allowlistArtifact("copy\n");
    await pushArtifact(from, a, { tags: ["latest"] });
    assert.ok(src.requests.some((r) => r.authorization === `Basic ${BASIC}`));
    const to = new RegistryTarget({
      registry: evil.host,
      repository: "a/b",
      plainHttp: true,
      credentials,
      onWithheld: (n) => notes.push(n),
    });
    await assert.rejects(copy(from, to, a.digest));
    assert.ok(evil.seen.length > 0);
    noSecretIn(evil, "copy destination");
    assert.ok(
      notes.some((n) =>
        /not sent to 127\.0\.0\.2:\d+: they apply only to 127\.0\.0\.1:\d+/.test(n)
      ),
      notes.join("\n"),
    );
  } finally {
    await evil.stop();
    await src.stop();
  }
});
