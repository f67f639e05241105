/**
 * Allowlist candidates from kagent input: URLs (ModelConfig endpoints, RemoteMCPServer URLs)
 * and `spec.sandbox.network.allowedDomains`. Every entry gets a port (the URL's, else 443 for
 * https and 80 for http). Wildcards and IPv6 literals cannot be expressed in a v1 allowlist:
 * they are warnings and left out.
 *
 * @module
 */
import { checkHost } from "../../allowlist/host.ts";
import { type Candidate, describe, type Doc, type Run } from "./common.ts";

const HAS_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** Normalises a URL text: adds the default scheme when there is none. */
export function withScheme(raw: string, scheme: "https" | "http"): string {
  const text = raw.trim();
  return HAS_SCHEME.test(text) ? text : `${scheme}://${text}`;
}

/** An allowlist candidate from a URL field, or `undefined` when it cannot be expressed. */
export function endpointFromUrl(
  run: Run,
  d: Doc,
  field: string,
  raw: unknown,
  opts: { defaultScheme: "https" | "http" },
): Candidate | undefined {
  const path = `${d.kind}/${d.name} ${field}`;
  if (typeof raw !== "string" || raw.trim() === "") {
    run.bad(d, field, `expected a URL, got ${describe(raw)}`);
  }
  const text = raw.trim();
  const hasScheme = HAS_SCHEME.test(text);
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `${opts.defaultScheme}://${text}`);
  } catch {
    run.bad(d, field, `${JSON.stringify(text)} is not a valid URL`);
  }
  if (!hasScheme) {
    run.note(path, `"${text}" has no scheme; read as ${opts.defaultScheme}://${text}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    run.bad(d, field, `${JSON.stringify(text)}: only http and https URLs are supported`);
  }
  const hostname = url.hostname;
  if (hostname.startsWith("[")) {
    run.warn(
      path,
      `IPv6 address ${hostname} left out of the allowlist (v1 allowlists cannot express IPv6 literals)`,
    );
    return undefined;
  }
  const h = checkHost(hostname);
  if (!h.ok) run.bad(d, field, `host of ${JSON.stringify(text)} ${h.reason}`);
  const port = url.port ? Number(url.port) : url.protocol === "http:" ? 80 : 443;
  if (!url.port && url.protocol === "http:") {
    run.note(path, `http URL without a port: ${h.host} allowed on port 80`);
  }
  return { host: h.host, port, from: path };
}

/** Candidates from `spec.sandbox.network.allowedDomains` (wildcards are warnings). */
export function allowedDomains(run: Run, agent: Doc, sandbox: unknown): Candidate[] {
  const base = `${agent.kind}/${agent.name} spec.sandbox`;
  const sb = run.obj(agent, "spec.sandbox", sandbox);
  if (!sb) return [];
  run.checkKeys(base, sb, ["network"], "KarsSandbox");
  const net = run.obj(agent, "spec.sandbox.network", sb.network);
  if (!net) return [];
  run.checkKeys(`${base}.network`, net, ["allowedDomains"], "KarsSandbox");
  const list = run.list(agent, "spec.sandbox.network.allowedDomains", net.allowedDomains);
  if (!list) return [];
  const out: Candidate[] = [];
  list.forEach((raw, i) => {
    const field = `spec.sandbox.network.allowedDomains[${i}]`;
    const path = `${base}.network.allowedDomains[${i}]`;
    if (typeof raw !== "string" || !raw.trim()) {
      run.bad(agent, field, `expected a domain name, got ${describe(raw)}`);
    }
    const text = raw.trim();
    if (text.includes("*")) {
      run.warn(
        path,
        `wildcard domain ${
          JSON.stringify(text)
        } left out (v1 allowlists cannot express wildcards; list each host explicitly)`,
      );
      return;
    }
    if (HAS_SCHEME.test(text)) {
      run.bad(
        agent,
        field,
        `${JSON.stringify(text)}: a domain must be a bare host[:port], not a URL`,
      );
    }
    let host = text;
    let port = 443;
    const m = /^(.*):(\d{1,5})$/.exec(text);
    if (m && !m[1].includes(":")) {
      host = m[1];
      port = Number(m[2]);
      if (port < 1 || port > 65535) run.bad(agent, field, `port ${m[2]} is out of range 1-65535`);
    }
    const h = checkHost(host);
    if (!h.ok) run.bad(agent, field, `${JSON.stringify(text)} ${h.reason}`);
    out.push({ host: h.host, port, from: path });
  });
  return out;
}
