/**
 * ObjectMeta checks the API server applies to every object (and to embedded resources):
 * known fields only, RFC 1123 names and namespaces, qualified label/annotation keys, label
 * values, the 256 KiB annotation limit.
 *
 * @module
 */

import { isDnsLabel, isDnsSubdomain } from "../../model/names.ts";

/** Receives one field error. */
export type Report = (path: string, type: string, message: string) => void;

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function quote(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

/** Appends a key to a field path (`a.b`, or `a["x/y"]` for keys that are not identifiers). */
export function join(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)
    ? (path ? `${path}.${key}` : key)
    : `${path}[${JSON.stringify(key)}]`;
}

const OBJECT_META_KEYS = new Set([
  "name",
  "generateName",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
  "selfLink",
]);

function checkStringMap(report: Report, path: string, v: unknown, values: RegExp | undefined) {
  if (!isObj(v)) {
    report(path, "FieldValueTypeInvalid", `Invalid value: ${quote(v)}: must be of type object`);
    return;
  }
  for (const [k, x] of Object.entries(v)) {
    const p = `${path}[${JSON.stringify(k)}]`;
    const slash = k.lastIndexOf("/");
    const prefix = slash >= 0 ? k.slice(0, slash) : "";
    const name = slash >= 0 ? k.slice(slash + 1) : k;
    if (
      (slash >= 0 && !isDnsSubdomain(prefix)) || name.length > 63 ||
      !QUALIFIED_NAME.test(name)
    ) {
      report(p, "FieldValueInvalid", `Invalid value: ${quote(k)}: not a qualified name`);
    }
    if (typeof x !== "string") {
      report(p, "FieldValueTypeInvalid", `Invalid value: ${quote(x)}: must be of type string`);
    } else if (values && (x.length > 63 || !values.test(x))) {
      report(p, "FieldValueInvalid", `Invalid value: ${quote(x)}: not a valid label value`);
    }
  }
}

export function checkMetadata(
  report: Report,
  path: string,
  md: unknown,
  namespaced: boolean | undefined,
  patch: boolean,
) {
  if (!isObj(md)) {
    report(
      path,
      patch ? "FieldValueTypeInvalid" : "FieldValueRequired",
      "metadata must be an object",
    );
    return;
  }
  for (const k of Object.keys(md)) {
    if (!OBJECT_META_KEYS.has(k)) {
      report(`${path}.${k}`, "UnknownField", `unknown field "${path}.${k}"`);
    }
  }
  if (md.name === undefined && md.generateName === undefined && !patch) {
    report(
      `${path}.name`,
      "FieldValueRequired",
      "Required value: name or generateName is required",
    );
  }
  if (md.name !== undefined) {
    if (!isDnsSubdomain(md.name)) {
      report(
        `${path}.name`,
        "FieldValueInvalid",
        `Invalid value: ${quote(md.name)}: a lowercase RFC 1123 subdomain is required`,
      );
    }
  }
  if (md.namespace !== undefined) {
    if (namespaced === false) {
      report(
        `${path}.namespace`,
        "FieldValueForbidden",
        "not allowed on a cluster-scoped resource",
      );
    } else if (
      !isDnsLabel(md.namespace)
    ) {
      report(
        `${path}.namespace`,
        "FieldValueInvalid",
        `Invalid value: ${quote(md.namespace)}: a lowercase RFC 1123 label is required`,
      );
    }
  }
  if (md.labels !== undefined) checkStringMap(report, `${path}.labels`, md.labels, LABEL_VALUE);
  if (md.annotations !== undefined) {
    checkStringMap(report, `${path}.annotations`, md.annotations, undefined);
    if (isObj(md.annotations)) {
      const total = Object.entries(md.annotations).reduce(
        (n, [k, x]) => n + k.length + (typeof x === "string" ? x.length : 0),
        0,
      );
      if (total > 256 * 1024) {
        report(
          `${path}.annotations`,
          "FieldValueTooLong",
          "Too long: must have at most 262144 bytes",
        );
      }
    }
  }
}

export function checkEmbedded(
  report: Report,
  path: string,
  v: Record<string, unknown>,
  patch: boolean,
) {
  for (const k of ["apiVersion", "kind"]) {
    if (typeof v[k] !== "string" || v[k] === "") {
      if (!patch || k in v) {
        report(join(path, k), "FieldValueRequired", "Required value: must not be empty");
      }
    }
  }
  if (v.metadata !== undefined) {
    checkMetadata(report, join(path, "metadata"), v.metadata, undefined, patch);
  }
}
