/**
 * ECDSA P-256 (noble) sign and verify of a cosign simple-signing payload (SHA-256
 * prehash, as cosign signs), per operation.
 *
 * @module
 */
import { p256 } from "@noble/curves/nist.js";
import { type BenchCase, register } from "./harness.ts";

const payload = new TextEncoder().encode(
  `{"critical":{"identity":{"docker-reference":"myacr.azurecr.io/policy/egress-allowlist/my-agent"},"image":{"docker-manifest-digest":"sha256:${
    "ab".repeat(32)
  }"},"type":"cosign container image signature"},"optional":null}`,
);
const secretKey = p256.utils.randomSecretKey();
const publicKey = p256.getPublicKey(secretKey);
const signature = p256.sign(payload, secretKey);
if (!p256.verify(signature, payload, publicKey)) throw new Error("P-256 self-check failed");

/** The cases. */
export const cases: BenchCase[] = [
  { group: "ECDSA P-256 (noble)", name: "sign", fn: () => p256.sign(payload, secretKey) },
  {
    group: "ECDSA P-256 (noble)",
    name: "verify",
    fn: () => p256.verify(signature, payload, publicKey),
  },
];

register(cases);
