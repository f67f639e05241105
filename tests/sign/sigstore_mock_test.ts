import assert from "assert";
import { p256 } from "@noble/curves/nist.js";
import { startSigstoreMock } from "../support/sigstore_mock.ts";
import { pemDecodeAll, pemEncode } from "../../lib/encoding/pem.ts";
import { derBitString, derOid, derSeq } from "../../lib/encoding/der.ts";

function spkiPem(pub: Uint8Array): string {
  const alg = derSeq(derOid("1.2.840.10045.2.1"), derOid("1.2.840.10045.3.1.7"));
  return pemEncode("PUBLIC KEY", derSeq(alg, derBitString(pub)));
}

Deno.test("sigstore mock: Fulcio issues a chain, faults are injected, trusted root is complete", async () => {
  const mock = await startSigstoreMock();
  try {
    const sk = p256.utils.randomSecretKey();
    const body = JSON.stringify({
      credentials: { oidcIdentityToken: mock.mintToken() },
      publicKeyRequest: {
        publicKey: { algorithm: "ECDSA", content: spkiPem(p256.getPublicKey(sk, false)) },
        proofOfPossession: "x",
      },
    });
    const r = await fetch(`${mock.fulcioUrl}/api/v2/signingCert`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(r.status, 201);
    const json = await r.json();
    const chain = json.signedCertificateEmbeddedSct.chain.certificates;
    assert.equal(chain.length, 2);
    assert.equal(pemDecodeAll(chain.join(""))[0].label, "CERTIFICATE");

    mock.fail.fulcio = 500;
    const r2 = await fetch(`${mock.fulcioUrl}/api/v2/signingCert`, { method: "POST", body });
    assert.equal(r2.status, 500);
    await r2.body?.cancel();
    mock.fail.fulcio = undefined;

    mock.fail.rekor = "down";
    await assert.rejects(
      fetch(`${mock.rekorUrl}/api/v1/log/entries`, { method: "POST", body: "{}" }),
    );
    mock.fail.rekor = undefined;

    assert.deepEqual(mock.requests.map((q) => [q.service, q.status]), [["fulcio", 201], [
      "fulcio",
      500,
    ]]);
    const root = mock.trustedRoot as Record<string, unknown[]>;
    for (const k of ["tlogs", "certificateAuthorities", "ctlogs", "timestampAuthorities"]) {
      assert.equal(root[k].length, 1, k);
    }
  } finally {
    await mock.stop();
  }
});
