/**
 * Azure Key Vault signing (`azurekms://<vault>.vault.azure.net/<key>[/<version>]`): the
 * SHA-256 digest is signed by Key Vault's REST `sign` operation (ES256), the `r‖s` result
 * re-encoded as DER, the public key read from the key's JWK. Token from
 * `AZURE_ACCESS_TOKEN`, or workload identity (`AZURE_FEDERATED_TOKEN_FILE`,
 * `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_AUTHORITY_HOST`).
 *
 * @module
 */
import { p256 } from "@noble/curves/nist.js";
import { concatBytes, fromBase64, fromUtf8, toBase64 } from "../encoding/bytes.ts";
import { sha256Bytes } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { callService, type FetchFn, parseServiceJson } from "./http.ts";
import { rawToDer, spkiFromPoint, verifyDer } from "./p256.ts";
import type { ExpectedSigner, Signature, Signer } from "./signer.ts";

const API_VERSION = "7.4";

/** A parsed `azurekms://` key URI. */
export interface AzureKeyRef {
  /** Vault host, e.g. `myvault.vault.azure.net`. */
  vaultHost: string;
  /** Key name. */
  key: string;
  /** Key version, when pinned. */
  version?: string;
}

/**
 * Parses `azurekms://<vault>.vault.azure.net/<key>[/<version>]`; throws `KarsError("INPUT")`
 * with `details.option` `"key"`.
 *
 * @example
 * ```ts
 * import { parseAzureKeyUri } from "./azure_kms.ts";
 * parseAzureKeyUri("azurekms://v.vault.azure.net/k"); // { vaultHost: "v.vault.azure.net", key: "k" }
 * ```
 */
export function parseAzureKeyUri(uri: string): AzureKeyRef {
  const m = /^azurekms:\/\/([a-z0-9-]+\.vault\.[a-z0-9.-]+)\/([A-Za-z0-9-]+)(?:\/([A-Za-z0-9]+))?$/i
    .exec(uri);
  if (!m) {
    throw new KarsError(
      "INPUT",
      `key ${uri}: expected azurekms://<vault>.vault.azure.net/<key>[/<version>]`,
      { details: { option: "key" } },
    );
  }
  const ref: AzureKeyRef = { vaultHost: m[1].toLowerCase(), key: m[2] };
  if (m[3]) ref.version = m[3];
  return ref;
}

/** Options of {@link AzureKmsSigner}. */
export interface AzureKmsOptions {
  /** The `azurekms://` URI. */
  uri: string;
  /** Environment (token variables). */
  env: Record<string, string | undefined>;
  /** Reads `AZURE_FEDERATED_TOKEN_FILE`. */
  readFile?: (path: string) => Promise<Uint8Array>;
  /** Vault base URL override (tests); default `https://<vaultHost>`. */
  vaultUrl?: string;
  /** Transport. */
  fetch?: FetchFn;
}

/**
 * Gets an access token for Key Vault: `AZURE_ACCESS_TOKEN`, else the workload-identity
 * client-assertion exchange at `${AZURE_AUTHORITY_HOST}${AZURE_TENANT_ID}/oauth2/v2.0/token`.
 *
 * @example
 * ```ts
 * import { azureAccessToken } from "./azure_kms.ts";
 * await azureAccessToken({ env: { AZURE_ACCESS_TOKEN: "…" } }); // "…"
 * ```
 */
