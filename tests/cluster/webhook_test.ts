/**
 * The admission webhook over real TLS (a test CA) with real AdmissionReview v1 requests:
 * allowed, denied with reason and fix, UPDATE with the ref unchanged (no registry round trip),
 * malformed requests, the controller's predicted refusal as a warning, authoritative mode,
 * forbidden registries, the verification deadline (fail closed / --allow-on-error), cold cache
 * answered inside the deadline, metrics/health probes, TLS reload, and the CLI's graceful
 * shutdown with JSON logs.
 */
import assert from "assert";
import { utf8 } from "../../lib/encoding/bytes.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../../lib/oci/artifact.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { loadSignerPolicy } from "../../lib/verify/policy_parse.ts";
import { parseTrustedRoot } from "../../lib/verify/sigstore/mod.ts";
import { VerdictCache } from "../../lib/verify/cache.ts";
import type { VerifyResult } from "../../lib/verify/result.ts";
import { AdmissionController, type AdmissionOptions } from "../../lib/cluster/admission.ts";
import { WebhookMetrics } from "../../lib/cluster/metrics.ts";
import { startWebhookServer, type WebhookServer } from "../../lib/cluster/webhook_server.ts";
import { parseListenAddress } from "../../lib/cli/webhook.ts";
import { makeTestPki } from "../support/kube_apiserver.ts";
import { freePort } from "../support/docker_registry.ts";
import { runKars } from "../support/cli.ts";
import {
  keylessSigner,
  keySigner,
  policyYaml,
  pushAllowlist,
  signLegacy,
} from "../verify/fixtures.ts";
import { noRegistry, type Stack, withStack } from "./fixtures.ts";

type Ref = { registry: string; repository: string; digest: string; artifactType: string };

async function signed(
  s: Stack,
  repo: string,
  signer: "default" | "foreign" | "key",
  key: ReturnType<typeof keySigner>,
): Promise<Ref> {
  const target = new RegistryTarget({ registry: s.reg.host, repository: repo });
  const a = await pushAllowlist(target);
  await signLegacy(target, {
    registry: s.reg.host,
    repository: repo,
    digest: a.manifestDigest,
    signer: signer === "key" ? key.signer : keylessSigner(
      s.mock,
      signer === "foreign" ? { sub: "https://github.com/mallory/x" } : undefined,
    ),
    rekorUrl: signer === "key" ? undefined : s.mock.rekorUrl,
  });
  return {
    registry: s.reg.host,
    repository: repo,
    digest: a.manifestDigest,
    artifactType: ALLOWLIST_MEDIA_TYPE,
  };
}

function review(
  op: "CREATE" | "UPDATE" | "DELETE",
  ref: Ref | undefined,
  oldRef?: Ref | null,
  uid = crypto.randomUUID(),
) {
  const obj = (r: Ref | undefined | null) => ({
    apiVersion: "kars.azure.com/v1alpha1",
    kind: "KarsSandbox",
    metadata: { name: "my-agent", namespace: "kars-my-agent" },
    spec: {
      networkPolicy: r
        ? { egressMode: "Strict", allowlistRef: r }
        : { allowedEndpoints: [{ host: "api.github.com" }] },
    },
  });
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "kars.azure.com", version: "v1alpha1", kind: "KarsSandbox" },
      resource: { group: "kars.azure.com", version: "v1alpha1", resource: "karssandboxes" },
      name: "my-agent",
      namespace: "kars-my-agent",
      operation: op,
      userInfo: { username: "system:serviceaccount:argocd:argocd-application-controller" },
      object: op === "DELETE" ? null : obj(ref),
      oldObject: oldRef === undefined ? null : obj(oldRef),
      dryRun: false,
    },
  };
}

interface Hook {
  srv: WebhookServer;
  // deno-lint-ignore no-explicit-any
  post: (body: unknown) => Promise<{ status: number; json: Record<string, any> }>;
  metrics: WebhookMetrics;
  logs: Record<string, unknown>[];
  pki: string;
}

