import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { DeployConfig } from '../config.ts';
import { METRICS_JOB } from './metrics-agent.ts';

export interface MonitoringProps {
  config: DeployConfig;
  stream: kinesis.IStream;
  deliveryStreamName: string;
  transform: lambda.IFunction;
  consumerNamespace: string;
  domain: opensearch.IDomain;
}

const M5 = Duration.minutes(5);
const M1 = Duration.minutes(1);

/** Alarms into one SNS topic, and one dashboard with the same metrics. */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config } = props;
    const a = config.alarms;
    const key = new kms.Key(this, 'TopicKey', { description: 'centralog: alarm topic', enableKeyRotation: true, removalPolicy: RemovalPolicy.DESTROY });
    // CloudWatch alarms publish to an encrypted topic only if the key lets them.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': config.centralAccountId } },
      }),
    );
    this.topic = new sns.Topic(this, 'Alarms', { topicName: `${config.namePrefix}-alarms`, masterKey: key, enforceSSL: true });
    for (const email of a.emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));

    const firehose = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/Firehose', metricName, dimensionsMap: { DeliveryStreamName: props.deliveryStreamName }, statistic, period: M5 });
    const consumer = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({ namespace: props.consumerNamespace, metricName, dimensionsMap: { job: METRICS_JOB }, statistic, period: M5 });
    const d = props.domain;

    const m = {
      iteratorAge: props.stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum', period: M5 }),
      writeThrottles: props.stream.metricWriteProvisionedThroughputExceeded({ statistic: 'Sum', period: M5 }),
      freshness: firehose('DeliveryToS3.DataFreshness', 'Maximum'),
      processingSuccess: firehose('ExecuteProcessing.Success', 'Minimum'),
      deliverySuccess: firehose('DeliveryToS3.Success', 'Minimum'),
      lambdaErrors: props.transform.metricErrors({ statistic: 'Sum', period: M5 }),
      lambdaThrottles: props.transform.metricThrottles({ statistic: 'Sum', period: M5 }),
      consumerLag: consumer('centralog_consumer_shard_arrival_lag_seconds', 'Maximum'),
      deadLetters: consumer('centralog_consumer_dead_lettered_total', 'Sum'),
      red: d.metricClusterStatusRed({ statistic: 'Maximum', period: M1 }),
      yellow: d.metricClusterStatusYellow({ statistic: 'Maximum', period: M1 }),
      freeStorage: d.metricFreeStorageSpace({ statistic: 'Minimum', period: M5 }),
      writesBlocked: d.metricClusterIndexWritesBlocked({ statistic: 'Maximum', period: M1 }),
      jvm: d.metricJVMMemoryPressure({ statistic: 'Maximum', period: M5 }),
      writeRejected: d.metric('ThreadpoolWriteRejected', { statistic: 'Sum', period: M5 }),
    };

    const GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
    const GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    const LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD;
    const NOT = cloudwatch.TreatMissingData.NOT_BREACHING;
    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, op: cloudwatch.ComparisonOperator, periods: number, description: string, missing = NOT) => {
      const al = new cloudwatch.Alarm(this, id, {
        alarmName: `${config.namePrefix}-${id}`,
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: op,
        evaluationPeriods: periods,
        treatMissingData: missing,
      });
      al.addAlarmAction(new actions.SnsAction(this.topic));
      al.addOkAction(new actions.SnsAction(this.topic));
      this.alarms.push(al);
      return al;
    };
    alarm('StreamIteratorAge', m.iteratorAge, a.iteratorAgeSeconds * 1000, GT, 3, 'records wait in the stream: a reader (Firehose or the consumer) falls behind; data expires with the retention');
    alarm('StreamWriteThrottles', m.writeThrottles, 0, GT, 2, 'CloudWatch Logs is throttled writing into the stream: add shards (stream.shardCount) or use on-demand');
    alarm('FirehoseFreshness', m.freshness, a.firehoseFreshnessSeconds, GT, 3, 'the S3 archive falls behind the stream');
    alarm('FirehoseProcessingFailures', m.processingSuccess, 1, LT, 1, 'transform invocations failed: records go to processing-failed/ in the archive bucket');
    alarm('FirehoseDeliveryFailures', m.deliverySuccess, 1, LT, 1, 'Firehose could not write to the archive bucket');
    alarm('TransformErrors', m.lambdaErrors, 0, GT, 1, 'the transform Lambda failed (Firehose retries, then writes processing-failed/)');
    alarm('TransformThrottles', m.lambdaThrottles, 0, GT, 1, 'the transform Lambda is throttled: raise the account concurrency');
    // Missing lag means no consumer reports at all.
    alarm('ConsumerLag', m.consumerLag, a.consumerLagSeconds, GT, 3, 'the consumer falls behind (now minus the arrival time of the last record read)', cloudwatch.TreatMissingData.BREACHING);
    alarm('ConsumerDeadLetters', m.deadLetters, 0, GT, 1, 'documents went to S3 dead letters: see dead-letters/ and `centralog redrive`');
    alarm('OpenSearchRed', m.red, 1, GTE, 1, 'a primary shard is unassigned: some indices cannot be written or searched');
    alarm('OpenSearchYellow', m.yellow, 1, GTE, 5, 'replica shards unassigned for 5 minutes');
    alarm('OpenSearchFreeStorage', m.freeStorage, a.freeStorageGiB * 1024, LT, 1, 'a data node runs low on storage (MiB): lower retention or add storage');
    alarm('OpenSearchWritesBlocked', m.writesBlocked, 1, GTE, 1, 'the domain blocks index writes (storage or memory pressure): documents queue, then dead-letter');
    alarm('OpenSearchJvmPressure', m.jvm, 95, GTE, 3, 'JVM memory pressure at 95%: the domain may refuse requests');
    alarm('OpenSearchWriteRejections', m.writeRejected, 0, GT, 1, 'the write thread pool rejected requests (429s to the consumer, which backs off)');

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `${config.namePrefix}-pipeline` });
    const graph = (title: string, left: cloudwatch.IMetric[]) => new cloudwatch.GraphWidget({ title, left, width: 8, height: 6 });
    this.dashboard.addWidgets(
      graph('Stream: iterator age (ms)', [m.iteratorAge]),
      graph('Stream: write throttles', [m.writeThrottles]),
      graph('Firehose: data freshness (s)', [m.freshness]),
    );
    this.dashboard.addWidgets(
      graph('Firehose: processing / delivery success', [m.processingSuccess, m.deliverySuccess]),
      graph('Transform Lambda: errors / throttles', [m.lambdaErrors, m.lambdaThrottles]),
      graph('Consumer: lag (s)', [m.consumerLag]),
    );
    this.dashboard.addWidgets(
      graph('Consumer: dead letters', [m.deadLetters]),
      graph('OpenSearch: cluster status', [m.red, m.yellow]),
      graph('OpenSearch: free storage (MiB)', [m.freeStorage]),
    );
    this.dashboard.addWidgets(
      graph('OpenSearch: writes blocked', [m.writesBlocked]),
      graph('OpenSearch: JVM memory pressure (%)', [m.jvm]),
      graph('OpenSearch: write rejections', [m.writeRejected]),
    );
  }
}
