/**
 * Sigstore `SigningConfig` v0.2 (protobuf-specs `dev.sigstore.trustroot.v1.SigningConfig`, JSON
 * form): which Fulcio, OIDC, Rekor and timestamp-authority instances a signer should use, with
 * validity windows, API versions and selectors. {@link selectServices} applies the selection
 * rules the protobuf-specs state (and sigstore-go implements):
 *
 * - a service is *valid* when `now` is inside its `validFor` window and its `majorApiVersion` is
 *   one the client supports;
 * - Fulcio: the first valid service of the highest supported version;
 * - Rekor and TSA: the valid services of the highest supported version (for Rekor; TSAs are all
 *   v1), then the selector: `ANY` one (the first), `ALL` every one, `EXACT` the first `count`
 *   (fewer valid than `count` is an error).
 *
 * Rekor v2 is opt-in: the supported Rekor versions are `[1]` unless the caller adds 2.
 *
 * @module
 */
import { KarsError } from "../errors.ts";

/** The media type of a v0.2 signing config. */
export const SIGNING_CONFIG_V02_MEDIA_TYPE = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

/** One service entry (`Service`). */
export interface ServiceEntry {
  /** Base URL. */
  url: string;
  /** Major API version (Rekor 1 or 2; Fulcio, OIDC and TSA 1). */
  majorApiVersion: number;
  /** Validity window; `end` absent means open-ended. */
  validFor: { start: Date; end?: Date };
  /** Operator (informational). */
  operator?: string;
}

/** A `ServiceConfiguration` selector. */
export type ServiceSelector =
  | { selector: "ANY" }
  | { selector: "ALL" }
  | { selector: "EXACT"; count: number };

/** A parsed signing config. */
export interface SigningConfig {
  /** Fulcio instances. */
  caUrls: ServiceEntry[];
  /** OIDC providers. */
  oidcUrls: ServiceEntry[];
  /** Rekor logs. */
  rekorTlogUrls: ServiceEntry[];
  /** RFC 3161 timestamp authorities. */
  tsaUrls: ServiceEntry[];
  /** How many Rekor logs to use. */
  rekorTlogConfig: ServiceSelector;
  /** How many TSAs to use. */
  tsaConfig: ServiceSelector;
}

/** The services chosen for one signing run. */
export interface SelectedServices {
  /** Fulcio base URL, when the config lists a valid one. */
  fulcioUrl?: string;
  /** The OIDC issuer, when the config lists a valid one. */
  oidcUrl?: string;
  /** The Rekor logs to upload to, each with its API version. */
  tlogs: Array<{ url: string; majorApiVersion: 1 | 2 }>;
  /** The TSAs to ask for a timestamp. */
  tsaUrls: string[];
}

type Json = Record<string, unknown>;

function bad(source: string, what: string): never {
  throw new KarsError("INPUT", `${source}: not a usable SigningConfig v0.2: ${what}`, {
    details: { source },
  });
}

function time(v: unknown, source: string, where: string): Date {
  if (typeof v !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v)) {
    bad(source, `${where} must be an RFC 3339 UTC timestamp`);
  }
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) bad(source, `${where} is not a valid time`);
  return d;
}

function services(v: unknown, source: string, field: string): ServiceEntry[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) bad(source, `${field} must be a list`);
  if (v.length > 64) bad(source, `${field} lists more than 64 services`);
  return v.map((s, i) => {
    const where = `${field}[${i}]`;
    if (typeof s !== "object" || s === null || Array.isArray(s)) {
      bad(source, `${where} is not an object`);
    }
    const o = s as Json;
    if (typeof o.url !== "string" || !/^https?:\/\/[^\s]+$/.test(o.url)) {
      bad(source, `${where}.url must be an http(s) URL`);
    }
    try {
      new URL(o.url);
    } catch {
      bad(source, `${where}.url must be an http(s) URL`);
    }
    if (!Number.isSafeInteger(o.majorApiVersion) || (o.majorApiVersion as number) < 1) {
      bad(source, `${where}.majorApiVersion must be a positive integer`);
    }
    const vf = o.validFor as Json | undefined;
    if (typeof vf !== "object" || vf === null) bad(source, `${where}.validFor is required`);
    const validFor: ServiceEntry["validFor"] = {
      start: time(vf.start, source, `${where}.validFor.start`),
    };
    if (vf.end !== undefined) validFor.end = time(vf.end, source, `${where}.validFor.end`);
    if (validFor.end && validFor.end < validFor.start) {
      bad(source, `${where}.validFor ends before it starts`);
    }
    const entry: ServiceEntry = {
      url: o.url.replace(/\/+$/, ""),
      majorApiVersion: o.majorApiVersion as number,
      validFor,
    };
    if (typeof o.operator === "string") entry.operator = o.operator;
    return entry;
  });
}

function selector(v: unknown, source: string, field: string): ServiceSelector {
  if (v === undefined) return { selector: "ANY" };
  if (typeof v !== "object" || v === null) bad(source, `${field} must be an object`);
  const o = v as Json;
  switch (o.selector) {
    case "ANY":
    case "ALL":
      return { selector: o.selector };
    case "EXACT":
      if (!Number.isSafeInteger(o.count) || (o.count as number) < 1) {
        bad(source, `${field}.count must be a positive integer with selector EXACT`);
      }
      return { selector: "EXACT", count: o.count as number };
    default:
      bad(source, `${field}.selector must be ANY, ALL or EXACT`);
  }
}

