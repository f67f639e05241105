/**
 * The standalone binary's light `Headers` and `Response` (scripts/node_web.ts) behave as the
 * runtime's own classes on the same inputs (Deno's are native and follow the Fetch standard),
 * including the refusals; `installWebGlobals` changes nothing outside Node.
 */
import assert from "assert";
import { installWebGlobals, LightHeaders, LightResponse } from "../../scripts/node_web.ts";

type Outcome = { ok: true; value: unknown } | { ok: false; error: string };

async function outcome(f: () => unknown): Promise<Outcome> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    return { ok: false, error: (e as Error).constructor.name };
  }
}

const HEADER_INITS: unknown[] = [
  undefined,
  { Accept: "a", "X-Multi": " spaced\t" },
  [["Set-Cookie", "a=1"], ["set-cookie", "b=2"], ["Accept", "x"], ["accept", "y"]],
  new Headers({ "WWW-Authenticate": 'Bearer realm="r"', b: "2", a: "1" }),
  [["bad name", "v"]],
  { "x-a": "line\nbreak" },
  { "x-a": "nul\0" },
  { "x-a": "wide \u2014" },
  { "x-a": "latin1 \u00e9" },
  [["only-one"]],
  "not an object",
  { "": "empty name" },
  { "x-empty": "" },
];

function headerView(h: Headers | LightHeaders): unknown {
  return {
    entries: [...h.entries()],
    keys: [...h.keys()],
    get: ["accept", "ACCEPT", "set-cookie", "x-multi", "missing"].map((n) => h.get(n)),
    has: h.has("Accept"),
    setCookie: h.getSetCookie(),
    tag: Object.prototype.toString.call(h),
  };
}

Deno.test("LightHeaders equals the runtime's Headers on construction, reads and refusals", async () => {
  for (const init of HEADER_INITS) {
    const native = await outcome(() => headerView(new Headers(init as HeadersInit)));
    const light = await outcome(() => headerView(new LightHeaders(init as HeadersInit)));
    assert.deepEqual(light, native, `init ${Deno.inspect(init)}`);
  }
  // Mutations.
  const steps: [string, string, string?][] = [
    ["append", "Accept", "a"],
    ["append", "accept", " b "],
    ["set", "X-One", "1"],
    ["append", "Set-Cookie", "c=1"],
    ["append", "Set-Cookie", "d=2"],
    ["delete", "x-one"],
    ["set", "bad name", "v"],
    ["append", "x", "bad\r"],
    ["delete", "bad name"],
  ];
  const n = new Headers(), l = new LightHeaders();
  for (const [op, name, value] of steps) {
    // deno-lint-ignore no-explicit-any
    const a = await outcome(() => (n as any)[op](name, value));
    // deno-lint-ignore no-explicit-any
    const b = await outcome(() => (l as any)[op](name, value));
    assert.deepEqual(b, a, `${op} ${name}`);
    assert.deepEqual(headerView(l), headerView(n), `after ${op} ${name}`);
  }
  const seen: string[] = [];
  l.forEach((v, k, p) => seen.push(`${k}=${v}:${p === l}`));
  const want: string[] = [];
  n.forEach((v, k, p) => want.push(`${k}=${v}:${p === n}`));
  assert.deepEqual(seen, want);
  // Either class initialises the other.
  assert.deepEqual([...new Headers(l as unknown as Headers)], [...n]);
  assert.deepEqual([...new LightHeaders(n)], [...n]);
});

const enc = new TextEncoder();

