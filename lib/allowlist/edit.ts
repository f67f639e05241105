/**
 * Changing an allowlist: approving and denying hosts on a canonical endpoint list, and the
 * generation rule that decides whether the change gets a new generation (issue 2 §3).
 *
 * Errors name the input in library terms and carry `details.option` (`"approve"`, `"deny"`,
 * `"generation"`) or `details.fixOptions`, so a caller can point at its own flag or field.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { type Allowlist, checkGeneration, type Endpoint, sortEndpoints } from "./canonical.ts";
import { checkHost, parseHostPort, quoteForMessage } from "./host.ts";

function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  const key = (e: Endpoint) => `${e.host}\n${e.port}`;
  const sa = a.map(key).sort();
  const sb = b.map(key).sort();
  return sa.every((k, i) => k === sb[i]);
}

/**
 * Chooses the generation (issue 2 §3): `override` when given; else the previous signed
 * allowlist's generation if the endpoint set is unchanged (so bytes and digest repeat
 * run after run); else previous + 1; 1 when there is no previous allowlist. A bad override
 * is a `KarsError("INPUT")` with `details.option` `"generation"`.
 *
 * @example
 * ```ts
 * import { chooseGeneration } from "./edit.ts";
 * const eps = [{ host: "a.example", port: 443 }];
 * chooseGeneration({ endpoints: eps }); // 1
 * chooseGeneration({ endpoints: eps, previous: { generation: 4, endpoints: eps } }); // 4
 * chooseGeneration({ endpoints: [], previous: { generation: 4, endpoints: eps } }); // 5
 * ```
 */
export function chooseGeneration(input: {
  endpoints: readonly Endpoint[];
  previous?: Allowlist;
  override?: number;
}): number {
  if (input.override !== undefined) {
    return checkGeneration(input.override, "generation override", { option: "generation" });
  }
  const prev = input.previous;
  if (!prev) return 1;
  const g = checkGeneration(prev.generation, "previous allowlist generation");
  if (sameEndpoints(input.endpoints, prev.endpoints)) return g;
  if (g >= Number.MAX_SAFE_INTEGER) {
    throw new KarsError(
      "INPUT",
      "previous allowlist generation is at the maximum; choose the generation explicitly",
      { details: { fixOptions: ["generation"] } },
    );
  }
  return g + 1;
}

/**
 * Applies approvals (`host[:port]`, adds) and denials (`host`, removes every port of the host)
 * to a canonical endpoint list. A host both approved and denied is an input error
 * (`KarsError("INPUT")`), as is a bad host; each names its option in `details.option`.
 * Returns the new canonical list, whether it differs from the input, and the denied hosts
 * that were not in the list.
 *
 * @example
 * ```ts
 * import { applyApproveDeny } from "./edit.ts";
 * applyApproveDeny([{ host: "a.example", port: 443 }], ["b.example:8443"], ["a.example"]);
 * // { endpoints: [{ host: "b.example", port: 8443 }], changed: true, unknownDenied: [] }
 * ```
 */
export function applyApproveDeny(
  endpoints: readonly Endpoint[],
  approve: readonly string[],
  deny: readonly string[],
): { endpoints: Endpoint[]; changed: boolean; unknownDenied: string[] } {
  const added = approve.map((a) => {
    try {
      return parseHostPort(a);
    } catch (e) {
      if (!(e instanceof KarsError)) throw e;
      throw new KarsError(e.code, e.message, {
        cause: e.cause,
        details: { ...e.details, option: "approve" },
      });
    }
  });
  const denied = new Set<string>();
  for (const d of deny) {
    const details = { option: "deny", argument: d };
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(d) || /[\/?#@]/.test(d)) {
      throw new KarsError(
        "INPUT",
        `denied host ${quoteForMessage(d)}: domain must be a bare host, not a URL`,
        { details },
      );
    }
    const r = checkHost(d);
    if (!r.ok) {
      throw new KarsError("INPUT", `denied host ${quoteForMessage(d)}: ${r.reason}`, { details });
    }
    denied.add(r.host);
  }
  for (const a of added) {
    if (denied.has(a.host)) {
      throw new KarsError("INPUT", `${a.host} is both approved and denied; pick one`, {
        details: { host: a.host, fixOptions: ["approve", "deny"] },
      });
    }
  }
  const present = new Set(endpoints.map((e) => e.host));
  const unknownDenied = [...denied].filter((h) => !present.has(h)).sort();
  const next = sortEndpoints([...endpoints.filter((e) => !denied.has(e.host)), ...added]);
  const changed = !sameEndpoints(next, sortEndpoints([...endpoints]));
  return { endpoints: next, changed, unknownDenied };
}