/**
 * Parses a SigningConfig v0.2 JSON document. Throws `KarsError("INPUT")` naming `source` for
 * anything else (v0.1 included: its shape has no API versions or selectors).
 *
 * @example
 * ```ts
 * import { parseSigningConfig } from "./signing_config.ts";
 * const cfg = parseSigningConfig(JSON.stringify({
 *   mediaType: "application/vnd.dev.sigstore.signingconfig.v0.2+json",
 *   caUrls: [{ url: "https://fulcio.example", majorApiVersion: 1, validFor: { start: "2024-01-01T00:00:00Z" } }],
 *   rekorTlogUrls: [], tsaUrls: [], oidcUrls: [],
 * }), "config.json");
 * cfg.caUrls[0].url; // "https://fulcio.example"
 * ```
 */
export function parseSigningConfig(text: string, source: string): SigningConfig {
  if (text.length > 1 << 20) bad(source, "larger than 1 MiB");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    bad(source, "not JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    bad(source, "not an object");
  }
  const o = json as Json;
  if (o.mediaType !== SIGNING_CONFIG_V02_MEDIA_TYPE) {
    bad(source, `mediaType must be ${SIGNING_CONFIG_V02_MEDIA_TYPE}`);
  }
  return {
    caUrls: services(o.caUrls, source, "caUrls"),
    oidcUrls: services(o.oidcUrls, source, "oidcUrls"),
    rekorTlogUrls: services(o.rekorTlogUrls, source, "rekorTlogUrls"),
    tsaUrls: services(o.tsaUrls, source, "tsaUrls"),
    rekorTlogConfig: selector(o.rekorTlogConfig, source, "rekorTlogConfig"),
    tsaConfig: selector(o.tsaConfig, source, "tsaConfig"),
  };
}

/** Options of {@link selectServices}. */
export interface SelectOptions {
  /** The time selection is for (default: now). */
  now?: Date;
  /** Rekor API versions the caller will use (default `[1]`; add 2 to opt into Rekor v2). */
  rekorVersions?: ReadonlyArray<1 | 2>;
}

function valid(s: ServiceEntry, now: Date, versions: readonly number[]): boolean {
  return versions.includes(s.majorApiVersion) && s.validFor.start <= now &&
    (s.validFor.end === undefined || now < s.validFor.end);
}

function highest(list: ServiceEntry[], now: Date, versions: readonly number[]): ServiceEntry[] {
  const ok = list.filter((s) => valid(s, now, versions));
  if (ok.length === 0) return [];
  const top = Math.max(...ok.map((s) => s.majorApiVersion));
  return ok.filter((s) => s.majorApiVersion === top);
}

function apply(
  sel: ServiceSelector,
  list: ServiceEntry[],
  what: string,
  listed: number,
): ServiceEntry[] {
  if (sel.selector === "ALL") return list;
  if (sel.selector === "ANY") return list.slice(0, 1);
  if (list.length < sel.count) {
    throw new KarsError(
      "INPUT",
      `the signing config asks for exactly ${sel.count} ${what}, but only ${list.length} of the ${listed} listed ${
        list.length === 1 ? "is" : "are"
      } valid now with a supported API version`,
    );
  }
  return list.slice(0, sel.count);
}

/**
 * Chooses the services for a signing run from a config (see the module doc for the rules).
 * Throws `KarsError("INPUT")` when an `EXACT` selector cannot be met.
 *
 * @example
 * ```ts
 * import { parseSigningConfig, selectServices } from "./signing_config.ts";
 * const cfg = parseSigningConfig(JSON.stringify({
 *   mediaType: "application/vnd.dev.sigstore.signingconfig.v0.2+json",
 *   rekorTlogUrls: [
 *     { url: "https://log2.example", majorApiVersion: 2, validFor: { start: "2025-01-01T00:00:00Z" } },
 *     { url: "https://rekor.example", majorApiVersion: 1, validFor: { start: "2021-01-01T00:00:00Z" } },
 *   ],
 * }), "cfg");
 * selectServices(cfg).tlogs; // [{ url: "https://rekor.example", majorApiVersion: 1 }]
 * selectServices(cfg, { rekorVersions: [1, 2] }).tlogs; // [{ url: "https://log2.example", majorApiVersion: 2 }]
 * ```
 */
export function selectServices(cfg: SigningConfig, options: SelectOptions = {}): SelectedServices {
  const now = options.now ?? new Date();
  const rekorVersions = options.rekorVersions ?? [1];
  const out: SelectedServices = { tlogs: [], tsaUrls: [] };
  const ca = highest(cfg.caUrls, now, [1])[0];
  if (ca) out.fulcioUrl = ca.url;
  const oidc = highest(cfg.oidcUrls, now, [1])[0];
  if (oidc) out.oidcUrl = oidc.url;
  const logs = highest(cfg.rekorTlogUrls, now, rekorVersions);
  out.tlogs = apply(cfg.rekorTlogConfig, logs, "Rekor logs", cfg.rekorTlogUrls.length).map((
    s,
  ) => ({ url: s.url, majorApiVersion: s.majorApiVersion as 1 | 2 }));
  const tsas = highest(cfg.tsaUrls, now, [1]);
  out.tsaUrls = apply(cfg.tsaConfig, tsas, "timestamp authorities", cfg.tsaUrls.length).map((
    s,
  ) => s.url);
  return out;
}
