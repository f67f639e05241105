/**
 * Test helper: the Sigstore services (Fulcio, Rekor, TSA) from `@sigstore/mock` — the
 * handlers written by the Sigstore maintainers — served over real HTTP on 127.0.0.1.
 *
 * Each service has its own loopback server. The helper adds only what a real deployment
 * does around those handlers:
 * - Rekor: `dsse` v0.0.1 proposed entries are canonicalised server-side (envelope hash,
 *   payload hash, signatures) exactly as Rekor stores them, before the mock logs them;
 * - TSA: a DER `TimeStampReq` (`application/timestamp-query`, what cosign sends) is
 *   translated into the mock handler's JSON request form (the nonce must fit in 2^53);
 * - fault injection through the mutable `fail` object: a status code answered instead
 *   of the handler's, or `"down"`, in which case the service's URL getter returns the URL
 *   of a closed loopback port (read the URL after setting the fault).
 *
 * @module
 */
import {
  fulcioHandler,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
} from "@sigstore/mock";
import { generateKeyPairSync } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fromBase64, toBase64, toHex, utf8 } from "../../lib/bytes.ts";
import { decodeDer, readInt, readOid, TAG } from "../../lib/der.ts";

/** One request the mock served. */
export interface MockRequest {
  /** `fulcio`, `rekor` or `tsa`. */
  service: "fulcio" | "rekor" | "tsa";
  /** HTTP method. */
  method: string;
  /** URL path (no query). */
  path: string;
  /** Status answered. */
  status: number;
  /** Request body as text (for assertions; never printed by the helper). */
  body: string;
}

/** Fault injection: a status code to answer, or `"down"` (connection refused). */
export interface MockFaults {
  /** Fulcio answers this status. */
  fulcio?: number | "down";
  /** Rekor answers this status, or is down. */
  rekor?: number | "down";
  /** TSA answers this status, or is down. */
  tsa?: number | "down";
}

/** A running mock. */
export interface SigstoreMock {
  /** Fulcio base URL (no trailing slash). */
  readonly fulcioUrl: string;
  /** Rekor base URL. */
  readonly rekorUrl: string;
  /** TSA base URL (the timestamp endpoint is `${tsaUrl}/api/v1/timestamp`). */
  readonly tsaUrl: string;
  /** trusted_root.json (v0.1) built from the mock's CA, CT log, Rekor and TSA keys. */
  trustedRoot: Record<string, unknown>;
  /** An OIDC JWT (ES256-signed by a throwaway key) that the mock Fulcio accepts. */
  mintToken(claims?: { sub?: string; email?: string; iss?: string; [k: string]: unknown }): string;
  /** Every request served, in order. */
  requests: MockRequest[];
  /** Fault injection (mutable). */
  fail: MockFaults;
  /** The SAN the mock Fulcio writes into certificates for a default token. */
  defaultSubject: string;
  /** The issuer a default token carries. */
  defaultIssuer: string;
  /** Stops the servers. */
  stop(): Promise<void>;
}

type HandlerFn = (request: string) => Promise<
  { statusCode: number; response: string | Uint8Array; contentType?: string }
>;

function b64url(b: Uint8Array): string {
  return toBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function closedPort(): Promise<number> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return await Promise.resolve(port);
}

/** Rekor's server-side canonicalisation of a `dsse` v0.0.1 proposed entry. */
function canonicalizeDsse(entry: Record<string, unknown>): Record<string, unknown> {
  // deno-lint-ignore no-explicit-any
  const spec = (entry.spec as any)?.proposedContent;
  if (!spec || typeof spec.envelope !== "string") return entry;
  const env = JSON.parse(spec.envelope);
  const payload = fromBase64(env.payload);
  const verifiers: string[] = spec.verifiers ?? [];
  return {
    apiVersion: "0.0.1",
    kind: "dsse",
    spec: {
      envelopeHash: { algorithm: "sha256", value: toHex(sha256(utf8(spec.envelope))) },
      payloadHash: { algorithm: "sha256", value: toHex(sha256(payload)) },
      // deno-lint-ignore no-explicit-any
      signatures: env.signatures.map((s: any, i: number) => ({
        signature: s.sig,
        verifier: verifiers[i] ?? verifiers[0],
      })),
    },
  };
}

