/**
 * String formats the Kubernetes API server checks in CRD schemas (k8s.io/kube-openapi strfmt),
 * as predicates. Formats not listed here are not checked (the API server ignores unknown
 * formats too).
 *
 * @module
 */

/** Formats the API server validates (k8s.io/kube-openapi strfmt), checked here. */
export const FORMATS: Record<string, (s: string) => boolean> = {
  byte: (s) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s),
  date: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)),
  "date-time": (s) =>
    /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) &&
    !Number.isNaN(Date.parse(s)),
  datetime: (s) => FORMATS["date-time"](s),
  uuid: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  ipv4: (s) =>
    /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(s),
  ipv6: (s) => {
    try {
      return s.includes(":") && new URL(`http://[${s}]/`).hostname.length > 2;
    } catch {
      return false;
    }
  },
  hostname: (s) =>
    s.length <= 253 &&
    s.split(".").every((l) => /^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/.test(l)),
  email: (s) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s),
  mac: (s) => /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/.test(s),
  cidr: (s) => {
    const m = /^(.+)\/(\d{1,3})$/.exec(s);
    if (!m) return false;
    return (FORMATS.ipv4(m[1]) && Number(m[2]) <= 32) ||
      (FORMATS.ipv6(m[1]) && Number(m[2]) <= 128);
  },
};

/**
 * Checks `s` against a format; `undefined` when the format is not checked.
 *
 * @example
 * ```ts
 * import { checkFormat } from "./formats.ts";
 * checkFormat("ipv4", "10.0.0.1"); // true
 * checkFormat("uint64", "1"); // undefined
 * ```
 */
export function checkFormat(format: string, s: string): boolean | undefined {
  return Object.hasOwn(FORMATS, format) ? FORMATS[format](s) : undefined;
}
