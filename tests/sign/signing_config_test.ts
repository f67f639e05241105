/**
 * SigningConfig v0.2: parsing, service selection (validity windows, API versions, selectors),
 * the embedded public-good snapshots, and `kars egress --signing-config / --rekor-v2` driving
 * which services are contacted (request logs of the Sigstore mock and the Rekor v2 test log).
 */
import assert from "assert";
import { join } from "node:path";
import { isKarsError } from "../../lib/errors.ts";
import {
  parseSigningConfig,
  selectServices,
  SIGNING_CONFIG_V02_MEDIA_TYPE,
} from "../../lib/sign/signing_config.ts";
import {
  PUBLIC_GOOD_SIGNING_CONFIG,
  PUBLIC_GOOD_SIGNING_CONFIG_REKOR_V2,
} from "../../lib/sign/signing_config_embedded.ts";
import {
  DEFAULT_FULCIO_URL,
  DEFAULT_REKOR_URL,
  resolveSigningServices,
} from "../../lib/sign/services.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { loadTrustedRoot } from "../../lib/verify/sigstore/trust_root.ts";
import { verifyBundle } from "../../lib/verify/sigstore/verify.ts";
import { isPolicyError } from "../../lib/verify/policy.ts";
import { loadSignerPolicy } from "../../lib/verify/policy_parse.ts";
import { verifyAllowlist } from "../../lib/verify/verdict.ts";
import { fromHex, fromUtf8 } from "../../lib/encoding/bytes.ts";
import { runKars } from "../support/cli.ts";
import { DOCKER_REGISTRY_BIN, haveTool, startDockerRegistry } from "../support/docker_registry.ts";
import { startRekorV2 } from "../support/rekor_v2_server.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";

const SERVICES = new URL("../../testdata/sigstore-services/", import.meta.url);
const NOW = new Date("2026-11-30T12:00:00Z");

function svc(url: string, v: number, start: string, end?: string) {
  return { url, majorApiVersion: v, validFor: end ? { start, end } : { start } };
}

function cfg(o: Record<string, unknown>): string {
  return JSON.stringify({ mediaType: SIGNING_CONFIG_V02_MEDIA_TYPE, ...o });
}

Deno.test("signing config: the embedded snapshots are the public-good documents", async () => {
  for (
    const [name, embedded] of [
      ["signing_config.v0.2.json", PUBLIC_GOOD_SIGNING_CONFIG],
      ["signing_config_rekor_v2.v0.2.json", PUBLIC_GOOD_SIGNING_CONFIG_REKOR_V2],
    ]
  ) {
    const file = JSON.parse(await Deno.readTextFile(new URL(name, SERVICES)));
    assert.deepEqual(JSON.parse(embedded), file, name);
  }
});

