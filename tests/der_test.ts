import assert from "assert";
import {
  decodeDer,
  derBitString,
  derBool,
  derContext,
  derInt,
  derNull,
  derOctets,
  derOid,
  derSeq,
  readBitString,
  readInt,
  readOid,
  TAG,
} from "../lib/der.ts";

Deno.test("der: integers, OIDs, bit strings round-trip; long lengths", () => {
  for (const n of [0n, 1n, 127n, 128n, 255n, 256n, 65535n, 2n ** 64n + 3n]) {
    assert.equal(readInt(decodeDer(derInt(n))), n, String(n));
  }
  assert.deepEqual([...derInt(128n)], [2, 2, 0, 128], "sign byte added");
  assert.deepEqual([...derInt(new Uint8Array([0, 0, 5]))], [2, 1, 5], "leading zeros stripped");
  for (const oid of ["1.2.840.10045.2.1", "2.5.29.17", "1.3.6.1.4.1.57264.1.8", "2.999.3"]) {
    assert.equal(readOid(decodeDer(derOid(oid))), oid);
  }
  const big = new Uint8Array(70000).fill(7);
  const seq = decodeDer(
    derSeq(derOctets(big), derNull(), derBool(true), derBitString(new Uint8Array([1, 2]))),
  );
  assert.equal(seq.tag, TAG.SEQUENCE);
  assert.equal(seq.children.length, 4);
  assert.equal(seq.children[0].value.length, 70000);
  assert.deepEqual([...readBitString(seq.children[3])], [1, 2]);
  const ctx = decodeDer(derContext(3, derNull()));
  assert.equal(ctx.tag, 0xa3);
  assert.equal(ctx.children[0].tag, TAG.NULL);
});

Deno.test("der: malformed input is refused", () => {
  assert.throws(() => decodeDer(new Uint8Array([0x30, 5, 1])), /truncated/);
  assert.throws(() => decodeDer(new Uint8Array([2, 1, 1, 0])), /trailing/);
  assert.throws(() => decodeDer(new Uint8Array([0x1f, 1, 1])), /high tag/);
  assert.throws(() => readInt(decodeDer(new Uint8Array([2, 1, 0x80]))), /negative/);
  assert.throws(() => readOid(decodeDer(derNull())), /OBJECT IDENTIFIER/);
  let deep = derNull();
  for (let i = 0; i < 80; i++) deep = derSeq(deep);
  assert.throws(() => decodeDer(deep), /too deep/);
});
