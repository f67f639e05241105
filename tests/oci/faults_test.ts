/**
 * Fault tests against the in-process registry (and proxies): each fault either succeeds
 * after the documented retry or fails with the documented error code, and never leaves a
 * tag pointing at a partial manifest.
 */
import { allowlistArtifact } from "../support/oci_fixtures.ts";
import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { staticCredentials } from "../../lib/oci/auth.ts";
import type { RequestLogEntry } from "../../lib/oci/request_log.ts";
import { retryAfterMs } from "../../lib/oci/retry.ts";
import { pushArtifact } from "../../lib/oci/copy.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { OCI_MANIFEST } from "../../lib/oci/types.ts";
import { startRecordingServer, startRegistryServer } from "../support/registry_server.ts";
import { startResetProxy } from "../support/reset_proxy.ts";
import { startTokenServer } from "../support/token_server.ts";

const REPO = "policy/egress-allowlist/faults";
const FAST = { attempts: 4, baseMs: 10, maxMs: 50, maxRetryAfterMs: 1500 };

function once(
  match: (req: Request, url: URL) => boolean,
  make: () => Response,
  times = 1,
) {
  let left = times;
  return (req: Request, url: URL) => {
    if (left > 0 && match(req, url)) {
      left--;
      return make();
    }
    return undefined;
  };
}

Deno.test("retryAfterMs: delta seconds and HTTP date", () => {
  assert.equal(retryAfterMs("3"), 3000);
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(retryAfterMs("Thu, 01 Jan 2026 00:00:02 GMT", now), 2000);
  assert.equal(retryAfterMs("garbage"), undefined);
  assert.equal(retryAfterMs(null), undefined);
});

Deno.test("fault: 429 with Retry-After is honoured, then success", async () => {
  const reg = await startRegistryServer();
  try {
    const log: RequestLogEntry[] = [];
    const t = new RegistryTarget({
      registry: reg.host,
      repository: REPO,
      retry: FAST,
      log: (e) => log.push(e),
    });
    const a = allowlistArtifact("429\n");
    await pushArtifact(t, a, { tags: ["latest"] });
    reg.setFault(once(
      (req, url) => req.method === "GET" && url.pathname.includes("/manifests/"),
      () => new Response("slow down", { status: 429, headers: { "retry-after": "1" } }),
    ));
    log.length = 0;
    const m = await t.fetchManifest("latest");
    assert.equal(m.descriptor.digest, a.digest);
    assert.deepEqual(log.map((e) => e.status), [429, 200]);
    assert.ok(log[1].ms >= 0);
  } finally {
    await reg.stop();
  }
});

Deno.test("fault: 503 then success (HEAD and GET retried); persistent 503 → TRANSIENT", async () => {
  const reg = await startRegistryServer();
  try {
    const log: RequestLogEntry[] = [];
    const t = new RegistryTarget({
      registry: reg.host,
      repository: REPO,
      retry: FAST,
      log: (e) => log.push(e),
    });
    const a = allowlistArtifact("503\n");
    reg.setFault(once(
      (req) => req.method === "HEAD",
      () => new Response("unavailable", { status: 503 }),
      2,
    ));
    assert.equal((await pushArtifact(t, a, { tags: ["latest"] })).digest, a.digest);
    assert.equal(log.filter((e) => e.status === 503).length, 2);
    reg.setFault(() =>
      new Response(JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "down" }] }), {
        status: 503,
      })
    );
    log.length = 0;
    await assert.rejects(
      () => t.fetchManifest("latest"),
      (e) =>
        isKarsError(e, "TRANSIENT") && e.message.includes(REPO) && e.message.includes("503") &&
        e.message.includes("UNAVAILABLE") && e.message.includes(reg.host),
    );
    assert.equal(log.length, FAST.attempts);
  } finally {
    await reg.stop();
  }
});

