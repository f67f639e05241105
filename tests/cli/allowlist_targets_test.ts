/**
 * The cluster commands' registry opener (lib/cli/allowlist_targets.ts): credentials stay with
 * their own host, and a credential withheld from another host is reported (egress audit says it
 * on stderr, once per note).
 */
import assert from "assert";
import { allowlistTargets } from "../../lib/cli/allowlist_targets.ts";
import type { CliContext } from "../../lib/cli/command.ts";
import { startRegistryServer } from "../support/registry_server.ts";

Deno.test("allowlistTargets: environment credentials bound to another registry are withheld, and the caller is told", async () => {
  const reg = await startRegistryServer({ basic: { user: "ci", password: "s3cret-pw" } });
  try {
    const ctx = {
      env: {
        KARS_REGISTRY: "other.example",
        KARS_REGISTRY_USERNAME: "ci",
        KARS_REGISTRY_PASSWORD: "s3cret-pw",
      },
      cwd: Deno.cwd(),
      stderr: () => {},
    } as unknown as CliContext;
    const notes: string[] = [];
    const open = await allowlistTargets(ctx, {
      plainHttp: true,
      acrRegistries: [],
      onWithheld: (n) => notes.push(n),
    });
    const t = open({
      registry: reg.host,
      repository: "policy/egress-allowlist/x",
      digest: `sha256:${"0".repeat(64)}`,
      artifactType: "application/vnd.kars.egress-allowlist.v1+yaml",
    });
    await assert.rejects(t.resolve(`sha256:${"0".repeat(64)}`));
    assert.equal(notes.length, 1, notes.join("\n"));
    assert.match(
      notes[0],
      /KARS_REGISTRY_USERNAME\/KARS_REGISTRY_PASSWORD not sent to 127\.0\.0\.1/,
    );
    assert.ok(!notes[0].includes("s3cret-pw"));
    assert.ok(
      reg.requests.every((r) => r.authorization === null),
      "no credential reached the registry",
    );
  } finally {
    await reg.stop();
  }
});
