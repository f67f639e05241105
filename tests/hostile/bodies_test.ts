/**
 * Attack suite, bodies: a registry (or its token server) that sends a 10 GB
 * `Content-Length` or an endless chunked body must not make `kars egress verify` read it.
 * Each case runs the real CLI as a subprocess against a hostile server on 127.0.0.1 and
 * asserts the safe outcome (no True verdict, the exit code), that the read stopped at its
 * cap (bytes the server got to write, against a benign run's), and the CLI's peak RSS.
 * The server stops every endless body at 512 MiB, so a client that reads without a cap
 * fails these tests instead of running forever.
 */
import assert from "assert";
import { MANIFEST_MAX_BYTES, SMALL_BODY_MAX_BYTES } from "../../lib/io/body.ts";
import { digestBytes } from "../../lib/encoding/digest.ts";
import { ALLOWLIST_MEDIA_TYPE, MAX_ALLOWLIST_LAYER_BYTES } from "../../lib/oci/artifact.ts";
import { OCI_EMPTY, OCI_EMPTY_DIGEST, OCI_MANIFEST } from "../../lib/oci/types.ts";
import { type HostileExchange, startHostileServer } from "../support/hostile_http.ts";
import {
  canMeasureRss,
  hostileArtifact,
  type MeasuredRun,
  POLICY_ENV,
  spawnMeasured,
} from "../support/hostile_cli.ts";

const REPO = "policy/egress-allowlist/hostile";
const RSS_LIMIT_MIB = 200;
/** Socket buffers on loopback hold a few MiB that the client never read; be generous. */
const SLACK = 32 * 1024 * 1024;
const art = hostileArtifact();

/** Serves the artifact honestly, except where `attack` answers (returns true). */
function registry(attack: (x: HostileExchange) => Promise<boolean>) {
  return async (x: HostileExchange) => {
    if (await attack(x)) return;
    if (x.path.startsWith(`/v2/${REPO}/manifests/${art.manifestDigest}`)) {
      return await x.respond(200, art.manifestBytes, {
        "content-type": OCI_MANIFEST,
        "docker-content-digest": art.manifestDigest,
      });
    }
    if (x.path.startsWith(`/v2/${REPO}/blobs/${art.layer.digest}`)) {
      return await x.respond(200, art.layerBytes, { "content-type": "application/octet-stream" });
    }
    await x.respond(404, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}', {
      "content-type": "application/json",
    });
  };
}

async function verifyAgainst(attack: (x: HostileExchange) => Promise<boolean>) {
  const server = await startHostileServer(registry(attack));
  try {
    const run = await spawnMeasured(
      ["egress", "verify", `${server.host}/${REPO}@${art.manifestDigest}`, "--timeout", "60s"],
      POLICY_ENV,
    );
    return { run, bytes: server.bodyBytes(), requests: [...server.requests] };
  } finally {
    await server.stop();
  }
}

function checkRss(name: string, run: MeasuredRun, bytes: number) {
  console.log(
    `${name}: exit ${run.code}, server wrote ${bytes} body bytes, peak RSS ${
      run.peakRssMiB ?? "n/a"
    } MiB`,
  );
  if (!canMeasureRss) console.log("peak RSS not measured: /proc/<pid>/status is not available");
  if (run.peakRssMiB !== undefined) {
    assert.ok(
      run.peakRssMiB < RSS_LIMIT_MIB,
      `${name}: peak RSS ${run.peakRssMiB} MiB ≥ ${RSS_LIMIT_MIB} MiB`,
    );
  }
}

let benign: { bytes: number; rss?: number } | undefined;
async function benignRun() {
  if (benign) return benign;
  const { run, bytes } = await verifyAgainst(() => Promise.resolve(false));
  // No signature is served: False/Unsigned (exit 3) after manifest, layer and signature lookups.
  assert.equal(run.code, 3, run.stderr + run.stdout);
  assert.match(run.stdout, /Unsigned|NoSignature|signature/i);
  benign = { bytes, rss: run.peakRssMiB };
  console.log(`benign run: ${bytes} body bytes, peak RSS ${run.peakRssMiB ?? "n/a"} MiB`);
  return benign;
}

Deno.test({
  name: "hostile: a manifest announcing 10 GB is refused before it is read",
  async fn() {
    await benignRun();
    const { run, bytes } = await verifyAgainst(async (x) => {
      if (!x.path.includes("/manifests/")) return false;
      await x.head(200, {
        "content-type": OCI_MANIFEST,
        "content-length": String(10 * 1024 ** 3),
      });
      const junk = new Uint8Array(64 * 1024).fill(0x20);
      for (let sent = 0; sent < 512 * 1024 * 1024; sent += junk.length) {
        if (!(await x.write(junk))) break;
      }
      return true;
    });
    assert.notEqual(run.code, 0);
    assert.equal(run.code, 1, run.stderr + run.stdout);
    assert.match(run.stdout + run.stderr, /larger than the limit of 4194304 bytes/);
    assert.ok(bytes < MANIFEST_MAX_BYTES + SLACK, `the server wrote ${bytes} bytes`);
    checkRss("10 GB Content-Length manifest", run, bytes);
  },
});

