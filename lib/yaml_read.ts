/**
 * Reading YAML (and JSON, which is YAML) input safely: a byte-size cap checked before
 * parsing (and while reading, for files and stdin), alias-expansion limits against
 * "billion laughs", unique keys, YAML 1.2 core schema, no custom tags, no merge keys.
 *
 * @module
 */
import { open } from "node:fs/promises";
import { isNode, parseAllDocuments, visit } from "yaml";
import { KarsError } from "./errors.ts";

/** Largest input accepted, in bytes (4 MiB). */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/** Explicit tags allowed (the YAML core schema); anything else, `!!binary` included, is refused. */
const CORE_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`),
);

/** Most alias dereferences allowed per document. */
export const MAX_ALIAS_COUNT = 100;

function tooLarge(source: string, max: number): KarsError {
  return new KarsError(
    "INPUT",
    `${source}: input is larger than ${max} bytes (${
      (max / 1048576).toFixed(0)
    } MiB); a sandbox file is never that large`,
    { details: { limit: max } },
  );
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function utf8Length(s: string, stopAbove: number): number {
  let n = 0;
  for (let i = 0; i < s.length && n <= stopAbove; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Parses every document of a YAML or JSON text into plain values (empty documents are
 * `null`). Throws `KarsError("INPUT")` naming `source` and the line for: input over
 * `maxBytes`, syntax errors, duplicate keys, unknown tags, excessive aliases.
 *
 * @example
 * ```ts
 * import { parseYamlDocuments } from "./yaml_read.ts";
 * parseYamlDocuments("a: 1\n---\nb: 2\n", "x.yaml"); // [{ a: 1 }, { b: 2 }]
 * ```
 */
export function parseYamlDocuments(
  text: string,
  source: string,
  options: { maxBytes?: number } = {},
): unknown[] {
  const max = options.maxBytes ?? MAX_INPUT_BYTES;
  if (text.length > max || utf8Length(text, max) > max) throw tooLarge(source, max);
  const opts = {
    version: "1.2" as const,
    schema: "core" as const,
    merge: false,
    uniqueKeys: true,
    strict: true,
    prettyErrors: true,
    customTags: [],
  };
  let docs;
  try {
    docs = parseAllDocuments(text, opts);
  } catch (e) {
    throw new KarsError("INPUT", `${source}: cannot parse YAML: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const list = Array.from(docs); // an empty stream is an empty array
  const out: unknown[] = [];
  for (let i = 0; i < list.length; i++) {
    const doc = list[i];
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) {
      const line = problem.linePos?.[0]?.line;
      const where = line ? ` line ${line}` : "";
      const msg = problem.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
      throw new KarsError("INPUT", `${source}${where}: invalid YAML: ${msg}`, {
        cause: problem,
        details: { line, document: i },
      });
    }
    visit(doc, (_key, node) => {
      if (isNode(node) && node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
        const line = node.range ? lineOf(text, node.range[0]) : undefined;
        throw new KarsError(
          "INPUT",
          `${source}${
            line ? ` line ${line}` : ""
          }: YAML tag ${node.tag} is not allowed (plain YAML/JSON only)`,
          { details: { line, document: i } },
        );
      }
    });
    try {
      out.push(doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
    } catch (e) {
      const m = (e as Error).message;
      const why = /alias/i.test(m)
        ? `too many YAML aliases (more than ${MAX_ALIAS_COUNT}); refusing a possible "billion laughs" expansion`
        : m;
      throw new KarsError("INPUT", `${source}: document ${i + 1}: ${why}`, { cause: e });
    }
  }
  return out;
}

/**
 * Reads a file, or `-` for stdin (pass the stream: the library never touches a runtime's
 * globals), as UTF-8 text. The size cap is enforced while reading, so an oversized input
 * is refused without being read whole. Errors: `KarsError` `INPUT` (too large, not UTF-8),
 * `NOT_FOUND` (no such file), `FILE` (other read errors).
 *
 * @example
 * ```ts
 * import { readInputText } from "./yaml_read.ts";
 * const text = await readInputText("-", { stdin: new Blob(["kind: KarsSandbox\n"]).stream() });
 * ```
 */
export async function readInputText(
  path: string,
  options: { stdin?: ReadableStream<Uint8Array>; maxBytes?: number } = {},
): Promise<string> {
  const max = options.maxBytes ?? MAX_INPUT_BYTES;
  const source = path === "-" ? "<stdin>" : path;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const add = (c: Uint8Array) => {
    total += c.length;
    if (total > max) throw tooLarge(source, max);
    chunks.push(c);
  };
  if (path === "-") {
    if (!options.stdin) {
      throw new KarsError("USAGE", "reading from stdin ('-') needs a stdin stream");
    }
    const reader = options.stdin.getReader();
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        add(value);
      }
    } catch (e) {
      await reader.cancel().catch(() => {});
      throw e;
    } finally {
      reader.releaseLock();
    }
  } else {
    let fh;
    try {
      fh = await open(path, "r");
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "ENOENT") {
        throw new KarsError("NOT_FOUND", `${path}: no such file`, { cause: e });
      }
      throw new KarsError("FILE", `${path}: cannot open (${code ?? (e as Error).message})`, {
        cause: e,
      });
    }
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw new KarsError("FILE", `${path}: is a directory, not a file`);
      if (st.isFile() && st.size > max) throw tooLarge(source, max);
      const buf = new Uint8Array(64 * 1024);
      while (true) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        add(buf.slice(0, bytesRead));
      }
    } catch (e) {
      if (e instanceof KarsError) throw e;
      throw new KarsError("FILE", `${path}: cannot read (${(e as Error).message})`, { cause: e });
    } finally {
      await fh.close();
    }
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(all);
  } catch (e) {
    throw new KarsError("INPUT", `${source}: not valid UTF-8 text`, { cause: e });
  }
}
