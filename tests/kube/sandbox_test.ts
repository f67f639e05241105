import assert from "assert";
import { startKubeApiServer } from "../support/kube_apiserver.ts";
import { loadKubeConfig } from "../../lib/kube/kubeconfig.ts";
import { KubeClient } from "../../lib/kube/client.ts";
import { findSandbox, type LiveSandbox, patchSandbox } from "../../lib/kube/sandbox.ts";
import { closeTransports } from "../../lib/io/transport.ts";
import { isKarsError, KarsError } from "../../lib/errors.ts";

function sandbox(
  name: string,
  namespace: string,
  endpoints = [{ host: "api.github.com", port: 443 }],
) {
  return {
    apiVersion: "kars.azure.com/v1alpha1",
    kind: "KarsSandbox",
    metadata: { name, namespace },
    spec: {
      networkPolicy: { defaultDeny: true, egressMode: "Learn", allowedEndpoints: endpoints },
    },
  };
}

const REF = {
  registry: "myacr.azurecr.io",
  repository: "policy/egress-allowlist/my-agent",
  digest: "sha256:" + "ab".repeat(32),
  artifactType: "application/vnd.kars.egress-allowlist.v1+yaml",
};

async function withServer(
  opts: Parameters<typeof startKubeApiServer>[0],
  fn: (srv: Awaited<ReturnType<typeof startKubeApiServer>>, client: KubeClient) => Promise<void>,
) {
  const srv = await startKubeApiServer(opts);
  try {
    const cfg = await loadKubeConfig({ kubeconfig: srv.kubeconfigPath, env: {} });
    await fn(srv, new KubeClient(cfg));
  } finally {
    closeTransports();
    await srv.stop();
  }
}

Deno.test("findSandbox: -n is honoured (and only that namespace is read)", async () => {
  await withServer({
    objects: [sandbox("my-agent", "prod"), sandbox("my-agent", "kars-my-agent")],
    contextNamespace: "kars-my-agent",
  }, async (srv, client) => {
    const sb = await findSandbox(client, "my-agent", {
      namespace: "prod",
      contextNamespace: "kars-my-agent",
    });
    assert.equal(sb.metadata.namespace, "prod");
    assert.deepEqual(srv.requests.map((r) => r.method + " " + r.path), [
      "GET /apis/kars.azure.com/v1alpha1/namespaces/prod/karssandboxes/my-agent",
    ]);
    assert.equal(srv.requests[0].user, "admin");
  });
});

Deno.test("findSandbox: the context namespace, then kars-<name>", async () => {
  await withServer({
    objects: [sandbox("a", "team-ns"), sandbox("b", "kars-b")],
  }, async (srv, client) => {
    const a = await findSandbox(client, "a", { contextNamespace: "team-ns" });
    assert.equal(a.metadata.namespace, "team-ns");
    const b = await findSandbox(client, "b", {});
    assert.equal(b.metadata.namespace, "kars-b");
    assert.deepEqual(srv.requests.map((r) => r.path), [
      "/apis/kars.azure.com/v1alpha1/namespaces/team-ns/karssandboxes/a",
      "/apis/kars.azure.com/v1alpha1/namespaces/kars-b/karssandboxes/b",
    ]);
  });
});

Deno.test("findSandbox: falls back to one match across namespaces; ambiguous names list namespaces", async () => {
  await withServer({
    objects: [
      sandbox("solo", "elsewhere"),
      sandbox("dup", "ns-b"),
      sandbox("dup", "ns-a"),
      sandbox("other", "ns-a"),
    ],
  }, async (srv, client) => {
    const s = await findSandbox(client, "solo", { contextNamespace: "default" });
    assert.equal(s.metadata.namespace, "elsewhere");
    assert.equal(
      srv.requests[1].path,
      "/apis/kars.azure.com/v1alpha1/karssandboxes?fieldSelector=metadata.name%3Dsolo",
    );
    await assert.rejects(findSandbox(client, "dup", {}), (e: unknown) => {
      assert.ok(isKarsError(e, "INPUT"));
      assert.match(e.message, /ambiguous/);
      assert.match(e.message, /namespaces ns-a, ns-b/);
      assert.match(e.message, /name the namespace/);
      assert.deepEqual(e.details?.fixOptions, ["namespace"]);
      return true;
    });
    await assert.rejects(findSandbox(client, "nope", {}), (e: unknown) => {
      assert.ok(isKarsError(e, "NOT_FOUND"));
      assert.match(e.message, /"nope" not found in namespace kars-nope nor in any other namespace/);
      assert.ok(e.message.includes(srv.url), "names the cluster");
      return true;
    });
    // -n with a miss: NOT_FOUND, and the hint says where it is.
    await assert.rejects(findSandbox(client, "solo", { namespace: "prod" }), (e: unknown) => {
      assert.ok(isKarsError(e, "NOT_FOUND"));
      assert.match(e.message, /not found in namespace prod on /);
      assert.equal(e.details?.option, "namespace");
      assert.match(e.message, /exists in namespace\(s\) elsewhere/);
      return true;
    });
  });
});

