/**
 * `kars egress` against a live cluster: the test HTTPS API server (client-certificate auth),
 * Debian's docker-registry and the @sigstore/mock services.
 */
import assert from "assert";
import { join } from "node:path";
import { runKars } from "./support/cli.ts";
import { needs, startDockerRegistry } from "./support/docker_registry.ts";
import { type KubeApiServer, startKubeApiServer } from "./support/kube_apiserver.ts";
import { startSigstoreMock } from "./support/sigstore_mock.ts";

function sandbox(name: string, namespace: string, hosts: string[]) {
  return {
    apiVersion: "kars.azure.com/v1alpha1",
    kind: "KarsSandbox",
    metadata: { name, namespace },
    spec: {
      networkPolicy: {
        egressMode: "Learn",
        allowedEndpoints: hosts.map((host) => ({ host, port: 443 })),
      },
    },
  };
}

type Ctx = {
  api: KubeApiServer;
  mock: Awaited<ReturnType<typeof startSigstoreMock>>;
  args: (...extra: string[]) => string[];
  env: Record<string, string>;
};

async function withCluster(
  objects: Record<string, unknown>[],
  fn: (c: Ctx) => Promise<void>,
  opts: {
    contextNamespace?: string;
    beforeRequest?: Parameters<typeof startKubeApiServer>[0] extends infer O
      ? O extends { beforeRequest?: infer B } ? B : never
      : never;
  } = {},
): Promise<void> {
  const reg = await startDockerRegistry();
  const mock = await startSigstoreMock();
  const api = await startKubeApiServer({
    objects,
    contextNamespace: opts.contextNamespace,
    beforeRequest: opts.beforeRequest,
  });
  try {
    await fn({
      api,
      mock,
      env: { SIGSTORE_ID_TOKEN: mock.mintToken() },
      args: (...extra) => [
        "egress",
        ...extra,
        "--kubeconfig",
        api.kubeconfigPath,
        "--registry",
        reg.host,
        "--fulcio-url",
        mock.fulcioUrl,
        "--rekor-url",
        mock.rekorUrl,
      ],
    });
  } finally {
    await api.stop();
    await mock.stop();
    await reg.stop();
  }
}

const patches = (api: KubeApiServer) => api.requests.filter((r) => r.method === "PATCH");

Deno.test(
  "live: reads the sandbox, pushes, signs, then patches allowlistRef and egressMode",
  needs("docker-registry"),
  async () => {
    await withCluster([sandbox("my-agent", "kars-my-agent", ["api.github.com"])], async (c) => {
      const r = await runKars(c.args("my-agent", "--enforce", "--json"), { env: c.env });
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout);
      assert.equal(res.patched, true);
      assert.equal(patches(c.api).length, 1);
      const live = c.api.get("kars-my-agent", "my-agent") as {
        spec: { networkPolicy: Record<string, unknown> };
        metadata: { annotations?: Record<string, string> };
      };
      const np = live.spec.networkPolicy;
      assert.equal(np.egressMode, "Strict");
      assert.deepEqual(np.allowlistRef, {
        registry: res.registry,
        repository: "policy/egress-allowlist/my-agent",
        digest: res.digest,
        artifactType: "application/vnd.kars.egress-allowlist.v1+yaml",
      });
      // The GitOps marker is for GitOps only.
      assert.equal(live.metadata.annotations?.["kars.io/applied-via-gitops"], undefined);
      // Order: the only PATCH comes after the signature went to Rekor.
      assert.ok(c.mock.requests.some((q) => q.service === "rekor" && q.method === "POST"));
    });
  },
);

Deno.test("live: a signing failure makes no PATCH request", needs("docker-registry"), async () => {
  await withCluster([sandbox("my-agent", "kars-my-agent", ["api.github.com"])], async (c) => {
    c.mock.fail.fulcio = 500;
    const r = await runKars(c.args("my-agent", "--enforce"), { env: c.env });
    assert.equal(r.code, 5); // Fulcio 5xx: transient (README exit codes)
    assert.match(r.stderr, /signing failed; the sandbox was not patched/);
    assert.equal(patches(c.api).length, 0);
    assert.ok(c.api.requests.some((q) => q.method === "GET"));
  });
});