export async function azureAccessToken(opts: {
  env: Record<string, string | undefined>;
  readFile?: (path: string) => Promise<Uint8Array>;
  fetch?: FetchFn;
}): Promise<string> {
  const env = opts.env;
  if (env.AZURE_ACCESS_TOKEN) return env.AZURE_ACCESS_TOKEN;
  const file = env.AZURE_FEDERATED_TOKEN_FILE, client = env.AZURE_CLIENT_ID;
  const tenant = env.AZURE_TENANT_ID;
  if (!file || !client || !tenant || !opts.readFile) {
    throw new KarsError(
      "AUTH",
      "no Azure credentials: set AZURE_ACCESS_TOKEN, or AZURE_FEDERATED_TOKEN_FILE, " +
        "AZURE_CLIENT_ID and AZURE_TENANT_ID (workload identity)",
    );
  }
  let assertion: string;
  try {
    assertion = fromUtf8(await opts.readFile(file)).trim();
  } catch (e) {
    throw new KarsError("AUTH", `AZURE_FEDERATED_TOKEN_FILE ${file}: cannot read the file`, {
      cause: e,
    });
  }
  const authority = (env.AZURE_AUTHORITY_HOST || "https://login.microsoftonline.com/")
    .replace(/\/*$/, "/");
  const form = new URLSearchParams({
    client_id: client,
    grant_type: "client_credentials",
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    client_assertion: assertion,
    scope: "https://vault.azure.net/.default",
  });
  const body = await callService(
    `${authority}${encodeURIComponent(tenant)}/oauth2/v2.0/token`,
    {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    },
    {
      service: "Microsoft Entra ID",
      hint: "check AZURE_CLIENT_ID / AZURE_TENANT_ID and the federated credential",
      secrets: [assertion],
      fetch: opts.fetch,
    },
  );
  const json = parseServiceJson(body, "Microsoft Entra ID") as { access_token?: unknown };
  if (typeof json?.access_token !== "string" || !json.access_token) {
    throw new KarsError("AUTH", "Microsoft Entra ID returned no access_token");
  }
  return json.access_token;
}

/**
 * A {@link Signer} backed by an Azure Key Vault EC P-256 key; identity `kms:<uri>`.
 * Each signature is checked locally against the key's public key before it is returned.
 *
 * @example
 * ```ts
 * import { AzureKmsSigner } from "./azure_kms.ts";
 * const signer = new AzureKmsSigner({ uri: "azurekms://v.vault.azure.net/k", env: { AZURE_ACCESS_TOKEN: "…" } });
 * await signer.sign(new TextEncoder().encode("payload"));
 * ```
 */
export class AzureKmsSigner implements Signer {
  /** See {@link Signer.identity}. */
  readonly identity: string;
  #opts: AzureKmsOptions;
  #ref: AzureKeyRef;
  #base: string;
  #key?: Promise<{ point: Uint8Array; version: string; token: string }>;

  /**
   * Creates the signer (no network until the first sign).
   * @param opts URI, environment, optional vault URL override and transport
   */
  constructor(opts: AzureKmsOptions) {
    this.#ref = parseAzureKeyUri(opts.uri);
    this.#opts = opts;
    this.#base = (opts.vaultUrl ?? `https://${this.#ref.vaultHost}`).replace(/\/+$/, "");
    this.identity = `kms:${opts.uri}`;
  }

  async #load(): Promise<{ point: Uint8Array; version: string; token: string }> {
    const token = await azureAccessToken(this.#opts);
    const path = `/keys/${encodeURIComponent(this.#ref.key)}` +
      (this.#ref.version ? `/${this.#ref.version}` : "");
    const body = await callService(`${this.#base}${path}?api-version=${API_VERSION}`, {
      method: "GET",
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
    }, this.#call(token));
    // deno-lint-ignore no-explicit-any
    const jwk = (parseServiceJson(body, "Azure Key Vault") as any)?.key;
    if (!jwk || !["EC", "EC-HSM"].includes(jwk.kty) || jwk.crv !== "P-256") {
      throw new KarsError("SIGN", `${this.#opts.uri}: the key is not an EC P-256 key`);
    }
    let point: Uint8Array;
    try {
      point = concatBytes(new Uint8Array([4]), fromBase64(jwk.x), fromBase64(jwk.y));
      p256.Point.fromBytes(point);
    } catch (e) {
      throw new KarsError("SIGN", `${this.#opts.uri}: the key's JWK is malformed`, { cause: e });
    }
    const version = this.#ref.version ?? String(jwk.kid ?? "").split("/").pop() ?? "";
    if (!/^[A-Za-z0-9]+$/.test(version)) {
      throw new KarsError("SIGN", `${this.#opts.uri}: Key Vault returned no key version`);
    }
    return { point, version, token };
  }

  #call(token: string) {
    return {
      service: "Azure Key Vault",
      hint: `check the key ${this.#opts.uri}, the access token and the key's sign permission`,
      fixOptions: ["key"],
      secrets: [token],
      fetch: this.#opts.fetch,
    };
  }

  /**
   * See {@link Signer.expectedSigner}: the public key of the version that will sign (the
   * pinned version, else the current one), read from Key Vault.
   */
  async expectedSigner(): Promise<ExpectedSigner> {
    this.#key ??= this.#load();
    try {
      return { kind: "key", spkiDer: spkiFromPoint((await this.#key).point) };
    } catch (e) {
      this.#key = undefined;
      throw e;
    }
  }

  /** See {@link Signer.sign}. */
  async sign(data: Uint8Array): Promise<Signature> {
    this.#key ??= this.#load();
    let key;
    try {
      key = await this.#key;
    } catch (e) {
      this.#key = undefined;
      throw e;
    }
    const digest = sha256Bytes(data);
    const url = `${this.#base}/keys/${encodeURIComponent(this.#ref.key)}/${key.version}/sign` +
      `?api-version=${API_VERSION}`;
    const body = await callService(url, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${key.token}`,
        "Content-Type": "application/json",
        Accept: "application/json",
      },
      body: JSON.stringify({ alg: "ES256", value: b64url(digest) }),
    }, this.#call(key.token));
    // deno-lint-ignore no-explicit-any
    const value = (parseServiceJson(body, "Azure Key Vault") as any)?.value;
    let raw: Uint8Array;
    try {
      raw = fromBase64(String(value));
    } catch {
      throw new KarsError("SIGN", "Azure Key Vault returned a signature that is not base64url");
    }
    if (raw.length !== 64) {
      throw new KarsError(
        "SIGN",
        `Azure Key Vault returned a ${raw.length}-byte signature, not r||s`,
      );
    }
    const der = rawToDer(raw);
    if (!verifyDer(key.point, data, der)) {
      throw new KarsError(
        "SIGN",
        `Azure Key Vault signature does not verify with the public key of ${this.#opts.uri}`,
      );
    }
    return { signature: der, key: { kind: "publicKey", spkiDer: spkiFromPoint(key.point) } };
  }
}

function b64url(b: Uint8Array): string {
  return toBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
