/**
 * The push path with the fewest requests, measured against docker-registry 2.8 from the
 * request log: a fresh push, a repeat push (no blob uploaded), and a next generation.
 */
import assert from "assert";
import { RegistryClient } from "../../lib/oci/client.ts";
import type { RequestLogEntry } from "../../lib/oci/request_log.ts";
import { pushArtifact } from "../../lib/oci/copy.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { needs, startDockerRegistry } from "../support/docker_registry.ts";
import { allowlistArtifact } from "../support/oci_fixtures.ts";

const summary = (log: RequestLogEntry[]) =>
  log.map((e) =>
    `${e.method} ${
      new URL(e.url).pathname.split("/").slice(-2).join("/").replace(/sha256:[0-9a-f]+/, "<d>")
    } ${e.status}`
  );

Deno.test(
  "push: same artifact twice → same digest, second push uploads no blob (docker-registry)",
  needs("docker-registry"),
  async () => {
    const reg = await startDockerRegistry();
    try {
      const log: RequestLogEntry[] = [];
      const open = () =>
        new RegistryTarget({
          registry: reg.host,
          repository: "policy/egress-allowlist/web",
          log: (e) => log.push(e),
        });
      const a = allowlistArtifact("apiVersion: v1\nhosts:\n- api.example.com:443\n");
      const first = await pushArtifact(open(), a, { tags: ["latest"] });
      const fresh = [...log];
      log.length = 0;
      const second = await pushArtifact(open(), a, { tags: ["latest"] });
      const repeat = [...log];
      assert.equal(first.digest, a.digest);
      assert.equal(second.digest, first.digest);
      // Fresh (the tag answers 404): HEAD tag, POST+PUT each (small) blob without a HEAD
      // first, PUT manifest.
      assert.equal(
        fresh.filter((e) => e.method === "PUT" && e.url.includes("/blobs/uploads/")).length,
        2,
      );
      assert.ok(!fresh.some((e) => e.method === "HEAD" && e.url.includes("/blobs/")));
      assert.equal(fresh.length, 6, summary(fresh).join("\n"));
      // Repeat: nothing uploaded at all.
      assert.ok(
        !repeat.some((e) => e.url.includes("/blobs/uploads/") || e.method === "PATCH"),
        summary(repeat).join("\n"),
      );
      assert.equal(repeat.length, 1, summary(repeat).join("\n"));

      // Next generation in the same repository: the empty config is not uploaded again.
      log.length = 0;
      const b = allowlistArtifact(
        "apiVersion: v1\nhosts:\n- api.example.com:443\n- db.example.com:5432\n",
      );
      await pushArtifact(open(), b, { tags: ["latest"] });
      assert.equal(log.filter((e) => e.method === "POST").length, 1);
      assert.equal(log.length, 6, summary(log).join("\n"));
      assert.equal((await open().resolve("latest"))?.digest, b.digest);
      // Extra tags cost one PUT each.
      log.length = 0;
      await pushArtifact(open(), b, { tags: ["latest", "gen-2"] });
      assert.deepEqual(summary(log), ["HEAD manifests/latest 200", "PUT manifests/gen-2 201"]);

      console.log(
        `request counts against docker-registry: fresh push ${fresh.length}, repeat push ${repeat.length}, next generation 6`,
      );
    } finally {
      await reg.stop();
    }
  },
);

Deno.test(
  "push: a shared client mounts blobs it has seen in another repository (docker-registry)",
  needs("docker-registry"),
  async () => {
    const reg = await startDockerRegistry();
    try {
      const log: RequestLogEntry[] = [];
      const client = new RegistryClient({ registry: reg.host, log: (e) => log.push(e) });
      const a = allowlistArtifact("apiVersion: v1\nhosts:\n- mount.example.com:443\n");
      await pushArtifact(
        new RegistryTarget({
          registry: reg.host,
          repository: "policy/egress-allowlist/one",
          client,
        }),
        a,
        {
          tags: ["latest"],
        },
      );
      log.length = 0;
      const two = new RegistryTarget({
        registry: reg.host,
        repository: "policy/egress-allowlist/two",
        client,
      });
      await pushArtifact(two, a, { tags: ["latest"] });
      // HEAD tag (404), a mount per blob (no HEAD first: the repository has no such tag), PUT.
      assert.equal(log.length, 4, summary(log).join("\n"));
      assert.equal(
        log.filter((e) => e.method === "POST" && e.url.includes("mount=") && e.status === 201)
          .length,
        2,
      );
      assert.ok(
        !log.some((e) => e.method === "PUT" && e.url.includes("/blobs/uploads/")),
        "no blob bytes sent",
      );
      assert.deepEqual((await two.fetchManifest("latest")).bytes, a.manifestBytes);
    } finally {
      await reg.stop();
    }
  },
);
