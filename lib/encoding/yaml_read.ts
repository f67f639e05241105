/**
 * Reading YAML (and JSON, which is YAML) input safely — the one reader for every YAML the tool
 * reads (sandbox, GitOps manifest, SignerPolicy, kubeconfig, kagent input):
 * - a byte-size cap checked before parsing (and while reading, for files and stdin);
 * - a linear pre-scan over the `yaml` package's lexer (constant memory, no recursion) that
 *   refuses, as soon as a limit is crossed and before any tree is built: nesting deeper
 *   than {@link MAX_YAML_DEPTH}, more than {@link MAX_YAML_DOCUMENTS} documents or more than
 *   {@link MAX_YAML_NODES} nodes (the `yaml` package recurses per nesting level and needs
 *   kilobytes per node, so none of this may reach it unchecked);
 * - alias-expansion limits against "billion laughs", unique keys, YAML 1.2 core schema, no
 *   custom tags, no merge keys;
 * - error messages that quote at most a short, escaped excerpt of the input.
 *
 * @module
 */
import { open } from "node:fs/promises";
import { isMap, isNode, isScalar, Lexer, parseAllDocuments, visit } from "yaml";
import { KarsError } from "../errors.ts";
import { readStreamBounded } from "../io/stream_read.ts";
import { sanitizeMessage } from "./quote.ts";

