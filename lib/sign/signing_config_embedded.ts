/**
 * Embedded snapshots of the Sigstore public-good `SigningConfig` v0.2 documents (from the
 * public-good TUF repository, `sigstore/root-signing` `targets/`; provenance in
 * `testdata/sigstore-services/PROVENANCE.md`): the default one and the opt-in Rekor v2 one.
 * They are used when no signing config is given and none was refreshed through TUF.
 *
 * @module
 */

/** `signing_config.v0.2.json` (root-signing commit 3520aedde4adadddf3015d294f21265f6dde1576). */
export const PUBLIC_GOOD_SIGNING_CONFIG: string = JSON.stringify({
  "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
  "caUrls": [
    {
      "url": "https://fulcio.sigstore.dev",
      "majorApiVersion": 1,
      "validFor": {
        "start": "2022-04-13T20:06:15.000Z",
      },
      "operator": "sigstore.dev",
    },
  ],
  "oidcUrls": [
    {
      "url": "https://oauth2.sigstore.dev/auth",
      "majorApiVersion": 1,
      "validFor": {
        "start": "2022-04-13T20:06:15.000Z",
      },
      "operator": "sigstore.dev",
    },
  ],
  "rekorTlogUrls": [
    {
      "url": "https://log2025-1.rekor.sigstore.dev",
      "majorApiVersion": 2,
      "validFor": {
        "start": "2025-10-06T00:00:00Z",
      },
      "operator": "sigstore.dev",
    },
    {
      "url": "https://rekor.sigstore.dev",
      "majorApiVersion": 1,
      "validFor": {
        "start": "2021-01-12T11:53:27.000Z",
      },
      "operator": "sigstore.dev",
    },
  ],
  "tsaUrls": [
    {
      "url": "https://timestamp.sigstore.dev/api/v1/timestamp",
      "majorApiVersion": 1,
      "validFor": {
        "start": "2025-07-04T00:00:00Z",
      },
      "operator": "sigstore.dev",
    },
  ],
  "rekorTlogConfig": {
    "selector": "ANY",
  },
  "tsaConfig": {
    "selector": "ANY",
  },
});

/** `signing_config_rekor_v2.v0.2.json` (root-signing commit 19c0b3ed302808f679dea093ad82ae3b9866665b). */
export const PUBLIC_GOOD_SIGNING_CONFIG_REKOR_V2: string = JSON.stringify({
  "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
  "caUrls": [
    {
      "url": "https://fulcio.sigstore.dev",
      "majorApiVersion": 1,
      "validFor": {
        "start": "2022-04-13T20:06:15.000Z",
      },
      "operator": "sigstore.dev",
    },
  ],
  "oidcUrls": [
    {
      "url": "https://oauth2.sigstore.dev/auth",
      "majorApiVersion": 1,
      "validFor": {
        "start": "2022-04-13T20:06:15.000Z",
      },
      "operator": "sigstore.dev",
    },
  ],
  "rekorTlogUrls": [
    {
      "url": "https://log2025-1.rekor.sigstore.dev",
      "majorApiVersion": 2,
      "validFor": {
        "start": "2026-01-01T00:00:00Z",
      },
      "operator": "sigstore.dev",
    },
    {
      "url": "https://rekor.sigstore.dev",
      "majorApiVersion": 1,
      "validFor": {
        "start": "2021-01-12T11:53:27.000Z",
      },
      "operator": "sigstore.dev",
    },
  ],
  "tsaUrls": [
    {
      "url": "https://timestamp.sigstore.dev/api/v1/timestamp",
      "majorApiVersion": 1,
      "validFor": {
        "start": "2025-07-04T00:00:00Z",
      },
      "operator": "sigstore.dev",
    },
  ],
  "rekorTlogConfig": {
    "selector": "ANY",
  },
  "tsaConfig": {
    "selector": "ANY",
  },
});