function bodies(): [string, () => BodyInit | null | undefined][] {
  return [
    ["undefined", () => undefined],
    ["null", () => null],
    ["string", () => '{"a":[1,2]}'],
    ["empty string", () => ""],
    ["utf-8 with BOM", () => new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])],
    ["bytes", () => enc.encode("bytes \u00e9")],
    ["subarray", () => enc.encode("xxpayloadxx").subarray(2, 9)],
    ["ArrayBuffer", () => enc.encode("ab").buffer],
    ["URLSearchParams", () => new URLSearchParams({ a: "1", b: "x y" })],
    ["stream", () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(enc.encode("str"));
          c.enqueue(enc.encode("eam"));
          c.close();
        },
      })],
    ["stream of strings", () =>
      new ReadableStream<string>({
        start(c) {
          c.enqueue("not bytes");
          c.close();
        },
      }) as unknown as ReadableStream<Uint8Array>],
  ];
}

const INITS: (ResponseInit | undefined)[] = [
  undefined,
  { status: 201, statusText: "Created", headers: { "Content-Type": "application/json" } },
  { status: 404, headers: [["x-a", "1"]] },
  { status: 204 },
  { status: 304 },
  { status: 199 },
  { status: 600 },
  { status: 200.5 },
];

const READS = [
  "text",
  "json",
  "arrayBuffer",
  "bytes",
  "blob",
  "stream",
  "one chunk",
  "locked",
  "cancel",
  "clone",
];

async function responseView(r: Response | LightResponse, read: string): Promise<unknown> {
  const head = {
    status: r.status,
    statusText: r.statusText,
    ok: r.ok,
    url: r.url,
    redirected: r.redirected,
    type: r.type,
    headers: [...r.headers],
    hasBody: r.body !== null,
    tag: Object.prototype.toString.call(r),
  };
  const got = await outcome(async () => {
    switch (read) {
      case "text":
        return await r.text();
      case "json":
        return await r.json();
      case "arrayBuffer":
        return [...new Uint8Array(await r.arrayBuffer())];
      case "bytes":
        return [...await r.bytes()];
      case "blob": {
        const b = await r.blob();
        return [b.type, await b.text()];
      }
      case "stream": {
        if (!r.body) return null;
        const chunks: number[] = [];
        for await (const c of r.body) chunks.push(...c);
        return chunks;
      }
      case "one chunk": {
        if (!r.body) return null;
        const reader = r.body.getReader();
        const first = await reader.read();
        reader.releaseLock();
        return [first.done, r.bodyUsed];
      }
      case "locked": {
        if (!r.body) return null;
        r.body.getReader();
        return [r.bodyUsed, await outcome(() => r.clone())];
      }
      case "cancel":
        await r.body?.cancel("why");
        return r.bodyUsed;
      case "clone": {
        const c = r.clone();
        return [await c.text(), await r.text()];
      }
      default:
        throw new Error(read);
    }
  });
  const again = await outcome(() => r.text());
  return { head, got, bodyUsed: r.bodyUsed, again };
}

Deno.test("LightResponse equals the runtime's Response for byte, text and stream bodies", async () => {
  for (const [label, body] of bodies()) {
    for (const init of INITS) {
      for (const read of READS) {
        const native = await outcome(() => responseView(new Response(body(), init), read));
        const light = await outcome(() => responseView(new LightResponse(body(), init), read));
        assert.deepEqual(light, native, `${label}, ${JSON.stringify(init)}, ${read}`);
      }
    }
  }
  // Response.json.
  const a = await responseView(Response.json({ x: 1 }, { status: 202 }), "text");
  const b = await responseView(LightResponse.json({ x: 1 }, { status: 202 }), "text");
  assert.deepEqual(b, a);
  // A body the light class does not handle goes to the runtime's own class.
  const blob = new LightResponse(new Blob(["blob"], { type: "text/x" }));
  assert.equal(await blob.text(), "blob");
  assert.equal(blob.headers.get("content-type"), "text/x");
});

Deno.test("installWebGlobals leaves Deno's native classes alone", () => {
  const before = [globalThis.Headers, globalThis.Response, globalThis.Request];
  assert.equal(installWebGlobals(), false);
  assert.deepEqual([globalThis.Headers, globalThis.Response, globalThis.Request], before);
});
