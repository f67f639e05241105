/**
 * The in-process phases of a signing run, timed in a fresh process of the runtime being
 * profiled (`deno run`, or `node` on the same bundle the standalone binary carries): parsing
 * the embedded trust root, loading a cosign key file, a keyless signer's work (key generation,
 * proof of possession, payload signature) and one signature verification. Prints one JSON
 * object on stdout. Run by `bench/profile.ts`; not part of the package.
 *
 * @module
 */
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8 } from "../lib/encoding/bytes.ts";
import { productionTrustedRoot } from "../lib/verify/sigstore/trust_root.ts";
import { signDer, spkiFromPoint, verifyDer } from "../lib/sign/p256.ts";
import { generateKeyPair, loadPrivateKey } from "../lib/sign/keyfile.ts";
import { tuneForShortRun } from "../lib/cli/short_run.ts";

/** Milliseconds one call of `f` takes (the first call: cold, as in a CLI run). */
async function once(f: () => unknown): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

// As the CLI entry does for a signing run (lib/cli/short_run.ts): the smaller base-point table.
await tuneForShortRun(["egress", "probe"]);
const out: Record<string, number> = {};
out.trustRoot = await once(() => productionTrustedRoot());
let secret = new Uint8Array();
out.keylessSign = await once(() => {
  // What a keyless signer does locally: a fresh key, the proof of possession over the
  // subject, the SPKI for the CSR, and the payload signature.
  secret = p256.utils.randomSecretKey();
  spkiFromPoint(p256.getPublicKey(secret, false));
  signDer(secret, utf8("sub"));
  signDer(secret, utf8('{"critical":{}}'));
});
const point = p256.getPublicKey(secret, false);
const sig = signDer(secret, utf8("payload"));
out.verify = await once(() => verifyDer(point, utf8("payload"), sig));
// A cosign key file with the cost cosign writes (scrypt N=32768): the key-file flow pays this.
const pair = await generateKeyPair({ password: "bench-password", scryptN: 1 << 15 });
out.keyFileLoad = await once(() =>
  loadPrivateKey(pair.privatePem, "cosign.key", () => Promise.resolve("bench-password"))
);
out.sha256 = await once(() => sha256(new Uint8Array(4096)));
console.log(JSON.stringify(out));
