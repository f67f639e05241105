/**
 * Light `Headers` and `Response` for the standalone binary (Node 20). Node defines the fetch
 * globals lazily: the first touch of `Headers`, `Response` or `Request` evaluates the whole
 * bundled undici, about 30 ms of CPU on this machine — more than the rest of `kars`'s start-up
 * together, and paid by every run that makes a request, since the registry client builds a
 * `Headers` per request and the deadline wrapper a `Response` per response. `deno run` has
 * these natively.
 *
 * {@link installWebGlobals} (called by `scripts/node_main.ts` under Node only, before any
 * command runs) replaces the three globals:
 * - `Headers`: {@link LightHeaders}, the WHATWG behaviour the library relies on (names
 *   validated and lower-cased, values trimmed and checked for NUL/CR/LF and non-Latin-1,
 *   `get` joining with ", ", sorted iteration, `getSetCookie`);
 * - `Response`: {@link LightResponse} for bodies of `null`, strings, bytes, `URLSearchParams`
 *   and `ReadableStream`s (what the library and its HTTP transport build); any other body
 *   (`Blob`, `FormData`) and the static `error`/`redirect` are handed to Node's own class;
 * - `Request`: Node's own class, loaded when first constructed; `x instanceof Request` does not
 *   load it (no such object can exist before).
 * `fetch` stays Node's. `tests/ship/node_web_test.ts` compares both classes with the runtime's
 * own on the same inputs.
 *
 * @module
 */

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const EDGE_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;

function headerName(name: unknown): string {
  const n = String(name);
  if (!TOKEN.test(n)) throw new TypeError(`Headers: invalid header name ${JSON.stringify(n)}`);
  return n.toLowerCase();
}

function headerValue(value: unknown): string {
  const v = String(value).replace(EDGE_WS, "");
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13 || c > 255) {
      throw new TypeError("Headers: invalid header value");
    }
  }
  return v;
}

/**
 * `Headers` as the Fetch standard defines it, without Node's undici.
 *
 * @example
 * ```ts
 * import { LightHeaders } from "./node_web.ts";
 * const h = new LightHeaders({ Accept: "a" });
 * h.append("accept", "b");
 * h.get("ACCEPT"); // "a, b"
 * ```
 */
export class LightHeaders {
  #map = new Map<string, string[]>();

  /** Fills from a `Headers`, an iterable of pairs, or a record. */
  constructor(init?: HeadersInit | Iterable<readonly [string, string]>) {
    if (init === undefined) return;
    if (init === null || (typeof init !== "object" && typeof init !== "function")) {
      throw new TypeError("Headers: init must be an object");
    }
    const it = (init as { [Symbol.iterator]?: unknown })[Symbol.iterator];
    if (typeof it === "function") {
      for (const pair of init as Iterable<Iterable<string>>) {
        const p = [...pair];
        if (p.length !== 2) throw new TypeError("Headers: each pair needs a name and a value");
        this.append(p[0], p[1]);
      }
    } else {
      for (const k of Object.keys(init)) this.append(k, (init as Record<string, string>)[k]);
    }
  }

  /** Adds a value (kept beside earlier ones). */
  append(name: string, value: string): void {
    const n = headerName(name), v = headerValue(value);
    const vs = this.#map.get(n);
    if (vs) vs.push(v);
    else this.#map.set(n, [v]);
  }

  /** Replaces every value of `name`. */
  set(name: string, value: string): void {
    this.#map.set(headerName(name), [headerValue(value)]);
  }

  /** Removes `name`. */
  delete(name: string): void {
    this.#map.delete(headerName(name));
  }

  /** The values of `name` joined with ", ", or null. */
  get(name: string): string | null {
    return this.#map.get(headerName(name))?.join(", ") ?? null;
  }

  /** Whether `name` is present. */
  has(name: string): boolean {
    return this.#map.has(headerName(name));
  }

