import assert from "assert";
import { fromBase64, utf8 } from "../../lib/encoding/bytes.ts";
import { isKarsError } from "../../lib/errors.ts";
import { pemDecode } from "../../lib/encoding/pem.ts";
import { KeylessSigner } from "../../lib/sign/keyless.ts";
import { pointFromSpki, verifyDer } from "../../lib/sign/p256.ts";
import { parseCertificate } from "../../lib/sign/x509.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";

Deno.test("keyless: proof of possession over sub (or verified email); cert binds our key; one cert per signer", async () => {
  const mock = await startSigstoreMock();
  try {
    for (
      const [claims, expected] of [
        [{}, mock.defaultSubject],
        [{ email: "dev@example.com", email_verified: true }, "dev@example.com"],
      ] as const
    ) {
      const token = mock.mintToken(claims);
      const signer = new KeylessSigner({
        fulcioUrl: mock.fulcioUrl,
        token: () => Promise.resolve(token),
      });
      assert.throws(() => signer.identity, (e) => isKarsError(e, "INTERNAL"));
      const before = mock.requests.length;
      const s1 = await signer.sign(utf8("one"));
      const s2 = await signer.sign(utf8("two"));
      assert.equal(mock.requests.length, before + 1, "Fulcio called once");
      const req = JSON.parse(mock.requests[before].body);
      const spki = pemDecode(req.publicKeyRequest.publicKey.content)!.der;
      const point = pointFromSpki(spki);
      assert.ok(
        verifyDer(point, utf8(expected), fromBase64(req.publicKeyRequest.proofOfPossession)),
      );
      assert.equal(s1.key.kind, "certificate");
      const chain = (s1.key as { chainPem: string[] }).chainPem;
      assert.equal(chain.length, 2);
      const leaf = parseCertificate(pemDecode(chain[0])!.der);
      assert.deepEqual(leaf.spkiDer, spki);
      assert.equal(leaf.issuer, mock.defaultIssuer);
      assert.ok(verifyDer(point, utf8("one"), s1.signature));
      assert.ok(verifyDer(point, utf8("two"), s2.signature));
      // The mock Fulcio certifies `sub`, so that is the SAN either way.
      assert.equal(signer.identity, `keyless:${mock.defaultSubject}`);
    }
  } finally {
    await mock.stop();
  }
});

Deno.test("keyless: detached-SCT responses are accepted and the SCT kept; a cert for another key is refused", async () => {
  const mock = await startSigstoreMock();
  try {
    const rewrite =
      (f: (j: Record<string, unknown>) => unknown) =>
      async (input: string | URL | Request, init?: RequestInit) => {
        const r = await fetch(input, init);
        const j = await r.json();
        return Response.json(f(j), { status: r.status });
      };
    const detached = new KeylessSigner({
      fulcioUrl: mock.fulcioUrl,
      token: () => Promise.resolve(mock.mintToken()),
      // deno-lint-ignore no-explicit-any
      fetch: rewrite((j: any) => ({
        signedCertificateDetachedSct: {
          chain: j.signedCertificateEmbeddedSct.chain,
          signedCertificateTimestamp: "c2N0",
        },
      })),
    });
    await detached.sign(utf8("x"));
    assert.equal(detached.sct, "c2N0");

    // A Fulcio that answers with the certificate of someone else's key.
    const other = await startSigstoreMock();
    try {
      const foreign = new KeylessSigner({
        fulcioUrl: other.fulcioUrl,
        token: () => Promise.resolve(other.mintToken()),
      });
      await foreign.sign(utf8("x"));
      const wrong = new KeylessSigner({
        fulcioUrl: mock.fulcioUrl,
        token: () => Promise.resolve(mock.mintToken()),
        fetch: async (input, init) => {
          const r = await fetch(input, init);
          await r.body?.cancel();
          const body = JSON.parse(String(init?.body));
          // Replay a certificate issued for a different key.
          const res = await fetch(`${other.fulcioUrl}/api/v2/signingCert`, {
            method: "POST",
            body: JSON.stringify({
              ...body,
              publicKeyRequest: {
                ...body.publicKeyRequest,
                publicKey: {
                  algorithm: "ECDSA",
                  content: JSON.parse(other.requests[0].body).publicKeyRequest.publicKey.content,
                },
              },
            }),
          });
          return res as Response;
        },
      });
      await assert.rejects(
        wrong.sign(utf8("x")),
        (e) => isKarsError(e, "SIGN") && /different public key/.test(e.message),
      );
    } finally {
      await other.stop();
    }
  } finally {
    await mock.stop();
  }
});
