/**
 * The cluster half, on the same verifier as the client: {@link waitSandboxStatus} watches a
 * KarsSandbox until the controller's `AllowlistVerified` condition settles
 * (`kars egress status --wait`), {@link auditFleet} gives every sandbox a second opinion
 * (`kars egress audit`), and {@link AdmissionController} / {@link startWebhookServer} answer
 * admission reviews (`kars webhook`), failing closed. The kars controller owns the
 * conditions; nothing here writes them.
 *
 * @example
 * ```ts
 * import { evaluateSandboxStatus } from "jsr:@kars/egress/cluster";
 *
 * const report = evaluateSandboxStatus({
 *   apiVersion: "kars.azure.com/v1alpha1",
 *   kind: "KarsSandbox",
 *   metadata: { name: "my-agent", namespace: "kars-my-agent", generation: 1 },
 * }, {});
 * console.log(report.state); // "refused": no allowlistRef
 * ```
 *
 * @module
 */

export { evaluateSandboxStatus, readConditions, waitSandboxStatus } from "./status.ts";
export type {
  ObservedCondition,
  SandboxStatusReport,
  StatusState,
  WaitStatusOptions,
} from "./status.ts";
export { auditFleet, auditOutcome, classify } from "./audit.ts";
export type {
  AuditFinding,
  AuditOptions,
  AuditRow,
  AuditSummary,
  ConditionSummary,
} from "./audit.ts";
export { judgeBoth } from "./judge.ts";
export type { Judge, Judgement } from "./judge.ts";
export { ADMISSION_API_VERSION, AdmissionController } from "./admission.ts";
export type { AdmissionOptions, AdmissionOutcome, AdmissionResponse } from "./admission.ts";
export { startWebhookServer } from "./webhook_server.ts";
export type {
  ListenAddress,
  LogFn,
  WebhookServer,
  WebhookServerOptions,
} from "./webhook_server.ts";
export { Counter, Histogram, WebhookMetrics } from "./metrics.ts";
export type { Labels } from "./metrics.ts";
export {
  DEFAULT_POLICY_NAMESPACE,
  readClusterSignerPolicy,
  watchClusterSignerPolicy,
} from "./policy_source.ts";
export type { ClusterEnv, PolicyFromCluster } from "./policy_source.ts";
export { TrustRootKeeper } from "./trust_refresh.ts";
export type { TrustRefreshOptions } from "./trust_refresh.ts";

// Types the signatures above use.
export type { BackoffOptions } from "../kube/backoff.ts";
export type { WatchRetry } from "../kube/watch.ts";
