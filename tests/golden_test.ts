/**
 * Golden tests: every sandbox under testdata/sandboxes/ is run through the canonical
 * pipeline (read, parse, select the KarsSandbox named after the file, canonicalise, emit
 * with generation 1) and compared with testdata/canonical/<name>.yaml (plus the layer and
 * manifest digests in <name>.digests) or, for rejected inputs, <name>.error.txt.
 * `UPDATE_GOLDEN=1` rewrites the expected files (review them by eye against formats.md).
 */
import assert from "assert";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { parseYamlDocuments, readInputText } from "../lib/encoding/yaml_read.ts";
import { type KarsSandbox, readNetworkPolicy, selectSandbox } from "../lib/model/sandbox_read.ts";
import {
  canonicalizeEndpoints,
  emitCanonicalAllowlist,
  parseCanonicalAllowlist,
} from "../lib/allowlist/canonical.ts";
import { chooseGeneration } from "../lib/allowlist/edit.ts";
import { buildAllowlistArtifact } from "../lib/oci/artifact.ts";
import { KarsError } from "../lib/errors.ts";
import { prng } from "./support/prng.ts";

const ROOT = new URL("../testdata/", import.meta.url).pathname;
const SANDBOXES = join(ROOT, "sandboxes");
const CANONICAL = join(ROOT, "canonical");
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";

type Outcome = { bytes: Uint8Array } | { error: string };

function pipeline(sb: KarsSandbox, source: string, shuffleSeed?: number): Uint8Array {
  const np = readNetworkPolicy(sb, source);
  let raw = np.allowedEndpoints;
  if (shuffleSeed !== undefined) raw = prng(shuffleSeed).shuffle(raw);
  const endpoints = canonicalizeEndpoints(raw, {
    source: `${source} spec.networkPolicy.allowedEndpoints`,
  });
  const generation = chooseGeneration({ endpoints });
  return emitCanonicalAllowlist({ generation, endpoints });
}

async function run(file: string): Promise<{ outcome: Outcome; sb?: KarsSandbox }> {
  const name = basename(file, extname(file));
  const source = basename(file);
  try {
    const text = await readInputText(join(SANDBOXES, file));
    const sb = selectSandbox(parseYamlDocuments(text, source), { name }, source);
    return { outcome: { bytes: pipeline(sb, source) }, sb };
  } catch (e) {
    if (!(e instanceof KarsError)) throw e;
    return { outcome: { error: `${e.code}: ${e.message}\n` } };
  }
}

const files = readdirSync(SANDBOXES).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();

Deno.test("golden: at least 12 sandbox inputs, accepted and rejected", () => {
  assert.ok(files.length >= 12, `only ${files.length} inputs`);
  assert.ok(files.some((f) => f.startsWith("reject-")));
  assert.ok(files.some((f) => !f.startsWith("reject-")));
});

for (const file of files) {
  const name = basename(file, extname(file));
  Deno.test(`golden: ${file}`, async () => {
    const { outcome, sb } = await run(file);
    const yamlPath = join(CANONICAL, `${name}.yaml`);
    const digestsPath = join(CANONICAL, `${name}.digests`);
    const errorPath = join(CANONICAL, `${name}.error.txt`);
    if ("bytes" in outcome) {
      const a = buildAllowlistArtifact(outcome.bytes);
      const digests = `layer ${a.layer.digest}\nmanifest ${a.manifestDigest}\n`;
      if (UPDATE) {
        writeFileSync(yamlPath, outcome.bytes);
        writeFileSync(digestsPath, digests);
      }
      assert.ok(!name.startsWith("reject-"), `${file} should have been rejected`);
      assert.deepEqual(outcome.bytes, new Uint8Array(readFileSync(yamlPath)));
      assert.equal(digests, readFileSync(digestsPath, "utf8"));
      // The strict parser accepts the golden bytes.
      parseCanonicalAllowlist(outcome.bytes);
      // Twice, and on permutations of the entries: identical bytes.
      assert.deepEqual(pipeline(sb!, basename(file)), outcome.bytes);
      for (let seed = 1; seed <= 10; seed++) {
        assert.deepEqual(pipeline(sb!, basename(file), seed), outcome.bytes, `permutation ${seed}`);
      }
    } else {
      if (UPDATE) writeFileSync(errorPath, outcome.error);
      assert.ok(name.startsWith("reject-"), `${file} failed unexpectedly: ${outcome.error}`);
      assert.equal(outcome.error, readFileSync(errorPath, "utf8"));
    }
  });
}
