import assert from "assert";
import { p256 } from "@noble/curves/nist.js";
import { isKarsError } from "../../lib/errors.ts";
import { pemDecode } from "../../lib/encoding/pem.ts";
import { bytesEqual, utf8 } from "../../lib/encoding/bytes.ts";
import {
  encryptCosignKey,
  generateKeyPair,
  KeyFileSigner,
  loadPrivateKey,
  writeKeyPair,
} from "../../lib/sign/keyfile.ts";
import { pkcs8FromSecret } from "../../lib/sign/p256.ts";

const KEYS = new URL("../../testdata/interop/cosign-keys/", import.meta.url);

/** Verifies with WebCrypto (independent of noble): DER signature → raw r‖s. */
async function webVerify(pubPem: string, data: Uint8Array, derSig: Uint8Array): Promise<boolean> {
  const spki = pemDecode(pubPem)!.der;
  const key = await crypto.subtle.importKey(
    "spki",
    spki as BufferSource,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  const raw = p256.Signature.fromBytes(derSig, "der").toBytes("compact");
  return await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    raw as BufferSource,
    data as BufferSource,
  );
}

Deno.test("keyfile: cosign's PKCS#8 keys (both labels) load and sign; the .pub verifies", async () => {
  for (const name of ["sigstore-labeled-pkcs8", "cosign-labeled-pkcs8"]) {
    const pem = await Deno.readTextFile(new URL(`${name}.key`, KEYS));
    const pubPem = await Deno.readTextFile(new URL(`${name}.pub`, KEYS));
    const key = await loadPrivateKey(pem, `${name}.key`, () => "hello");
    assert.ok(bytesEqual(key.spkiDer, pemDecode(pubPem)!.der), `${name}: public key matches .pub`);
    const signer = new KeyFileSigner(key);
    const data = utf8(`payload for ${name}`);
    const sig = await signer.sign(data);
    assert.equal(sig.key.kind, "publicKey");
    assert.ok(await webVerify(pubPem, data, sig.signature), `${name}: verifies with .pub`);
    assert.ok(!(await webVerify(pubPem, utf8("other"), sig.signature)), "other data fails");
    assert.match(signer.identity, /^key:[0-9a-f]{16}$/);
  }
});

Deno.test("keyfile: cosign's SEC1 key is refused as cosign refuses it", async () => {
  const pem = await Deno.readTextFile(new URL("cosign-labeled-sec1.key", KEYS));
  await assert.rejects(loadPrivateKey(pem, "cosign-labeled-sec1.key", () => "hello"), (e) => {
    assert.ok(isKarsError(e, "INPUT"));
    assert.match(e.message, /cosign-labeled-sec1\.key/);
    assert.match(e.message, /use ParseECPrivateKey instead/);
    return true;
  });
});

Deno.test("keyfile: wrong password is refused naming the file", async () => {
  const pem = await Deno.readTextFile(new URL("sigstore-labeled-pkcs8.key", KEYS));
  await assert.rejects(loadPrivateKey(pem, "keys/cosign.key", () => "wrong"), (e) => {
    assert.ok(isKarsError(e, "INPUT"));
    assert.match(e.message, /wrong password for keys\/cosign\.key/);
    assert.doesNotMatch(e.message, /wrong"|hello/);
    return true;
  });
});

Deno.test("keyfile: unencrypted PKCS#8 loads; SEC1 PEM and other labels are refused", async () => {
  const sk = p256.utils.randomSecretKey();
  const der = pkcs8FromSecret(sk);
  const { pemEncode } = await import("../../lib/encoding/pem.ts");
  const key = await loadPrivateKey(pemEncode("PRIVATE KEY", der), "k.pem", () => {
    throw new Error("password must not be asked for an unencrypted key");
  });
  assert.ok(bytesEqual(key.secret, sk));
  await assert.rejects(
    loadPrivateKey(pemEncode("EC PRIVATE KEY", der), "k.pem", () => ""),
    /use ParseECPrivateKey/,
  );
  await assert.rejects(
    loadPrivateKey(pemEncode("RSA PRIVATE KEY", der), "k.pem", () => ""),
    /k\.pem/,
  );
  await assert.rejects(loadPrivateKey("nothing", "k.pem", () => ""), /no PEM private key/);
});

Deno.test("keyfile: generate-key-pair round-trip (N=65536, measured) and refusal to overwrite", async () => {
  const t0 = performance.now();
  const pair = await generateKeyPair({ password: "s3cret" });
  const genMs = performance.now() - t0;
  assert.match(pair.privatePem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
  assert.match(pair.publicPem, /^-----BEGIN PUBLIC KEY-----\n/);
  const body = JSON.parse(new TextDecoder().decode(pemDecode(pair.privatePem)!.der));
  assert.deepEqual(body.kdf.params, { N: 65536, r: 8, p: 1 });
  assert.equal(body.cipher.name, "nacl/secretbox");
  const t1 = performance.now();
  const key = await loadPrivateKey(pair.privatePem, "cosign.key", () => "s3cret");
  const loadMs = performance.now() - t1;
  console.log(`scrypt N=65536: generate ${genMs.toFixed(0)} ms, load ${loadMs.toFixed(0)} ms`);
  const data = utf8("x");
  assert.ok(
    await webVerify(pair.publicPem, data, (await new KeyFileSigner(key).sign(data)).signature),
  );

  const dir = await Deno.makeTempDir({ prefix: "kars-keys-" });
  try {
    const [k, p] = await writeKeyPair(`${dir}/cosign`, pair);
    assert.equal((await Deno.stat(k)).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(p), pair.publicPem);
    assert.equal(await Deno.readTextFile(k), pair.privatePem);
    const other = { privatePem: "x", publicPem: "y" };
    await assert.rejects(writeKeyPair(`${dir}/cosign`, other), (e) => {
      assert.ok(isKarsError(e, "INPUT"));
      assert.match(e.message, /already exists/);
      return true;
    });
    assert.equal(await Deno.readTextFile(k), pair.privatePem, "existing key untouched");
    // Only the .pub exists: still refused, and no .key is created.
    await Deno.remove(k);
    await assert.rejects(writeKeyPair(`${dir}/cosign`, other), /cosign\.pub already exists/);
    await assert.rejects(Deno.stat(k), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["cosign.pub"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keyfile: old COSIGN label written by us loads too", async () => {
  const sk = p256.utils.randomSecretKey();
  const pem = await encryptCosignKey(
    pkcs8FromSecret(sk),
    "pw",
    1024,
    "ENCRYPTED COSIGN PRIVATE KEY",
  );
  const key = await loadPrivateKey(pem, "old.key", () => "pw");
  assert.ok(bytesEqual(key.secret, sk));
});

Deno.test("keyfile: hostile scrypt parameters are refused before any work or password prompt", async () => {
  const { pemEncode } = await import("../../lib/encoding/pem.ts");
  for (
    const params of [{ N: 1 << 20, r: 8, p: 1 }, { N: 3000, r: 8, p: 1 }, {
      N: 1 << 22,
      r: 1,
      p: 1,
    }]
  ) {
    const body = JSON.stringify({
      kdf: { name: "scrypt", params, salt: "AAAA" },
      cipher: { name: "nacl/secretbox", nonce: "A".repeat(32) },
      ciphertext: "AAAA",
    });
    await assert.rejects(
      loadPrivateKey(pemEncode("ENCRYPTED SIGSTORE PRIVATE KEY", utf8(body)), "h.key", () => {
        throw new Error("password must not be asked");
      }),
      (e) => isKarsError(e, "INPUT") && /h\.key: scrypt parameters/.test(e.message),
    );
  }
});