Deno.test("hostile: an endless chunked manifest stops at 4 MiB + 1", async () => {
  const { run, bytes } = await verifyAgainst(async (x) => {
    if (!x.path.includes("/manifests/")) return false;
    await x.endlessChunked(200, { "content-type": OCI_MANIFEST });
    return true;
  });
  assert.equal(run.code, 1, run.stderr + run.stdout);
  assert.match(run.stdout + run.stderr, /fetch manifest .*larger than the limit of 4194304 bytes/);
  assert.ok(bytes < MANIFEST_MAX_BYTES + SLACK, `the server wrote ${bytes} bytes`);
  checkRss("endless manifest", run, bytes);
});

Deno.test("hostile: an endless blob stops at its descriptor's size + 1 (False/DigestMismatch)", async () => {
  const b = await benignRun();
  const { run, bytes } = await verifyAgainst(async (x) => {
    if (!x.path.includes("/blobs/")) return false;
    await x.endlessChunked(200, { "content-type": "application/octet-stream" });
    return true;
  });
  assert.equal(run.code, 3, run.stderr + run.stdout);
  assert.match(run.stdout, /DigestMismatch/);
  assert.ok(bytes < b.bytes + SLACK, `the server wrote ${bytes} bytes`);
  checkRss("endless blob", run, bytes);
});

Deno.test("hostile: an endless token response stops at 1 MiB + 1", async () => {
  let tokenRequests = 0;
  const { run, bytes } = await verifyAgainst(async (x) => {
    if (x.path.startsWith("/token")) {
      tokenRequests++;
      await x.endlessChunked(200, { "content-type": "application/json" });
      return true;
    }
    await x.respond(401, '{"errors":[{"code":"UNAUTHORIZED"}]}', {
      "www-authenticate": `Bearer realm="http://${x.headers.host}/token",service="hostile"`,
      "content-type": "application/json",
    });
    return true;
  });
  assert.equal(run.code, 1, run.stderr + run.stdout);
  assert.match(run.stdout + run.stderr, /token server .*larger than the limit of 1048576 bytes/);
  assert.equal(tokenRequests, 1);
  assert.ok(bytes < SMALL_BODY_MAX_BYTES + SLACK, `the server wrote ${bytes} bytes`);
  checkRss("endless token response", run, bytes);
});

Deno.test("hostile: an endless error body is read no further than 1 MiB", async () => {
  const { run, bytes } = await verifyAgainst(async (x) => {
    if (!x.path.includes("/manifests/")) return false;
    await x.endlessChunked(400, { "content-type": "application/json" });
    return true;
  });
  assert.equal(run.code, 1, run.stderr + run.stdout);
  assert.match(run.stdout + run.stderr, /fetch manifest .*HTTP 400/);
  assert.ok(bytes < SMALL_BODY_MAX_BYTES + SLACK, `the server wrote ${bytes} bytes`);
  checkRss("endless error body", run, bytes);
});

Deno.test("hostile: an endless .sig manifest and an endless referrers answer stop at 4 MiB + 1", async () => {
  const hex = art.manifestDigest.slice("sha256:".length);
  for (
    const [name, match] of [
      [".sig manifest", (p: string) => p.includes(`/manifests/sha256-${hex}.sig`)],
      ["referrers", (p: string) => p.includes(`/referrers/`)],
    ] as const
  ) {
    const { run, bytes, requests } = await verifyAgainst(async (x) => {
      if (!match(x.path)) return false;
      await x.endlessChunked(200, {
        "content-type": name === "referrers"
          ? "application/vnd.oci.image.index.v1+json"
          : OCI_MANIFEST,
      });
      return true;
    });
    assert.ok(requests.some(match), `${name}: never requested (${requests.join(", ")})`);
    assert.ok(run.code !== 0, `${name}: exit 0`);
    assert.match(run.stdout + run.stderr, /larger than the limit of 4194304 bytes/, name);
    assert.ok(bytes < MANIFEST_MAX_BYTES + SLACK, `${name}: the server wrote ${bytes} bytes`);
    checkRss(`endless ${name}`, run, bytes);
  }
});

Deno.test("hostile: a layer declared at the maximum size (endless, or exactly that much junk) stays under the RSS limit", async () => {
  const size = MAX_ALLOWLIST_LAYER_BYTES;
  const manifestBytes = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: ALLOWLIST_MEDIA_TYPE,
    config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
    layers: [{ mediaType: ALLOWLIST_MEDIA_TYPE, digest: `sha256:${"ab".repeat(32)}`, size }],
  }));
  const digest = digestBytes(manifestBytes);
  const junk = new Uint8Array(size).fill(0x61);
  for (const mode of ["endless", "exact"] as const) {
    const server = await startHostileServer(async (x) => {
      if (x.path.includes("/manifests/")) {
        return await x.respond(200, manifestBytes, { "content-type": OCI_MANIFEST });
      }
      if (x.path.includes("/blobs/")) {
        return mode === "endless" ? await x.endlessChunked(200) : await x.respond(200, junk);
      }
      await x.respond(404, "{}");
    });
    try {
      const run = await spawnMeasured(
        ["egress", "verify", `${server.host}/${REPO}@${digest}`, "--timeout", "60s"],
        POLICY_ENV,
      );
      const bytes = server.bodyBytes();
      assert.equal(run.code, 3, run.stderr + run.stdout);
      assert.match(run.stdout, /DigestMismatch/);
      assert.ok(bytes < size + SLACK, `the server wrote ${bytes} bytes`);
      checkRss(`${mode} maximum-size layer`, run, bytes);
    } finally {
      await server.stop();
    }
  }
});