Deno.test("403 names the missing RBAC verb, resource, namespace and cluster", async () => {
  await withServer({
    objects: [sandbox("my-agent", "kars-my-agent")],
    forbidden: [{ verb: "get" }, { verb: "patch" }],
  }, async (srv, client) => {
    await assert.rejects(findSandbox(client, "my-agent", {}), (e: unknown) => {
      assert.ok(isKarsError(e, "AUTH"));
      assert.match(
        e.message,
        /Grant the verb "get" on resource "karssandboxes" in API group "kars.azure.com" in namespace kars-my-agent/,
      );
      assert.ok(e.message.includes(`cluster ${srv.url} (context test)`));
      return true;
    });
    srv.forbidden.splice(0, 1); // allow get again
    const sb = await findSandbox(client, "my-agent", {});
    await assert.rejects(
      patchSandbox(client, sb, { allowlistRef: REF }, { recheck: () => {} }),
      (e: unknown) => {
        assert.ok(isKarsError(e, "AUTH"));
        assert.match(e.message, /Grant the verb "patch"/);
        assert.match(e.message, /verbs: \["patch"\]/);
        return true;
      },
    );
  });
});

Deno.test("patchSandbox: merge patch guarded by resourceVersion; fields as the GitOps manifest", async () => {
  await withServer({ objects: [sandbox("my-agent", "kars-my-agent")] }, async (srv, client) => {
    const sb = await findSandbox(client, "my-agent", {});
    const rv = sb.metadata.resourceVersion;
    const out = await patchSandbox(client, sb, {
      egressMode: "Strict",
      allowedEndpoints: [{ host: "api.github.com", port: 443 }, { host: "pypi.org", port: 443 }],
      allowlistRef: REF,
    }, { recheck: () => assert.fail("no conflict expected") });
    assert.notEqual(out.metadata.resourceVersion, rv);
    const stored = srv.get("kars-my-agent", "my-agent") as LiveSandbox;
    assert.deepEqual(stored.spec?.networkPolicy, {
      defaultDeny: true,
      egressMode: "Strict",
      allowedEndpoints: [{ host: "api.github.com", port: 443 }, { host: "pypi.org", port: 443 }],
      allowlistRef: REF,
    });
    assert.equal(stored.metadata.generation, 2);
    // No GitOps annotation on a live patch.
    assert.equal((stored.metadata as { annotations?: unknown }).annotations, undefined);
    assert.deepEqual(srv.requests.map((r) => r.method), ["GET", "PATCH"]);
  });
});

Deno.test("patchSandbox: a 409 is retried once after re-reading and re-checking", async () => {
  let bumps = 0;
  await withServer({
    objects: [sandbox("my-agent", "kars-my-agent")],
    beforeRequest: (req, s) => {
      // A concurrent writer changes the object just before our first PATCH.
      if (req.method === "PATCH" && bumps === 0) {
        bumps++;
        s.mutate("kars-my-agent", "my-agent", (o) => {
          (o.metadata as Record<string, unknown>).labels = { touched: "yes" };
        });
      }
    },
  }, async (srv, client) => {
    const sb = await findSandbox(client, "my-agent", {});
    const seen: LiveSandbox[] = [];
    await patchSandbox(client, sb, { egressMode: "Strict", allowlistRef: REF }, {
      recheck: (fresh) => void seen.push(fresh),
    });
    assert.equal(seen.length, 1);
    assert.deepEqual((seen[0].metadata as { labels?: unknown }).labels, { touched: "yes" });
    assert.deepEqual(srv.requests.map((r) => r.method), ["GET", "PATCH", "GET", "PATCH"]);
    const stored = srv.get("kars-my-agent", "my-agent") as LiveSandbox;
    assert.deepEqual(stored.spec?.networkPolicy?.allowlistRef, REF);
    assert.deepEqual((stored.metadata as { labels?: unknown }).labels, { touched: "yes" });
  });
});

