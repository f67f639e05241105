/**
 * RFC 6962 / RFC 9162 Merkle tree inclusion proofs.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesEqual, concatBytes } from "../../encoding/bytes.ts";

/**
 * The leaf hash of an entry: SHA-256(0x00 || data).
 *
 * @example
 * ```ts
 * import { leafHash } from "./merkle.ts";
 * leafHash(new Uint8Array([1])).length; // 32
 * ```
 */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(concatBytes(new Uint8Array([0]), data));
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(new Uint8Array([1]), left, right));
}

/**
 * Computes the root implied by an inclusion proof (RFC 9162 §2.1.3.2), or `undefined` when
 * the proof is malformed for the index and tree size.
 *
 * @example
 * ```ts
 * import { leafHash, rootFromInclusionProof } from "./merkle.ts";
 * const leaf = leafHash(new Uint8Array([1]));
 * rootFromInclusionProof(0n, 1n, leaf, []); // the leaf itself: a one-entry tree
 * ```
 */
export function rootFromInclusionProof(
  index: bigint,
  treeSize: bigint,
  leaf: Uint8Array,
  proof: Uint8Array[],
): Uint8Array | undefined {
  if (index < 0n || index >= treeSize) return undefined;
  if (proof.some((h) => h.length !== 32)) return undefined;
  let fn = index;
  let sn = treeSize - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return undefined;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : undefined;
}

/**
 * True when `proof` proves `leaf` at `index` in the tree of `treeSize` with root `root`.
 *
 * @example
 * ```ts
 * import { leafHash, verifyInclusion } from "./merkle.ts";
 * const leaf = leafHash(new Uint8Array([1]));
 * verifyInclusion(0n, 1n, leaf, [], leaf); // true
 * ```
 */
export function verifyInclusion(
  index: bigint,
  treeSize: bigint,
  leaf: Uint8Array,
  proof: Uint8Array[],
  root: Uint8Array,
): boolean {
  const r = rootFromInclusionProof(index, treeSize, leaf, proof);
  return r !== undefined && bytesEqual(r, root);
}
