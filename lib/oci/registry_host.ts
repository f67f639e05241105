/**
 * Registry host strings: the one strict parser for `host[:port]` (used wherever a registry
 * is read — flags, environment, GitOps manifests, sandboxes, SignerPolicy) and the check of a
 * host against an allow-list and the addresses no registry may have (link-local and cloud
 * metadata endpoints).
 *
 * A registry string that reads as one host to a reviewer must be the host contacted. So the
 * parser refuses userinfo (`myacr.azurecr.io:443@127.0.0.1:5101`), paths, queries,
 * fragments, whitespace, empty ports, and every host the URL standard would rewrite into
 * another one (`127.1`, `0x7f.0.0.1`, `2130706433`, trailing dots, non-ASCII names).
 *
 * @module
 */
import { KarsError } from "../errors.ts";

/** Longest registry string accepted (a 253-character name, `:`, a 5-digit port). */
export const MAX_REGISTRY_HOST_LENGTH = 259;

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 =
  /^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

/**
 * Host names that are cloud metadata services (refused as registries). IP literals of those
 * services are covered by {@link checkRegistryAllowed}'s address rules.
 */
export const METADATA_HOSTNAMES: readonly string[] = [
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
];

function quote(s: string): string {
  const shown = s.length > 200 ? `${s.slice(0, 200)}…` : s;
  return JSON.stringify(shown);
}

/**
 * Parses a registry string as a strict `host[:port]` and returns it lower-cased (an IPv6
 * literal in its canonical bracketed form). The host is a DNS name (ASCII labels of
 * `[a-z0-9-]`, at most 253 characters), a dotted-decimal IPv4 address, or a bracketed IPv6
 * address; the port, when given, is 1–65535 without leading zeros. Throws
 * `KarsError("INPUT")` naming `what` (the input, e.g. `allowlistRef.registry`) and the rule.
 *
 * @example
 * ```ts
 * import { parseRegistryHost } from "./registry_host.ts";
 * parseRegistryHost("MyACR.azurecr.io", "registry"); // "myacr.azurecr.io"
 * parseRegistryHost("127.0.0.1:5000", "registry"); // "127.0.0.1:5000"
 * parseRegistryHost("[::1]:5000", "registry"); // "[::1]:5000"
 * // parseRegistryHost("myacr.azurecr.io:443@127.0.0.1:5101", "registry") throws INPUT
 * ```
 */
export function parseRegistryHost(s: string, what: string): string {
  const bad = (why: string): KarsError =>
    new KarsError(
      "INPUT",
      `${what} ${
        typeof s === "string" ? quote(s) : String(s)
      } is not a registry host: ${why}; write host[:port], e.g. myregistry.azurecr.io or 127.0.0.1:5000`,
      { details: { input: what } },
    );
  if (typeof s !== "string") throw bad("not a string");
  if (s.length === 0) throw bad("it is empty");
  if (s.length > MAX_REGISTRY_HOST_LENGTH) {
    throw bad(`longer than ${MAX_REGISTRY_HOST_LENGTH} characters`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(s)) throw bad("it contains whitespace or control characters");
  if (s.includes("@")) throw bad("it contains '@' (user information is not allowed)");
  if (s.includes("://")) throw bad("it contains a URL scheme");
  if (s.includes("/") || s.includes("\\")) {
    throw bad("it contains a path (no '/'; the path belongs in the repository)");
  }
  if (s.includes("?")) throw bad("it contains a query");
  if (s.includes("#")) throw bad("it contains a fragment");
  if (!/^[\x21-\x7e]+$/.test(s)) throw bad("it contains non-ASCII characters");
  const lower = s.toLowerCase();
  let host: string;
  let port: string | undefined;
  if (lower.startsWith("[")) {
    const close = lower.indexOf("]");
    if (close < 0) throw bad("an IPv6 address lacks its closing ']'");
    host = lower.slice(0, close + 1);
    const rest = lower.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) throw bad("unexpected characters after the IPv6 address");
      port = rest.slice(1);
    }
    if (!/^\[[0-9a-f:.]+\]$/.test(host)) throw bad("invalid IPv6 address");
    let canon: string;
    try {
      canon = new URL(`http://${host}/`).hostname;
    } catch {
      throw bad("invalid IPv6 address");
    }
    host = canon;
  } else {
    const colon = lower.indexOf(":");
    if (colon >= 0) {
      host = lower.slice(0, colon);
      port = lower.slice(colon + 1);
      if (port.includes(":")) throw bad("more than one ':' (an IPv6 address needs [brackets])");
    } else {
      host = lower;
    }
    if (host === "") throw bad("the host is empty");
    if (host.length > 253) throw bad("the host name is longer than 253 characters");
    const labels = host.split(".");
    if (labels.some((l) => l === "")) throw bad("empty label (leading, trailing or double '.')");
    const last = labels[labels.length - 1];
    // The URL standard reads a name whose last label is numeric as an IPv4 address, in any of
    // several spellings; only the canonical dotted-decimal one is accepted.
    if (/^(?:0x[0-9a-f]*|[0-9]+)$/.test(last)) {
      if (!IPV4.test(host)) {
        throw bad(
          "a numeric host must be a dotted-decimal IPv4 address (four parts 0-255, no leading zeros)",
        );
      }
    } else if (!labels.every((l) => LABEL.test(l))) {
      throw bad(
        "invalid host name (labels of a-z, 0-9 and '-', not starting or ending with '-', at most 63 characters)",
      );
    }
  }
  if (port !== undefined) {
    if (port === "") throw bad("the port after ':' is empty");
    if (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535) {
      throw bad("the port must be a number from 1 to 65535 without leading zeros");
    }
    return `${host}:${port}`;
  }
  return host;
}