  /** The `set-cookie` values, one each. */
  getSetCookie(): string[] {
    return [...(this.#map.get("set-cookie") ?? [])];
  }

  /** Sorted by name; `set-cookie` values one pair each, others combined. */
  *entries(): IterableIterator<[string, string]> {
    for (const n of [...this.#map.keys()].sort()) {
      const vs = this.#map.get(n);
      if (!vs) continue;
      if (n === "set-cookie") { for (const v of vs) yield [n, v]; }
      else yield [n, vs.join(", ")];
    }
  }

  /** Names, as {@link entries} orders them. */
  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  /** Values, as {@link entries} orders them. */
  *values(): IterableIterator<string> {
    for (const [, v] of this.entries()) yield v;
  }

  /** Calls `cb(value, name, this)` for each entry. */
  forEach(cb: (value: string, name: string, parent: LightHeaders) => void, thisArg?: unknown) {
    for (const [k, v] of this.entries()) cb.call(thisArg, v, k, this);
  }

  /** Same as {@link entries}. */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** `[object Headers]`. */
  get [Symbol.toStringTag](): string {
    return "Headers";
  }
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** WebIDL `unsigned short` conversion (what `ResponseInit.status` goes through). */
function unsignedShort(x: unknown): number {
  const n = Number(x);
  if (!Number.isFinite(n)) return 0;
  const m = Math.trunc(n) % 65536;
  return m < 0 ? m + 65536 : m;
}
const enc = new TextEncoder();

type Real = Record<"Headers" | "Response" | "Request", () => unknown>;
/** Getters of Node's own fetch classes, taken before {@link installWebGlobals} replaced them. */
const real: Partial<Real> = {};

function realClass(name: keyof Real): new (...a: unknown[]) => object {
  const get = real[name];
  const c = get ? get() : (globalThis as Record<string, unknown>)[name];
  return c as new (...a: unknown[]) => object;
}

/**
 * `Response` as the Fetch standard defines it for byte, text and stream bodies, without
 * Node's undici; other bodies are given to the runtime's own class (see the module doc).
 *
 * @example
 * ```ts
 * import { LightResponse } from "./node_web.ts";
 * const r = new LightResponse('{"a":1}', { status: 201 });
 * await r.json(); // { a: 1 }
 * ```
 */
export class LightResponse {
  /** HTTP status. */
  readonly status!: number;
  /** Reason phrase. */
  readonly statusText!: string;
  /** Response headers. */
  readonly headers!: LightHeaders;
  /** Always `default` (constructed responses). */
  readonly type = "default";
  /** The body, as bytes or as the stream given (the source); null when there is none. */
  #bytes: Uint8Array | null = null;
  #source: ReadableStream<Uint8Array> | null = null;
  /** The stream handed out as `body`: reads through it disturb the body. */
  #exposed: ReadableStream<Uint8Array> | null = null;
  #hasBody = false;
  /** Disturbed: read (by a reader of `body` or a consumer method) or cancelled. */
  #used = false;
  #url = "";
  #redirected = false;

  /** Same arguments as `new Response(body, init)`. */
  constructor(body?: BodyInit | null, init: ResponseInit = {}) {
    const status = init.status === undefined ? 200 : unsignedShort(init.status);
    if (status < 200 || status > 599) {
      throw new RangeError(`Response: status ${status} is outside 200-599`);
    }
    let bytes: Uint8Array | null = null, stream: ReadableStream<Uint8Array> | null = null;
    let type: string | null = null;
    if (body === undefined || body === null) { /* no body */ }
    else if (typeof body === "string") {
      bytes = enc.encode(body);
      type = "text/plain;charset=UTF-8";
    } else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body.slice(0));
    else if (ArrayBuffer.isView(body)) {
      bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice();
    } else if (body instanceof URLSearchParams) {
      bytes = enc.encode(body.toString());
      type = "application/x-www-form-urlencoded;charset=UTF-8";
    } else if (body instanceof ReadableStream) stream = body;
    else {
      // Blob, FormData, …: the runtime's own Response (loads undici; never on our paths).
      return Reflect.construct(realClass("Response"), [body, init]) as LightResponse;
    }
    const hasBody = bytes !== null || stream !== null;
    if (hasBody && NULL_BODY.has(status)) {
      throw new TypeError(`Response: status ${status} cannot have a body`);
    }
    this.status = status;
    this.statusText = init.statusText === undefined ? "" : String(init.statusText);
    this.headers = new LightHeaders(init.headers as HeadersInit | undefined);
    if (type !== null && !this.headers.has("content-type")) this.headers.set("content-type", type);
    this.#bytes = bytes;
    this.#source = stream;
    this.#hasBody = hasBody;
  }

  /** Whether the status is 200–299. */
  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  /** The final URL ("" for a constructed response). */
  get url(): string {
    return this.#url;
  }

  /** Whether a redirect was followed. */
  get redirected(): boolean {
    return this.#redirected;
  }

  /** The body as a stream, or null. */
  get body(): ReadableStream<Uint8Array> | null {
    if (!this.#hasBody) return null;
    // Pulled only on demand (high-water mark 0), so that a read, and only a read, disturbs
    // the body as the standard's `bodyUsed` says.
    this.#exposed ??= new ReadableStream<Uint8Array>({
      pull: async (c) => {
        this.#used = true;
        if (this.#bytes) {
          const b = this.#bytes;
          this.#bytes = null;
          c.enqueue(b);
          c.close();
          return;
        }
        if (!this.#source) return c.close();
        this.#reader ??= this.#source.getReader();
        const { done, value } = await this.#reader.read();
        if (done) c.close();
        else c.enqueue(value);
      },
      cancel: async (reason) => {
        this.#used = true;
        this.#bytes = null;
        if (this.#reader) await this.#reader.cancel(reason);
        else await this.#source?.cancel(reason);
      },
    }, { highWaterMark: 0 });
    return this.#exposed;
  }
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  /** Whether the body was read or cancelled. */
  get bodyUsed(): boolean {
    return this.#used;
  }

  async #consume(): Promise<Uint8Array> {
    if (!this.#hasBody) return new Uint8Array(0); // a null body is never "used"
    if (this.#used || this.#exposed?.locked) {
      throw new TypeError("Response: body already used or locked");
    }
    if (this.#bytes && !this.#exposed) {
      this.#used = true;
      const b = this.#bytes;
      this.#bytes = null;
      return b;
    }
    const reader = this.body!.getReader();
    const parts: Uint8Array[] = [];
    let n = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!(value instanceof Uint8Array)) throw new TypeError("Response: body chunk is not bytes");
      parts.push(value);
      n += value.length;
    }
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(n);
    let off = 0;
    for (const p of parts) (out.set(p, off), off += p.length);
    return out;
  }

  /** The body's bytes. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.#consume();
    return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
      ? b.buffer as ArrayBuffer
      : b.slice().buffer as ArrayBuffer;
  }

  /** The body's bytes as a `Uint8Array`. */
  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.arrayBuffer());
  }

