/**
 * cosign's simple-signing payload (the legacy `.sig` layer's content): written byte for byte
 * as cosign writes it, and checked on the way back (it must bind this manifest digest and this
 * repository).
 *
 * @module
 */
import { fromUtf8, utf8 } from "../encoding/bytes.ts";
import { type Digest, isDigest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { COSIGN_SIGNATURE_TYPE } from "./vocabulary.ts";

/**
 * The simple-signing payload cosign signs for an image, byte for byte (Go `json.Marshal`
 * of cosign's struct: fixed key order, `"optional":null`, no trailing newline).
 *
 * @example
 * ```ts
 * import { simpleSigningPayload } from "./simple_signing.ts";
 * new TextDecoder().decode(simpleSigningPayload("r.io/a/b", `sha256:${"0".repeat(64)}` as const));
 * // '{"critical":{"identity":{"docker-reference":"r.io/a/b"},"image":{…},"type":"cosign container image signature"},"optional":null}'
 * ```
 */
export function simpleSigningPayload(dockerReference: string, manifestDigest: Digest): Uint8Array {
  if (!isDigest(manifestDigest)) throw new KarsError("INPUT", `not a digest: ${manifestDigest}`);
  return utf8(
    `{"critical":{"identity":{"docker-reference":${goJson(dockerReference)}},` +
      `"image":{"docker-manifest-digest":${goJson(manifestDigest)}},` +
      `"type":${goJson(COSIGN_SIGNATURE_TYPE)}},"optional":null}`,
  );
}

/** Go's `json.Marshal` of a string (escapes <, >, & and U+2028/2029 as Go does). */
function goJson(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function bad(message: string): KarsError {
  return new KarsError("VERIFY", message, { details: { reason: "SignatureVerifyFailed" } });
}

/**
 * Checks that a simple-signing payload binds `digest` and `<registry>/<repository>`: a
 * signature over another digest, or copied from another repository, is refused
 * (`KarsError("VERIFY")`, `SignatureVerifyFailed`).
 *
 * @example
 * ```ts
 * import { checkSimpleSigningPayload } from "./simple_signing.ts";
 * const d = `sha256:${"0".repeat(64)}` as const;
 * const payload = new TextEncoder().encode(JSON.stringify({
 *   critical: { identity: { "docker-reference": "r.example/p" }, image: { "docker-manifest-digest": d },
 *     type: "cosign container image signature" }, optional: null,
 * }));
 * checkSimpleSigningPayload(payload, { digest: d, registry: "r.example", repository: "p" }); // ok
 * ```
 */
export function checkSimpleSigningPayload(
  payload: Uint8Array,
  expect: { digest: Digest; registry: string; repository: string },
): void {
  let p: {
    critical?: {
      identity?: { "docker-reference"?: unknown };
      image?: { "docker-manifest-digest"?: unknown };
      type?: unknown;
    };
  };
  try {
    p = JSON.parse(fromUtf8(payload));
  } catch {
    throw bad("signature payload is not JSON");
  }
  const c = p?.critical;
  if (!c || typeof c !== "object") throw bad("signature payload has no critical section");
  if (c.type !== COSIGN_SIGNATURE_TYPE) {
    throw bad(
      `signature payload type is ${JSON.stringify(c.type)}, expected "${COSIGN_SIGNATURE_TYPE}"`,
    );
  }
  const d = c.image?.["docker-manifest-digest"];
  if (d !== expect.digest) {
    throw bad(`signature is over ${JSON.stringify(d)}, not over ${expect.digest}`);
  }
  const ref = c.identity?.["docker-reference"];
  const want = `${expect.registry}/${expect.repository}`;
  if (ref !== want) {
    throw bad(
      `signature names repository ${
        JSON.stringify(ref)
      }, not ${want} (a signature copied from another repository is refused)`,
    );
  }
}

/**
 * Checks only that a simple-signing payload names `digest` — the kars controller's (laxer)
 * reading, which ignores the payload type and the repository. Throws `KarsError("VERIFY")`.
 *
 * @example
 * ```ts
 * import { checkSimpleSigningDigest, simpleSigningPayload } from "./simple_signing.ts";
 * const d = `sha256:${"0".repeat(64)}` as const;
 * checkSimpleSigningDigest(simpleSigningPayload("other.example/x", d), d); // ok
 * ```
 */
export function checkSimpleSigningDigest(payload: Uint8Array, digest: Digest): void {
  let p: { critical?: { image?: { "docker-manifest-digest"?: unknown } } };
  try {
    p = JSON.parse(fromUtf8(payload));
  } catch {
    throw bad("signature payload is not JSON");
  }
  const d = p?.critical?.image?.["docker-manifest-digest"];
  if (d !== digest) throw bad(`signature is over ${JSON.stringify(d)}, not over ${digest}`);
}
