/**
 * RFC 6962 inclusion proofs against a reference tree built here: every leaf of every tree
 * size up to 33 verifies, and every single mutation of a proof fails.
 */
import assert from "assert";
import { utf8 } from "../../../lib/encoding/bytes.ts";
import {
  leafHash,
  rootFromInclusionProof,
  verifyInclusion,
} from "../../../lib/verify/sigstore/merkle.ts";
import { auditPath, treeHash } from "./vectors.ts";

Deno.test("merkle: every leaf of every tree up to 33 leaves verifies; mutations fail", () => {
  let checked = 0;
  for (let n = 1; n <= 33; n++) {
    const leaves = Array.from({ length: n }, (_, i) => leafHash(utf8(`leaf ${i}`)));
    const root = treeHash(leaves);
    for (let m = 0; m < n; m++) {
      const path = auditPath(m, leaves);
      assert.ok(verifyInclusion(BigInt(m), BigInt(n), leaves[m], path, root), `n=${n} m=${m}`);
      checked++;
      // Wrong leaf, wrong index, each hash flipped, a hash dropped or added.
      if (n > 1) {
        assert.ok(!verifyInclusion(BigInt(m), BigInt(n), leaves[(m + 1) % n], path, root));
        assert.ok(!verifyInclusion(BigInt((m + 1) % n), BigInt(n), leaves[m], path, root));
      }
      // The proof for the tree of n does not prove inclusion in the tree of n + 1.
      const grown = [...leaves, leafHash(utf8("new leaf"))];
      assert.ok(!verifyInclusion(BigInt(m), BigInt(n + 1), leaves[m], path, treeHash(grown)));
      for (let i = 0; i < path.length; i++) {
        const bad = path.map((h) => h.slice());
        bad[i][31] ^= 1;
        assert.ok(!verifyInclusion(BigInt(m), BigInt(n), leaves[m], bad, root));
      }
      if (path.length > 0) {
        assert.ok(!verifyInclusion(BigInt(m), BigInt(n), leaves[m], path.slice(1), root));
      }
      assert.ok(!verifyInclusion(BigInt(m), BigInt(n), leaves[m], [...path, leaves[0]], root));
    }
  }
  assert.equal(checked, (33 * 34) / 2);
});

Deno.test("merkle: malformed proofs are refused, not thrown", () => {
  const leaf = leafHash(utf8("x"));
  assert.equal(rootFromInclusionProof(0n, 0n, leaf, []), undefined);
  assert.equal(rootFromInclusionProof(5n, 5n, leaf, []), undefined);
  assert.equal(rootFromInclusionProof(-1n, 5n, leaf, []), undefined);
  assert.equal(rootFromInclusionProof(0n, 2n, leaf, [new Uint8Array(31)]), undefined);
  assert.deepEqual(rootFromInclusionProof(0n, 1n, leaf, []), leaf);
});
