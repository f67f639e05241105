/**
 * A Rekor v2 log written for the tests: `POST /api/v2/log/entries` accepts
 * `hashedRekordRequestV002` and `dsseRequestV002`, checks the signature against its verifier (as
 * the real log does), appends the canonicalized body to an in-memory RFC 6962 Merkle tree and
 * answers with a `TransparencyLogEntry`: an inclusion proof to the new tree head and a C2SP
 * signed-note checkpoint signed with the log's Ed25519 key (key ID per the signed-note spec).
 * No integrated time, no SET — as Rekor v2.
 *
 * `tamper` makes it lie in one way at a time, to prove the signer refuses what it returns.
 *
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, fromBase64, toBase64, utf8 } from "../../lib/encoding/bytes.ts";
import { pae } from "../../lib/sign/bundle.ts";
import { parseSpki, verifyDigest } from "../../lib/verify/sigstore/keys.ts";
import { parseCertificate } from "../../lib/verify/sigstore/x509.ts";

/** Ways the log can lie. */
export type RekorV2Tamper =
  | "checkpoint-signature" // the checkpoint's signature does not verify
  | "checkpoint-root" // the checkpoint names another root hash
  | "proof" // one audit-path hash is flipped
  | "body" // the logged body records another digest
  | "foreign-key"; // the checkpoint is signed by a key that is not the trusted one

/** A running Rekor v2 test log. */
export interface RekorV2Server {
  /** Base URL (no trailing slash). */
  readonly url: string;
  /** The `tlogs[]` entry a trusted root needs to trust this log. */
  readonly trustedRootLog: Record<string, unknown>;
  /** Every request: method, path, status and the request JSON. */
  readonly requests: Array<{ method: string; path: string; status: number; body: unknown }>;
  /** Lie in this way (mutable; undefined for an honest log). */
  tamper?: RekorV2Tamper;
  /** Entries in the log. */
  readonly size: number;
  /** Stops the server. */
  stop(): Promise<void>;
}

const ED25519_SPKI_PREFIX = new Uint8Array([
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x03,
  0x21,
  0x00,
]);

function leafHash(body: Uint8Array): Uint8Array {
  return sha256(concatBytes(new Uint8Array([0]), body));
}

function nodeHash(l: Uint8Array, r: Uint8Array): Uint8Array {
  return sha256(concatBytes(new Uint8Array([1]), l, r));
}