Deno.test("fault: connection reset mid-upload restarts the upload; persistent reset leaves no tag", async () => {
  const reg = await startRegistryServer();
  const port = Number(reg.host.split(":")[1]);
  let resetsLeft = 1;
  const proxy = startResetProxy(port, (head) => {
    if (head.startsWith("PUT ") && head.includes("/blobs/uploads/") && resetsLeft > 0) {
      resetsLeft--;
      return true;
    }
    return false;
  });
  // No connection reuse: on a reused connection the runtime's HTTP stack may resend a request
  // whose connection closed before any response byte by itself; a fresh one surfaces the reset.
  const httpClient = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  const noReuse: typeof fetch = (input, init) => fetch(input, { ...init, client: httpClient });
  try {
    const log: RequestLogEntry[] = [];
    const t = new RegistryTarget({
      registry: proxy.host,
      repository: REPO,
      retry: FAST,
      fetch: noReuse,
      log: (e) => log.push(e),
    });
    const a = allowlistArtifact("reset\n");
    assert.equal((await pushArtifact(t, a, { tags: ["latest"] })).digest, a.digest);
    assert.equal(proxy.resets, 1);
    assert.ok(log.some((e) => e.method === "PUT" && e.status === 0));
    // The failed upload was restarted from its POST.
    assert.equal(log.filter((e) => e.method === "POST").length, 3);
    assert.deepEqual(await t.fetchBlob(a.layerDesc.digest, a.layerDesc.size), a.layer);

    resetsLeft = 1000;
    const b = allowlistArtifact("reset forever\n");
    await assert.rejects(
      () => pushArtifact(t, b, { tags: ["broken"] }),
      (e) => isKarsError(e, "TRANSIENT") && /connection failed/.test(e.message),
    );
    resetsLeft = 0;
    assert.equal(await t.resolve("broken"), null, "no tag for a manifest whose blobs failed");
    assert.equal(reg.tags(REPO).has("broken"), false);
  } finally {
    httpClient.close();
    await proxy.stop();
    await reg.stop();
  }
});

