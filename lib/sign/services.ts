/**
 * Which Sigstore services one signing run contacts: Fulcio, the Rekor log(s) with their API
 * version, and the timestamp authorities.
 *
 * - With no signing config and without Rekor v2: exactly the behaviour of earlier releases —
 *   the public-good (or explicitly given) Fulcio and Rekor v1, and a TSA only when one is given.
 * - With a signing config (a file, a TUF-refreshed target, or the embedded public-good
 *   snapshot when only Rekor v2 is asked for): {@link selectServices} picks the services valid
 *   now. Rekor v2 logs are used only when the caller opts in (`rekorV2`), as cosign's flag does.
 * - Explicit URLs always win over the config.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import {
  parseSigningConfig,
  type SelectedServices,
  selectServices,
  type SigningConfig,
} from "./signing_config.ts";
import {
  PUBLIC_GOOD_SIGNING_CONFIG,
  PUBLIC_GOOD_SIGNING_CONFIG_REKOR_V2,
} from "./signing_config_embedded.ts";

/** Public-good Fulcio. */
export const DEFAULT_FULCIO_URL = "https://fulcio.sigstore.dev";
/** Public-good Rekor (v1). */
export const DEFAULT_REKOR_URL = "https://rekor.sigstore.dev";

/** What decides the services. */
export interface SigningServicesInput {
  /** A signing config (from a file or TUF); absent: the embedded snapshot, if one is needed. */
  signingConfig?: SigningConfig;
  /** Opt into the Rekor v2 logs of the config. */
  rekorV2?: boolean;
  /** Explicit Fulcio URL (wins). */
  fulcioUrl?: string;
  /** Explicit Rekor URL (wins; a v2 log when `rekorV2`). */
  rekorUrl?: string;
  /** Explicit TSA URL (wins). */
  tsaUrl?: string;
  /** Selection time (default now). */
  now?: Date;
}

/** The services of a run, and where they came from. */
export interface SigningServices {
  /** Fulcio base URL. */
  fulcioUrl: string;
  /** The logs to upload to. */
  tlogs: SelectedServices["tlogs"];
  /** The timestamp authorities to ask. */
  tsaUrls: string[];
  /** `defaults` (no config consulted) or `signing-config`. */
  source: "defaults" | "signing-config";
}

/**
 * The embedded public-good signing config (the opt-in Rekor v2 variant when `rekorV2`).
 *
 * @example
 * ```ts
 * import { embeddedSigningConfig } from "./services.ts";
 * embeddedSigningConfig(true).rekorTlogUrls.some((s) => s.majorApiVersion === 2); // true
 * ```
 */
export function embeddedSigningConfig(rekorV2: boolean): SigningConfig {
  return parseSigningConfig(
    rekorV2 ? PUBLIC_GOOD_SIGNING_CONFIG_REKOR_V2 : PUBLIC_GOOD_SIGNING_CONFIG,
    "the embedded public-good signing config",
  );
}

/**
 * Resolves the services of a signing run (see the module doc). Throws `KarsError("INPUT")`
 * when Rekor v2 is asked for and the config lists no Rekor v2 log valid now, or when a selector
 * cannot be met.
 *
 * @example
 * ```ts
 * import { resolveSigningServices } from "./services.ts";
 * resolveSigningServices({}).tlogs; // [{ url: "https://rekor.sigstore.dev", majorApiVersion: 1 }]
 * resolveSigningServices({ rekorV2: true, now: new Date("2026-11-30T00:00:00Z") }).tlogs;
 * // [{ url: "https://log2025-1.rekor.sigstore.dev", majorApiVersion: 2 }]
 * ```
 */
export function resolveSigningServices(input: SigningServicesInput): SigningServices {
  const useConfig = input.signingConfig !== undefined || input.rekorV2 === true;
  if (!useConfig) {
    return {
      fulcioUrl: input.fulcioUrl ?? DEFAULT_FULCIO_URL,
      tlogs: [{ url: input.rekorUrl ?? DEFAULT_REKOR_URL, majorApiVersion: 1 }],
      tsaUrls: input.tsaUrl ? [input.tsaUrl] : [],
      source: "defaults",
    };
  }
  const cfg = input.signingConfig ?? embeddedSigningConfig(input.rekorV2 === true);
  const picked = selectServices(cfg, {
    now: input.now,
    rekorVersions: input.rekorV2 ? [1, 2] : [1],
  });
  let tlogs = picked.tlogs;
  if (input.rekorUrl) {
    tlogs = [{ url: input.rekorUrl, majorApiVersion: input.rekorV2 ? 2 : 1 }];
  } else if (input.rekorV2 && !tlogs.some((t) => t.majorApiVersion === 2)) {
    throw new KarsError(
      "INPUT",
      "Rekor v2 was asked for, but the signing config lists no Rekor v2 log valid now",
      { details: { listed: cfg.rekorTlogUrls.map((s) => `${s.url} (v${s.majorApiVersion})`) } },
    );
  } else if (tlogs.length === 0) {
    throw new KarsError("INPUT", "the signing config lists no Rekor log valid now", {
      details: { listed: cfg.rekorTlogUrls.map((s) => `${s.url} (v${s.majorApiVersion})`) },
    });
  }
  return {
    fulcioUrl: input.fulcioUrl ?? picked.fulcioUrl ?? DEFAULT_FULCIO_URL,
    tlogs,
    tsaUrls: input.tsaUrl ? [input.tsaUrl] : picked.tsaUrls,
    source: "signing-config",
  };
}
