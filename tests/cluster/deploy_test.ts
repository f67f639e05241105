/**
 * deploy/: `kubectl kustomize` renders each base; every object validates against the
 * Kubernetes OpenAPI schemas (npm kubernetes-models, @kubernetes-models/cert-manager); the
 * shipped arguments are valid flags of the commands they run; RBAC is least-privilege and
 * read-only; the webhook answers within its timeout and fails closed.
 */
import assert from "assert";
import { parseArgs } from "node:util";
import YAML from "yaml";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { ValidatingWebhookConfiguration } from "kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration";
import { Certificate } from "@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate";
import { Issuer } from "@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer";
import { webhookCommand } from "../../lib/cli/webhook.ts";
import { egressAuditCommand } from "../../lib/cli/egress_audit.ts";
import { parseDuration } from "../../lib/cli/cluster_common.ts";
import { toolsRequired } from "../support/docker_registry.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;
// deno-lint-ignore no-explicit-any
const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ServiceAccount": ServiceAccount,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "batch/v1/CronJob": CronJob,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
  "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration": ValidatingWebhookConfiguration,
  "cert-manager.io/v1/Certificate": Certificate,
  "cert-manager.io/v1/Issuer": Issuer,
};

const ROOT = new URL("../../", import.meta.url).pathname;
const noKubectl = (() => {
  try {
    Deno.statSync("/usr/bin/kubectl");
    return false;
  } catch {
    if (toolsRequired()) throw new Error("kubectl not installed; KARS_REQUIRE_TOOLS=1");
    return true;
  }
})();

async function render(base: string): Promise<Obj[]> {
  const out = await new Deno.Command("kubectl", {
    args: ["kustomize", `${ROOT}deploy/${base}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return YAML.parseAllDocuments(new TextDecoder().decode(out.stdout)).map((d) => d.toJS());
}

function validateAll(objs: Obj[]): void {
  for (const o of objs) {
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    assert.ok(Model, `no schema model for ${o.apiVersion} ${o.kind} (add one)`);
    try {
      new Model(o).validate();
    } catch (e) {
      throw new Error(`${o.kind} ${o.metadata?.name}: ${(e as Error).message}`);
    }
  }
}

const find = (objs: Obj[], kind: string, name?: string) =>
  objs.filter((o) => o.kind === kind && (!name || o.metadata.name === name));

function checkPodSecurity(spec: Obj): void {
  assert.equal(spec.securityContext.runAsNonRoot, true);
  assert.equal(spec.securityContext.seccompProfile.type, "RuntimeDefault");
  for (const c of spec.containers) {
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
  }
}

function readOnlyRules(objs: Obj[]): void {
  for (const r of [...find(objs, "Role"), ...find(objs, "ClusterRole")]) {
    for (const rule of r.rules) {
      for (const v of rule.verbs) {
        assert.ok(["get", "list", "watch"].includes(v), `${r.metadata.name}: ${v}`);
      }
      if (rule.resources.includes("configmaps")) {
        assert.deepEqual(rule.resourceNames, ["kars-signer-policy"]);
      }
    }
  }
}

Deno.test({
  name:
    "deploy/webhook: renders, validates against the schemas, least privilege, fail closed within the timeout",
  ignore: noKubectl,
  fn: async () => {
    const objs = await render("webhook");
    validateAll(objs);
    const kinds = objs.map((o) => o.kind).sort();
    for (
      const k of [
        "Namespace",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
        "ValidatingWebhookConfiguration",
        "Certificate",
        "Issuer",
        "PodDisruptionBudget",
      ]
    ) {
      assert.ok(kinds.includes(k), `missing ${k}`);
    }
    readOnlyRules(objs);
    assert.equal(find(objs, "ClusterRole").length, 0, "the webhook needs no cluster-wide rights");
    const [d] = find(objs, "Deployment", "kars-webhook");
    assert.equal(d.spec.replicas, 2);
    const pod = d.spec.template.spec;
    checkPodSecurity(pod);
    const c = pod.containers[0];
    assert.equal(c.readinessProbe.httpGet.path, "/readyz");
    assert.equal(c.livenessProbe.httpGet.path, "/healthz");
    assert.match(c.image, /^ghcr\.io\/example\/kars:/);
    // The arguments are valid flags of `kars webhook`.
    assert.equal(c.args[0], "webhook");
    const { values } = parseArgs({
      args: c.args.slice(1),
      options: webhookCommand.options,
      strict: true,
    });
    assert.ok((values["allowed-registry"] as string[]).length > 0);
    const [vwc] = find(objs, "ValidatingWebhookConfiguration");
    const w = vwc.webhooks[0];
    assert.equal(w.failurePolicy, "Fail");
    assert.deepEqual(w.rules[0].resources, ["karssandboxes"]);
    assert.deepEqual(w.rules[0].apiGroups, ["kars.azure.com"]);
    assert.deepEqual(w.rules[0].operations, ["CREATE", "UPDATE"]);
    assert.deepEqual(w.admissionReviewVersions, ["v1"]);
    assert.equal(w.sideEffects, "None");
    assert.equal(w.clientConfig.service.path, "/validate");
    assert.ok(parseDuration(values.deadline as string, "--deadline") < w.timeoutSeconds * 1000);
    // cert-manager injects the CA of the serving certificate the Deployment mounts.
    const inject = vwc.metadata.annotations["cert-manager.io/inject-ca-from"];
    const [ns, name] = inject.split("/");
    const [cert] = find(objs, "Certificate", name);
    assert.equal(cert.metadata.namespace, ns);
    assert.equal(
      pod.volumes.find((v: Obj) => v.name === "tls").secret.secretName,
      cert.spec.secretName,
    );
    assert.ok(
      cert.spec.dnsNames.includes(
        `${w.clientConfig.service.name}.${w.clientConfig.service.namespace}.svc`,
      ),
    );
    const [svc] = find(objs, "Service", w.clientConfig.service.name);
    assert.equal(
      svc.spec.ports.find((p: Obj) => p.port === w.clientConfig.service.port).targetPort,
      "https",
    );
  },
});

Deno.test({
  name:
    "deploy/audit: renders, validates against the schemas, read-only RBAC, a CronJob running egress audit",
  ignore: noKubectl,
  fn: async () => {
    const objs = await render("audit");
    validateAll(objs);
    readOnlyRules(objs);
    const [cr] = find(objs, "ClusterRole");
    assert.deepEqual(cr.rules, [{
      apiGroups: ["kars.azure.com"],
      resources: ["karssandboxes"],
      verbs: ["get", "list"],
    }]);
    const [cj] = find(objs, "CronJob");
    const pod = cj.spec.jobTemplate.spec.template.spec;
    checkPodSecurity(pod);
    const args: string[] = pod.containers[0].args;
    assert.deepEqual(args.slice(0, 2), ["egress", "audit"]);
    const { values } = parseArgs({
      args: args.slice(2),
      options: egressAuditCommand.options,
      strict: true,
    });
    assert.equal(values["all-namespaces"], true);
    assert.ok((values["allowed-registry"] as string[]).length > 0);
    assert.equal(cj.spec.concurrencyPolicy, "Forbid");
  },
});

Deno.test("deploy: the schema validation rejects a broken object", () => {
  assert.throws(() =>
    new Deployment({ metadata: { name: "x" }, spec: { replicas: "two" } } as never).validate()
  );
  assert.throws(() =>
    new ValidatingWebhookConfiguration({
      metadata: { name: "x" },
      webhooks: [{ name: "a.b.c", failurePolicy: "Sometimes" }],
    } as never).validate()
  );
});
