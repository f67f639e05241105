/**
 * Routes for the test API server (`startKubeApiServer({ routes })`) that make it look, to
 * `kubectl`, like a cluster with the vendored kars CRDs installed: legacy discovery (`/api`,
 * `/apis`, `/apis/kars.azure.com/v1alpha1`), the OpenAPI v3 documents kubectl's client-side
 * validation downloads (built from the CRD schemas, as the API server publishes them, with
 * `x-kubernetes-group-version-kind`), and `404 NotFound` for GETs of kars objects (so
 * `kubectl apply --dry-run=client` reports "created (dry run)").
 *
 * @module
 */
import { KARS_CRDS } from "../../lib/kube/schema/mod.ts";
import { openapiV2Protobuf } from "./openapi_v2_pb.ts";

const GROUP = "kars.azure.com";
const VERSION = "v1alpha1";
const GV = `${GROUP}/${VERSION}`;
const META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

function notFound(what: string) {
  return {
    status: 404,
    body: {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: `${what} not found`,
      reason: "NotFound",
      code: 404,
    },
  };
}

function openapiDoc(): unknown {
  const schemas: Record<string, unknown> = {
    [META]: {
      type: "object",
      properties: {
        name: { type: "string" },
        generateName: { type: "string" },
        namespace: { type: "string" },
        labels: { type: "object", additionalProperties: { type: "string" } },
        annotations: { type: "object", additionalProperties: { type: "string" } },
        uid: { type: "string" },
        resourceVersion: { type: "string" },
        generation: { type: "integer", format: "int64" },
        finalizers: { type: "array", items: { type: "string" } },
      },
    },
  };
  for (const crd of Object.values(KARS_CRDS)) {
    schemas[`com.azure.kars.${crd.version}.${crd.kind}`] = {
      ...crd.schema,
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: { allOf: [{ $ref: `#/components/schemas/${META}` }] },
        ...crd.schema.properties,
      },
      "x-kubernetes-group-version-kind": [{
        group: crd.group,
        version: crd.version,
        kind: crd.kind,
      }],
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes CRD Swagger", version: "v0.1.0" },
    paths: {},
    components: { schemas },
  };
}

/**
 * The route function for `startKubeApiServer({ routes: karsCrdRoutes() })`.
 *
 * @example
 * ```ts
 * import { karsCrdRoutes } from "./kars_crd_routes.ts";
 * karsCrdRoutes()("GET", "/apis")?.status; // 200
 * ```
 */
export function karsCrdRoutes(): (
  method: string,
  path: string,
) => { status: number; body: unknown; contentType?: string } | undefined {
  const doc = openapiDoc();
  const v2 = openapiV2Protobuf(Object.values(KARS_CRDS));
  const resources = Object.values(KARS_CRDS).map((c) => ({
    name: c.plural,
    singularName: c.kind.toLowerCase(),
    namespaced: c.scope === "Namespaced",
    kind: c.kind,
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
  }));
  return (method, rawPath) => {
    const path = rawPath.split("?")[0];
    const ok = (body: unknown) => ({ status: 200, body });
    if (method !== "GET") return undefined;
    switch (path) {
      case "/api":
        return ok({ kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] });
      case "/api/v1":
        return ok({ kind: "APIResourceList", groupVersion: "v1", resources: [] });
      case "/apis":
        return ok({
          kind: "APIGroupList",
          apiVersion: "v1",
          groups: [{
            name: GROUP,
            versions: [{ groupVersion: GV, version: VERSION }],
            preferredVersion: { groupVersion: GV, version: VERSION },
          }],
        });
      case `/apis/${GV}`:
        return ok({ kind: "APIResourceList", apiVersion: "v1", groupVersion: GV, resources });
      case "/openapi/v3":
        return ok({
          paths: { [`apis/${GV}`]: { serverRelativeURL: `/openapi/v3/apis/${GV}?hash=KARS` } },
        });
      case `/openapi/v3/apis/${GV}`:
        return ok(doc);
      case "/openapi/v2":
        return {
          status: 200,
          body: v2,
          contentType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
        };
    }
    const m = new RegExp(`^/apis/${GV.replace(".", "\\.")}/namespaces/([^/]+)/([^/]+)/([^/]+)$`)
      .exec(path);
    if (m && resources.some((r) => r.name === m[2])) return notFound(`${m[2]} "${m[3]}"`);
    return undefined;
  };
}
