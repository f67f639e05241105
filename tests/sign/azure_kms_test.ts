import { ANNOTATION_SIGNATURE, signatureTag } from "../../lib/cosign/vocabulary.ts";
import assert from "assert";
import { p256 } from "@noble/curves/nist.js";
import { fromBase64, toBase64, utf8 } from "../../lib/encoding/bytes.ts";
import { isKarsError } from "../../lib/errors.ts";
import { MemoryTarget } from "../../lib/oci/memory.ts";
import { buildAllowlistArtifact, EMPTY_CONFIG_BYTES } from "../../lib/oci/artifact.ts";
import { OCI_MANIFEST } from "../../lib/oci/types.ts";
import { AzureKmsSigner, parseAzureKeyUri } from "../../lib/sign/azure_kms.ts";
import { pointFromSpki, verifyDer } from "../../lib/sign/p256.ts";
import { createSigner, signArtifact } from "../../lib/sign/sign_artifact.ts";
import { fromUtf8 } from "../../lib/encoding/bytes.ts";

const b64url = (b: Uint8Array) =>
  toBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** A Key Vault stand-in: GET /keys/{key}[/{version}] (JWK) and POST /keys/{key}/{version}/sign (ES256). */
function startVault(opts: { token: string; entra?: { assertion: string; token: string } }) {
  const secret = p256.utils.randomSecretKey();
  const pub = p256.getPublicKey(secret, false);
  const version = "0123456789abcdef0123456789abcdef";
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    seen.push(`${req.method} ${url.pathname}${url.search}`);
    if (opts.entra && url.pathname === "/tenant-1/oauth2/v2.0/token") {
      const form = new URLSearchParams(await req.text());
      const ok = form.get("client_assertion") === opts.entra.assertion &&
        form.get("client_id") === "client-1" &&
        form.get("scope") === "https://vault.azure.net/.default" &&
        form.get("grant_type") === "client_credentials";
      return ok
        ? Response.json({ access_token: opts.entra.token, token_type: "Bearer" })
        : new Response("bad assertion", { status: 401 });
    }
    if (req.headers.get("authorization") !== `Bearer ${opts.token}`) {
      await req.body?.cancel();
      return new Response('{"error":{"code":"Unauthorized"}}', { status: 401 });
    }
    if (url.searchParams.get("api-version") !== "7.4") {
      return new Response("api-version", { status: 400 });
    }
    if (req.method === "GET" && /^\/keys\/sign-key(\/[0-9a-f]{32})?$/.test(url.pathname)) {
      return Response.json({
        key: {
          kid: `https://v.vault.azure.net/keys/sign-key/${version}`,
          kty: "EC",
          crv: "P-256",
          x: b64url(pub.subarray(1, 33)),
          y: b64url(pub.subarray(33)),
          key_ops: ["sign", "verify"],
        },
      });
    }
    if (req.method === "POST" && url.pathname === `/keys/sign-key/${version}/sign`) {
      const body = await req.json();
      if (body.alg !== "ES256") return new Response("alg", { status: 400 });
      const digest = fromBase64(body.value);
      const sig = p256.sign(digest, secret, { prehash: false, format: "compact" });
      return Response.json({ kid: `…/${version}`, value: b64url(sig) });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    pub,
    seen,
    stop: () => server.shutdown(),
  };
}

Deno.test("azurekms: URI parsing", () => {
  assert.deepEqual(parseAzureKeyUri("azurekms://myvault.vault.azure.net/sign-key"), {
    vaultHost: "myvault.vault.azure.net",
    key: "sign-key",
  });
  assert.equal(parseAzureKeyUri("azurekms://v.vault.azure.net/k/abc123").version, "abc123");
  for (const bad of ["azurekms://v.vault.azure.net", "azurekms://example.com/k", "awskms://x/y"]) {
    assert.throws(
      () => parseAzureKeyUri(bad),
      (e) => isKarsError(e, "INPUT") && e.details?.option === "key" && !/--/.test(e.message),
    );
  }
});

