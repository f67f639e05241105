/**
 * SHA-256 of 1 MiB and 64 MiB: the streaming digest (`lib/encoding/digest.ts` `digestStream`, noble,
 * 64 KiB chunks) against `crypto.subtle.digest` over the same bytes, in the same run.
 *
 * @module
 */
import { digestStream } from "../lib/encoding/digest.ts";
import { type BenchCase, register } from "./harness.ts";

const CHUNK = 64 * 1024;

function data(size: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) b[i] = i & 255;
  return b;
}

function chunked(b: Uint8Array): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= b.length) return c.close();
      c.enqueue(b.subarray(off, off + CHUNK));
      off += CHUNK;
    },
  });
}

/** The cases. */
export const cases: BenchCase[] = [1, 64].flatMap((mib) => {
  const b = data(mib * 1024 * 1024);
  const units = { count: b.length, label: "byte" };
  return [
    {
      group: `sha256 ${mib} MiB`,
      name: "digestStream (noble, 64 KiB chunks)",
      fn: () => digestStream(chunked(b)),
      units,
    },
    {
      group: `sha256 ${mib} MiB`,
      name: "crypto.subtle.digest (one buffer)",
      fn: () => crypto.subtle.digest("SHA-256", b),
      units,
    },
  ];
});

register(cases);
