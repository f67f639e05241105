import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { callService, redact } from "../../lib/sign/http.ts";

Deno.test("http: redact removes JWT-shaped strings and given secrets, caps length", () => {
  assert.equal(redact("x eyJhbGciOi.eyJzdWIiOiJh.c2lnbmF0dXJl y", []), "x [redacted] y");
  assert.equal(redact("pass=hunter2!", ["hunter2!"]), "pass=[redacted]");
  assert.equal(redact("a".repeat(500), [], 10), "aaaaaaaaaa…");
});

Deno.test("http: oversized service responses are refused; unreachable services named", async () => {
  const big = new Uint8Array(1024 * 1024);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(
        new ReadableStream({
          start(c) {
            for (let i = 0; i < 3; i++) c.enqueue(big);
            c.close();
          },
        }),
      ),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/x`;
    await assert.rejects(
      callService(url, { method: "GET" }, {
        service: "Rekor",
        hint: "h",
        maxBytes: 2 * 1024 * 1024,
      }),
      (e) => isKarsError(e, "SIGN") && /Rekor at .*larger than/.test(e.message),
    );
    const ok = await callService(url, { method: "GET" }, { service: "Rekor", hint: "h" });
    assert.equal(ok.length, 3 * 1024 * 1024);
  } finally {
    await server.shutdown();
  }
  await assert.rejects(
    callService("http://127.0.0.1:9/x", { method: "GET" }, {
      service: "TSA",
      hint: "check the TSA URL",
      fixOptions: ["tsaUrl"],
    }),
    (e) =>
      // unreachable is worth a retry: TRANSIENT (exit 5), as registry faults are
      isKarsError(e, "TRANSIENT") &&
      /TSA at http:\/\/127\.0\.0\.1:9\/x is unreachable.*check the TSA URL/.test(e.message) &&
      // the options that fix it travel in details, for the CLI to name its flags
      JSON.stringify(e.details?.fixOptions) === '["tsaUrl"]',
  );
});
