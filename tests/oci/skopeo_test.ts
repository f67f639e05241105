/**
 * Interop with skopeo (an independent client), both ways, with identical digests:
 * skopeo reads what we pushed to docker-registry (inspect --raw, copy to oci:), and we read
 * what skopeo copied into a registry and into an OCI layout. Also measures skopeo's request
 * count for copying the same artifact from an OCI layout into the registry.
 */
import assert from "assert";
import { fromUtf8 } from "../../lib/encoding/bytes.ts";
import type { RequestLogEntry } from "../../lib/oci/request_log.ts";
import { copy, pushArtifact } from "../../lib/oci/copy.ts";
import { LayoutTarget } from "../../lib/oci/layout.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { needs, startDockerRegistry } from "../support/docker_registry.ts";
import { allowlistArtifact } from "../support/oci_fixtures.ts";

async function skopeo(args: string[]): Promise<{ stdout: Uint8Array; stderr: string }> {
  const out = await new Deno.Command("skopeo", { args, stdout: "piped", stderr: "piped" }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`skopeo ${args.join(" ")} failed: ${stderr.slice(-2000)}`);
  return { stdout: out.stdout, stderr };
}

Deno.test(
  "skopeo interop: both directions through docker-registry and OCI layouts",
  needs("skopeo", "docker-registry"),
  async (t) => {
    const reg = await startDockerRegistry();
    const dir = await Deno.makeTempDir({ prefix: "kars-skopeo-" });
    try {
      const policy = `${dir}/policy.json`;
      await Deno.writeTextFile(
        policy,
        JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }),
      );
      const common = ["--policy", policy];
      const a = allowlistArtifact("apiVersion: v1\nhosts:\n- skopeo.example.com:443\n");
      const ours = new RegistryTarget({ registry: reg.host, repository: "interop/ours" });
      await pushArtifact(ours, a, { tags: ["latest"] });

      await t.step("skopeo inspect --raw reads our manifest byte for byte", async () => {
        const { stdout } = await skopeo([
          "inspect",
          "--raw",
          "--tls-verify=false",
          `docker://${reg.host}/interop/ours:latest`,
        ]);
        assert.equal(fromUtf8(stdout), fromUtf8(a.manifestBytes));
      });

      await t.step("skopeo copy registry → oci: layout; we read the layout", async () => {
        await skopeo([
          ...common,
          "copy",
          "--preserve-digests",
          "--src-tls-verify=false",
          `docker://${reg.host}/interop/ours:latest`,
          `oci:${dir}/from-skopeo:latest`,
        ]);
        const layout = new LayoutTarget(`${dir}/from-skopeo`);
        const m = await layout.fetchManifest("latest");
        assert.equal(m.descriptor.digest, a.digest);
        for (const b of a.blobs) {
          assert.deepEqual(await layout.fetchBlob(b.desc.digest, b.desc.size), b.data);
        }
      });

      await t.step("our copy(): registry → layout → registry keeps the digest", async () => {
        const layout = new LayoutTarget(`${dir}/copied`);
        const d1 = await copy(ours, layout, "latest");
        assert.equal(d1.digest, a.digest);
        const back = new RegistryTarget({ registry: reg.host, repository: "interop/back" });
        const d2 = await copy(layout, back, "latest", { tag: "v1" });
        assert.equal(d2.digest, a.digest);
        assert.equal((await back.resolve("v1"))?.digest, a.digest);
        // And skopeo reads our layout directly.
        const { stdout } = await skopeo(["inspect", "--raw", `oci:${dir}/copied:latest`]);
        assert.equal(fromUtf8(stdout), fromUtf8(a.manifestBytes));
      });
    } finally {
      await reg.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "skopeo interop: skopeo copies our OCI layout into a registry; request counts",
  needs("skopeo", "docker-registry"),
  async () => {
    // A registry of its own, so skopeo's blob-info cache knows no location on it (no mounts).
    const reg = await startDockerRegistry();
    const dir = await Deno.makeTempDir({ prefix: "kars-skopeo-" });
    try {
      const policy = `${dir}/policy.json`;
      await Deno.writeTextFile(
        policy,
        JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }),
      );
      const a = allowlistArtifact(
        `apiVersion: v1\nhosts:\n- ${crypto.randomUUID()}.example.com:443\n`,
      );
      const layout = new LayoutTarget(`${dir}/ours`);
      await pushArtifact(layout, a, { tags: ["latest"] });
      const { stderr } = await skopeo([
        "--debug",
        "--policy",
        policy,
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        `oci:${dir}/ours:latest`,
        `docker://${reg.host}/interop/skopeo:latest`,
      ]);
      const requests = stderr.split("\n").filter((l) =>
        /msg="(GET|HEAD|PUT|POST|PATCH|DELETE) https?:\/\//.test(l)
      );
      const theirs = new RegistryTarget({ registry: reg.host, repository: "interop/skopeo" });
      assert.equal((await theirs.resolve("latest"))?.digest, a.digest);
      assert.deepEqual((await theirs.fetchManifest("latest")).bytes, a.manifestBytes);
      assert.ok(requests.length > 0, "skopeo --debug logs its requests");
      // The same artifact from the same layout by our copy(), into a fresh repository.
      const log: RequestLogEntry[] = [];
      const dst = new RegistryTarget({
        registry: reg.host,
        repository: "interop/kars",
        log: (e) => log.push(e),
      });
      await copy(layout, dst, "latest");
      const fresh = [...log];
      assert.equal((await dst.resolve("latest"))?.digest, a.digest);
      // Copying again writes nothing: one HEAD.
      log.length = 0;
      await copy(layout, dst, "latest");
      assert.deepEqual(log.map((e) => e.method), ["HEAD"]);
      console.log(
        `fresh copy oci-layout → docker-registry: skopeo ${requests.length} requests, kars copy() ${fresh.length} requests\n` +
          requests.map((l) => "  skopeo: " + /msg="([A-Z]+ [^?"]+)/.exec(l)?.[1]).join("\n") +
          "\n" +
          fresh.map((e) => `  kars: ${e.method} ${e.url.split("?")[0]} ${e.status}`).join("\n"),
      );
    } finally {
      await reg.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
