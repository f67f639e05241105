/**
 * Attack suite, deadlines: a registry that accepts the connection and never answers, one
 * that stalls in the middle of a body, and one that answers `Retry-After: 3600`. Asserted by
 * outcome, exit code and request counts (never by elapsed time): `--timeout` ends the
 * command with the transient exit code and a message naming the host and the operation;
 * the per-request connect and idle deadlines end a request (and its retries) on their own;
 * a `Retry-After` beyond the cap fails at once instead of being waited for.
 */
import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { withDeadlines } from "../../lib/io/deadline.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { OCI_MANIFEST } from "../../lib/oci/types.ts";
import { callService } from "../../lib/sign/http.ts";
import { runKars } from "../support/cli.ts";
import { startHostileServer } from "../support/hostile_http.ts";
import {
  hostileArtifact,
  POLICY_ENV,
  spawnMeasured,
  TRANSIENT_EXIT,
} from "../support/hostile_cli.ts";

const REPO = "policy/egress-allowlist/hostile";
const art = hostileArtifact();

Deno.test("hostile: a registry that never answers is cut by --timeout (transient exit, host named)", async () => {
  const server = await startHostileServer((x) => x.hang());
  try {
    const run = await spawnMeasured(
      ["egress", "verify", `${server.host}/${REPO}@${art.manifestDigest}`, "--timeout", "4s"],
      POLICY_ENV,
    );
    assert.equal(run.code, TRANSIENT_EXIT, run.stderr + run.stdout);
    const out = run.stdout + run.stderr;
    assert.ok(out.includes(server.host), out);
    assert.match(out, /fetch manifest/);
    assert.match(out, /time budget of 4s ran out/);
    // One request, cut by the budget: the per-request deadline (30 s) never came into play.
    assert.equal(server.requests.length, 1, server.requests.join(", "));
  } finally {
    await server.stop();
  }
});

Deno.test("hostile: kars egress (push) to a registry that never answers is cut by --timeout", async () => {
  const sandbox = new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname;
  const server = await startHostileServer((x) => x.hang());
  try {
    const run = await spawnMeasured([
      "egress",
      "basic",
      "--enforce",
      "--from-file",
      sandbox,
      "--registry",
      server.host,
      "--no-sign",
      "--timeout",
      "4s",
    ]);
    assert.equal(run.code, TRANSIENT_EXIT, run.stderr + run.stdout);
    assert.ok(run.stderr.includes(server.host), run.stderr);
    assert.match(run.stderr, /time budget of 4s ran out|did not finish within its --timeout of 4s/);
    assert.equal(server.requests.length, 1, server.requests.join(", "));
  } finally {
    await server.stop();
  }
});

Deno.test("hostile: a token server that never answers is cut by --timeout", async () => {
  const server = await startHostileServer(async (x) => {
    if (x.path.startsWith("/token")) return await x.hang();
    await x.respond(401, "{}", {
      "www-authenticate": `Bearer realm="http://${x.headers.host}/token",service="hostile"`,
    });
  });
  try {
    const run = await spawnMeasured(
      ["egress", "verify", `${server.host}/${REPO}@${art.manifestDigest}`, "--timeout", "4s"],
      POLICY_ENV,
    );
    assert.equal(run.code, TRANSIENT_EXIT, run.stderr + run.stdout);
    assert.match(run.stdout + run.stderr, /time budget of 4s ran out/);
    assert.deepEqual(server.requests.map((r) => r.split("?")[0].split(" ")[1].split("/")[1]), [
      "v2",
      "token",
    ]);
  } finally {
    await server.stop();
  }
});

Deno.test("hostile: the connect deadline ends each attempt of a request that gets no answer", async () => {
  const server = await startHostileServer((x) => x.hang());
  try {
    const t = new RegistryTarget({
      registry: server.host,
      repository: REPO,
      connectTimeoutMs: 200,
      retry: { attempts: 3, baseMs: 1, maxMs: 2 },
    });
    await assert.rejects(
      () => t.fetchManifest(art.manifestDigest),
      (e) =>
        isKarsError(e, "TRANSIENT") && e.message.includes(server.host) &&
        /fetch manifest/.test(e.message) && /no response to GET .* within 200ms/.test(e.message),
    );
    // Every attempt ended by its own deadline, and no more attempts than the policy allows.
    assert.equal(server.requests.length, 3);
  } finally {
    await server.stop();
  }
});