Deno.test("fault: wrong bytes returned → REGISTRY DigestMismatch (blob and manifest)", async () => {
  const reg = await startRegistryServer();
  try {
    const t = new RegistryTarget({ registry: reg.host, repository: REPO, retry: FAST });
    const a = allowlistArtifact("wrong digest\n");
    await pushArtifact(t, a, { tags: ["latest"] });
    reg.setFault((req, url) =>
      req.method === "GET" &&
        (url.pathname.includes("/blobs/") || url.pathname.includes("/manifests/"))
        ? new Response("tampered", { headers: { "content-type": OCI_MANIFEST } })
        : undefined
    );
    await assert.rejects(
      () => t.fetchBlob(a.layerDesc.digest),
      (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "DigestMismatch",
    );
    await assert.rejects(
      async () => await new Response(await t.fetchBlobStream(a.layerDesc.digest)).arrayBuffer(),
      (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "DigestMismatch",
    );
    await assert.rejects(
      () => t.fetchManifest(a.digest),
      (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "DigestMismatch",
    );
    // A registry confirming an upload under another digest is caught too.
    reg.setFault((req, url) =>
      req.method === "PUT" && url.pathname.includes("/blobs/uploads/")
        ? new Response(null, { status: 201, headers: { "docker-content-digest": a.digest } })
        : undefined
    );
    const other = allowlistArtifact("other bytes\n");
    await assert.rejects(
      () => t.uploadBlob(other.layerDesc, other.layer),
      (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "DigestMismatch",
    );
    // A Docker-Content-Digest that does not match what a tag served is also caught.
    reg.setFault((req, url) =>
      req.method === "GET" && url.pathname.endsWith("/manifests/latest")
        ? new Response("{}", {
          headers: { "content-type": OCI_MANIFEST, "docker-content-digest": a.digest },
        })
        : undefined
    );
    await assert.rejects(
      () => t.fetchManifest("latest"),
      (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "DigestMismatch",
    );
  } finally {
    await reg.stop();
  }
});

Deno.test("fault: redirect to another host carries no credentials", async () => {
  const user = "kars", password = `pw-${crypto.randomUUID()}`;
  const a = allowlistArtifact("redirected blob\n");
  const storage = await startRecordingServer(a.layer);
  const reg = await startRegistryServer({ basic: { user, password } });
  try {
    const t = new RegistryTarget({
      registry: reg.host,
      repository: REPO,
      retry: FAST,
      credentials: staticCredentials({ username: user, password }),
    });
    await pushArtifact(t, a, { tags: ["latest"] });
    reg.setFault((req, url) =>
      req.method === "GET" && url.pathname.endsWith(`/blobs/${a.layerDesc.digest}`)
        ? new Response(null, {
          status: 307,
          headers: { location: `${storage.url}/storage/blob?sig=secret-signature` },
        })
        : undefined
    );
    const got = await t.fetchBlob(a.layerDesc.digest, a.layerDesc.size);
    assert.deepEqual(got, a.layer);
    assert.equal(storage.seen.length, 1);
    assert.equal(storage.seen[0].authorization, null, "Authorization must not cross hosts");
    const toRegistry = reg.requests.filter((r) =>
      r.path.endsWith(`/blobs/${a.layerDesc.digest}`) && r.method === "GET"
    );
    assert.ok(toRegistry.length === 1 && toRegistry[0].authorization?.startsWith("Basic "));
  } finally {
    await reg.stop();
    await storage.stop();
  }
});

Deno.test("fault: expired token → re-auth once, then success; still refused → AUTH, no loop", async () => {
  const user = "kars", password = `pw-${crypto.randomUUID()}`;
  const ts = await startTokenServer({ user, password });
  let accept = true;
  const reg = await startRegistryServer({
    bearer: { realm: ts.realm, service: ts.service, validate: (tok) => accept && ts.validate(tok) },
  });
  try {
    const log: RequestLogEntry[] = [];
    const t = new RegistryTarget({
      registry: reg.host,
      repository: REPO,
      retry: FAST,
      credentials: staticCredentials({ username: user, password }),
      log: (e) => log.push(e),
    });
    const a = allowlistArtifact("token expiry\n");
    await pushArtifact(t, a, { tags: ["latest"] });
    const before = ts.requests.length;
    ts.revokeAll(); // the cached token is now refused, like an expired one
    log.length = 0;
    assert.equal((await t.fetchManifest("latest")).descriptor.digest, a.digest);
    assert.equal(ts.requests.length, before + 1, "exactly one new token");
    assert.deepEqual(log.map((e) => e.status), [401, 200, 200]);
    assert.ok(!JSON.stringify(log).includes(password));

    accept = false;
    log.length = 0;
    await assert.rejects(
      () => t.fetchManifest("latest"),
      (e) => isKarsError(e, "AUTH") && /UNAUTHORIZED/.test(e.message),
    );
    assert.equal(log.filter((e) => e.status === 401).length, 2, "one re-auth, not a loop");
  } finally {
    await reg.stop();
    await ts.stop();
  }
});

Deno.test("fault: persistent 500 on manifest PUT → TRANSIENT, tag not moved", async () => {
  const reg = await startRegistryServer();
  try {
    const t = new RegistryTarget({ registry: reg.host, repository: REPO, retry: FAST });
    const a = allowlistArtifact("v1\n");
    await pushArtifact(t, a, { tags: ["latest"] });
    reg.setFault((req, url) =>
      req.method === "PUT" && url.pathname.includes("/manifests/")
        ? new Response("boom", { status: 500 })
        : undefined
    );
    const b = allowlistArtifact("v2\n");
    await assert.rejects(
      () => pushArtifact(t, b, { tags: ["latest"] }),
      (e) => isKarsError(e, "TRANSIENT"),
    );
    reg.setFault(undefined);
    assert.equal((await t.resolve("latest"))?.digest, a.digest);
  } finally {
    await reg.stop();
  }
});

Deno.test("fault: total deadline bounds a hanging registry → TRANSIENT", async () => {
  const reg = await startRegistryServer();
  try {
    const t = new RegistryTarget({
      registry: reg.host,
      repository: REPO,
      retry: FAST,
      deadlineMs: 300,
    });
    reg.setFault(async () => {
      await new Promise((r) => setTimeout(r, 1000));
      return new Response("late", { status: 503 });
    });
    await assert.rejects(
      () => t.resolve("latest"),
      (e) => isKarsError(e, "TRANSIENT") && /deadline/.test(e.message),
    );
  } finally {
    await reg.stop();
  }
});

Deno.test("fault: an outer signal (total deadline) aborts every operation → TRANSIENT", async () => {
  const reg = await startRegistryServer();
  try {
    const ac = new AbortController();
    const t = new RegistryTarget({
      registry: reg.host,
      repository: REPO,
      retry: FAST,
      signal: ac.signal,
    });
    let release!: () => void;
    const hold = new Promise<void>((r) => release = r);
    reg.setFault(async () => {
      await hold;
      return new Response("late", { status: 503 });
    });
    const pending = t.resolve("latest");
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(
      () => pending,
      (e) => isKarsError(e, "TRANSIENT") && /total deadline/.test(e.message),
    );
    release();
    await assert.rejects(
      () => t.resolve("latest"),
      (e) => isKarsError(e, "TRANSIENT") && /total deadline/.test(e.message),
    );
  } finally {
    await reg.stop();
  }
});

Deno.test("fault: an upload whose PUT fails cancels its session (DELETE); a retried upload cancels the failed one and completes in a new session", async () => {
  const reg = await startRegistryServer({ singlePost: false });
  try {
    const t = new RegistryTarget({ registry: reg.host, repository: REPO, retry: FAST });
    const a = allowlistArtifact("cancel\n");
    const blob = a.blobs[1];
    const uploads = () =>
      reg.requests.filter((r) => r.path.includes("/blobs/uploads/")).map((r) => ({
        method: r.method,
        session: /uploads\/([^?]*)/.exec(r.path)?.[1] ?? "",
        status: r.status,
      }));

    // A refusal that is not worth a retry: the session is cancelled, the error is the PUT's.
    reg.setFault(once(
      (req, url) => req.method === "PUT" && url.pathname.includes("/blobs/uploads/"),
      () => new Response('{"errors":[{"code":"DENIED"}]}', { status: 400 }),
    ));
    const before = reg.requests.length;
    await assert.rejects(t.pushBlob(blob.desc, blob.data), (e) => isKarsError(e, "REGISTRY"));
    const seen = uploads().slice(-3);
    assert.deepEqual(seen.map((r) => r.method), ["POST", "PUT", "DELETE"]);
    assert.equal(seen[2].session, seen[1].session, "the DELETE names the failed session");
    assert.equal(seen[2].status, 204);
    // The existence HEAD, the session, its PUT, its cancellation: nothing else was sent.
    assert.deepEqual(reg.requests.slice(before).map((r) => r.method), [
      "HEAD",
      "POST",
      "PUT",
      "DELETE",
    ]);

    // A transient failure: that session is cancelled, a new one completes the upload.
    reg.setFault(once(
      (req, url) => req.method === "PUT" && url.pathname.includes("/blobs/uploads/"),
      () => new Response("busy", { status: 503 }),
    ));
    await t.pushBlob(blob.desc, blob.data);
    const again = uploads().slice(-5);
    assert.deepEqual(again.map((r) => `${r.method} ${r.status}`), [
      "POST 202",
      "PUT 503",
      "DELETE 204",
      "POST 202",
      "PUT 201",
    ]);
    assert.equal(again[2].session, again[1].session);
    assert.notEqual(again[3].session, again[1].session);
    assert.ok(await t.blobExists(blob.desc.digest));
  } finally {
    await reg.stop();
  }
});

Deno.test("fault: a streamed upload whose last PATCH or PUT fails cancels its session (DELETE)", async () => {
  const reg = await startRegistryServer({ singlePost: false });
  try {
    const t = new RegistryTarget({ registry: reg.host, repository: REPO, retry: FAST });
    const blob = allowlistArtifact("stream-cancel\n").blobs[1];
    let cancelled = 0;
    const source = () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(blob.data);
          c.close();
        },
        cancel() {
          cancelled++;
        },
      });
    const uploads = () =>
      reg.requests.filter((r) => r.path.includes("/blobs/uploads/")).map((r) => ({
        method: r.method,
        session: /uploads\/([^?]*)/.exec(r.path)?.[1] ?? "",
        status: r.status,
      }));
    for (const failing of ["PATCH", "PUT"]) {
      reg.setFault(once(
        (req, url) => req.method === failing && url.pathname.includes("/blobs/uploads/"),
        () => new Response('{"errors":[{"code":"DENIED"}]}', { status: 400 }),
      ));
      await assert.rejects(
        t.pushBlobStream(blob.desc, source()),
        (e) => isKarsError(e, "REGISTRY"),
        failing,
      );
      const seen = uploads().slice(-3);
      assert.equal(seen.at(-2)?.method, failing, failing);
      assert.equal(seen.at(-1)?.method, "DELETE", failing);
      assert.equal(
        seen.at(-1)?.session,
        seen.at(-2)?.session,
        "the DELETE names the failed session",
      );
      assert.equal(seen.at(-1)?.status, 204);
    }
    // The stream was read to its end before the failures: there was nothing left to cancel.
    assert.equal(cancelled, 0);
    assert.equal(await t.blobExists(blob.desc.digest), false);
    // And the streamed upload completes when nothing fails.
    await t.pushBlobStream(blob.desc, source());
    assert.ok(await t.blobExists(blob.desc.digest));
  } finally {
    await reg.stop();
  }
});