/** Largest input accepted, in bytes (4 MiB). */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/** Explicit tags allowed (the YAML core schema); anything else, `!!binary` included, is refused. */
const CORE_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`),
);

/** Most alias dereferences allowed per document. */
export const MAX_ALIAS_COUNT = 100;

/** Deepest nesting of collections (block and flow together) accepted. */
export const MAX_YAML_DEPTH = 100;
/** Most documents in one YAML stream. */
export const MAX_YAML_DOCUMENTS = 1000;
/**
 * Most nodes in one YAML stream, counted by the pre-scan: scalars, aliases, flow collections,
 * block entries (`-`, `?`) and pairs (`:`). The `yaml` package needs about 2–4 KB of memory per
 * node while parsing, so this bounds a parse to about 60 MB over the process's baseline. It
 * holds about 3,500 allowlist entries written with host and port (7 nodes each).
 */
export const MAX_YAML_NODES = 25_000;

/** Limits of {@link scanYaml} and {@link parseYamlDocuments}; each defaults to the constant. */
export interface YamlLimits {
  /** Largest input in bytes (default {@link MAX_INPUT_BYTES}). */
  maxBytes?: number;
  /** Deepest nesting (default {@link MAX_YAML_DEPTH}). */
  maxDepth?: number;
  /** Most documents (default {@link MAX_YAML_DOCUMENTS}). */
  maxDocuments?: number;
  /** Most nodes (default {@link MAX_YAML_NODES}). */
  maxNodes?: number;
}

/** What {@link scanYaml} counted. */
export interface YamlScan {
  /** Deepest nesting seen. */
  depth: number;
  /** Documents. */
  documents: number;
  /** Nodes (an upper estimate). */
  nodes: number;
  /** Lexer tokens read (the work done). */
  tokens: number;
}

const DOC_MARKER = "\u0002";
const SCALAR_MARKER = "\u001f";
const FLOW_END_MARKER = "\u0018";

/**
 * Scans a YAML stream with the `yaml` package's lexer — linear time, memory bounded by the
 * depth limit — and throws `KarsError("INPUT")` naming `source`, the line and the limit as
 * soon as one is crossed. Returns what it counted.
 *
 * @example
 * ```ts
 * import { scanYaml } from "./yaml_read.ts";
 * scanYaml("a: [1, {b: 2}]\n---\nc: 3\n", "x.yaml").depth; // 3
 * ```
 */
export function scanYaml(text: string, source: string, limits: YamlLimits = {}): YamlScan {
  const maxDepth = limits.maxDepth ?? MAX_YAML_DEPTH;
  const maxDocs = limits.maxDocuments ?? MAX_YAML_DOCUMENTS;
  const maxNodes = limits.maxNodes ?? MAX_YAML_NODES;
  let offset = 0; // of the current token in text
  let lineStart = 0;
  let flowDepth = 0;
  const blockCols: number[] = [];
  let nodes = 0;
  let documents = 0;
  let docPending = false; // a document marker was seen; a "---" right after is the same one
  let depthMax = 0;
  let tokens = 0;
  let nodeCol = -1; // column of the last node start on the current line (a key candidate)
  let nodeLine = -1;
  let lineNo = 0; // lines started so far (not the line number: that is computed on error)
  let scalarNext = false;

  const refuse = (why: string): never => {
    const line = lineOf(text, offset);
    throw new KarsError("INPUT", `${source} line ${line}: ${why}`, {
      details: { line, reason: "YamlLimit", tokens },
    });
  };
  const checkDepth = () => {
    const d = flowDepth + blockCols.length;
    if (d > depthMax) depthMax = d;
    if (d > maxDepth) {
      refuse(`YAML nesting is deeper than ${maxDepth} levels; refusing to parse it`);
    }
  };
  const countNode = () => {
    if (++nodes > maxNodes) {
      refuse(
        `YAML input has more than ${maxNodes} nodes (scalars, entries and pairs); refusing to parse it`,
      );
    }
  };
  const blockEntry = (col: number) => {
    while (blockCols.length > 0 && blockCols[blockCols.length - 1] > col) {
      blockCols.pop();
    }
    if (blockCols.length === 0 || blockCols[blockCols.length - 1] !== col) {
      blockCols.push(col);
      checkDepth();
    }
  };
  const newDocument = () => {
    if (++documents > maxDocs) {
      refuse(`YAML stream has more than ${maxDocs} documents; refusing to parse it`);
    }
    blockCols.length = 0;
  };

  for (const tok of new Lexer().lex(text)) {
    tokens++;
    if (tok === DOC_MARKER) {
      newDocument();
      docPending = true;
      continue;
    }
    if (tok === SCALAR_MARKER) {
      scalarNext = true;
      continue;
    }
    if (tok === FLOW_END_MARKER) continue;
    const col = offset - lineStart;
    const c0 = tok.charCodeAt(0);
    if (scalarNext) {
      scalarNext = false;
      countNode();
      nodeCol = col;
      nodeLine = lineNo;
    } else if (tok === "---") {
      if (!docPending) newDocument();
      docPending = false;
    } else if (tok === "\n" || tok === "\r\n" || c0 === 0x20 || c0 === 0x09 || c0 === 0x23) {
      // newline, space, comment: nothing (a document marker stays pending)
    } else {
      docPending = false;
      if (tok === "[" || tok === "{") {
        countNode();
        if (flowDepth === 0) {
          nodeCol = col;
          nodeLine = lineNo;
        }
        flowDepth++;
        checkDepth();
      } else if (tok === "]" || tok === "}") {
        if (flowDepth > 0) flowDepth--;
      } else if (tok === "-" || tok === "?") {
        if (flowDepth === 0) {
          countNode();
          blockEntry(col);
        }
      } else if (tok === ":") {
        countNode(); // a pair and its value (which may be an implicit null)
        if (flowDepth === 0 && nodeLine === lineNo && nodeCol >= 0) {
          blockEntry(nodeCol);
          nodeCol = -1;
        }
      } else if (c0 === 0x22 || c0 === 0x27 || c0 === 0x2a) {
        // quoted scalar or alias: a node (a key candidate in block context)
        countNode();
        if (flowDepth === 0) {
          nodeCol = col;
          nodeLine = lineNo;
        }
      } else if (c0 === 0x26 || c0 === 0x21) {
        // anchor or tag: the node it decorates starts here
        if (flowDepth === 0) {
          nodeCol = col;
          nodeLine = lineNo;
        }
      } else if (tok === "...") {
        blockCols.length = 0;
      }
    }
    // advance the position over the token's source text
    const nl = tok.lastIndexOf("\n");
    if (nl >= 0) {
      lineStart = offset + nl + 1;
      lineNo++;
      if (tok.length > 1 && tok !== "\r\n") nodeLine = -1; // a multi-line token ends any key
    }
    offset += tok.length;
  }
  return { depth: depthMax, documents, nodes, tokens };
}

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
 * `maxBytes`, any limit of {@link scanYaml} (checked first), syntax errors, duplicate keys,
 * unknown tags, excessive aliases.
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
  options: YamlLimits = {},
): unknown[] {
  const max = options.maxBytes ?? MAX_INPUT_BYTES;
  if (text.length > max || utf8Length(text, max) > max) throw tooLarge(source, max);
  scanYaml(text, source, options);
  const opts = {
    version: "1.2" as const,
    schema: "core" as const,
    merge: false,
    // Duplicate keys are refused below, in linear time: the package's own check compares each
    // key with every earlier one (quadratic: 10,000 keys took seconds).
    uniqueKeys: false,
    strict: true,
    prettyErrors: true,
    customTags: [],
  };
  let docs;
  try {
    docs = parseAllDocuments(text, opts);
  } catch (e) {
    throw new KarsError(
      "INPUT",
      `${source}: cannot parse YAML: ${sanitizeMessage((e as Error).message)}`,
      { cause: e },
    );
  }
  const list = Array.from(docs); // an empty stream is an empty array
  const out: unknown[] = [];
  for (let i = 0; i < list.length; i++) {
    const doc = list[i];
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) {
      const line = problem.linePos?.[0]?.line;
      const where = line ? ` line ${line}` : "";
      const msg = sanitizeMessage(
        problem.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, ""),
      );
      throw new KarsError("INPUT", `${source}${where}: invalid YAML: ${msg}`, {
        cause: problem,
        details: { line, document: i },
      });
    }
    visit(doc, (_key, node) => {
      if (isMap(node)) {
        const seen = new Set<unknown>();
        for (const pair of node.items) {
          if (!isScalar(pair.key)) continue; // collection keys are never equal to another
          const k = pair.key.value;
          if (seen.has(k)) {
            const line = pair.key.range ? lineOf(text, pair.key.range[0]) : undefined;
            throw new KarsError(
              "INPUT",
              `${source}${line ? ` line ${line}` : ""}: invalid YAML: Map keys must be unique`,
              { details: { line, document: i } },
            );
          }
          seen.add(k);
        }
      }
      if (isNode(node) && node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
        const line = node.range ? lineOf(text, node.range[0]) : undefined;
        throw new KarsError(
          "INPUT",
          `${source}${line ? ` line ${line}` : ""}: YAML tag ${
            sanitizeMessage(node.tag, 100)
          } is not allowed (plain YAML/JSON only)`,
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
        : sanitizeMessage(m);
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
    add(
      await readStreamBounded(options.stdin, {
        maxBytes: max,
        tooLarge: () => tooLarge(source, max),
      }),
    );
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
