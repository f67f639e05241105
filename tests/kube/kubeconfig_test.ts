import assert from "assert";
import { startKubeApiServer } from "../support/kube_apiserver.ts";
import { loadKubeConfig } from "../../lib/kube/kubeconfig.ts";
import { KubeClient } from "../../lib/kube/client.ts";
import { findSandbox } from "../../lib/kube/sandbox.ts";
import { closeTransports } from "../../lib/io/transport.ts";
import { isKarsError } from "../../lib/errors.ts";

const FIXTURES = new URL("../../testdata/kube/", import.meta.url);
const TOKEN = "tok-" + "s3cr3t".repeat(4);
const SB = {
  apiVersion: "kars.azure.com/v1alpha1",
  kind: "KarsSandbox",
  metadata: { name: "my-agent", namespace: "kars-my-agent" },
  spec: { networkPolicy: { allowedEndpoints: [{ host: "api.github.com", port: 443 }] } },
};

type Srv = Awaited<ReturnType<typeof startKubeApiServer>>;

/** Copies a fixture into a fresh temp dir, filling its placeholders; returns the dir. */
async function template(
  srv: Srv,
  files: string[],
  vars: Record<string, string> = {},
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kars-kubecfg-" });
  await Deno.mkdir(`${dir}/pki`);
  await Deno.mkdir(`${dir}/secrets`);
  await Deno.mkdir(`${dir}/bin`);
  for (const f of ["ca.crt", "client.crt", "client.key"]) {
    await Deno.copyFile(`${srv.dir}/${f}`, `${dir}/pki/${f}`);
  }
  await Deno.writeTextFile(`${dir}/secrets/token`, TOKEN + "\n");
  const all: Record<string, string> = {
    SERVER: srv.url,
    CA_DATA: btoa(srv.certs.caPem),
    CERT_DATA: btoa(srv.certs.clientCertPem),
    KEY_DATA: btoa(srv.certs.clientKeyPem),
    TOKEN,
    ...vars,
  };
  for (const f of files) {
    let t = await Deno.readTextFile(new URL(f, FIXTURES));
    t = t.replace(/\{\{(\w+)\}\}/g, (_, k) => {
      if (!(k in all)) throw new Error(`fixture ${f}: no value for {{${k}}}`);
      return all[k].replaceAll("{{DIR}}", dir);
    });
    await Deno.writeTextFile(`${dir}/${f}`, t);
  }
  return dir;
}

async function withServer(fn: (srv: Srv) => Promise<void>) {
  const srv = await startKubeApiServer({ objects: [SB], tokens: { [TOKEN]: "alice" } });
  try {
    await fn(srv);
  } finally {
    closeTransports();
    await srv.stop();
  }
}

async function roundTrip(srv: Srv, kubeconfig: string, env: Record<string, string> = {}) {
  const cfg = await loadKubeConfig({ kubeconfig, env });
  const sb = await findSandbox(new KubeClient(cfg), "my-agent", {});
  assert.equal(sb.metadata.namespace, "kars-my-agent");
  return { cfg, user: srv.requests.at(-1)!.user };
}

