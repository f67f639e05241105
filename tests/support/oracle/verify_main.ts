/**
 * Test oracle: runs `@sigstore/verify` (the reference sigstore-js verifier) on a list of
 * cases. Bundled by `tests/support/node_oracle.ts` with `deno bundle --platform node` and run
 * under Node (its EC signature checks break under Deno), through a generated entry that calls
 * {@link main}. Reads a JSON array of cases on stdin
 * (`bundle`, `artifact` base64, `trustedRoot`, `identity`, `keyPem`) and prints a JSON array
 * of `{ ok, error? }`, one per case, on stdout.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createPublicKey } from "node:crypto";
import process from "node:process";
import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";

/**
 * `TrustedRoot` of `@sigstore/protobuf-specs` (a locked dependency of `@sigstore/verify`
 * that deno.json does not name): the generated entry in `node_oracle.ts` imports it by its
 * `npm:` specifier, bundling with a private copy of deno.lock, and passes it to {@link main}.
 */
export interface TrustedRootCodec {
  fromJSON(json: unknown): Parameters<typeof toTrustMaterial>[0];
}

/** One case as received on stdin. */
interface WireCase {
  bundle: unknown;
  artifact?: string;
  digestHex?: string;
  trustedRoot: unknown;
  identity?: { san: string; issuer: string };
  keyPem?: string;
}

function runCase(TrustedRoot: TrustedRootCodec, c: WireCase): { ok: boolean; error?: string } {
  try {
    if (c.artifact === undefined) {
      return { ok: false, error: "oracle: digest-only verification is not supported" };
    }
    const bundle = bundleFromJSON(c.bundle);
    const artifact = Buffer.from(c.artifact, "base64");
    const entity = toSignedEntity(bundle, artifact);
    const root = TrustedRoot.fromJSON(c.trustedRoot);
    const keyPem = c.keyPem;
    const material = keyPem === undefined ? toTrustMaterial(root) : toTrustMaterial(root, () => ({
      publicKey: createPublicKey(keyPem),
      validFor: () => true,
    }));
    const verifier = new Verifier(material);
    const policy = c.identity
      ? { subjectAlternativeName: c.identity.san, extensions: { issuer: c.identity.issuer } }
      : undefined;
    verifier.verify(entity, policy);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/**
 * Reads the cases on stdin, verifies each, prints the verdicts on stdout.
 *
 * @example
 * ```ts
 * import { TrustedRoot } from "npm:@sigstore/protobuf-specs@0.5.2";
 * await main(TrustedRoot);
 * ```
 */
export async function main(TrustedRoot: TrustedRootCodec): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const cases = JSON.parse(Buffer.concat(chunks).toString("utf8")) as WireCase[];
  process.stdout.write(JSON.stringify(cases.map((c) => runCase(TrustedRoot, c))));
}