Deno.test(
  "live: a concurrent change (409) is re-read, re-checked and retried once",
  needs("docker-registry"),
  async () => {
    let mutated = false;
    await withCluster([sandbox("my-agent", "kars-my-agent", ["api.github.com"])], async (c) => {
      const r = await runKars(c.args("my-agent", "--enforce"), { env: c.env });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(mutated);
      // The first PATCH met the 409; the retry after the re-read went through.
      assert.equal(patches(c.api).length, 2);
      const live = c.api.get("kars-my-agent", "my-agent") as {
        metadata: { labels?: Record<string, string> };
        spec: { networkPolicy: { egressMode?: string } };
      };
      assert.equal(live.metadata.labels?.touched, "yes");
      assert.equal(live.spec.networkPolicy.egressMode, "Strict");
    }, {
      // Someone else changes an unrelated field just before our first PATCH.
      beforeRequest: (req, server) => {
        if (req.method === "PATCH" && !mutated) {
          mutated = true;
          server.mutate("kars-my-agent", "my-agent", (o) => {
            (o.metadata as Record<string, unknown>).labels = { touched: "yes" };
          });
        }
      },
    });
  },
);

Deno.test(
  "live: a concurrent change of the endpoints is refused, not patched over",
  needs("docker-registry"),
  async () => {
    let mutated = false;
    await withCluster([sandbox("my-agent", "kars-my-agent", ["api.github.com"])], async (c) => {
      const r = await runKars(c.args("my-agent", "--enforce"), { env: c.env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /changed its endpoints/);
      assert.ok(mutated);
      const live = c.api.get("kars-my-agent", "my-agent") as {
        spec: { networkPolicy: Record<string, unknown> };
      };
      assert.equal(live.spec.networkPolicy.allowlistRef, undefined);
      assert.equal(live.spec.networkPolicy.egressMode, "Learn");
    }, {
      beforeRequest: (req, server) => {
        if (req.method === "PATCH" && !mutated) {
          mutated = true;
          server.mutate("kars-my-agent", "my-agent", (o) => {
            // deno-lint-ignore no-explicit-any
            (o as any).spec.networkPolicy.allowedEndpoints.push({
              host: "evil.example",
              port: 443,
            });
          });
        }
      },
    });
  },
);

Deno.test(
  "live: -n is honoured; an ambiguous name lists its namespaces",
  needs("docker-registry"),
  async () => {
    await withCluster([
      sandbox("my-agent", "team-a", ["a.example"]),
      sandbox("my-agent", "team-b", ["b.example"]),
    ], async (c) => {
      const amb = await runKars(c.args("my-agent", "--enforce"), { env: c.env });
      assert.equal(amb.code, 2, amb.stderr);
      assert.match(amb.stderr, /team-a/);
      assert.match(amb.stderr, /team-b/);
      // The library says "name the namespace"; the CLI names the flag.
      assert.match(amb.stderr, /name the namespace to pick one \(flags: -n\/--namespace\)/);
      assert.equal(patches(c.api).length, 0);
      const miss = await runKars(c.args("my-agent", "-n", "team-c", "--enforce"), { env: c.env });
      assert.equal(miss.code, 2, miss.stderr);
      assert.match(
        miss.stderr,
        /kars: error: -n\/--namespace: KarsSandbox "my-agent" not found in namespace team-c on /,
      );
      assert.match(miss.stderr, /exists in namespace\(s\) team-a, team-b/);
      const r = await runKars(c.args("my-agent", "-n", "team-b", "--enforce", "--json"), {
        env: c.env,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).namespace, "team-b");
      const ps = patches(c.api);
      assert.equal(ps.length, 1);
      assert.match(ps[0].path, /\/namespaces\/team-b\//);
    });
  },
);

Deno.test(
  "--emit-manifest with --from-file makes zero API requests",
  needs("docker-registry"),
  async () => {
    await withCluster([sandbox("my-agent", "kars-my-agent", ["api.github.com"])], async (c) => {
      const dir = await Deno.makeTempDir();
      try {
        const file = join(dir, "sb.yaml");
        await Deno.writeTextFile(
          file,
          JSON.stringify(sandbox("my-agent", "kars-my-agent", ["api.github.com"])),
        );
        const r = await runKars(
          c.args(
            "my-agent",
            "--enforce",
            "--from-file",
            file,
            "--emit-manifest",
            join(dir, "m.yaml"),
          ),
          { env: { ...c.env, KUBECONFIG: c.api.kubeconfigPath } },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.equal(c.api.requests.length, 0);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
);

Deno.test(
  "--emit-manifest against the live cluster only reads",
  needs("docker-registry"),
  async () => {
    await withCluster([sandbox("my-agent", "kars-my-agent", ["api.github.com"])], async (c) => {
      const dir = await Deno.makeTempDir();
      try {
        const r = await runKars(
          c.args("my-agent", "--enforce", "--emit-manifest", join(dir, "m.yaml")),
          { env: c.env },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.ok(c.api.requests.length > 0);
        assert.ok(c.api.requests.every((q) => q.method === "GET"));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
);
