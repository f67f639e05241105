/**
 * The 100,000-endpoint limit is one limit for the signer (canonicalize, emit) and every
 * verifier (the strict canonical parser): what we sign, we accept; one more is refused by
 * both, and the parser refuses before it parses (issue 10 item 2).
 */
import assert from "assert";
import {
  canonicalizeEndpoints,
  emitCanonicalAllowlist,
  type Endpoint,
  MAX_ENDPOINTS,
  parseCanonicalAllowlist,
} from "../lib/allowlist/canonical.ts";
import { isKarsError } from "../lib/errors.ts";

function endpoints(n: number): Endpoint[] {
  const out: Endpoint[] = [];
  for (let i = 0; i < n; i++) out.push({ host: `h${String(i).padStart(6, "0")}.io`, port: 443 });
  return out;
}

Deno.test("allowlist limit: exactly MAX_ENDPOINTS is signed and verified; one more is refused by both", () => {
  assert.equal(MAX_ENDPOINTS, 100_000);
  const max = endpoints(MAX_ENDPOINTS);
  const bytes = emitCanonicalAllowlist({ generation: 1, endpoints: canonicalizeEndpoints(max) });
  assert.equal(parseCanonicalAllowlist(bytes).endpoints.length, MAX_ENDPOINTS);

  const over = endpoints(MAX_ENDPOINTS + 1);
  assert.throws(
    () => canonicalizeEndpoints(over, { source: "sandbox.yaml allowedEndpoints" }),
    (e: unknown) =>
      isKarsError(e, "INPUT") &&
      /sandbox\.yaml allowedEndpoints has 100001 endpoints, more than the 100000/.test(e.message),
  );
  assert.throws(
    () => emitCanonicalAllowlist({ generation: 1, endpoints: over }),
    (e: unknown) =>
      isKarsError(e, "INPUT") && /100001 endpoints, more than the 100000/.test(e.message),
  );
  // A hostile registry serves 100,001 well-formed entries: refused as CanonicalFormViolation.
  const text = new TextDecoder().decode(bytes) + "    - host: zzz.io\n      port: 443\n";
  assert.throws(
    () => parseCanonicalAllowlist(new TextEncoder().encode(text)),
    (e: unknown) =>
      isKarsError(e, "VERIFY") && e.details?.reason === "CanonicalFormViolation" &&
      /more than 100000 endpoints/.test(e.message),
  );
});

Deno.test("allowlist limit: the parser refuses an oversized list before parsing any entry", () => {
  // Entries that are NOT canonical (unsorted, invalid): the count is refused first, so the
  // message is about the limit, not the first bad line — proof no entry was parsed.
  const lines = [
    "apiVersion: kars.dev/v1alpha1",
    "kind: EgressAllowlist",
    "metadata:",
    "  generation: 1",
    "spec:",
    "  endpoints:",
  ];
  let text = lines.join("\n") + "\n";
  text += "    - host: NOT CANONICAL\n      port: 99999\n".repeat(MAX_ENDPOINTS + 1);
  assert.throws(
    () => parseCanonicalAllowlist(new TextEncoder().encode(text)),
    (e: unknown) => isKarsError(e, "VERIFY") && /more than 100000 endpoints/.test(e.message),
  );
});

Deno.test("allowlist limit: an error listing thousands of bad entries names the first 20 and counts the rest", () => {
  const bad = Array.from({ length: 5000 }, (_, i) => ({ host: `bad host ${i}` }));
  assert.throws(() => canonicalizeEndpoints(bad), (e: unknown) => {
    assert.ok(isKarsError(e, "INPUT"));
    assert.match(e.message, /^5000 invalid allowlist entries/);
    assert.match(e.message, /… and 4980 more$/);
    assert.equal(e.message.split("\n").length, 1 + 20 + 1);
    assert.equal((e.details?.errors as unknown[]).length, 5000);
    return true;
  });
});

Deno.test("allowlist limit: the largest canonical allowlist (100,000 hosts of 253 characters) fits the layer cap", async () => {
  const { MAX_ALLOWLIST_LAYER_BYTES } = await import("../lib/oci/artifact.ts");
  const label = (c: string) => c.repeat(63);
  const eps: Endpoint[] = [];
  for (let i = 0; i < MAX_ENDPOINTS; i++) {
    // Three 63-character labels and a 61-character one: 253 characters, the DNS maximum.
    const tail = `${String(i).padStart(6, "0")}${"z".repeat(55)}`;
    eps.push({ host: `${label("a")}.${label("b")}.${label("c")}.${tail}`, port: 65535 });
  }
  assert.equal(eps[0].host.length, 253);
  const bytes = emitCanonicalAllowlist({ generation: 1, endpoints: canonicalizeEndpoints(eps) });
  assert.ok(
    bytes.length < MAX_ALLOWLIST_LAYER_BYTES,
    `${bytes.length} bytes must fit the ${MAX_ALLOWLIST_LAYER_BYTES}-byte layer cap`,
  );
});
