/**
 * A hostile registry's (or token service's) error text reaches our messages only escaped:
 * no newline, terminal escape, C1 control or bidirectional override survives raw, so a
 * registry cannot forge log lines ("verdict: True") or reorder what a reader sees.
 */
import assert from "assert";
import { isKarsError, KarsError } from "../../lib/errors.ts";
import { acrCredentials } from "../../lib/oci/acr_credentials.ts";
import { nextLink } from "../../lib/oci/endpoint.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { registryError } from "../../lib/oci/registry_errors.ts";

const HOSTILE = "bad\n\u001b[32mverdict: True\u202e\u0085\u009b31m\u2066x\u2028y";
/** Raw C0/C1 controls, DEL, bidi embeddings/overrides/isolates, line/paragraph separators. */
// deno-lint-ignore no-control-regex
const RAW = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

function assertClean(e: unknown, code: string): e is KarsError {
  assert.ok(e instanceof KarsError, String(e));
  assert.equal(e.code, code);
  assert.ok(!RAW.test(e.message), JSON.stringify(e.message));
  assert.ok(e.message.includes("verdict: True"), "the text is still quoted: " + e.message);
  return true;
}

Deno.test("registryError: the registry's error codes and messages are escaped", async () => {
  const body = JSON.stringify({ errors: [{ code: HOSTILE, message: HOSTILE }] });
  const e = await registryError(new Response(body, { status: 400 }), {
    registry: "r.example",
    repository: "a/b",
    op: "list tags",
  });
  assertClean(e, "REGISTRY");
  for (const c of e.details?.registryCodes as string[]) assert.ok(!RAW.test(c), c);
  assert.ok(e.message.includes("\\u001b[32m"), e.message);
});

Deno.test("registry error text: a 400 from a live registry reaches the message escaped", async () => {
  const reg = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(JSON.stringify({ errors: [{ code: "DENIED", message: HOSTILE }] }), {
        status: 400,
        headers: { "content-type": "application/json" },
      }),
  );
  try {
    const target = new RegistryTarget({
      registry: `127.0.0.1:${reg.addr.port}`,
      repository: "a/b",
      plainHttp: true,
    });
    await assert.rejects(target.listTags(), (e) => assertClean(e, "REGISTRY"));
  } finally {
    await reg.shutdown();
  }
});

Deno.test("pagination Link refused: the link is quoted escaped", () => {
  assert.throws(
    () => nextLink(`<https://evil.example/${HOSTILE}>; rel="next"`, "https://r.example/v2/"),
    (e) => isKarsError(e, "REGISTRY") && !RAW.test(e.message),
  );
  // A raw control in the link: refused (it does not parse as same-origin) and escaped.
  assert.throws(
    () => nextLink(`<//evil.example/\u202e\u009b>; rel="next"`, ""),
    (e) => isKarsError(e, "REGISTRY") && !RAW.test(e.message) && e.message.includes("\\u202e"),
  );
});

Deno.test("ACR token exchange: the service's error code is cut and escaped", async () => {
  const fetch = (() =>
    Promise.resolve(
      new Response(JSON.stringify({ error: HOSTILE + "z".repeat(1000) }), { status: 400 }),
    )) as typeof globalThis.fetch;
  const source = acrCredentials({
    env: { AZURE_ACCESS_TOKEN: "entra" },
    fetch,
    registryBaseUrl: () => "https://acr.example",
    match: () => true,
  });
  await assert.rejects(source("myacr.azurecr.io"), (e) => {
    if (!assertClean(e, "AUTH")) return false;
    assert.ok(!e.message.includes("z".repeat(100)), e.message);
    return true;
  });
});