Deno.test("kubeconfig: bearer token with CA data; context namespace", async () => {
  await withServer(async (srv) => {
    const dir = await template(srv, ["token.yaml"]);
    try {
      const { cfg, user } = await roundTrip(srv, `${dir}/token.yaml`);
      assert.equal(user, "token:alice");
      assert.equal(cfg.namespace, "team-a");
      assert.equal(cfg.contextName, "ctx");
      assert.equal(cfg.server, srv.url);
      // The token appears in no printable field of the config.
      assert.ok(!JSON.stringify(cfg).includes(TOKEN));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("kubeconfig: tokenFile and certificate-authority resolve against the file's directory", async () => {
  await withServer(async (srv) => {
    const dir = await template(srv, ["token-file.yaml"]);
    try {
      // cwd elsewhere: relative paths must still resolve against the kubeconfig's dir.
      const cfg = await loadKubeConfig({ kubeconfig: `${dir}/token-file.yaml`, env: {}, cwd: "/" });
      await findSandbox(new KubeClient(cfg), "my-agent", {});
      assert.equal(srv.requests.at(-1)!.user, "token:alice");
      await Deno.remove(`${dir}/secrets/token`);
      await assert.rejects(
        findSandbox(new KubeClient(cfg), "my-agent", {}),
        /token file .*secrets\/token does not exist/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("kubeconfig: client certificate and key as data and as files", async () => {
  await withServer(async (srv) => {
    const dir = await template(srv, ["client-cert-data.yaml", "client-cert-files.yaml"]);
    try {
      assert.equal((await roundTrip(srv, `${dir}/client-cert-data.yaml`)).user, "admin");
      assert.equal((await roundTrip(srv, `${dir}/client-cert-files.yaml`)).user, "admin");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

for (const version of ["v1", "v1beta1"]) {
  Deno.test(`kubeconfig: exec plugin ${version}; credential cached until expirationTimestamp`, async () => {
    await withServer(async (srv) => {
      const future = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
      const dir = await template(srv, ["exec.yaml"], {
        EXEC_VERSION: version,
        COUNT_FILE: "{{DIR}}/count",
        EXPIRES: future,
        INTERACTIVE: "IfAvailable",
      });
      try {
        await Deno.copyFile(new URL("get-token.sh", FIXTURES), `${dir}/bin/get-token.sh`);
        await Deno.chmod(`${dir}/bin/get-token.sh`, 0o755);
        const cfg = await loadKubeConfig({
          kubeconfig: `${dir}/exec.yaml`,
          env: { PATH: Deno.env.get("PATH") ?? "" },
        });
        const client = new KubeClient(cfg);
        await findSandbox(client, "my-agent", {});
        await findSandbox(client, "my-agent", {});
        await findSandbox(client, "my-agent", {});
        assert.equal(srv.requests.at(-1)!.user, "token:alice");
        assert.equal((await Deno.readTextFile(`${dir}/count`)).trim(), "1", "plugin ran once");
        const info = JSON.parse(await Deno.readTextFile(`${dir}/count.info`));
        assert.equal(info.apiVersion, `client.authentication.k8s.io/${version}`);
        assert.equal(info.kind, "ExecCredential");
        assert.equal(info.spec.interactive, false, "stdin is not a TTY");
        assert.equal(info.spec.cluster.server, srv.url);
        const args = await Deno.readTextFile(`${dir}/count.args`);
        assert.ok(!args.includes(TOKEN), "the token is never in argv");
        assert.equal(args.trim(), "get-token --server-id 6dae42f8-4368-4678-94ff-3960e28e3630");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  });
}

Deno.test("kubeconfig: exec credential past its expirationTimestamp is fetched again", async () => {
  await withServer(async (srv) => {
    const dir = await template(srv, ["exec.yaml"], {
      EXEC_VERSION: "v1",
      COUNT_FILE: "{{DIR}}/count",
      EXPIRES: "2020-01-01T00:00:00Z",
      INTERACTIVE: "Never",
    });
    try {
      await Deno.copyFile(new URL("get-token.sh", FIXTURES), `${dir}/bin/get-token.sh`);
      await Deno.chmod(`${dir}/bin/get-token.sh`, 0o755);
      const cfg = await loadKubeConfig({ kubeconfig: `${dir}/exec.yaml`, env: {} });
      const client = new KubeClient(cfg);
      await findSandbox(client, "my-agent", {});
      await findSandbox(client, "my-agent", {});
      assert.equal((await Deno.readTextFile(`${dir}/count`)).trim(), "2");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("kubeconfig: exec interactiveMode Always without a terminal, missing plugin, bad output", async () => {
  await withServer(async (srv) => {
    const dir = await template(srv, ["exec.yaml"], {
      EXEC_VERSION: "v1",
      COUNT_FILE: "{{DIR}}/count",
      EXPIRES: "",
      INTERACTIVE: "Always",
    });
    try {
      const cfg = await loadKubeConfig({ kubeconfig: `${dir}/exec.yaml`, env: {} });
      await assert.rejects(
        findSandbox(new KubeClient(cfg), "my-agent", {}),
        /needs an interactive terminal/,
      );
      const t = await Deno.readTextFile(`${dir}/exec.yaml`);
      await Deno.writeTextFile(
        `${dir}/exec.yaml`,
        t.replace("interactiveMode: Always", "interactiveMode: Never"),
      );
      const cfg2 = await loadKubeConfig({ kubeconfig: `${dir}/exec.yaml`, env: {} });
      await assert.rejects(findSandbox(new KubeClient(cfg2), "my-agent", {}), (e: unknown) => {
        assert.ok(isKarsError(e, "AUTH"));
        assert.match(e.message, /not found\ninstall kubelogin/);
        return true;
      });
      // A plugin printing a credential of the wrong apiVersion: refused, token not echoed.
      await Deno.writeTextFile(
        `${dir}/bin/get-token.sh`,
        `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"${TOKEN}"}}'\n`,
      );
      await Deno.chmod(`${dir}/bin/get-token.sh`, 0o755);
      const cfg3 = await loadKubeConfig({ kubeconfig: `${dir}/exec.yaml`, env: {} });
      await assert.rejects(findSandbox(new KubeClient(cfg3), "my-agent", {}), (e: unknown) => {
        assert.ok(isKarsError(e, "AUTH"));
        assert.match(e.message, /apiVersion "client.authentication.k8s.io\/v1beta1"/);
        assert.ok(!e.message.includes(TOKEN));
        return true;
      });
      assert.ok(srv.requests.length === 0, "no request without a credential");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("kubeconfig: KUBECONFIG with several files merges with first-wins per key", async () => {
  await withServer(async (srv) => {
    const dir = await template(srv, ["merged-a.yaml", "merged-b.yaml"]);
    try {
      const env = { KUBECONFIG: `${dir}/merged-a.yaml:${dir}/missing.yaml:${dir}/merged-b.yaml` };
      const cfg = await loadKubeConfig({ env });
      // current-context from a; context "from-a" from a (not b's); cluster "shared" from a
      // (b's points at port 1); user "carol" only in b.
      assert.equal(cfg.contextName, "from-a");
      assert.equal(cfg.namespace, "ns-from-a");
      assert.equal(cfg.server, srv.url);
      assert.deepEqual(cfg.source, [`${dir}/merged-a.yaml`, `${dir}/merged-b.yaml`]);
      await findSandbox(new KubeClient(cfg), "my-agent", { namespace: "kars-my-agent" });
      assert.equal(srv.requests.at(-1)!.user, "token:alice");
      const other = await loadKubeConfig({ env, context: "from-b" });
      assert.equal(other.namespace, "ns-only-b");
      await assert.rejects(
        loadKubeConfig({ env, context: "nope" }),
        /context "nope" not found .*known: from-a, from-b/,
      );
      // Relative KUBECONFIG entries resolve against cwd.
      const rel = await loadKubeConfig({ env: { KUBECONFIG: "merged-b.yaml" }, cwd: dir });
      assert.equal(rel.contextName, "from-b");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("kubeconfig: an explicit kubeconfig must exist; nothing at all is a clear error", async () => {
  await assert.rejects(
    loadKubeConfig({ kubeconfig: "/nonexistent/kc.yaml", env: {} }),
    (e: unknown) =>
      isKarsError(e, "INPUT") && e.details?.option === "kubeconfig" &&
      /^kubeconfig \/nonexistent\/kc.yaml does not exist$/.test(e.message),
  );
  await assert.rejects(
    loadKubeConfig({ env: { HOME: "/nonexistent-home" } }),
    (e: unknown) =>
      isKarsError(e, "KUBE") && /no kubeconfig found/.test(e.message) &&
      JSON.stringify(e.details?.fixOptions) === '["kubeconfig"]',
  );
});

Deno.test("kubeconfig: in-cluster service account (token re-read, CA, namespace)", async () => {
  await withServer(async (srv) => {
    const dir = await Deno.makeTempDir({ prefix: "kars-sa-" });
    try {
      await Deno.writeTextFile(`${dir}/token`, TOKEN);
      await Deno.writeTextFile(`${dir}/ca.crt`, srv.certs.caPem);
      await Deno.writeTextFile(`${dir}/namespace`, "kars-my-agent\n");
      const port = new URL(srv.url).port;
      const cfg = await loadKubeConfig({
        env: {
          KUBERNETES_SERVICE_HOST: "127.0.0.1",
          KUBERNETES_SERVICE_PORT: port,
          HOME: "/nonexistent-home",
        },
        inClusterPaths: {
          token: `${dir}/token`,
          ca: `${dir}/ca.crt`,
          namespace: `${dir}/namespace`,
        },
      });
      assert.equal(cfg.contextName, "in-cluster");
      assert.equal(cfg.namespace, "kars-my-agent");
      assert.equal(cfg.server, srv.url);
      const sb = await findSandbox(new KubeClient(cfg), "my-agent", {
        contextNamespace: cfg.namespace,
      });
      assert.equal(sb.metadata.name, "my-agent");
      assert.equal(srv.requests.at(-1)!.user, "token:alice");
      await Deno.writeTextFile(`${dir}/token`, "rotated-unknown");
      await assert.rejects(findSandbox(new KubeClient(cfg), "my-agent", {}), /401/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("kubeconfig: wrong CA fails TLS; insecure-skip-tls-verify connects without one", async () => {
  await withServer(async (srv) => {
    const dir = await Deno.makeTempDir({ prefix: "kars-insecure-" });
    try {
      const base = (cluster: string) =>
        `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${srv.url}\n${cluster}users:\n- name: u\n  user:\n    token: ${TOKEN}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n`;
      await Deno.writeTextFile(`${dir}/none.yaml`, base(""));
      await Deno.writeTextFile(
        `${dir}/insecure.yaml`,
        base("    insecure-skip-tls-verify: true\n"),
      );
      const none = await loadKubeConfig({ kubeconfig: `${dir}/none.yaml`, env: {} });
      await assert.rejects(findSandbox(new KubeClient(none), "my-agent", {}), (e: unknown) => {
        assert.ok(isKarsError(e, "TRANSIENT"));
        assert.match(
          e.message,
          /cannot reach the Kubernetes API of cluster https:\/\/127\.0\.0\.1/,
        );
        return true;
      });
      const insecure = await loadKubeConfig({ kubeconfig: `${dir}/insecure.yaml`, env: {} });
      assert.equal(insecure.insecureSkipTlsVerify, true);
      await findSandbox(new KubeClient(insecure), "my-agent", {});
      assert.equal(srv.requests.at(-1)!.user, "token:alice");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("kubeconfig: a 401 drops the cached exec credential and runs the plugin again", async () => {
  const NEW = "tok-rotated-" + "x".repeat(16);
  const srv = await startKubeApiServer({ objects: [SB], tokens: { [NEW]: "alice" } });
  const far = new Date(Date.now() + 3600_000).toISOString();
  const dir = await template(srv, ["exec.yaml"], {
    EXEC_VERSION: "v1",
    COUNT_FILE: "{{DIR}}/count",
    EXPIRES: far,
    INTERACTIVE: "Never",
  });
  try {
    await Deno.copyFile(new URL("get-token.sh", FIXTURES), `${dir}/bin/get-token.sh`);
    await Deno.chmod(`${dir}/bin/get-token.sh`, 0o755);
    const cfg = await loadKubeConfig({ kubeconfig: `${dir}/exec.yaml`, env: {} });
    const client = new KubeClient(cfg);
    // The plugin still hands out the old token: 401, refresh, still 401 → error.
    await assert.rejects(findSandbox(client, "my-agent", {}), /401/);
    assert.equal((await Deno.readTextFile(`${dir}/count`)).trim(), "2");
    // The identity provider rotates the token: the next 401 refreshes and succeeds.
    await Deno.writeTextFile(`${dir}/secrets/token`, NEW);
    await findSandbox(client, "my-agent", {});
    assert.equal(srv.requests.at(-1)!.user, "token:alice");
    // Cached old token → 401 → third run hands out the new one.
    assert.equal((await Deno.readTextFile(`${dir}/count`)).trim(), "3");
    await findSandbox(client, "my-agent", {});
    assert.equal((await Deno.readTextFile(`${dir}/count`)).trim(), "3", "cached again");
  } finally {
    closeTransports();
    await srv.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kubeconfig: what kars cannot honour fails closed (impersonation, basic auth, proxy-url, CA + insecure)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-unsupported-" });
  try {
    const mk = async (name: string, cluster: string, user: string) => {
      await Deno.writeTextFile(
        `${dir}/${name}.yaml`,
        `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n${cluster}users:\n- name: u\n  user:\n${user}contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n`,
      );
      return `${dir}/${name}.yaml`;
    };
    const cases: Array<[string, string, string, RegExp]> = [
      ["imp", "", "    token: t\n    as: system:admin\n", /impersonation \(as\)/],
      ["basic", "", "    username: a\n    password: b\n", /basic authentication/],
      ["proxy", "    proxy-url: http://proxy:3128\n", "    token: t\n", /proxy-url/],
      [
        "both",
        "    insecure-skip-tls-verify: true\n    certificate-authority-data: " + btoa("x") + "\n",
        "    token: t\n",
        /both a certificate authority and insecure-skip-tls-verify/,
      ],
      [
        "halfcert",
        "",
        "    client-certificate-data: " + btoa("x") + "\n",
        /certificate without a key/,
      ],
    ];
    for (const [name, cluster, user, re] of cases) {
      const p = await mk(name, cluster, user);
      await assert.rejects(loadKubeConfig({ kubeconfig: p, env: {} }), re, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
