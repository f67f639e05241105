/**
 * No lost writes (issue 10 item 6): concurrent signers of one digest on docker-registry and
 * on one OCI layout, each a real `kars egress` process with its own cosign key file; a
 * corrupted layout blob; a symlinked `blobs/sha256`; an unwritable `--emit-manifest`
 * directory refused before any request.
 *
 * Keys are unencrypted PKCS#8 `PRIVATE KEY` files (accepted by `--key`), so no scrypt cost.
 */
import assert from "assert";
import { join } from "node:path";
import { fromUtf8 } from "../../lib/encoding/bytes.ts";
import type { Digest } from "../../lib/encoding/digest.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../../lib/oci/artifact.ts";
import { LayoutTarget } from "../../lib/oci/layout.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import type { ImageIndex, ImageManifest, Target } from "../../lib/oci/types.ts";
import { loadSignerPolicy } from "../../lib/verify/policy_parse.ts";
import { loadTrustedRoot } from "../../lib/verify/sigstore/trust_root.ts";
import { verifyAllowlist } from "../../lib/verify/verdict.ts";
import { runKars, spawnKars } from "../support/cli.ts";
import { DOCKER_REGISTRY_BIN, haveTool, startDockerRegistry } from "../support/docker_registry.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";
import { policyYaml } from "../verify/fixtures.ts";

const BASIC = new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname;
const PAIRS = Number(Deno.env.get("KARS_TEST_PAIRS") ?? 20);
const REPO = "policy/egress-allowlist/pairs";
const haveRegistry = haveTool(DOCKER_REGISTRY_BIN, "docker-registry");

