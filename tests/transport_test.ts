import assert from "assert";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startKubeApiServer } from "./support/kube_apiserver.ts";
import { closeTransports, createFetch, createNodeFetch } from "../lib/io/transport.ts";
import { isKarsError } from "../lib/errors.ts";

const PATH = "/apis/kars.azure.com/v1alpha1/namespaces/ns/karssandboxes/x";
const SB = {
  apiVersion: "kars.azure.com/v1alpha1",
  kind: "KarsSandbox",
  metadata: { name: "x", namespace: "ns" },
  spec: {},
};

Deno.test("createFetch: no options is the global fetch; options are memoised; cert needs key", () => {
  const a = createFetch({});
  assert.equal(typeof a, "function");
  const o = { caPem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" };
  // A bogus CA is only parsed when the client is created; Deno parses eagerly.
  let f1: typeof fetch | undefined;
  try {
    f1 = createFetch(o);
  } catch {
    // Deno refuses an unparsable CA up front: also acceptable.
  }
  if (f1) assert.equal(createFetch({ ...o }), f1, "same options, same transport");
  assert.throws(
    () => createFetch({ clientCertPem: "x" }),
    (e: unknown) =>
      isKarsError(e, "USAGE") && /both the certificate and its private key/.test(e.message),
  );
  closeTransports();
});

for (
  const [label, make] of [["createFetch (Deno client)", createFetch], [
    "createNodeFetch",
    createNodeFetch,
  ]] as const
) {
  Deno.test(`${label}: CA + client certificate against an mTLS server`, async () => {
    const srv = await startKubeApiServer({ objects: [SB] });
    try {
      const f = make({
        caPem: srv.certs.caPem,
        clientCertPem: srv.certs.clientCertPem,
        clientKeyPem: srv.certs.clientKeyPem,
      });
      const res = await f(srv.url + PATH, { headers: { accept: "application/json" } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.equal((await res.json()).metadata.name, "x");
      assert.equal(srv.requests.at(-1)!.user, "admin");
      // PATCH with a body goes through too.
      const p = await f(srv.url + PATH, {
        method: "PATCH",
        headers: { "content-type": "application/merge-patch+json" },
        body: JSON.stringify({ spec: { a: 1 } }),
      });
      assert.equal(p.status, 200);
      assert.deepEqual((await p.json()).spec, { a: 1 });
      // Without the client certificate: authenticated as nobody.
      const anon = make({ caPem: srv.certs.caPem });
      const r401 = await anon(srv.url + PATH);
      assert.equal(r401.status, 401);
      await r401.body?.cancel();
      // Without the CA: TLS verification fails.
      await assert.rejects(
        make({ clientCertPem: srv.certs.clientCertPem, clientKeyPem: srv.certs.clientKeyPem })(
          srv.url + PATH,
        ),
      );
    } finally {
      closeTransports();
      await srv.stop();
    }
  });
}

Deno.test("createNodeFetch: redirects followed, Authorization dropped across origins, HEAD has no body", async () => {
  const seen: Array<{ url: string; auth?: string; method: string }> = [];
  const mk = (handler: http.RequestListener) => {
    const s = http.createServer(handler);
    return new Promise<{ s: http.Server; url: string }>((r) =>
      s.listen(
        0,
        "127.0.0.1",
        () => r({ s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` }),
      )
    );
  };
  const b = await mk((req, res) => {
    seen.push({ url: "b" + req.url, auth: req.headers.authorization, method: req.method! });
    res.writeHead(200, { "content-type": "text/plain", "x-n": "1" });
    res.end(req.method === "HEAD" ? undefined : "hello from b");
  });
  const a = await mk((req, res) => {
    seen.push({ url: "a" + req.url, auth: req.headers.authorization, method: req.method! });
    if (req.url === "/same") {
      res.writeHead(307, { location: "/final" });
      return res.end();
    }
    if (req.url === "/final") {
      res.writeHead(200);
      return res.end("same-origin");
    }
    res.writeHead(302, { location: `${b.url}/blob` });
    res.end();
  });
  try {
    const f = createNodeFetch({ insecureSkipTlsVerify: true });
    const r1 = await f(`${a.url}/same`, { headers: { authorization: "Bearer t0ken" } });
    assert.equal(await r1.text(), "same-origin");
    const r2 = await f(`${a.url}/cross`, { headers: { authorization: "Bearer t0ken" } });
    assert.equal(await r2.text(), "hello from b");
    assert.equal(r2.headers.get("x-n"), "1");
    const r3 = await f(`${b.url}/h`, { method: "HEAD" });
    assert.equal(r3.status, 200);
    assert.equal(r3.body, null);
    const manual = await f(`${a.url}/cross`, { redirect: "manual" });
    assert.equal(manual.status, 302);
    await manual.body?.cancel();
    assert.deepEqual(seen.slice(0, 4), [
      { url: "a/same", auth: "Bearer t0ken", method: "GET" },
      { url: "a/final", auth: "Bearer t0ken", method: "GET" },
      { url: "a/cross", auth: "Bearer t0ken", method: "GET" },
      { url: "b/blob", auth: undefined, method: "GET" },
    ]);
  } finally {
    await new Promise((r) => a.s.close(r));
    await new Promise((r) => b.s.close(r));
  }
});

Deno.test("createNodeFetch sends what `new Request(input, init)` describes, and refuses what it refuses", async () => {
  const s = http.createServer((req, res) => {
    const chunks: Uint8Array[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({
        method: req.method,
        type: req.headers["content-type"] ?? null,
        x: req.headers["x-a"] ?? null,
        body: new TextDecoder().decode(Buffer.concat(chunks)),
      }));
    });
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  const bytes = new TextEncoder().encode("--payload--");
  const cases: [string, RequestInfo | URL, RequestInit | undefined][] = [
    ["plain GET", `${base}/a`, undefined],
    ["URL object", new URL(`${base}/b`), { headers: [["X-A", " v "]] }],
    ["string body", `${base}/c`, { method: "POST", body: '{"a":1}' }],
    ["typed string body", `${base}/c`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    }],
    ["bytes", `${base}/d`, { method: "PUT", body: bytes }],
    ["subarray", `${base}/d`, { method: "PUT", body: bytes.subarray(2, 9) }],
    ["ArrayBuffer", `${base}/d`, { method: "PUT", body: bytes.slice().buffer }],
    ["form", `${base}/e`, { method: "post", body: new URLSearchParams({ a: "1", b: "x y" }) }],
    ["lower-case patch", `${base}/f`, { method: "patch", body: "p" }],
    ["GET with a body", `${base}/g`, { body: "no" }],
    ["HEAD with a body", `${base}/g`, { method: "HEAD", body: "no" }],
    ["credentials in the URL", `http://u:p@127.0.0.1:1/`, undefined],
    ["forbidden method", `${base}/h`, { method: "CONNECT" }],
    ["invalid method", `${base}/h`, { method: "bad method" }],
    ["invalid header", `${base}/h`, { headers: { "x-a": "a\r\nb" } }],
    ["relative URL", "/relative", undefined],
    ["a Request", new Request(`${base}/i`, { method: "POST", body: "req" }), undefined],
  ];
  const f = createNodeFetch({ keepAlive: true });
  try {
    for (const [label, input, init] of cases) {
      let want: unknown;
      if (label === "credentials in the URL") {
        // The Fetch standard and Node's undici refuse it; Deno's `Request` accepts it.
        want = "TypeError";
      } else {
        try {
          const r = new Request(input instanceof Request ? input.clone() : input, init);
          want = {
            // node:http upper-cases every method on the wire (`patch` included).
            method: r.method.toUpperCase(),
            type: r.headers.get("content-type"),
            x: r.headers.get("x-a"),
            body: r.body ? await r.text() : "",
          };
        } catch (e) {
          want = (e as Error).constructor.name;
        }
      }
      let got: unknown;
      try {
        got = await (await f(input, init)).json();
      } catch (e) {
        got = (e as Error).constructor.name;
      }
      assert.deepEqual(got, want, label);
    }
  } finally {
    closeTransports();
    await new Promise((r) => s.close(r));
  }
});
