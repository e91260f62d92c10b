// Detections in the consumer: Sigma rule matches become alert documents, published to SNS once.
import type { Client } from '@opensearch-project/opensearch';
import type { Registry } from 'prom-client';
import type { LogGroupSources } from '../../processors/index.ts';
import type { LogFunction } from '../scheduler/shard-processor.ts';
import { AlertMetrics } from './alert-metrics.ts';
import { AlertStore } from './alert-store.ts';
import { Alerting } from './alerting.ts';
import { loadRules } from './rule-files.ts';
import { AlertPublisher, createSnsClient } from './sns-publisher.ts';

export { ALERT_SEVERITY, alertDocument, alertId, alertIndex, type AlertBody, type AlertDocument } from './alert-document.ts';
export { AlertStore, AlertStoreUnavailableError, type VersionedAlert } from './alert-store.ts';
export { Alerting, detectionInput, emptyAlertCounters, sumAlertCounters, type AlertCounters, type AlertingOptions, type RaisedAlert } from './alerting.ts';
export { AlertMetrics } from './alert-metrics.ts';
export { loadRules, readRuleFolder, RuleFolderError } from './rule-files.ts';
export { AlertPublisher, AlertPublishError, alertMessage, createSnsClient, publishInput, type AlertMessage } from './sns-publisher.ts';

/** The consumer options detections read. */
export interface DetectionOptions {
  detections: boolean;
  rules?: string;
  alertsTopicArn?: string;
  snsEndpoint?: string;
  region: string;
  indexPrefix: string;
  logGroupSources?: LogGroupSources;
  alertSweepIntervalMs: number;
  alertClaimTimeoutMs: number;
}

/** `arn:aws:sns:<region>:<account>:<name>` -> region. */
export function topicRegion(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

/** Builds a worker's detections from its options, or undefined when they are switched off. */
export function createAlerting(
  options: DetectionOptions,
  deps: { opensearch: Client; registry: Registry; workerId: string; log?: LogFunction },
): Alerting | undefined {
  if (!options.detections) return undefined;
  const rules = loadRules(options.rules);
  // Refused rules are named once at start, never silently ignored.
  for (const e of rules.errors) deps.log?.('warn', 'detection rule not loaded', { file: e.file, id: e.id, reason: e.reason });
  if (!options.logGroupSources || Object.keys(options.logGroupSources).length === 0) {
    deps.log?.('warn', 'detections evaluate only mapped or trusted log groups, and logGroupSources maps none: no event will be evaluated');
  }
  const metrics = new AlertMetrics(deps.registry);
  let publisher: AlertPublisher | undefined;
  if (options.alertsTopicArn) {
    const sns = createSnsClient(topicRegion(options.alertsTopicArn) ?? options.region, options.snsEndpoint === 'aws' ? undefined : options.snsEndpoint);
    publisher = new AlertPublisher(sns, options.alertsTopicArn);
  }
  return new Alerting({
    rules,
    store: new AlertStore(deps.opensearch, options.indexPrefix),
    publisher,
    logGroupSources: options.logGroupSources,
    workerId: deps.workerId,
    indexPrefix: options.indexPrefix,
    metrics,
    log: deps.log,
    claimTimeoutMs: options.alertClaimTimeoutMs,
    sweepIntervalMs: options.alertSweepIntervalMs,
  });
}
