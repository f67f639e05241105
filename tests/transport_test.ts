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