const HASH_NAMES: Record<string, string> = {
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/** Translates a DER TimeStampReq into the mock handler's JSON request. */
function timeStampReqToJson(der: Uint8Array): string {
  const req = decodeDer(der);
  if (req.tag !== TAG.SEQUENCE) throw new TypeError("TimeStampReq: not a SEQUENCE");
  const [version, imprint, ...rest] = req.children;
  if (readInt(version) !== 1n) throw new TypeError("TimeStampReq: version must be 1");
  const hashAlg = readOid(imprint.children[0].children[0]);
  const hashed = imprint.children[1].value;
  const out: Record<string, unknown> = {
    artifactHash: toBase64(hashed),
    hashAlgorithm: HASH_NAMES[hashAlg] ?? hashAlg,
  };
  for (const n of rest) {
    if (n.tag === TAG.OID) out.tsaPolicyOID = readOid(n);
    else if (n.tag === TAG.INTEGER) {
      const v = readInt(n);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TypeError("mock TSA: nonce >= 2^53");
      out.nonce = Number(v);
    } else if (n.tag === TAG.BOOLEAN) out.certificates = n.value[0] !== 0;
  }
  return JSON.stringify(out);
}

/**
 * Starts Fulcio, Rekor and a TSA from `@sigstore/mock` on loopback.
 *
 * @example
 * ```ts
 * import { startSigstoreMock } from "./sigstore_mock.ts";
 * const mock = await startSigstoreMock();
 * try {
 *   const token = mock.mintToken({ sub: "https://github.com/acme/x/.github/workflows/a.yml@refs/heads/main" });
 *   // sign against mock.fulcioUrl / mock.rekorUrl / mock.tsaUrl with token
 * } finally {
 *   await mock.stop();
 * }
 * ```
 */
export async function startSigstoreMock(): Promise<SigstoreMock> {
  const kp = () => generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const requests: MockRequest[] = [];
  const fail: MockFaults = {};
  const servers: Deno.HttpServer[] = [];
  const handlers: Partial<Record<MockRequest["service"], { path: string; fn: HandlerFn }>> = {};

  const serve = (service: MockRequest["service"]): string => {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        const url = new URL(req.url);
        const bodyBytes = new Uint8Array(await req.arrayBuffer());
        let bodyText = "";
        try {
          bodyText = new TextDecoder().decode(bodyBytes);
        } catch { /* binary */ }
        const record = (status: number) =>
          requests.push({
            service,
            method: req.method,
            path: url.pathname,
            status,
            body: bodyText,
          });
        const fault = fail[service];
        if (typeof fault === "number") {
          record(fault);
          return new Response(`${service} mock: injected fault ${fault}`, { status: fault });
        }
        const h = handlers[service];
        if (!h || req.method !== "POST" || url.pathname !== h.path) {
          record(404);
          return new Response("not found", { status: 404 });
        }
        let input = bodyText;
        try {
          if (
            service === "tsa" && (req.headers.get("content-type") ?? "").includes("timestamp-query")
          ) {
            input = timeStampReqToJson(bodyBytes);
          } else if (service === "rekor") {
            const entry = JSON.parse(bodyText);
            if (entry.kind === "dsse") input = JSON.stringify(canonicalizeDsse(entry));
          }
        } catch (e) {
          record(400);
          return new Response(`bad request: ${(e as Error).message}`, { status: 400 });
        }
        const r = await h.fn(input);
        record(r.statusCode);
        const headers = new Headers();
        if (r.contentType) headers.set("content-type", r.contentType);
        const resp = typeof r.response === "string" ? r.response : new Uint8Array(r.response);
        return new Response(resp, { status: r.statusCode, headers });
      },
    );
    servers.push(server);
    return `http://127.0.0.1:${server.addr.port}`;
  };

  const urls = { fulcio: serve("fulcio"), rekor: serve("rekor"), tsa: serve("tsa") };
  const downUrl = `http://127.0.0.1:${await closedPort()}`;

  const caKey = kp(), ctKey = kp(), rekorKey = kp(), tsaKey = kp();
  const ctlog = await initializeCTLog(ctKey);
  const ca = await initializeCA(caKey, ctlog);
  const tlog = await initializeTLog(urls.rekor, rekorKey);
  const tsa = await initializeTSA(tsaKey);
  handlers.fulcio = fulcioHandler(ca) as unknown as { path: string; fn: HandlerFn };
  handlers.rekor = rekorHandler(tlog) as unknown as { path: string; fn: HandlerFn };
  handlers.tsa = tsaHandler(tsa) as unknown as { path: string; fn: HandlerFn };

  const validFor = { start: "2000-01-01T00:00:00.000Z" };
  const rekorSpki = new Uint8Array(tlog.publicKey);
  const trustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [{
      baseUrl: urls.rekor,
      hashAlgorithm: "SHA2_256",
      publicKey: {
        rawBytes: toBase64(rekorSpki),
        keyDetails: "PKIX_ECDSA_P256_SHA_256",
        validFor,
      },
      logId: { keyId: toBase64(sha256(rekorSpki)) },
    }],
    certificateAuthorities: [{
      subject: { organization: "sigstore.mock", commonName: "sigstore" },
      uri: urls.fulcio,
      certChain: { certificates: [{ rawBytes: toBase64(new Uint8Array(ca.rootCertificate)) }] },
      validFor,
    }],
    ctlogs: [{
      baseUrl: urls.fulcio,
      hashAlgorithm: "SHA2_256",
      publicKey: {
        rawBytes: toBase64(new Uint8Array(ctlog.publicKey)),
        keyDetails: "PKIX_ECDSA_P256_SHA_256",
        validFor,
      },
      logId: { keyId: toBase64(new Uint8Array(ctlog.logID)) },
    }],
    timestampAuthorities: [{
      subject: { organization: "sigstore.mock", commonName: "tsa" },
      uri: urls.tsa,
      certChain: {
        certificates: [
          { rawBytes: toBase64(new Uint8Array(tsa.intCertificate)) },
          { rawBytes: toBase64(new Uint8Array(tsa.rootCertificate)) },
        ],
      },
      validFor,
    }],
  };

  const jwtKey = p256.utils.randomSecretKey();
  const defaultSubject =
    "https://github.com/acme/gitops/.github/workflows/sign.yml@refs/heads/main";
  const defaultIssuer = "https://token.actions.githubusercontent.com";
  const mintToken: SigstoreMock["mintToken"] = (claims = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(utf8(JSON.stringify({ alg: "ES256", typ: "JWT", kid: "mock" })));
    const body = b64url(utf8(JSON.stringify({
      iss: defaultIssuer,
      sub: defaultSubject,
      aud: "sigstore",
      iat: now,
      nbf: now,
      exp: now + 600,
      ...claims,
    })));
    const sig = p256.sign(utf8(`${header}.${body}`), jwtKey, { prehash: true });
    return `${header}.${body}.${b64url(sig)}`;
  };

  let stopped = false;
  return {
    get fulcioUrl() {
      return fail.fulcio === "down" ? downUrl : urls.fulcio;
    },
    get rekorUrl() {
      return fail.rekor === "down" ? downUrl : urls.rekor;
    },
    get tsaUrl() {
      return fail.tsa === "down" ? downUrl : urls.tsa;
    },
    trustedRoot,
    mintToken,
    requests,
    fail,
    defaultSubject,
    defaultIssuer,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(servers.map((s) => s.shutdown()));
    },
  };
}