Deno.test("patchSandbox: the re-check can refuse the retry (endpoints changed)", async () => {
  await withServer({
    objects: [sandbox("my-agent", "kars-my-agent")],
    beforeRequest: (req, s) => {
      if (req.method === "PATCH") {
        s.mutate("kars-my-agent", "my-agent", (o) => {
          (o.spec as { networkPolicy: { allowedEndpoints: unknown } }).networkPolicy
            .allowedEndpoints = [
              { host: "evil.example", port: 443 },
            ];
        });
      }
    },
  }, async (srv, client) => {
    const sb = await findSandbox(client, "my-agent", {});
    await assert.rejects(
      patchSandbox(client, sb, { allowlistRef: REF }, {
        recheck: (fresh) => {
          if (
            JSON.stringify(fresh.spec?.networkPolicy?.allowedEndpoints) !==
              JSON.stringify(sb.spec?.networkPolicy?.allowedEndpoints)
          ) {
            throw new KarsError("INPUT", "endpoints changed since signing");
          }
        },
      }),
      /endpoints changed since signing/,
    );
    assert.deepEqual(srv.requests.map((r) => r.method), ["GET", "PATCH", "GET"]);
    assert.equal(
      (srv.get("kars-my-agent", "my-agent") as LiveSandbox).spec?.networkPolicy?.allowlistRef,
      undefined,
    );
  });
});

Deno.test("patchSandbox: a second 409 is a clear error, not a third attempt", async () => {
  await withServer({
    objects: [sandbox("my-agent", "kars-my-agent")],
    beforeRequest: (req, s) => {
      if (req.method === "PATCH") s.mutate("kars-my-agent", "my-agent", () => {});
    },
  }, async (srv, client) => {
    const sb = await findSandbox(client, "my-agent", {});
    await assert.rejects(
      patchSandbox(client, sb, { allowlistRef: REF }, { recheck: () => {} }),
      (e: unknown) => {
        assert.ok(isKarsError(e, "KUBE"));
        assert.match(e.message, /409 Conflict twice/);
        assert.match(e.message, /namespace kars-my-agent/);
        return true;
      },
    );
    assert.deepEqual(srv.requests.map((r) => r.method), ["GET", "PATCH", "GET", "PATCH"]);
  });
});

Deno.test("the API server requires a client certificate or token: anonymous gets 401", async () => {
  await withServer({ objects: [sandbox("x", "kars-x")] }, async (srv) => {
    const cfg = await loadKubeConfig({ kubeconfig: srv.kubeconfigPath, env: {} });
    const anon = new KubeClient({
      ...cfg,
      auth: { get: () => Promise.resolve({}), invalidate() {} },
    });
    await assert.rejects(findSandbox(anon, "x", {}), (e: unknown) => {
      assert.ok(isKarsError(e, "AUTH"));
      assert.match(e.message, /401/);
      return true;
    });
    assert.equal(srv.requests.at(-1)?.user, "anonymous");
  });
});

Deno.test("patchSandbox: refuses an object without resourceVersion (never an unguarded write)", async () => {
  await withServer({ objects: [sandbox("my-agent", "kars-my-agent")] }, async (srv, client) => {
    const sb = await findSandbox(client, "my-agent", {});
    delete sb.metadata.resourceVersion;
    await assert.rejects(
      patchSandbox(client, sb, { allowlistRef: REF }, { recheck: () => {} }),
      /refusing an unguarded patch/,
    );
    assert.deepEqual(srv.requests.map((r) => r.method), ["GET"]);
  });
});

Deno.test("client: a server that never answers times out as TRANSIENT naming the cluster", async () => {
  let release!: () => void;
  const stalled = new Promise<void>((r) => (release = r));
  await withServer({
    objects: [sandbox("slow", "kars-slow")],
    beforeRequest: () => stalled,
  }, async (srv) => {
    const cfg = await loadKubeConfig({ kubeconfig: srv.kubeconfigPath, env: {} });
    const client = new KubeClient(cfg, { timeoutMs: 50 });
    try {
      await assert.rejects(findSandbox(client, "slow", {}), (e: unknown) => {
        assert.ok(isKarsError(e, "TRANSIENT"));
        assert.match(e.message, /did not answer GET .* within 50 ms/);
        assert.ok(e.message.includes(srv.url));
        return true;
      });
    } finally {
      release(); // let the stalled handler finish before the server stops
    }
  });
});
