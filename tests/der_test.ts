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
} from "../lib/encoding/der.ts";

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

/** Negative vectors: BER that is not DER, and malformed encodings. Each must be refused. */
const NOT_DER: [hex: string, why: RegExp, what: string][] = [
  [
    "02810105",
    /non-minimal length/,
    "INTEGER 5 with a long-form length below 128 (the issue's case)",
  ],
  ["0482000101", /non-minimal length/, "long-form length with a leading zero octet"],
  ["04820080" + "00".repeat(128), /non-minimal length/, "two length octets where one suffices"],
  ["0280", /indefinite/, "indefinite length"],
  ["3080020101" + "0000", /indefinite/, "indefinite-length SEQUENCE (BER)"],
  ["0285010000000001", /length too large/, "five length octets"],
  ["02020005", /non-minimal INTEGER/, "INTEGER 5 with a redundant leading zero"],
  ["0202ff80", /non-minimal INTEGER/, "INTEGER -128 with a redundant leading FF"],
  ["0200", /empty INTEGER/, "empty INTEGER"],
  [
    "06022a86",
    /truncated OBJECT IDENTIFIER/,
    "OID whose last sub-identifier is cut (the issue's case)",
  ],
  ["0600", /empty OBJECT IDENTIFIER/, "empty OID"],
  ["06032a8001", /non-minimal OBJECT IDENTIFIER/, "OID sub-identifier with a leading 0x80"],
  ["06028001", /non-minimal OBJECT IDENTIFIER/, "OID first sub-identifier with a leading 0x80"],
  ["010101", /BOOLEAN/, "BOOLEAN true as 01 (DER requires FF)"],
  ["01020000", /BOOLEAN/, "two-octet BOOLEAN"],
  ["050100", /NULL must be empty/, "NULL with content"],
  ["0300", /malformed BIT STRING/, "BIT STRING without the unused-bits octet"],
  ["030208ff", /malformed BIT STRING/, "BIT STRING with 8 unused bits"],
  ["030101", /empty BIT STRING with unused bits/, "empty BIT STRING claiming unused bits"],
  ["030201ff", /unused bits must be zero/, "BIT STRING whose unused bit is set"],
  ["2403040105", /must be primitive/, "constructed OCTET STRING (BER)"],
  ["1000", /must be constructed/, "primitive SEQUENCE"],
  ["0000", /end-of-contents/, "end-of-contents octets"],
  ["1f0100", /high tag/, "high-tag-number form"],
  ["3003020105" + "00", /trailing/, "trailing byte after the element"],
  ["30030201", /truncated/, "SEQUENCE whose content is cut"],
  ["3003020205", /truncated/, "child longer than its parent"],
];

function hex(s: string): Uint8Array {
  return new Uint8Array(s.match(/../g)!.map((b) => parseInt(b, 16)));
}

Deno.test("der: BER-only and malformed encodings are refused (negative vectors)", () => {
  for (const [h, why, what] of NOT_DER) {
    assert.throws(() => decodeDer(hex(h)), why, what);
  }
});

Deno.test("der: the minimal encodings next to each negative vector are accepted", () => {
  for (
    const h of [
      "020105", // INTEGER 5
      "02020080", // INTEGER 128 needs its leading zero
      "0201ff", // INTEGER -1 (readInt refuses negatives, the reader does not)
      "0481" + "80" + "00".repeat(128), // 128 octets need the long form
      "06032a8648", // 1.2.840
      "0101ff",
      "0500",
      "030100", // empty BIT STRING
      "030201fe", // 7 used bits, unused bit zero
      "3000",
    ]
  ) decodeDer(hex(h));
  assert.equal(readOid(decodeDer(hex("06032a8648"))), "1.2.840");
});