/** Result of {@link checkRegistryAllowed}. */
export type RegistryAllowed = { ok: true } | { ok: false; why: string };

function hostOnly(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon >= 0 ? host.slice(0, colon) : host;
}

/** Expands a canonical (URL-serialised) IPv6 literal without brackets into 8 groups. */
function ipv6Groups(addr: string): number[] | undefined {
  const halves = addr.split("::");
  if (halves.length > 2) return undefined;
  const part = (p: string): number[] => p === "" ? [] : p.split(":").map((g) => parseInt(g, 16));
  const head = part(halves[0]);
  const tail = halves.length === 2 ? part(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const groups = [...head, ...new Array(fill).fill(0), ...tail];
  return groups.some((g) => Number.isNaN(g)) ? undefined : groups;
}

/** Why `host` (no port) is a forbidden registry address, or `undefined`. */
function forbiddenAddress(host: string): string | undefined {
  if (METADATA_HOSTNAMES.includes(host)) return "it is a cloud metadata service host name";
  if (IPV4.test(host)) {
    const [a, b] = host.split(".").map(Number);
    if (a === 169 && b === 254) {
      return "it is a link-local address (169.254.0.0/16, where cloud metadata services live)";
    }
    if (host === "100.100.100.200") return "it is a cloud metadata service address";
    return undefined;
  }
  if (host.startsWith("[")) {
    const g = ipv6Groups(host.slice(1, -1));
    if (!g) return "it is not a valid IPv6 address";
    if ((g[0] & 0xffc0) === 0xfe80) return "it is an IPv6 link-local address (fe80::/10)";
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms of a forbidden IPv4.
    if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) {
      const v4 = `${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`;
      const why = forbiddenAddress(v4);
      if (why) return `${why.replace(/^it is/, "it embeds")} (${v4})`;
    }
    // AWS's IPv6 instance metadata endpoint fd00:ec2::254.
    if (g.join(",") === [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254].join(",")) {
      return "it is a cloud metadata service address";
    }
  }
  return undefined;
}

/**
 * Decides whether a registry host (as returned by {@link parseRegistryHost}) may be
 * contacted. Always refused: link-local addresses (169.254.0.0/16, fe80::/10, and IPv4-mapped
 * IPv6 forms of them) and known cloud metadata endpoints ({@link METADATA_HOSTNAMES},
 * `100.100.100.200`, `fd00:ec2::254`). When `allowed` is non-empty, the host must also be one
 * of its entries exactly (`host[:port]` as written, so `r.io` and `r.io:443` differ).
 *
 * @example
 * ```ts
 * import { checkRegistryAllowed } from "./registry_host.ts";
 * checkRegistryAllowed("myacr.azurecr.io", ["myacr.azurecr.io"]); // { ok: true }
 * checkRegistryAllowed("evil.example", ["myacr.azurecr.io"]).ok; // false
 * checkRegistryAllowed("169.254.169.254", undefined).ok; // false
 * ```
 */
export function checkRegistryAllowed(
  host: string,
  allowed: readonly string[] | undefined,
): RegistryAllowed {
  const why = forbiddenAddress(hostOnly(host));
  if (why) return { ok: false, why: `registry ${quote(host)} is refused: ${why}` };
  if (allowed && allowed.length > 0 && !allowed.includes(host)) {
    const list = allowed.length > 10
      ? `${allowed.slice(0, 10).join(", ")}, … (${allowed.length} in all)`
      : allowed.join(", ");
    return {
      ok: false,
      why: `registry ${quote(host)} is not among the allowed registries (${list})`,
    };
  }
  return { ok: true };
}

/**
 * Parses every entry of an allowed-registries list with {@link parseRegistryHost} and returns
 * the de-duplicated union of the lists, in order of first appearance.
 *
 * @example
 * ```ts
 * import { unionRegistries } from "./registry_host.ts";
 * unionRegistries([["A.example"], undefined, ["a.example", "b.example:5000"]], "allowed registry");
 * // ["a.example", "b.example:5000"]
 * ```
 */
export function unionRegistries(
  lists: readonly (readonly string[] | undefined)[],
  what: string,
): string[] {
  const out = new Set<string>();
  for (const l of lists) for (const h of l ?? []) out.add(parseRegistryHost(h, what));
  return [...out];
}
