/**
 * A small Prometheus text-format registry (exposition format 0.0.4): counters and histograms
 * with labels — what the webhook exports on `/metrics`.
 *
 * @module
 */

/** A metric series' labels, name → value. */
export type Labels = Readonly<Record<string, string>>;

function labelText(l: Labels): string {
  const keys = Object.keys(l).sort();
  if (keys.length === 0) return "";
  const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
  return `{${keys.map((k) => `${k}="${esc(l[k])}"`).join(",")}}`;
}

/**
 * A counter with labels.
 *
 * @example
 * ```ts
 * import { Counter } from "./metrics.ts";
 * const c = new Counter("requests_total", "Requests.");
 * c.inc({ code: "200" });
 * c.render().includes('requests_total{code="200"} 1'); // true
 * ```
 */
export class Counter {
  readonly #values = new Map<string, number>();
  /** A counter named `name` with HELP text `help`. @param name metric name @param help HELP text */
  constructor(readonly name: string, readonly help: string) {}
  /** Adds `n` (default 1) to the series of `labels`. */
  inc(labels: Labels = {}, n = 1): void {
    const k = labelText(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + n);
  }
  /** The value of one series. */
  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels)) ?? 0;
  }
  /** Exposition text. */
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    const keys = [...this.#values.keys()].sort();
    if (keys.length === 0) lines.push(`${this.name} 0`);
    for (const k of keys) lines.push(`${this.name}${k} ${this.#values.get(k)}`);
    return lines.join("\n") + "\n";
  }
}

/**
 * A histogram (cumulative buckets, sum, count) without labels.
 *
 * @example
 * ```ts
 * import { Histogram } from "./metrics.ts";
 * const h = new Histogram("latency_seconds", "Latency.", [0.1, 1]);
 * h.observe(0.5);
 * h.render().includes('latency_seconds_bucket{le="1"} 1'); // true
 * ```
 */
export class Histogram {
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  /**
   * A histogram named `name` with HELP text `help` and the given bucket upper bounds.
   * @param name metric name @param help HELP text @param buckets upper bounds, ascending
   */
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.#counts = buckets.map(() => 0);
  }
  /** Records one observation. */
  observe(v: number): void {
    this.#sum += v;
    this.#count++;
    this.buckets.forEach((b, i) => {
      if (v <= b) this.#counts[i]++;
    });
  }
  /** Number of observations. */
  get count(): number {
    return this.#count;
  }
  /** Exposition text. */
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.#counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.#count}`);
    lines.push(`${this.name}_sum ${this.#sum}`);
    lines.push(`${this.name}_count ${this.#count}`);
    return lines.join("\n") + "\n";
  }
}

/**
 * The webhook's metrics.
 *
 * @example
 * ```ts
 * import { WebhookMetrics } from "./metrics.ts";
 * const m = new WebhookMetrics();
 * m.admissions.inc({ result: "allowed", reason: "Verified" });
 * m.render().includes('kars_webhook_admissions_total{reason="Verified",result="allowed"} 1'); // true
 * ```
 */
export class WebhookMetrics {
  /** Admission reviews answered, by result (allowed/denied/error) and reason. */
  readonly admissions = new Counter(
    "kars_webhook_admissions_total",
    "Admission reviews answered, by result and reason.",
  );
  /** Verification latency (seconds), cache hits excluded. */
  readonly verifySeconds = new Histogram(
    "kars_webhook_verify_duration_seconds",
    "Time to verify an allowlistRef (cache misses), in seconds.",
    [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  /** Verdicts served from the cache. */
  readonly cacheHits = new Counter(
    "kars_webhook_verdict_cache_hits_total",
    "Verdicts served from the verdict cache.",
  );
  /** Verdicts computed (cache misses). */
  readonly cacheMisses = new Counter(
    "kars_webhook_verdict_cache_misses_total",
    "Verdicts computed (not in the cache).",
  );
  /** SignerPolicy reloads, by outcome. */
  readonly policyReloads = new Counter(
    "kars_webhook_policy_reloads_total",
    "SignerPolicy (re)loads, by source and outcome.",
  );
  /** TLS certificate reloads. */
  readonly tlsReloads = new Counter(
    "kars_webhook_tls_reloads_total",
    "Serving certificate reloads, by outcome.",
  );

  /** The whole exposition text. */
  render(): string {
    return [
      this.admissions,
      this.verifySeconds,
      this.cacheHits,
      this.cacheMisses,
      this.policyReloads,
      this.tlsReloads,
    ].map((m) => m.render()).join("");
  }
}
