/**
 * Reading the kagent input: which documents are kagent objects (others are reported and left
 * out), duplicate detection, lookups by reference, and the metadata carried over.
 *
 * @module
 */
import {
  copyJson,
  describe,
  type Doc,
  isObj,
  KAGENT_API_VERSION,
  type KagentKind,
  type Obj,
  type Run,
} from "./common.ts";
import { isDnsSubdomain } from "../../model/names.ts";

const KAGENT_KINDS = new Set<string>(["Agent", "SandboxAgent", "ModelConfig", "RemoteMCPServer"]);
const RUNTIME_METADATA = new Set([
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
  "finalizers",
  "ownerReferences",
  "generateName",
]);
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/** Reads the parsed documents; non-kagent objects become warnings. */
export function readDocs(run: Run, docs: unknown[]): Doc[] {
  const out: Doc[] = [];
  const seen = new Set<string>();
  docs.forEach((raw, i) => {
    const n = i + 1;
    if (raw === null || raw === undefined) return;
    if (!isObj(raw)) {
      run.bad(n, "", `expected a Kubernetes object (a mapping), got ${describe(raw)}`);
    }
    const apiVersion = raw.apiVersion;
    const kind = raw.kind;
    if (typeof apiVersion !== "string" || !apiVersion) {
      run.bad(n, "apiVersion", "missing (every document needs apiVersion and kind)");
    }
    if (typeof kind !== "string" || !kind) {
      run.bad(n, "kind", "missing (every document needs apiVersion and kind)");
    }
    const md = isObj(raw.metadata) ? raw.metadata : {};
    const nameStr = typeof md.name === "string" ? md.name : "";
    if (!apiVersion.startsWith("kagent.dev/") || !KAGENT_KINDS.has(kind)) {
      run.warn(
        `${kind}/${nameStr || "?"} (document ${n})`,
        `not translated: only ${KAGENT_API_VERSION} Agent, SandboxAgent, ModelConfig and RemoteMCPServer objects are`,
      );
      return;
    }
    if (apiVersion !== KAGENT_API_VERSION) {
      run.bad(
        n,
        "apiVersion",
        `${apiVersion} ${kind} is not supported; only ${KAGENT_API_VERSION} is (upgrade kagent and re-export the objects)`,
      );
    }
    if (!nameStr) run.bad(n, "metadata.name", `missing on ${kind}`);
    if (!isDnsSubdomain(nameStr)) {
      run.bad(n, "metadata.name", `${JSON.stringify(nameStr)} is not a valid Kubernetes name`);
    }
    const ns = typeof md.namespace === "string" && md.namespace ? md.namespace : undefined;
    const key = `${kind}/${ns ?? ""}/${nameStr}`;
    if (seen.has(key)) {
      run.bad(n, "metadata.name", `a second ${kind} named ${nameStr}${ns ? ` in ${ns}` : ""}`);
    }
    seen.add(key);
    out.push({ index: n, kind: kind as KagentKind, name: nameStr, namespace: ns, obj: raw });
  });
  return out;
}

/** Finds a referenced object: same namespace first, else one without a namespace. */
export function lookup(
  docs: Doc[],
  kind: KagentKind,
  name: string,
  namespace?: string,
): Doc | undefined {
  const same = docs.filter((d) => d.kind === kind && d.name === name);
  return same.find((d) => d.namespace === namespace) ??
    same.find((d) => !d.namespace || !namespace);
}

/** Labels and annotations carried over (runtime fields become a note, others a warning). */
export interface CarriedMetadata {
  labels?: { [k: string]: string };
  annotations?: { [k: string]: string };
}

/** Reads metadata: labels and annotations are carried over; the rest is reported. */
export function translateMetadata(run: Run, d: Doc): CarriedMetadata {
  const md = isObj(d.obj.metadata) ? d.obj.metadata : {};
  const out: CarriedMetadata = {};
  const path = `${d.kind}/${d.name}`;
  const runtime: string[] = [];
  for (const [k, v] of Object.entries(md)) {
    if (k === "name" || k === "namespace") continue;
    if (RUNTIME_METADATA.has(k)) {
      runtime.push(k);
      continue;
    }
    if (k === "labels" && isObj(v)) {
      out.labels = stringMap(run, d, "metadata.labels", v);
    } else if (k === "annotations" && isObj(v)) {
      const a: Obj = {};
      for (const [ak, av] of Object.entries(v)) {
        if (ak === LAST_APPLIED) {
          run.note(`${path} metadata.annotations`, `${LAST_APPLIED} not carried over`);
        } else a[ak] = av;
      }
      if (Object.keys(a).length) out.annotations = stringMap(run, d, "metadata.annotations", a);
    } else {
      run.warn(`${path} metadata.${k}`, "dropped (not carried over to the kars objects)");
    }
  }
  if (runtime.length) {
    run.note(`${path} metadata`, `runtime fields not carried over: ${runtime.sort().join(", ")}`);
  }
  if ("status" in d.obj) run.note(`${path} status`, "runtime status not carried over");
  return out;
}

function stringMap(run: Run, d: Doc, field: string, v: Obj): { [k: string]: string } {
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string") run.bad(d, `${field}.${k}`, `expected a string, got ${describe(x)}`);
  }
  return copyJson(v) as { [k: string]: string };
}