Deno.test("azurekms: signs the digest through Key Vault REST; signature verifies with the JWK key", async () => {
  const vault = startVault({ token: "vault-token-xyz" });
  try {
    const uri = "azurekms://v.vault.azure.net/sign-key";
    const signer = await createSigner({
      key: uri,
      env: { AZURE_ACCESS_TOKEN: "vault-token-xyz" },
      readFile: () => Promise.reject(new Error("unused")),
      azureVaultUrl: vault.url,
    });
    assert.ok(signer instanceof AzureKmsSigner);
    assert.equal(signer.identity, `kms:${uri}`);
    const target = new MemoryTarget();
    const a = buildAllowlistArtifact(utf8("x"));
    await target.pushBlob(a.config, EMPTY_CONFIG_BYTES);
    await target.pushBlob(a.layer, utf8("x"));
    const subject = await target.pushManifest(a.manifestBytes, OCI_MANIFEST);
    const r = await signArtifact({
      target,
      registry: "r.example",
      repository: "policy/x",
      manifest: subject,
      signer,
      tlogUpload: false,
    });
    assert.equal(r.identity, `kms:${uri}`);
    const sigManifest = JSON.parse(
      fromUtf8((await target.fetchManifest(signatureTag(subject.digest))).bytes),
    );
    const layer = sigManifest.layers[0];
    const payload = await target.fetchBlob(layer.digest);
    const der = fromBase64(layer.annotations[ANNOTATION_SIGNATURE]);
    assert.equal(der[0], 0x30, "DER signature");
    assert.ok(verifyDer(vault.pub, payload, der), "verifies with the vault key");
    assert.ok(!verifyDer(vault.pub, utf8("other"), der));
    const direct = await signer.sign(utf8("hello"));
    assert.deepEqual(
      pointFromSpki((direct.key as { spkiDer: Uint8Array }).spkiDer),
      vault.pub,
    );
    assert.ok(vault.seen.some((s) => s.startsWith("POST /keys/sign-key/0123456789abcdef")));
  } finally {
    await vault.stop();
  }
});

Deno.test("azurekms: workload identity token exchange; refusals are clear and carry no token", async () => {
  const vault = startVault({
    token: "entra-access-token",
    entra: { assertion: "federated-assertion-abc", token: "entra-access-token" },
  });
  const dir = await Deno.makeTempDir({ prefix: "kars-azure-" });
  try {
    await Deno.writeTextFile(`${dir}/token`, "federated-assertion-abc\n");
    const env = {
      AZURE_FEDERATED_TOKEN_FILE: `${dir}/token`,
      AZURE_CLIENT_ID: "client-1",
      AZURE_TENANT_ID: "tenant-1",
      AZURE_AUTHORITY_HOST: `${vault.url}/`,
    };
    const signer = new AzureKmsSigner({
      uri: "azurekms://v.vault.azure.net/sign-key",
      env,
      readFile: (p) => Deno.readFile(p),
      vaultUrl: vault.url,
    });
    const sig = await signer.sign(utf8("data"));
    assert.ok(verifyDer(vault.pub, utf8("data"), sig.signature));

    // A wrong access token: Key Vault answers 401 → clear SIGN error, token not quoted.
    const bad = new AzureKmsSigner({
      uri: "azurekms://v.vault.azure.net/sign-key",
      env: { AZURE_ACCESS_TOKEN: "wrong-token-123" },
      vaultUrl: vault.url,
    });
    await assert.rejects(bad.sign(utf8("x")), (e) => {
      assert.ok(isKarsError(e, "SIGN"));
      assert.match(e.message, /Azure Key Vault at .* answered HTTP 401/);
      assert.ok(!e.message.includes("wrong-token-123"));
      return true;
    });
    // No credentials at all.
    const none = new AzureKmsSigner({ uri: "azurekms://v.vault.azure.net/sign-key", env: {} });
    await assert.rejects(
      none.sign(utf8("x")),
      (e) => isKarsError(e, "AUTH") && /AZURE_ACCESS_TOKEN/.test(e.message),
    );
  } finally {
    await vault.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("azurekms: idempotent signing knows the key version's public key before signing (one key read)", async () => {
  const vault = startVault({ token: "vault-token-xyz" });
  try {
    const signer = new AzureKmsSigner({
      uri: "azurekms://v.vault.azure.net/sign-key",
      env: { AZURE_ACCESS_TOKEN: "vault-token-xyz" },
      vaultUrl: vault.url,
    });
    const expected = await signer.expectedSigner();
    assert.equal(expected.kind, "key");
    assert.deepEqual(
      expected.kind === "key" ? pointFromSpki(expected.spkiDer) : undefined,
      vault.pub,
    );
    const sig = await signer.sign(utf8("data"));
    assert.ok(sig.key.kind === "publicKey" && expected.kind === "key");
    assert.deepEqual(sig.key.spkiDer, expected.spkiDer, "the key that signs is the one expected");
    assert.equal(vault.seen.filter((s) => s.startsWith("GET ")).length, 1, "key read once");
  } finally {
    await vault.stop();
  }
});