Deno.test("hostile: the idle deadline ends a body that stops flowing; steady bytes keep it alive", async () => {
  const IDLE_MS = 1000, SLICE = 20, PAUSE_MS = 150;
  const stalled = await startHostileServer(async (x) => {
    await x.head(200, {
      "content-type": OCI_MANIFEST,
      "content-length": String(art.manifestBytes.length),
    });
    await x.write(art.manifestBytes.subarray(0, 10));
    await x.hang();
  });
  const trickle = await startHostileServer(async (x) => {
    await x.head(200, {
      "content-type": OCI_MANIFEST,
      "content-length": String(art.manifestBytes.length),
    });
    // The whole body arrives in slices, each pause shorter than the idle deadline, the total
    // longer than it.
    for (let i = 0; i < art.manifestBytes.length; i += SLICE) {
      await x.write(art.manifestBytes.subarray(i, i + SLICE));
      await new Promise((r) => setTimeout(r, PAUSE_MS));
    }
  });
  try {
    const open = (host: string) =>
      new RegistryTarget({ registry: host, repository: REPO, idleTimeoutMs: IDLE_MS });
    await assert.rejects(
      () => open(stalled.host).fetchManifest(art.manifestDigest),
      (e) =>
        isKarsError(e, "TRANSIENT") && e.message.includes(stalled.host) &&
        /no data for 1s while reading the response/.test(e.message),
    );
    const slices = Math.ceil(art.manifestBytes.length / SLICE);
    assert.ok(slices * PAUSE_MS > 2 * IDLE_MS, "the trickle must outlast the idle deadline");
    const m = await open(trickle.host).fetchManifest(art.manifestDigest);
    assert.equal(m.descriptor.digest, art.manifestDigest);
  } finally {
    await stalled.stop();
    await trickle.stop();
  }
});

Deno.test("hostile: Retry-After 3600 fails at once; a short Retry-After is honoured", async () => {
  const long = await startHostileServer((x) => x.respond(503, "", { "retry-after": "3600" }));
  const short = await startHostileServer((x) => x.respond(503, "", { "retry-after": "0" }));
  try {
    const run = await spawnMeasured(
      ["egress", "verify", `${long.host}/${REPO}@${art.manifestDigest}`, "--timeout", "60s"],
      POLICY_ENV,
    );
    assert.equal(run.code, TRANSIENT_EXIT, run.stderr + run.stdout);
    assert.match(run.stdout + run.stderr, /Retry-After 1h, longer than the 10s this client waits/);
    assert.equal(long.requests.length, 1);
    // The benign peer: Retry-After 0 is honoured and retried up to the attempt limit.
    const t = new RegistryTarget({ registry: short.host, repository: REPO });
    await assert.rejects(
      () => t.fetchManifest(art.manifestDigest),
      (e) => isKarsError(e, "TRANSIENT"),
    );
    assert.equal(short.requests.length, t.client.retry.attempts);
    assert.ok(short.requests.length > long.requests.length);
  } finally {
    await long.stop();
    await short.stop();
  }
});

Deno.test("hostile: Sigstore calls have connect deadlines too (TRANSIENT naming the service)", async () => {
  const server = await startHostileServer((x) => x.hang());
  try {
    await assert.rejects(
      () =>
        callService(`http://${server.host}/api/v1/log/entries`, { method: "POST", body: "{}" }, {
          service: "Rekor",
          hint: "check the Rekor URL",
          connectTimeoutMs: 200,
        }),
      (e) =>
        isKarsError(e, "TRANSIENT") && /^Rekor at /.test(e.message) &&
        e.message.includes(server.host) && /within 200ms/.test(e.message),
    );
  } finally {
    await server.stop();
  }
});

Deno.test("--timeout: bad durations are usage errors naming the flag; 0 means no budget", async () => {
  const bad = await runKars([
    "egress",
    "verify",
    "--timeout",
    "soon",
    `r.example/a@sha256:${"0".repeat(64)}`,
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--timeout "soon" is not a duration/);
  const { parseDuration } = await import("../../lib/cli/timeout.ts");
  assert.equal(parseDuration("1m30s", "--timeout"), 90_000);
  assert.equal(parseDuration("250ms", "--timeout"), 250);
  assert.equal(parseDuration("1.5s", "--timeout"), 1500);
  assert.equal(parseDuration("0", "--timeout"), 0);
  for (const s of ["", "10", "5x", "-1s", "1s2", "999999h"]) {
    assert.throws(() => parseDuration(s, "--timeout"), (e) => isKarsError(e, "USAGE"), s);
  }
});

Deno.test("withDeadlines: the caller's own abort reason is passed on; no timer outlives a request", async () => {
  const f = withDeadlines(
    (_i, init) =>
      new Promise((_, reject) =>
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason))
      ),
    { connectTimeoutMs: 10_000 },
  );
  const ac = new AbortController();
  const p = f("http://127.0.0.1:9/x", { signal: ac.signal });
  const why = new Error("sibling failed");
  ac.abort(why);
  await assert.rejects(() => p, (e) => e === why);
});