async function withWebhook(
  s: Stack,
  opts: Partial<AdmissionOptions> & { policyText: string },
  fn: (h: Hook) => Promise<void>,
) {
  const pki = await Deno.makeTempDir({ prefix: "kars-webhook-pki-" });
  await makeTestPki(pki);
  const metrics = new WebhookMetrics();
  const logs: Record<string, unknown>[] = [];
  const policy = loadSignerPolicy({ configMap: utf8(opts.policyText) });
  const { policyText: _p, ...rest } = opts;
  const controller = new AdmissionController({
    policy: () => policy,
    trustedRoot: parseTrustedRoot(utf8(JSON.stringify(s.mock.trustedRoot))),
    cache: new VerdictCache<VerifyResult>(),
    ...rest,
  });
  const srv = await startWebhookServer({
    controller,
    metrics,
    listen: { host: "127.0.0.1", port: 0 },
    metricsListen: { host: "127.0.0.1", port: 0 },
    tls: { certFile: `${pki}/server.crt`, keyFile: `${pki}/server.key`, reloadIntervalMs: 60_000 },
    log: (level, msg, fields) => logs.push({ level, msg, ...fields }),
  });
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${pki}/ca.crt`)] });
  try {
    await fn({
      srv,
      metrics,
      logs,
      pki,
      post: async (body) => {
        const r = await fetch(`${srv.url}/validate`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: typeof body === "string" ? body : JSON.stringify(body),
          client,
        });
        const text = await r.text();
        return { status: r.status, json: JSON.parse(text) };
      },
    });
  } finally {
    client.close();
    await srv.close(1000);
    await Deno.remove(pki, { recursive: true });
  }
}

Deno.test({
  name:
    "webhook: AdmissionReview v1 over TLS — allowed, denied with reason and fix, ref unchanged, malformed",
  ignore: noRegistry,
  fn: () =>
    withStack([], async (s) => {
      const key = keySigner();
      const good = await signed(s, "policy/egress-allowlist/good", "default", key);
      const foreign = await signed(s, "policy/egress-allowlist/foreign", "foreign", key);
      const keyed = await signed(s, "policy/egress-allowlist/keyed", "key", key);
      let elsewhereHits = 0;
      const elsewhere = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
        elsewhereHits++;
        return new Response("", { status: 500 });
      });
      const policyText = policyYaml([s.mock.defaultIssuer], [s.mock.defaultSubject], key.publicPem);
      try {
        await withWebhook(s, { policyText, allowedRegistries: [s.reg.host] }, async (h) => {
          // Allowed (cold cache): a verdict, not the deadline's fallback.
          const uid = crypto.randomUUID();
          let r = await h.post(review("CREATE", good, undefined, uid));
          assert.equal(r.status, 200);
          assert.equal(r.json.apiVersion, "admission.k8s.io/v1");
          assert.equal(r.json.kind, "AdmissionReview");
          assert.equal(r.json.response.uid, uid);
          assert.equal(r.json.response.allowed, true, JSON.stringify(r.json));
          assert.equal(r.json.response.warnings, undefined);
          assert.equal(h.metrics.cacheMisses.get(), 1);
          // Same ref again: from the cache.
          r = await h.post(review("CREATE", good));
          assert.equal(r.json.response.allowed, true);
          assert.equal(h.metrics.cacheHits.get(), 1);

          // Denied with reason and fix.
          r = await h.post(review("CREATE", foreign));
          assert.equal(r.json.response.allowed, false);
          assert.equal(r.json.response.status.code, 403);
          assert.match(r.json.response.status.message, /AllowlistVerified=False\/IdentityMismatch/);
          assert.match(
            r.json.response.status.message,
            /Fix: Signer identity not allowlisted in SignerPolicy/,
          );

          // Allowed for us, refused by the controller: a warning.
          r = await h.post(review("CREATE", keyed));
          assert.equal(r.json.response.allowed, true);
          assert.equal(r.json.response.warnings.length, 1);
          assert.match(
            r.json.response.warnings[0],
            /kars controller will refuse this allowlist: AllowlistVerified=False\/IdentityMismatch/,
          );

          // A registry that is not allowed: denied, no request.
          const other = { ...good, registry: `127.0.0.1:${elsewhere.addr.port}` };
          r = await h.post(review("CREATE", other));
          assert.equal(r.json.response.allowed, false);
          assert.match(
            r.json.response.status.message,
            /InvalidRef.*not among the allowed registries/,
          );
          // UPDATE that does not touch the ref: allowed with no registry round trip at all.
          const misses = h.metrics.cacheMisses.get();
          r = await h.post(review("UPDATE", other, other));
          assert.equal(r.json.response.allowed, true);
          assert.equal(h.logs.at(-1)!.reason, "Unchanged");
          assert.equal(h.metrics.cacheMisses.get(), misses);
          assert.equal(elsewhereHits, 0);
          // UPDATE that changes the ref is verified.
          r = await h.post(review("UPDATE", foreign, good));
          assert.equal(r.json.response.allowed, false);
          // DELETE is not checked; no ref is allowed (not authoritative) with a warning.
          assert.equal((await h.post(review("DELETE", undefined))).json.response.allowed, true);
          r = await h.post(review("CREATE", undefined));
          assert.equal(r.json.response.allowed, true);
          assert.match(r.json.response.warnings[0], /not authoritative/);

          // Malformed requests.
          assert.equal((await h.post("{not json")).status, 400);
          assert.equal(
            (await h.post({
              apiVersion: "admission.k8s.io/v1beta1",
              kind: "AdmissionReview",
              request: { uid: "x" },
            })).status,
            400,
          );
          assert.equal(
            (await h.post({
              apiVersion: "admission.k8s.io/v1",
              kind: "AdmissionReview",
              request: {},
            })).status,
            400,
          );
          const wrongKind = review("CREATE", good);
          (wrongKind.request.object as { kind: string }).kind = "ConfigMap";
          r = await h.post(wrongKind);
          assert.equal(r.json.response.allowed, false);
          assert.equal(r.json.response.status.code, 400);
          const ghost = await fetch(`${h.srv.url}/other`, {
            client: Deno.createHttpClient({
              caCerts: [await Deno.readTextFile(`${h.pki}/ca.crt`)],
            }),
          });
          assert.equal(ghost.status, 404);
          await ghost.body?.cancel();

          // Probes and metrics on the separate port.
          const get = async (p: string) => {
            const x = await fetch(`${h.srv.metricsUrl}${p}`);
            return { status: x.status, text: await x.text() };
          };
          assert.equal((await get("/healthz")).status, 200);
          assert.equal((await get("/readyz")).status, 200);
          const m = (await get("/metrics")).text;
          assert.match(m, /kars_webhook_admissions_total\{reason="Verified",result="allowed"\} 3/);
          assert.match(
            m,
            /kars_webhook_admissions_total\{reason="IdentityMismatch",result="denied"\} 2/,
          );
          assert.match(m, /kars_webhook_admissions_total\{reason="BadRequest",result="error"\} 3/);
          assert.match(m, /kars_webhook_verdict_cache_hits_total \d+/);
          assert.match(m, /kars_webhook_verify_duration_seconds_count [1-9]/);
          // JSON-able logs with uid and reason.
          assert.ok(h.logs.some((l) => l.reason === "IdentityMismatch" && l.result === "denied"));
        });
      } finally {
        await elsewhere.shutdown();
      }
    }),
});

Deno.test({
  name:
    "webhook: the verification deadline answers in time — fail closed, or allow with --allow-on-error; --require-ref",
  ignore: noRegistry,
  fn: () =>
    withStack([], async (s) => {
      // A registry that accepts the connection and never answers.
      const hang = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) =>
        new Promise<Response>((resolve) => {
          req.signal.addEventListener("abort", () =>
            resolve(new Response("", { status: 499 })));
        }));
      const ref = {
        registry: `127.0.0.1:${hang.addr.port}`,
        repository: "policy/egress-allowlist/slow",
        digest: "sha256:" + "1".repeat(64),
        artifactType: ALLOWLIST_MEDIA_TYPE,
      };
      const policyText = policyYaml([s.mock.defaultIssuer], [s.mock.defaultSubject]);
      try {
        const openTarget = (r: Ref) =>
          new RegistryTarget({
            registry: r.registry,
            repository: r.repository,
            signal: AbortSignal.timeout(1500),
          });
        await withWebhook(s, { policyText, deadlineMs: 300, openTarget }, async (h) => {
          const r = await h.post(review("CREATE", ref));
          assert.equal(r.json.response.allowed, false);
          assert.equal(r.json.response.status.code, 503);
          assert.match(
            r.json.response.status.message,
            /did not finish within 300 ms .*fail closed/,
          );
        });
        await withWebhook(
          s,
          { policyText, deadlineMs: 300, allowOnError: true, openTarget },
          async (h) => {
            const r = await h.post(review("CREATE", ref));
            assert.equal(r.json.response.allowed, true);
            assert.match(r.json.response.warnings[0], /allowed without verification/);
          },
        );
        await withWebhook(s, { policyText, requireRef: true }, async (h) => {
          const r = await h.post(review("CREATE", undefined));
          assert.equal(r.json.response.allowed, false);
          assert.match(r.json.response.status.message, /AllowlistVerified=False\/Unsigned/);
          // An UPDATE that leaves an inline-only sandbox inline is not a new decision.
          assert.equal(
            (await h.post(review("UPDATE", undefined, null))).json.response.allowed,
            true,
          );
          // Widening the inline allowlist of a sandbox without ref is a new decision: denied.
          const widened = review("UPDATE", undefined, null);
          (widened.request.object!.spec.networkPolicy as { allowedEndpoints: unknown[] })
            .allowedEndpoints.push({ host: "exfil.example" });
          const w = await h.post(widened);
          assert.equal(w.json.response.allowed, false);
          assert.match(w.json.response.status.message, /AllowlistVerified=False\/Unsigned/);
          // Other changes (a label) to such a sandbox stay allowed.
          const labelled = review("UPDATE", undefined, null);
          (labelled.request.object!.metadata as Record<string, unknown>).labels = { team: "a" };
          assert.equal((await h.post(labelled)).json.response.allowed, true);
        });
      } finally {
        await hang.shutdown();
      }
    }),
});

Deno.test({
  name: "webhook: the serving certificate is reloaded when its files change",
  ignore: noRegistry,
  fn: () =>
    withStack([], async (s) => {
      const policyText = policyYaml([s.mock.defaultIssuer], [s.mock.defaultSubject]);
      await withWebhook(s, { policyText }, async (h) => {
        const other = await Deno.makeTempDir({ prefix: "kars-webhook-pki2-" });
        try {
          await makeTestPki(other);
          const ask = async (caFile: string) => {
            const c = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caFile)] });
            try {
              const r = await fetch(`${h.srv.url}/validate`, {
                method: "POST",
                body: "{}",
                client: c,
              });
              await r.body?.cancel();
              return r.status;
            } catch {
              return "tls-error";
            } finally {
              c.close();
            }
          };
          assert.equal(await ask(`${h.pki}/ca.crt`), 400);
          assert.equal(await ask(`${other}/ca.crt`), "tls-error");
          assert.equal(await h.srv.reloadTls(), false, "nothing changed yet");
          await Deno.copyFile(`${other}/server.crt`, `${h.pki}/server.crt`);
          await Deno.copyFile(`${other}/server.key`, `${h.pki}/server.key`);
          assert.equal(await h.srv.reloadTls(), true);
          assert.equal(await ask(`${other}/ca.crt`), 400);
          assert.equal(await ask(`${h.pki}/ca.crt`), "tls-error");
          // A broken pair keeps the current certificate.
          await Deno.writeTextFile(`${h.pki}/server.key`, "not a key");
          assert.equal(await h.srv.reloadTls(), false);
          assert.equal(await ask(`${other}/ca.crt`), 400);
        } finally {
          await Deno.remove(other, { recursive: true });
        }
      });
    }),
});

Deno.test("webhook CLI: listen addresses; in-cluster an empty allowed-registry list is a start-up error", async () => {
  assert.deepEqual(parseListenAddress(":8443", "--listen"), { host: "0.0.0.0", port: 8443 });
  assert.deepEqual(parseListenAddress("127.0.0.1:9", "--listen"), { host: "127.0.0.1", port: 9 });
  assert.deepEqual(parseListenAddress("[::1]:9", "--listen"), { host: "::1", port: 9 });
  assert.throws(() => parseListenAddress("8443", "--listen"), /not host:port/);
  const dir = await Deno.makeTempDir();
  try {
    await makeTestPki(dir);
    await Deno.writeTextFile(
      `${dir}/policy.yaml`,
      policyYaml(["https://issuer.example"], ["a@example.com"]),
    );
    const r = await runKars([
      "webhook",
      "--listen",
      "127.0.0.1:0",
      "--tls-cert",
      `${dir}/server.crt`,
      "--tls-key",
      `${dir}/server.key`,
      "--signer-policy",
      `${dir}/policy.yaml`,
    ], { env: { KUBERNETES_SERVICE_HOST: "10.0.0.1" } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no allowed registries/);
    const m = await runKars(["webhook", "--listen", ":1"]);
    assert.equal(m.code, 2);
    assert.match(m.stderr, /missing --tls-cert/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("webhook CLI: serves, logs JSON, and shuts down gracefully on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await makeTestPki(dir);
    await Deno.writeTextFile(
      `${dir}/policy.yaml`,
      policyYaml(["https://issuer.example"], ["a@example.com"]),
    );
    const port = freePort();
    const mport = freePort();
    const cli = new URL("../../cli.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--quiet",
        cli,
        "webhook",
        "--listen",
        `127.0.0.1:${port}`,
        "--metrics-listen",
        `127.0.0.1:${mport}`,
        "--tls-cert",
        `${dir}/server.crt`,
        "--tls-key",
        `${dir}/server.key`,
        "--signer-policy",
        `${dir}/policy.yaml`,
        "--allowed-registry",
        "registry.example",
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let err = "";
    for (let i = 0; i < 500 && !err.includes('"msg":"listening"'); i++) {
      const { value, done } = await reader.read();
      if (done) break;
      err += value;
    }
    assert.match(err, /"msg":"listening"/);
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${dir}/ca.crt`)] });
    const r = await fetch(`https://127.0.0.1:${port}/validate`, {
      method: "POST",
      client,
      body: JSON.stringify(review("CREATE", {
        registry: "elsewhere.example",
        repository: "p",
        digest: "sha256:" + "2".repeat(64),
        artifactType: ALLOWLIST_MEDIA_TYPE,
      })),
    });
    const out = await r.json();
    client.close();
    assert.equal(out.response.allowed, false);
    assert.match(out.response.status.message, /InvalidRef/);
    const ready = await fetch(`http://127.0.0.1:${mport}/readyz`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
    child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      err += value;
    }
    const status = await child.status;
    await child.stdout.cancel();
    assert.equal(status.code, 0, err);
    const lines = err.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.msg === "admission" && l.reason === "InvalidRef"));
    assert.ok(lines.some((l) => l.msg === "stopped"));
    assert.ok(lines.every((l) => typeof l.time === "string" && typeof l.level === "string"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
