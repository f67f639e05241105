import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { isLoopbackHost } from "../../lib/oci/client.ts";
import { redactUrl } from "../../lib/oci/request_log.ts";
import { formatReference, parseReference } from "../../lib/oci/reference.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";

const D = "sha256:" + "ab".repeat(32);

Deno.test("parseReference: accepted forms", () => {
  assert.deepEqual(parseReference("127.0.0.1:5000/policy/egress-allowlist/web:latest"), {
    registry: "127.0.0.1:5000",
    repository: "policy/egress-allowlist/web",
    tag: "latest",
  });
  assert.deepEqual(parseReference(`MyReg.azurecr.io/a/b@${D}`), {
    registry: "myreg.azurecr.io",
    repository: "a/b",
    digest: D,
  });
  assert.deepEqual(parseReference(`localhost/a:v1@${D}`), {
    registry: "localhost",
    repository: "a",
    tag: "v1",
    digest: D,
  });
  assert.deepEqual(parseReference("[::1]:5000/x__y/z-w.v"), {
    registry: "[::1]:5000",
    repository: "x__y/z-w.v",
  });
  assert.equal(formatReference(parseReference(`r.io/a/b:t@${D}`)), `r.io/a/b:t@${D}`);
});

Deno.test("parseReference: rejected forms are INPUT errors naming the reference", () => {
  for (
    const bad of [
      "ubuntu",
      "library/ubuntu:latest",
      "r.io/Upper/case",
      "r.io/a//b",
      "r.io/a:-tag",
      `r.io/a@sha256:${"z".repeat(64)}`,
      "r.io/a@md5:abc",
      "r.io/",
      "r.io/a_/b",
      `r.io/a:${"t".repeat(129)}`,
    ]
  ) {
    assert.throws(
      () => parseReference(bad),
      (e) => isKarsError(e, "INPUT") && e.message.includes(JSON.stringify(bad)),
      bad,
    );
  }
});

Deno.test("plain HTTP only for loopback names unless asked; URLs are redacted in logs", () => {
  assert.ok(
    isLoopbackHost("localhost:5000") && isLoopbackHost("127.0.0.1") && isLoopbackHost("[::1]:5000"),
  );
  assert.ok(!isLoopbackHost("127.0.0.2:5000") && !isLoopbackHost("localhost.evil.com"));
  const t = new RegistryTarget({ registry: "r.example:5000", repository: "a/b" });
  assert.equal(t.client.baseUrl, "https://r.example:5000");
  const p = new RegistryTarget({ registry: "r.example:5000", repository: "a/b", plainHttp: true });
  assert.equal(p.client.baseUrl, "http://r.example:5000");
  assert.equal(
    new RegistryTarget({ registry: "localhost:5000", repository: "a" }).client.baseUrl,
    "http://localhost:5000",
  );
  assert.equal(
    new RegistryTarget({ registry: "docker.io", repository: "library/x" }).client.baseUrl,
    "https://registry-1.docker.io",
  );
  const r = redactUrl(
    "https://u:pw@r.io/v2/a/blobs/uploads/x?_state=abcdefghijklmnop&digest=sha256%3A1&access_token=SECRET&sig=S2",
  );
  assert.ok(
    !r.includes("pw") && !r.includes("SECRET") && !r.includes("S2") && !r.includes("ijklmnop"),
  );
  assert.ok(r.includes("digest=sha256%3A1") && r.includes("_state=abcdefgh"));
});
