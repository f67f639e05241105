/**
 * No silent drops: for every golden fixture, every leaf field of every kagent object in the
 * input is accounted for — its value appears in the emitted objects (translated), or a warning
 * or note names the field or one of its parents, or it is one of the structural fields the
 * mapping consumes (listed below, each with the reason).
 */
import assert from "assert";
import { parseAllDocuments } from "yaml";
import { translateKagent } from "../../lib/migrate/from_kagent.ts";
import { canonicalizeEndpoints } from "../../lib/allowlist/canonical.ts";

const ROOT = new URL("../../testdata/kagent/", import.meta.url);

/** Fields whose value is consumed by the mapping rather than copied (regex on the field path). */
const CONSUMED: [RegExp, string][] = [
  [/^spec\.type$/, "selects runtime.kind"],
  [/^spec\.provider$/, "becomes spec.provider / modelPreference.primary.provider"],
  [/^spec\.model$/, "becomes modelPreference.primary.deployment"],
  [/^spec\.declarative\.modelConfig$/, "names the ModelConfig (its InferencePolicy is written)"],
  [/^spec\.declarative\.tools\[\d+\]\.type$/, "selects the tool kind"],
  [/^spec\.declarative\.tools\[\d+\]\.mcpServer\.(kind|apiGroup|name|namespace)$/, "the reference"],
  [/^spec\.declarative\.tools\[\d+\]\.mcpServer\.requireApproval\[\d+\]$/, "ToolPolicy per tool"],
  [/^spec\.sandbox\.network\.allowedDomains\[\d+\]$/, "canonical allowlist entry"],
  [/^spec\.byo\.deployment\.cmd$/, "byo.command[0]"],
  [/^spec\.(declarative\.)?deployment\.env\[\d+\]\.name$/, "extraEnv key"],
  [/^spec\.apiKeySecretKey$/, "named in the spec.apiKeySecret warning"],
  [/^spec\.protocol$/, "a note says there is no transport field"],
  [/^metadata\.(uid|resourceVersion|generation|creationTimestamp)$/, "runtime metadata (note)"],
  [/^metadata\.labels\./, "labels are copied"],
];

function leaves(v: unknown, path: string, out: [string, unknown][]): void {
  if (Array.isArray(v)) v.forEach((x, i) => leaves(x, `${path}[${i}]`, out));
  else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) leaves(x, path ? `${path}.${k}` : k, out);
  } else out.push([path, v]);
}

function outputValues(resources: unknown[]): Set<string> {
  const all: [string, unknown][] = [];
  for (const r of resources) leaves(r, "", all);
  return new Set(all.map(([, v]) => String(v).trim().toLowerCase()));
}

const cases: string[] = [];
for await (const e of Deno.readDir(ROOT)) if (e.isDirectory) cases.push(e.name);
cases.sort();

for (const name of cases) {
  const exit = (await Deno.readTextFile(new URL(`${name}/expected.exit`, ROOT))).trim();
  if (exit !== "0" && exit !== "4") continue;
  Deno.test(`every kagent field is translated or reported: ${name}`, async () => {
    const docs = parseAllDocuments(await Deno.readTextFile(new URL(`${name}/input.yaml`, ROOT)))
      .map((d) => d.toJS());
    const args = (await Deno.readTextFile(new URL(`${name}/args`, ROOT)).catch(() => ""))
      .split("\n").filter((l) => l);
    const opt = (f: string) => {
      const i = args.indexOf(f);
      return i >= 0 ? args[i + 1] : undefined;
    };
    const r = translateKagent(docs, {
      namespace: opt("-n"),
      image: opt("--image"),
      isolation: opt("--isolation") as "standard" | undefined,
    });
    const values = outputValues(r.resources);
    const findings = [...r.warnings, ...r.notes].map((f) => f.path);
    let checked = 0;
    for (const d of docs) {
      if (!d || !String(d.apiVersion).startsWith("kagent.dev/")) continue;
      const prefix = `${d.kind}/${d.metadata?.name}`;
      const fields: [string, unknown][] = [];
      leaves({ metadata: d.metadata, spec: d.spec }, "", fields);
      for (const [path, value] of fields) {
        if (path === "metadata.name" || path === "metadata.namespace") continue;
        checked++;
        const reported = findings.some((f) => {
          if (!f.startsWith(`${prefix} `)) return f.startsWith(`${prefix}`) && f === prefix;
          const at = f.slice(prefix.length + 1);
          return path === at || path.startsWith(`${at}.`) || path.startsWith(`${at}[`) ||
            at === "metadata" && path.startsWith("metadata.");
        }) || findings.includes(prefix);
        const translated = typeof value === "string" || typeof value === "number"
          ? values.has(String(value).trim().toLowerCase())
          : false;
        const consumed = CONSUMED.some(([re]) => re.test(path));
        const host = typeof value === "string" && /allowedDomains/.test(path) &&
          r.sandboxes.some((s) =>
            s.allowlist.some((e) => {
              try {
                const [c] = canonicalizeEndpoints([{ host: value.split(":")[0] }]);
                return c.host === e.host;
              } catch {
                return false;
              }
            })
          );
        assert.ok(
          reported || translated || consumed || host ||
            (typeof value === "string" && value.includes("*")),
          `${name}: ${prefix} ${path} = ${
            JSON.stringify(value)
          } is neither translated nor reported`,
        );
      }
    }
    assert.ok(checked > 0, `${name}: no kagent fields checked`);
  });
}

Deno.test("the coverage check can fail: a field nobody reads is caught", () => {
  const found: [string, unknown][] = [];
  leaves({ spec: { byo: { deployment: { image: "i:1", mystery: "xyz" } } } }, "", found);
  assert.deepEqual(found.map(([p]) => p), [
    "spec.byo.deployment.image",
    "spec.byo.deployment.mystery",
  ]);
  const r = translateKagent([{
    apiVersion: "kagent.dev/v1alpha2",
    kind: "Agent",
    metadata: { name: "a" },
    spec: { type: "BYO", byo: { deployment: { image: "i:1", mystery: "xyz" } } },
  }]);
  // The translator reports it (checkKeys); without the warning the value would be unaccounted.
  assert.ok(r.warnings.some((w) => w.path === "Agent/a spec.byo.deployment.mystery"));
  assert.ok(!outputValues(r.resources).has("xyz"));
});