Deno.test("signing config: selection skips expired, future and unsupported-version services", () => {
  const c = parseSigningConfig(
    cfg({
      caUrls: [
        svc("https://fulcio-future.example", 1, "2027-01-01T00:00:00Z"),
        svc("https://fulcio-v2.example", 2, "2020-01-01T00:00:00Z"),
        svc("https://fulcio.example", 1, "2020-01-01T00:00:00Z"),
      ],
      rekorTlogUrls: [
        svc("https://log-expired.example", 2, "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        svc("https://log-v3.example", 3, "2020-01-01T00:00:00Z"),
        svc("https://log2.example", 2, "2025-06-01T00:00:00Z"),
        svc("https://rekor.example", 1, "2020-01-01T00:00:00Z"),
        svc("https://rekor-old.example", 1, "2019-01-01T00:00:00Z", "2020-06-01T00:00:00Z"),
      ],
      tsaUrls: [
        svc("https://tsa-future.example/api/v1/timestamp", 1, "2030-01-01T00:00:00Z"),
        svc("https://tsa.example/api/v1/timestamp", 1, "2020-01-01T00:00:00Z"),
      ],
      rekorTlogConfig: { selector: "ANY" },
      tsaConfig: { selector: "ANY" },
    }),
    "cfg.json",
  );
  const v1 = selectServices(c, { now: NOW });
  assert.equal(v1.fulcioUrl, "https://fulcio.example");
  assert.deepEqual(v1.tlogs, [{ url: "https://rekor.example", majorApiVersion: 1 }]);
  assert.deepEqual(v1.tsaUrls, ["https://tsa.example/api/v1/timestamp"]);
  const v2 = selectServices(c, { now: NOW, rekorVersions: [1, 2] });
  assert.deepEqual(v2.tlogs, [{ url: "https://log2.example", majorApiVersion: 2 }]);
  // Before the v2 log's window opens, the highest valid version is v1.
  const early = selectServices(c, { now: new Date("2025-03-01T00:00:00Z"), rekorVersions: [1, 2] });
  assert.deepEqual(early.tlogs, [{ url: "https://rekor.example", majorApiVersion: 1 }]);
});

Deno.test("signing config: ALL, EXACT and an EXACT that cannot be met", () => {
  const logs = [
    svc("https://a.example", 1, "2020-01-01T00:00:00Z"),
    svc("https://b.example", 1, "2020-01-01T00:00:00Z"),
    svc("https://c.example", 1, "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"),
  ];
  const all = selectServices(
    parseSigningConfig(cfg({ rekorTlogUrls: logs, rekorTlogConfig: { selector: "ALL" } }), "x"),
    { now: NOW },
  );
  assert.deepEqual(all.tlogs.map((t) => t.url), ["https://a.example", "https://b.example"]);
  const exact = selectServices(
    parseSigningConfig(
      cfg({ rekorTlogUrls: logs, rekorTlogConfig: { selector: "EXACT", count: 1 } }),
      "x",
    ),
    { now: NOW },
  );
  assert.deepEqual(exact.tlogs.map((t) => t.url), ["https://a.example"]);
  assert.throws(
    () =>
      selectServices(
        parseSigningConfig(
          cfg({ rekorTlogUrls: logs, rekorTlogConfig: { selector: "EXACT", count: 3 } }),
          "x",
        ),
        { now: NOW },
      ),
    (e) =>
      isKarsError(e, "INPUT") && /exactly 3 Rekor logs, but only 2 of the 3 listed/.test(e.message),
  );
});

Deno.test("signing config: malformed documents are refused naming the file and the field", () => {
  const cases: [string, RegExp][] = [
    ["not json", /cfg\.json: .*not JSON/],
    [
      JSON.stringify({ mediaType: "application/vnd.dev.sigstore.signingconfig.v0.1+json" }),
      /mediaType must be/,
    ],
    [
      cfg({
        caUrls: [{
          url: "ftp://x",
          majorApiVersion: 1,
          validFor: { start: "2020-01-01T00:00:00Z" },
        }],
      }),
      /caUrls\[0\]\.url/,
    ],
    [
      cfg({
        rekorTlogUrls: [{
          url: "https://x",
          majorApiVersion: 0,
          validFor: { start: "2020-01-01T00:00:00Z" },
        }],
      }),
      /majorApiVersion/,
    ],
    [
      cfg({ tsaUrls: [{ url: "https://x", majorApiVersion: 1 }] }),
      /tsaUrls\[0\]\.validFor is required/,
    ],
    [
      cfg({
        tsaUrls: [{ url: "https://x", majorApiVersion: 1, validFor: { start: "yesterday" } }],
      }),
      /RFC 3339/,
    ],
    [cfg({ rekorTlogConfig: { selector: "SOME" } }), /ANY, ALL or EXACT/],
    [cfg({ rekorTlogConfig: { selector: "EXACT" } }), /count must be a positive integer/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseSigningConfig(text, "cfg.json"),
      (e) => isKarsError(e, "INPUT") && re.test(e.message),
      text,
    );
  }
});

Deno.test("signing services: defaults are today's; Rekor v2 is opt-in; explicit URLs win", () => {
  assert.deepEqual(resolveSigningServices({}), {
    fulcioUrl: DEFAULT_FULCIO_URL,
    tlogs: [{ url: DEFAULT_REKOR_URL, majorApiVersion: 1 }],
    tsaUrls: [],
    source: "defaults",
  });
  const v2 = resolveSigningServices({ rekorV2: true, now: NOW });
  assert.deepEqual(v2.tlogs, [{ url: "https://log2025-1.rekor.sigstore.dev", majorApiVersion: 2 }]);
  assert.deepEqual(v2.tsaUrls, ["https://timestamp.sigstore.dev/api/v1/timestamp"]);
  assert.equal(v2.fulcioUrl, "https://fulcio.sigstore.dev");
  // The default public-good config read without the opt-in: Rekor v1.
  const pg = parseSigningConfig(PUBLIC_GOOD_SIGNING_CONFIG, "pg");
  assert.deepEqual(resolveSigningServices({ signingConfig: pg, now: NOW }).tlogs, [
    { url: "https://rekor.sigstore.dev", majorApiVersion: 1 },
  ]);
  const explicit = resolveSigningServices({
    signingConfig: pg,
    rekorV2: true,
    now: NOW,
    fulcioUrl: "https://f.example",
    rekorUrl: "https://l.example",
    tsaUrl: "https://t.example",
  });
  assert.deepEqual(explicit, {
    fulcioUrl: "https://f.example",
    tlogs: [{ url: "https://l.example", majorApiVersion: 2 }],
    tsaUrls: ["https://t.example"],
    source: "signing-config",
  });
  const v1only = parseSigningConfig(
    cfg({ rekorTlogUrls: [svc("https://r.example", 1, "2020-01-01T00:00:00Z")] }),
    "v1.json",
  );
  assert.throws(
    () => resolveSigningServices({ signingConfig: v1only, rekorV2: true, now: NOW }),
    (e) => isKarsError(e, "INPUT") && /no Rekor v2 log valid now/.test(e.message),
  );
});

Deno.test({
  name:
    "kars egress --signing-config: the config decides which Fulcio, Rekor v2 and TSA are contacted",
  // Visible skip when docker-registry is missing (CI installs it and KARS_REQUIRE_TOOLS=1 fails instead).
  ignore: !haveTool(DOCKER_REGISTRY_BIN, "docker-registry"),
}, async () => {
  const reg = await startDockerRegistry();
  const mock = await startSigstoreMock();
  const log = await startRekorV2();
  const dir = await Deno.makeTempDir({ prefix: "kars-signing-config-" });
  try {
    const root = structuredClone(mock.trustedRoot) as { tlogs: unknown[] };
    root.tlogs.push(log.trustedRootLog);
    await Deno.writeTextFile(join(dir, "root.json"), JSON.stringify(root));
    await Deno.writeTextFile(
      join(dir, "signing-config.json"),
      cfg({
        caUrls: [svc(mock.fulcioUrl, 1, "2020-01-01T00:00:00Z")],
        rekorTlogUrls: [
          svc(log.url, 2, "2020-01-01T00:00:00Z"),
          svc(mock.rekorUrl, 1, "2020-01-01T00:00:00Z"),
        ],
        tsaUrls: [svc(`${mock.tsaUrl}/api/v1/timestamp`, 1, "2020-01-01T00:00:00Z")],
        rekorTlogConfig: { selector: "ANY" },
        tsaConfig: { selector: "ANY" },
      }),
    );
    const sandbox = new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname;
    const common = [
      "egress",
      "basic",
      "--enforce",
      "--from-file",
      sandbox,
      "--registry",
      reg.host,
      "--json",
      "--signing-config",
      join(dir, "signing-config.json"),
      "--trusted-root",
      join(dir, "root.json"),
    ];
    const env = { SIGSTORE_ID_TOKEN: mock.mintToken() };

    // Without --rekor-v2: the config's Rekor v1 log, its Fulcio and its TSA.
    const a = await runKars(common, { env });
    assert.equal(a.code, 0, a.stderr);
    assert.deepEqual(
      mock.requests.map((r) => `${r.service} ${r.method} ${r.path}`),
      [
        "fulcio POST /api/v2/signingCert",
        "tsa POST /api/v1/timestamp",
        "rekor POST /api/v1/log/entries",
      ],
    );
    assert.equal(log.requests.length, 0, "the Rekor v2 log is opt-in");
    mock.requests.length = 0;

    // With --rekor-v2: the bundle goes to the Rekor v2 log; the TSA times it; Rekor v1 idle.
    const b = await runKars([...common, "--rekor-v2"], { env });
    assert.equal(b.code, 0, b.stderr);
    const res = JSON.parse(b.stdout);
    assert.equal(res.signatureFormat, "bundle");
    assert.deepEqual(
      mock.requests.map((r) => `${r.service} ${r.method} ${r.path}`),
      ["fulcio POST /api/v2/signingCert", "tsa POST /api/v1/timestamp"],
    );
    assert.deepEqual(log.requests.map((r) => `${r.method} ${r.path} ${r.status}`), [
      "POST /api/v2/log/entries 201",
    ]);
    // The bundle referrer verifies against the trust root (Rekor v2 entry + timestamp).
    const t = new RegistryTarget({
      registry: reg.host,
      repository: "policy/egress-allowlist/basic",
    });
    const refs = await t.referrers(res.digest);
    const bundles = refs.filter((d) => d.artifactType?.includes("sigstore.bundle"));
    assert.equal(bundles.length, 1);
    const m = JSON.parse(fromUtf8((await t.fetchManifest(bundles[0].digest)).bytes));
    const bundle = JSON.parse(fromUtf8(await t.fetchBlob(m.layers[0].digest, m.layers[0].size)));
    assert.deepEqual(bundle.verificationMaterial.tlogEntries[0].kindVersion, {
      kind: "dsse",
      version: "0.0.2",
    });
    const v = await verifyBundle(bundle, { digest: fromHex(res.digest.slice(7)) }, {
      trustedRoot: loadTrustedRoot(root),
      identity: { san: mock.defaultSubject, issuer: mock.defaultIssuer },
    });
    assert.equal(v.kind, "certificate");
    // `kars egress verify`'s verifier finds the bundle referrer and says True (ours).
    const policy = loadSignerPolicy({
      env: {
        KARS_SIGNER_FULCIO_ISSUERS: mock.defaultIssuer,
        KARS_SIGNER_SAN_PATTERNS: mock.defaultSubject,
      },
    });
    assert.ok(!isPolicyError(policy));
    const verdict = await verifyAllowlist({
      ref: {
        registry: reg.host,
        repository: "policy/egress-allowlist/basic",
        digest: res.digest,
        artifactType: "application/vnd.kars.egress-allowlist.v1+yaml",
      },
      target: t,
      policy,
      trustedRoot: loadTrustedRoot(root),
    });
    assert.equal(verdict.condition.status, "True", verdict.condition.message);

    // --rekor-v2 with the legacy layout is refused before anything is pushed or contacted.
    mock.requests.length = 0;
    const c = await runKars([...common, "--rekor-v2", "--signature-format", "legacy"], { env });
    assert.equal(c.code, 2, c.stderr);
    assert.match(c.stderr, /no signed entry timestamp \(SET\)/);
    assert.equal(mock.requests.length, 0);
    assert.equal(log.requests.length, 1);
  } finally {
    await log.stop();
    await mock.stop();
    await reg.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