function largestPow2Below(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 6962 Merkle tree hash of leaf hashes. */
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256(new Uint8Array());
  if (leaves.length === 1) return leaves[0];
  const k = largestPow2Below(leaves.length);
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** RFC 6962 audit path PATH(m, D[n]). */
function path(m: number, leaves: Uint8Array[]): Uint8Array[] {
  if (leaves.length <= 1) return [];
  const k = largestPow2Below(leaves.length);
  return m < k
    ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

/** Canonical JSON (keys sorted), as the log stores bodies. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${
      Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) =>
        `${JSON.stringify(k)}:${canonical(o[k])}`
      ).join(",")
    }}`;
  }
  return JSON.stringify(v);
}

type Verifier = {
  keyDetails?: string;
  x509Certificate?: { rawBytes?: string };
  publicKey?: { rawBytes?: string };
};

function verifierKey(v: Verifier) {
  if (v.x509Certificate?.rawBytes) {
    return parseSpki(parseCertificate(fromBase64(v.x509Certificate.rawBytes)).spki);
  }
  if (v.publicKey?.rawBytes) return parseSpki(fromBase64(v.publicKey.rawBytes));
  throw new Error("verifier has neither x509Certificate nor publicKey");
}

/**
 * Starts a Rekor v2 test log on 127.0.0.1. `preload` dummy entries make proofs non-trivial.
 *
 * @example
 * ```ts
 * import { startRekorV2 } from "./rekor_v2_server.ts";
 * const log = await startRekorV2();
 * try {
 *   // add log.trustedRootLog to a trusted root's tlogs; sign against log.url
 * } finally {
 *   await log.stop();
 * }
 * ```
 */
export async function startRekorV2(options: { preload?: number } = {}): Promise<RekorV2Server> {
  const secret = ed25519.utils.randomSecretKey();
  const pub = ed25519.getPublicKey(secret);
  const foreignSecret = ed25519.utils.randomSecretKey();
  const leaves: Uint8Array[] = [];
  for (let i = 0; i < (options.preload ?? 6); i++) {
    leaves.push(leafHash(utf8(`{"preloaded":${i}}`)));
  }
  const requests: RekorV2Server["requests"] = [];
  // deno-lint-ignore prefer-const
  let state: { server?: Deno.HttpServer; origin: string; tamper?: RekorV2Tamper } = { origin: "" };
  const keyId = () => sha256(concatBytes(utf8(state.origin), new Uint8Array([0x0a, 0x01]), pub));

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    let body: unknown = undefined;
    const answer = (status: number, json: unknown) => {
      requests.push({ method: req.method, path: url.pathname, status, body });
      return new Response(JSON.stringify(json), {
        status,
        headers: { "content-type": "application/json" },
      });
    };
    if (req.method !== "POST" || url.pathname !== "/api/v2/log/entries") {
      return answer(404, { code: 5, message: "not found" });
    }
    try {
      body = await req.json();
    } catch {
      return answer(400, { code: 3, message: "request is not JSON" });
    }
    const b = body as Record<string, Record<string, unknown>>;
    let entry: Record<string, unknown>;
    let kind: "hashedrekord" | "dsse";
    try {
      if (b.hashedRekordRequestV002) {
        kind = "hashedrekord";
        const r = b.hashedRekordRequestV002 as {
          digest: string;
          signature: { content: string; verifier: Verifier };
        };
        const digest = fromBase64(r.digest);
        const sig = fromBase64(r.signature.content);
        if (!verifyDigest(verifierKey(r.signature.verifier), "sha256", digest, sig)) {
          return answer(400, { code: 3, message: "signature does not verify" });
        }
        const logged = state.tamper === "body" ? sha256(digest) : digest;
        entry = {
          apiVersion: "0.0.2",
          kind,
          spec: {
            hashedRekordV002: {
              data: { algorithm: "SHA2_256", digest: toBase64(logged) },
              signature: { content: r.signature.content, verifier: r.signature.verifier },
            },
          },
        };
      } else if (b.dsseRequestV002) {
        kind = "dsse";
        const r = b.dsseRequestV002 as {
          envelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
          verifiers: Verifier[];
        };
        const payload = fromBase64(r.envelope.payload);
        const sig = fromBase64(r.envelope.signatures[0].sig);
        const ok = r.verifiers.some((v) =>
          verifyDigest(verifierKey(v), "sha256", sha256(pae(r.envelope.payloadType, payload)), sig)
        );
        if (!ok || r.envelope.signatures.length !== 1) {
          return answer(400, { code: 3, message: "envelope signature does not verify" });
        }
        const loggedHash = state.tamper === "body" ? sha256(sha256(payload)) : sha256(payload);
        entry = {
          apiVersion: "0.0.2",
          kind,
          spec: {
            dsseV002: {
              payloadHash: { algorithm: "SHA2_256", digest: toBase64(loggedHash) },
              signatures: [{ content: r.envelope.signatures[0].sig, verifier: r.verifiers[0] }],
            },
          },
        };
      } else {
        return answer(400, { code: 3, message: "unknown entry type" });
      }
    } catch (e) {
      return answer(400, { code: 3, message: `malformed request: ${(e as Error).message}` });
    }
    const canonicalBody = utf8(canonical(entry));
    const index = leaves.length;
    leaves.push(leafHash(canonicalBody));
    const size = leaves.length;
    let root = mth(leaves);
    const hashes = path(index, leaves);
    if (state.tamper === "proof" && hashes.length > 0) {
      hashes[0] = hashes[0].slice();
      hashes[0][0] ^= 1;
    }
    if (state.tamper === "checkpoint-root") {
      root = root.slice();
      root[31] ^= 1;
    }
    const note = `${state.origin}\n${size}\n${toBase64(root)}\n`;
    const signer = state.tamper === "foreign-key" ? foreignSecret : secret;
    const sig = ed25519.sign(utf8(note), signer);
    if (state.tamper === "checkpoint-signature") sig[0] ^= 1;
    const line = `\u2014 ${state.origin} ${toBase64(concatBytes(keyId().subarray(0, 4), sig))}\n`;
    return answer(201, {
      logIndex: String(index),
      logId: { keyId: toBase64(keyId()) },
      kindVersion: { kind, version: "0.0.2" },
      inclusionProof: {
        logIndex: String(index),
        rootHash: toBase64(state.tamper === "checkpoint-root" ? mth(leaves) : root),
        treeSize: String(size),
        hashes: hashes.map(toBase64),
        checkpoint: { envelope: `${note}\n${line}` },
      },
      canonicalizedBody: toBase64(canonicalBody),
    });
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handle);
  state.server = server;
  const port = (server.addr as Deno.NetAddr).port;
  state.origin = `127.0.0.1:${port}`;
  const url = `http://127.0.0.1:${port}`;
  const spki = concatBytes(ED25519_SPKI_PREFIX, pub);
  await Promise.resolve();
  return {
    url,
    trustedRootLog: {
      baseUrl: url,
      hashAlgorithm: "SHA2_256",
      publicKey: {
        rawBytes: toBase64(spki),
        keyDetails: "PKIX_ED25519",
        validFor: { start: "2020-01-01T00:00:00Z" },
      },
      logId: { keyId: toBase64(keyId()) },
    },
    requests,
    get tamper() {
      return state.tamper;
    },
    set tamper(t: RekorV2Tamper | undefined) {
      state.tamper = t;
    },
    get size() {
      return leaves.length;
    },
    async stop() {
      await server.shutdown();
    },
  };
}