function pem(label: string, der: ArrayBuffer): string {
  const b64 = btoa(String.fromCharCode(...new Uint8Array(der)));
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

/** A P-256 key pair as an unencrypted PKCS#8 key file and its public key PEM. */
async function keyFile(dir: string, name: string): Promise<{ key: string; pub: string }> {
  const kp = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const key = join(dir, `${name}.key`);
  await Deno.writeTextFile(
    key,
    pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", kp.privateKey)),
    {
      mode: 0o600,
    },
  );
  return { key, pub: pem("PUBLIC KEY", await crypto.subtle.exportKey("spki", kp.publicKey)) };
}

async function setup(dir: string) {
  const sandbox = join(dir, "sandbox.yaml");
  await Deno.copyFile(BASIC, sandbox);
  const a = await keyFile(dir, "a");
  const b = await keyFile(dir, "b");
  return { sandbox, a, b };
}

/** `kars egress` as a real process signing with `key` (no Rekor: nothing but the key). */
function signer(
  registry: string,
  sandbox: string,
  key: string,
  generation: number,
  extra: string[] = [],
) {
  return spawnKars([
    "egress",
    "basic",
    "--enforce",
    "--from-file",
    sandbox,
    "--registry",
    registry,
    "--repository",
    REPO,
    "--generation",
    String(generation),
    "--key",
    key,
    "--tlog-upload",
    "false",
    "--json",
    ...extra,
  ]);
}

type Mock = Awaited<ReturnType<typeof startSigstoreMock>>;

/** The `.sig` manifest's layer count, and the verdict under each signer's key. */
async function check(
  target: Target,
  registry: string,
  digest: Digest,
  mock: Mock,
  pubs: string[],
): Promise<{ layers: number; verdicts: string[] }> {
  const sig = await target.fetchManifest(`sha256-${digest.slice(7)}.sig`);
  const m = JSON.parse(fromUtf8(sig.bytes)) as ImageManifest;
  const verdicts: string[] = [];
  for (const pub of pubs) {
    const r = await verifyAllowlist({
      ref: { registry, repository: REPO, digest, artifactType: ALLOWLIST_MEDIA_TYPE },
      target,
      policy: loadSignerPolicy({
        configMap: policyYaml([mock.defaultIssuer], ["unused"], pub),
        env: {},
      }),
      trustedRoot: loadTrustedRoot(mock.trustedRoot),
    });
    verdicts.push(`${r.condition.status}/${r.condition.reason}`);
  }
  return { layers: m.layers.length, verdicts };
}

/** The verdict under each key, over bundle referrers only (no `.sig` manifest). */
async function verdicts(
  target: Target,
  registry: string,
  digest: Digest,
  mock: Mock,
  pubs: string[],
): Promise<string[]> {
  const out: string[] = [];
  for (const pub of pubs) {
    const r = await verifyAllowlist({
      ref: { registry, repository: REPO, digest, artifactType: ALLOWLIST_MEDIA_TYPE },
      target,
      policy: loadSignerPolicy({
        configMap: policyYaml([mock.defaultIssuer], ["unused"], pub),
        env: {},
      }),
      trustedRoot: loadTrustedRoot(mock.trustedRoot),
    });
    out.push(`${r.condition.status}/${r.condition.reason}`);
  }
  return out;
}

/** Runs the pairs one after the other; both processes of a pair start together. */
async function runPairs(
  registry: string,
  sandbox: string,
  keys: { key: string }[],
  onPair: (generation: number, digest: Digest) => Promise<void>,
  pairs = PAIRS,
  extra: string[] = [],
): Promise<void> {
  for (let g = 1; g <= pairs; g++) {
    const runs = await Promise.all(keys.map((k) => signer(registry, sandbox, k.key, g, extra)));
    for (const r of runs) assert.equal(r.code, 0, `pair ${g}: ${r.stderr}`);
    const digests = runs.map((r) => JSON.parse(r.stdout).digest as Digest);
    assert.equal(digests[0], digests[1], `pair ${g}: both signed the same digest`);
    await onPair(g, digests[0]);
  }
}

Deno.test({
  name: `writes: ${PAIRS} concurrent signer pairs on docker-registry keep both .sig layers`,
  ignore: !haveRegistry,
  async fn() {
    const reg = await startDockerRegistry();
    const mock = await startSigstoreMock();
    const dir = await Deno.makeTempDir({ prefix: "kars-pairs-" });
    const started = performance.now();
    try {
      const { sandbox, a, b } = await setup(dir);
      const target = new RegistryTarget({ registry: reg.host, repository: REPO });
      await runPairs(reg.host, sandbox, [a, b], async (g, digest) => {
        const got = await check(target, reg.host, digest, mock, [a.pub, b.pub]);
        assert.deepEqual(
          got,
          { layers: 2, verdicts: ["True/Verified", "True/Verified"] },
          `pair ${g}`,
        );
      });
    } finally {
      console.log(
        `registry: ${PAIRS} signer pairs in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      await mock.stop();
      await reg.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "writes: concurrent bundle signer pairs keep both entries of the referrers fallback index",
  ignore: !haveRegistry,
  async fn() {
    const reg = await startDockerRegistry();
    const mock = await startSigstoreMock();
    const dir = await Deno.makeTempDir({ prefix: "kars-pairs-" });
    const pairs = Math.max(1, Math.ceil(PAIRS / 4));
    const started = performance.now();
    try {
      const { sandbox, a, b } = await setup(dir);
      const target = new RegistryTarget({ registry: reg.host, repository: REPO });
      await runPairs(
        reg.host,
        sandbox,
        [a, b],
        async (g, digest) => {
          const index = JSON.parse(
            fromUtf8((await target.fetchManifest(`sha256-${digest.slice(7)}`)).bytes),
          ) as ImageIndex;
          assert.equal(index.manifests.length, 2, `pair ${g}: both referrers listed`);
          assert.deepEqual(
            await verdicts(target, reg.host, digest, mock, [a.pub, b.pub]),
            ["True/Verified", "True/Verified"],
            `pair ${g}`,
          );
        },
        pairs,
        ["--signature-format", "bundle", "--tsa-url", mock.tsaUrl],
      );
    } finally {
      console.log(
        `registry bundle: ${pairs} signer pairs in ${
          ((performance.now() - started) / 1000).toFixed(1)
        } s`,
      );
      await mock.stop();
      await reg.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test(`writes: ${PAIRS} concurrent signer pairs on one OCI layout lose no index.json entry`, async () => {
  const mock = await startSigstoreMock();
  const dir = await Deno.makeTempDir({ prefix: "kars-pairs-" });
  const started = performance.now();
  try {
    const { sandbox, a, b } = await setup(dir);
    const layout = join(dir, "layout");
    const digests: Digest[] = [];
    await runPairs(`oci:${layout}`, sandbox, [a, b], async (g, digest) => {
      digests.push(digest);
      const got = await check(new LayoutTarget(layout), "oci-layout", digest, mock, [a.pub, b.pub]);
      assert.deepEqual(
        got,
        { layers: 2, verdicts: ["True/Verified", "True/Verified"] },
        `pair ${g}`,
      );
    });
    // Every .sig tag is still listed, and `latest` names the last allowlist.
    const index = JSON.parse(await Deno.readTextFile(join(layout, "index.json"))) as ImageIndex;
    const tags = new Map(
      index.manifests.map((d) => [d.annotations?.["org.opencontainers.image.ref.name"], d.digest]),
    );
    for (const d of digests) {
      assert.ok(tags.has(`sha256-${d.slice(7)}.sig`), `${d}: .sig tag missing from index.json`);
    }
    assert.equal(tags.get("latest"), digests.at(-1));
    assert.equal(tags.size, PAIRS + 1, [...tags.keys()].join(" "));
    assert.ok(!(await exists(join(layout, "index.json.lock"))), "lock released");
  } finally {
    console.log(
      `layout: ${PAIRS} signer pairs in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    await mock.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** `kars egress` in-process, signing with `key`, into `registry`. */
function egressIn(registry: string, sandbox: string, key: string, extra: string[] = []) {
  return runKars([
    "egress",
    "basic",
    "--enforce",
    "--from-file",
    sandbox,
    "--registry",
    registry,
    "--repository",
    REPO,
    "--key",
    key,
    "--tlog-upload",
    "false",
    "--json",
    ...extra,
  ]);
}

Deno.test("writes: a corrupted blob in an OCI layout is rewritten by the next push, then verifies", async () => {
  const mock = await startSigstoreMock();
  const dir = await Deno.makeTempDir({ prefix: "kars-corrupt-" });
  try {
    const { sandbox, a } = await setup(dir);
    const layout = join(dir, "layout");
    const first = await egressIn(`oci:${layout}`, sandbox, a.key);
    assert.equal(first.code, 0, first.stderr);
    const { digest, layerDigest } = JSON.parse(first.stdout);
    const blob = join(layout, "blobs", "sha256", layerDigest.slice(7));
    const good = await Deno.readFile(blob);
    const bad = good.map((b) => b ^ 0x20); // same size, other bytes
    await Deno.writeFile(blob, bad);
    const broken = await check(new LayoutTarget(layout), "oci-layout", digest, mock, [a.pub]);
    assert.notEqual(broken.verdicts[0], "True/Verified", "the corruption is seen by verify");

    const again = await egressIn(`oci:${layout}`, sandbox, a.key);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await Deno.readFile(blob), good, "the corrupted blob was rewritten");
    const fixed = await check(new LayoutTarget(layout), "oci-layout", digest, mock, [a.pub]);
    assert.equal(fixed.verdicts[0], "True/Verified");
  } finally {
    await mock.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writes: a layout whose blobs/sha256 is a symlink out of it is refused; nothing lands outside", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-symlink-" });
  try {
    const { sandbox, a } = await setup(dir);
    const layout = join(dir, "layout");
    const outside = join(dir, "outside");
    await Deno.mkdir(join(layout, "blobs"), { recursive: true });
    await Deno.mkdir(outside);
    await Deno.symlink(outside, join(layout, "blobs", "sha256"));
    const r = await egressIn(`oci:${layout}`, sandbox, a.key);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /blobs\/sha256: it is a symbolic link/);
    assert.deepEqual([...Deno.readDirSync(outside)], [], "nothing written outside the layout");
    assert.ok(!(await exists(join(layout, "index.json"))));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LayoutTarget: symlinked index.json, oci-layout or blob file are refused (FILE/Symlink)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-symlink-" });
  try {
    const blob = new TextEncoder().encode("{}");
    const desc = {
      digest:
        `sha256:${"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}` as Digest,
      size: 2,
    };
    const outside = join(dir, "outside.json");
    await Deno.writeTextFile(outside, '{"schemaVersion":2,"manifests":[]}');
    for (const name of ["index.json", "oci-layout", `blobs/sha256/${desc.digest.slice(7)}`]) {
      const layout = join(dir, name.replaceAll("/", "_"));
      await Deno.mkdir(join(layout, "blobs", "sha256"), { recursive: true });
      await Deno.symlink(outside, join(layout, name));
      const t = new LayoutTarget(layout);
      await assert.rejects(
        async () => {
          await t.pushBlob(desc, blob);
          await t.pushManifest(blob, "application/vnd.oci.image.manifest.v1+json", "x");
          await t.listTags();
        },
        (e: unknown) => {
          const k = e as { code?: string; details?: { reason?: string } };
          return k.code === "FILE" && k.details?.reason === "Symlink";
        },
        name,
      );
      assert.equal(await Deno.readTextFile(outside), '{"schemaVersion":2,"manifests":[]}');
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A directory where creating a file fails (permission bits do not stop root). */
function unwritableDir(): { dir: string; cleanup: () => void } | undefined {
  if (Deno.build.os !== "windows" && Deno.uid() !== 0) {
    const dir = Deno.makeTempDirSync({ prefix: "kars-ro-" });
    Deno.chmodSync(dir, 0o555);
    return {
      dir,
      cleanup: () => {
        Deno.chmodSync(dir, 0o755);
        Deno.removeSync(dir, { recursive: true });
      },
    };
  }
  try {
    Deno.writeFileSync("/sys/kernel/.kars-probe", new Uint8Array(), { createNew: true });
    Deno.removeSync("/sys/kernel/.kars-probe");
  } catch {
    return { dir: "/sys/kernel", cleanup: () => {} }; // sysfs: no new files, even for root
  }
  return undefined;
}
const UNWRITABLE = unwritableDir();

Deno.test({
  name: "writes: an unwritable --emit-manifest directory is refused before any request",
  ignore: !UNWRITABLE,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kars-ro-" });
    const requests: string[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      requests.push(`${req.method} ${new URL(req.url).pathname}`);
      return new Response("{}", { status: 500 });
    });
    try {
      const { sandbox, a } = await setup(dir);
      const r = await egressIn(`127.0.0.1:${server.addr.port}`, sandbox, a.key, [
        "--emit-manifest",
        join(UNWRITABLE!.dir, "m.yaml"),
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /--emit-manifest: cannot write .*m\.yaml: the directory .* is not writable/,
      );
      assert.deepEqual(requests, [], "no request before the directory is proven writable");
    } finally {
      await server.shutdown();
      UNWRITABLE!.cleanup();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
