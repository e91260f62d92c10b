/**
 * The CloudWatch agent as a sidecar: it scrapes the consumer's Prometheus /metrics over the
 * task's loopback and writes embedded metric format (EMF) logs, which CloudWatch turns into
 * metrics (counters become per-scrape deltas). No change to the consumer is needed.
 */
export const METRICS_AGENT_IMAGE = 'public.ecr.aws/cloudwatch-agent/cloudwatch-agent:latest';

/** The Prometheus job name; it is also the metrics' only dimension. */
export const METRICS_JOB = 'centralog-consumer';

/** Consumer metrics published to CloudWatch: lag, outcomes, and what the alarms need. */
export const PUBLISHED_METRICS = [
  'centralog_consumer_shard_arrival_lag_seconds',
  'centralog_consumer_shard_millis_behind_latest',
  'centralog_consumer_dead_lettered_total',
  'centralog_consumer_documents_indexed_total',
  'centralog_consumer_documents_duplicate_total',
  'centralog_consumer_records_in_total',
  'centralog_consumer_delivery_retries_total',
  'centralog_consumer_leases_held',
  'centralog_consumer_in_flight_bytes',
];

export function metricsAgentEnvironment(opts: { logGroupName: string; namespace: string; port: number }): Record<string, string> {
  const prometheus = [
    'global:',
    '  scrape_interval: 1m',
    '  scrape_timeout: 10s',
    'scrape_configs:',
    `  - job_name: ${METRICS_JOB}`,
    '    static_configs:',
    `      - targets: ['127.0.0.1:${opts.port}']`,
    '',
  ].join('\n');
  const agent = {
    logs: {
      metrics_collected: {
        prometheus: {
          log_group_name: opts.logGroupName,
          prometheus_config_path: 'env:PROMETHEUS_CONFIG_CONTENT',
          emf_processor: {
            metric_namespace: opts.namespace,
            metric_declaration: [{ source_labels: ['job'], label_matcher: `^${METRICS_JOB}$`, dimensions: [['job']], metric_selectors: PUBLISHED_METRICS.map((m) => `^${m}$`) }],
          },
        },
      },
      force_flush_interval: 5,
    },
  };
  return { PROMETHEUS_CONFIG_CONTENT: prometheus, CW_CONFIG_CONTENT: JSON.stringify(agent) };
}
