/**
 * The endpoint difference between two allowlists: what a reviewer needs to see in a pull
 * request. Pure and deterministic (inputs are canonical: sorted, deduplicated).
 *
 * @module
 */
import { compareEndpoints, type Endpoint } from "./canonical.ts";

/** The difference from an old allowlist to a new one. */
export interface AllowlistDiff {
  /** Endpoints only in the new allowlist, in canonical order. */
  added: Endpoint[];
  /** Endpoints only in the old allowlist, in canonical order. */
  removed: Endpoint[];
  /** How many endpoints are in both. */
  unchanged: number;
}

const key = (e: Endpoint) => `${e.host}:${e.port}`;

/**
 * Compares two endpoint lists on (host, port). A changed port is one removal and one addition.
 *
 * @example
 * ```ts
 * import { diffAllowlists } from "./diff.ts";
 * const d = diffAllowlists(
 *   [{ host: "a.example", port: 443 }, { host: "b.example", port: 443 }],
 *   [{ host: "a.example", port: 8443 }, { host: "b.example", port: 443 }],
 * );
 * d.added; // [{ host: "a.example", port: 8443 }]
 * d.removed; // [{ host: "a.example", port: 443 }]
 * d.unchanged; // 1
 * ```
 */
export function diffAllowlists(
  oldEndpoints: readonly Endpoint[],
  newEndpoints: readonly Endpoint[],
): AllowlistDiff {
  const before = new Set(oldEndpoints.map(key));
  const after = new Set(newEndpoints.map(key));
  const added = newEndpoints.filter((e) => !before.has(key(e)));
  const removed = oldEndpoints.filter((e) => !after.has(key(e)));
  const copy = (l: Endpoint[]) =>
    l.map((e) => ({ host: e.host, port: e.port })).sort(compareEndpoints);
  return {
    added: copy(added),
    removed: copy(removed),
    unchanged: [...after].filter((k) => before.has(k)).length,
  };
}

/**
 * Hosts whose port set changed (a host both added and removed under another port).
 *
 * @example
 * ```ts
 * import { changedPortHosts } from "./diff.ts";
 * changedPortHosts({ added: [{ host: "a", port: 1 }], removed: [{ host: "a", port: 2 }], unchanged: 0 });
 * // ["a"]
 * ```
 */
export function changedPortHosts(d: AllowlistDiff): string[] {
  const removed = new Set(d.removed.map((e) => e.host));
  return [...new Set(d.added.map((e) => e.host).filter((h) => removed.has(h)))];
}

/**
 * The diff as plain text, one endpoint per line: `+ host:port`, `- host:port`, then the
 * unchanged count; a host whose port changed is marked `(port changed)`.
 *
 * @example
 * ```ts
 * import { renderDiffText } from "./diff.ts";
 * renderDiffText({ added: [{ host: "a.example", port: 443 }], removed: [], unchanged: 2 });
 * // "+ a.example:443\n= 2 unchanged\n"
 * ```
 */
export function renderDiffText(d: AllowlistDiff): string {
  const changed = new Set(changedPortHosts(d));
  const mark = (e: Endpoint) => changed.has(e.host) ? " (port changed)" : "";
  let s = "";
  for (const e of d.added) s += `+ ${key(e)}${mark(e)}\n`;
  for (const e of d.removed) s += `- ${key(e)}${mark(e)}\n`;
  s += `= ${d.unchanged} unchanged\n`;
  return s;
}
