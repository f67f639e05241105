/**
 * The SignerPolicy's pinned public keys (`data.publicKeys`): concatenated PEM `PUBLIC KEY`
 * blocks (SPKI: P-256, P-384, Ed25519, RSA ≥ 2048 bits), read by the one SPKI parser.
 *
 * @module
 */
import { parseSpki, SpkiError } from "../encoding/spki.ts";
import { pemBody, pemScan } from "../encoding/pem.ts";
import { keyId } from "../cosign/key_id.ts";
import { type PolicyKey, policyMalformed as malformed, type PublicKeyAlgorithm } from "./policy.ts";

/**
 * Parses concatenated PEM `PUBLIC KEY` blocks (SPKI: P-256, P-384, Ed25519, RSA). Throws
 * `SignerPolicyMalformed` naming the block at fault.
 *
 * @example
 * ```ts
 * import { parsePublicKeys } from "./policy_keys.ts";
 * parsePublicKeys("").length; // 0
 * ```
 */
export function parsePublicKeys(pem: string, source = "publicKeys"): PolicyKey[] {
  const where = (n: number) => `data.publicKeys block ${n}`;
  const keys: PolicyKey[] = [];
  const text = pem.replace(/\r\n/g, "\n");
  let last = 0;
  let n = 0;
  for (const m of pemScan(text)) {
    n++;
    if (text.slice(last, m.start).trim() !== "") {
      throw malformed(source, `${where(n)}: unexpected text before the PEM block`);
    }
    last = m.end;
    if (m.label !== "PUBLIC KEY" || m.endLabel !== "PUBLIC KEY") {
      throw malformed(source, `${where(n)}: label is "${m.label}", expected "PUBLIC KEY" (SPKI)`);
    }
    if (!m.body.startsWith("\n")) {
      throw malformed(source, `${where(n)}: the BEGIN line must end with a line break`);
    }
    let der: Uint8Array;
    try {
      der = pemBody(m.body);
    } catch {
      throw malformed(source, `${where(n)}: body is not valid base64`);
    }
    let algorithm: PublicKeyAlgorithm;
    try {
      algorithm = policyKeyAlgorithm(der);
    } catch (e) {
      throw malformed(source, `${where(n)}: ${(e as Error).message}`);
    }
    keys.push({ spki: der, algorithm, keyId: keyId(der) });
  }
  const rest = text.slice(last).trim();
  if (rest !== "") {
    throw malformed(
      source,
      n === 0 && !rest.includes("-----BEGIN")
        ? "data.publicKeys holds no PEM block"
        : `data.publicKeys: unterminated or stray text after block ${n}`,
    );
  }
  if (n === 0 && pem.trim() !== "") throw malformed(source, "data.publicKeys holds no PEM block");
  return keys;
}

/** Reads a DER SubjectPublicKeyInfo (the one parser, `parseSpki`): returns the algorithm. */
function policyKeyAlgorithm(der: Uint8Array): PublicKeyAlgorithm {
  try {
    return parseSpki(der).algorithm;
  } catch (e) {
    if (!(e instanceof SpkiError) || e.problem === "structure") {
      throw new Error("not a DER SubjectPublicKeyInfo");
    }
    const why = e.message.replace(/^SubjectPublicKeyInfo: /, "");
    if (e.problem === "unsupported") throw new Error(`${why}; use P-256, P-384, Ed25519 or RSA`);
    if (/modulus is too small/.test(why)) throw new Error("RSA key shorter than 2048 bits");
    if (why.startsWith("RSA public key")) throw new Error("malformed RSA public key");
    throw new Error(why);
  }
}