  /** The body decoded as UTF-8 (a leading BOM dropped). */
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.#consume());
  }

  /** The body parsed as JSON. */
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  /** The body as a `Blob` typed by `content-type`. */
  async blob(): Promise<Blob> {
    return new Blob([await this.arrayBuffer()], { type: this.headers.get("content-type") ?? "" });
  }

  /** Form data, by the runtime's own `Response`. */
  async formData(): Promise<FormData> {
    const R = realClass("Response") as unknown as typeof Response;
    return await new R(await this.arrayBuffer(), { headers: [...this.headers] }).formData();
  }

  /** A copy whose body can be read independently. */
  clone(): LightResponse {
    if (this.#used || this.#exposed?.locked) {
      throw new TypeError("Response: body already used or locked");
    }
    let body: BodyInit | null = null;
    if (this.#bytes) body = this.#bytes as BodyInit;
    else if (this.#source) {
      // Tee the source (not `body`): reading the copy must not disturb this response.
      // (Not yet read: a `body` handed out earlier reads the new source when pulled.)
      const [a, b] = this.#source.tee();
      this.#source = a;
      body = b;
    }
    const r = new LightResponse(body, {
      status: this.status,
      statusText: this.statusText,
      headers: [...this.headers],
    });
    r.#url = this.#url;
    r.#redirected = this.#redirected;
    return r;
  }

  /** `Response.json(data, init)`. */
  static json(data: unknown, init: ResponseInit = {}): LightResponse {
    const r = new LightResponse(JSON.stringify(data), init);
    if (!new LightHeaders(init.headers as HeadersInit | undefined).has("content-type")) {
      r.headers.set("content-type", "application/json");
    }
    return r;
  }

  /** `Response.error()`, by the runtime's own class. */
  static error(): Response {
    return (realClass("Response") as unknown as typeof Response).error();
  }

  /** `Response.redirect(url, status)`, by the runtime's own class. */
  static redirect(url: string | URL, status?: number): Response {
    return (realClass("Response") as unknown as typeof Response).redirect(url, status);
  }

  /** `[object Response]`. */
  get [Symbol.toStringTag](): string {
    return "Response";
  }
}

/**
 * Under Node (not Bun or Deno, whose classes are native), replaces the global `Headers` and
 * `Response` with the light ones and makes `Request` load Node's class only when
 * constructed. Returns whether it did. Call once, before any command runs.
 *
 * @example
 * ```ts
 * import { installWebGlobals } from "./node_web.ts";
 * installWebGlobals();
 * ```
 */
export function installWebGlobals(): boolean {
  const g = globalThis as Record<string, unknown>;
  const proc = g.process as { versions?: Record<string, string> } | undefined;
  if (!proc?.versions?.node || proc.versions.bun || g.Deno !== undefined) return false;
  for (const name of ["Headers", "Response", "Request"] as const) {
    const d = Object.getOwnPropertyDescriptor(globalThis, name);
    if (!d?.get || !d.configurable) return false; // already loaded, or not Node's lazy globals
    real[name] = d.get.bind(globalThis);
  }
  let loaded: (new (...a: unknown[]) => object) | undefined;
  const LazyRequest = function Request(this: unknown, ...args: unknown[]) {
    if (new.target === undefined) throw new TypeError("Request: use new");
    loaded ??= realClass("Request");
    return Reflect.construct(loaded, args, loaded);
  };
  Object.defineProperty(LazyRequest, Symbol.hasInstance, {
    value: (x: unknown) => loaded !== undefined && x instanceof loaded,
  });
  const define = (name: string, value: unknown) =>
    Object.defineProperty(globalThis, name, {
      value,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  define("Headers", LightHeaders);
  define("Response", LightResponse);
  define("Request", LazyRequest);
  return true;
}
