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
 * - Fulcio's CT log: `@sigstore/mock`'s `initializeCTLog` emits SCTs with an empty signature
 *   under Deno (its pkijs/asn1js serialisation of the signature comes out empty), so the CA
 *   is given a small RFC 6962 CT log ({@link rfc6962CtLog}) that signs the same precert
 *   structure with `node:crypto`; the CA and the Fulcio handler are the mock's own;
 * - TSA: its clock is held at whole seconds (sigstore-js refuses the fractional genTime
 *   form pkijs writes for some millisecond values);
 * - fault injection through the mutable `fail` object: a status code answered instead
 *   of the handler's, or `"down"`, in which case the service's URL getter returns the URL
 *   of a closed loopback port (read the URL after setting the fault).
 *
 * @module
 */
import {
  fulcioHandler,
  initializeCA,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
} from "@sigstore/mock";
import { createHash, generateKeyPairSync, type KeyPairKeyObjectResult, sign } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, fromBase64, toBase64, toHex, utf8 } from "../../lib/encoding/bytes.ts";
import { decodeDer, readInt, readOid, TAG } from "../../lib/encoding/der.ts";

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
  /**
   * Adversarial: an injected fault's response body echoes the request (headers and body,
   * so any token sent), to prove that clients never quote secrets from error bodies.
   */
  echo?: boolean;
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

/**
 * An RFC 6962 CT log with the interface of `@sigstore/mock`'s `CTLog`: `log(precert,
 * issuerKeyHash)` returns one length-prefixed SCT (the mock CA adds the list framing).
 */
function rfc6962CtLog(keyPair: KeyPairKeyObjectResult) {
  const publicKey = keyPair.publicKey.export({ format: "der", type: "spki" });
  const logID = createHash("sha256").update(publicKey).digest();
  return {
    publicKey,
    logID,
    log(certificate: ArrayBuffer, issuerID: ArrayBuffer): Promise<ArrayBuffer> {
      const tbs = decodeDer(new Uint8Array(certificate)).children[0].raw;
      const ts = new Uint8Array(8);
      new DataView(ts.buffer).setBigUint64(0, BigInt(Date.now()));
      const u16 = (n: number) => new Uint8Array([n >> 8, n & 0xff]);
      const u24 = (n: number) => new Uint8Array([n >> 16, (n >> 8) & 0xff, n & 0xff]);
      const signed = concatBytes(
        new Uint8Array([0, 0]), // v1, certificate_timestamp
        ts,
        u16(1), // precert_entry
        new Uint8Array(issuerID),
        u24(tbs.length),
        tbs,
        u16(0), // no extensions
      );
      const sig = new Uint8Array(sign("sha256", signed, keyPair.privateKey));
      const sct = concatBytes(
        new Uint8Array([0]),
        new Uint8Array(logID),
        ts,
        u16(0),
        new Uint8Array([4, 3]), // sha256, ecdsa
        u16(sig.length),
        sig,
      );
      const framed = concatBytes(u16(sct.length), sct);
      return Promise.resolve(framed.buffer.slice(0) as ArrayBuffer);
    },
  };
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
          const echo = fail.echo ? ` request: ${JSON.stringify([...req.headers])} ${bodyText}` : "";
          return new Response(`${service} mock: injected fault ${fault}${echo}`, {
            status: fault,
          });
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
        if (service === "tsa") tsaClock.setTime(Math.floor(Date.now() / 1000) * 1000);
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
  const ctlog = rfc6962CtLog(ctKey);
  const ca = await initializeCA(caKey, ctlog as unknown as Parameters<typeof initializeCA>[1]);
  const tlog = await initializeTLog(urls.rekor, rekorKey);
  // The mock TSA writes genTime with pkijs, which trims trailing zeros of the milliseconds
  // (e.g. `…15.5Z`), a form sigstore-js's parser refuses; a clock held at whole seconds
  // (moved forward before each request) keeps genTime in the `…15Z` form.
  const tsaClock = new Date(Math.floor(Date.now() / 1000) * 1000);
  const tsa = await initializeTSA(tsaKey, tsaClock);
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
