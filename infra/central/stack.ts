import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type DeployConfig, names } from '../config.ts';
import { AlertsTopic } from './alerts.ts';
import { bootstrapRole, OpenSearchBootstrap } from './bootstrap-resource.ts';
import { CentralBuckets } from './buckets.ts';
import { ConsumerFleet } from './consumer.ts';
import { S3IngestWorkers } from './ingest-s3.ts';
import { addDestination, DestinationRole } from './destination.ts';
import { ArchiveDelivery } from './firehose.ts';
import { PipelineLogs } from './log-groups.ts';
import { Monitoring } from './monitoring.ts';
import { CentralNetwork } from './network.ts';
import { SearchDomain } from './opensearch.ts';
import { CentralStream } from './stream.ts';

/** CENTRALOG_VPC_FLOW_FORMATS for the consumer and the Lambda: the members' flow log group and its custom format. */
export function vpcFlowFormatsVariable(config: DeployConfig): string | undefined {
  const format = config.members.vpcFlowLogFormat;
  // Field names without ${}: both readers accept them, and CloudFormation tools read ${x} as a reference.
  return format ? JSON.stringify({ [names(config).vpcFlowLogGroup]: format.replace(/\$\{([^}]+)\}/g, '$1') }) : undefined;
}

/**
 * The central logging account in its primary region: stream, the destination of this
 * region, Firehose archive, OpenSearch and its bootstrap, the consumer fleet, alarms.
 */
export class CentralLoggingStack extends Stack {
  readonly config: DeployConfig;
  readonly stream: CentralStream;
  readonly destinationRole: DestinationRole;
  readonly buckets: CentralBuckets;
  readonly archive: ArchiveDelivery;
  readonly search: SearchDomain;
  readonly bootstrap: OpenSearchBootstrap;
  readonly consumer: ConsumerFleet;
  /** ingest-s3 services, when the config has S3 sources. */
  readonly s3Ingest?: S3IngestWorkers;
  readonly monitoring: Monitoring;
  readonly alerts?: AlertsTopic;

  constructor(scope: Construct, id: string, props: StackProps & { config: DeployConfig }) {
    const { config } = props;
    super(scope, id, { ...props, env: { account: config.centralAccountId, region: config.primaryRegion }, description: 'centralog: central logging account' });
    this.config = config;
    const vpcFlowFormats = vpcFlowFormatsVariable(config);
    const logs = new PipelineLogs(this, 'PipelineLogs', config);
    this.stream = new CentralStream(this, 'Stream', config);

    this.destinationRole = new DestinationRole(this, 'DestinationRole', { config, stream: this.stream.stream, key: this.stream.key });
    if (config.regions.includes(config.primaryRegion)) {
      addDestination(this, 'Destination', {
        config,
        region: config.primaryRegion,
        roleArn: this.destinationRole.role.roleArn,
        targetArn: this.stream.stream.streamArn,
        dependsOn: this.destinationRole.policy,
      });
    }

    this.buckets = new CentralBuckets(this, 'Buckets', config);
    this.archive = new ArchiveDelivery(this, 'Archive', {
      config,
      stream: this.stream.stream,
      streamKey: this.stream.key,
      bucket: this.buckets.archive,
      bucketKey: this.buckets.key,
      logs,
      vpcFlowFormats,
    });

    const network = new CentralNetwork(this, 'Network', { config, logs });
    this.consumer = new ConsumerFleet(this, 'Consumer', {
      config,
      logs,
      network,
      stream: this.stream.stream,
      streamKey: this.stream.key,
      streamConsumerArn: this.stream.consumer?.attrConsumerArn,
      deadLetters: this.buckets.deadLetters,
      deadLetterKey: this.buckets.key,
      vpcFlowFormats,
    });
    const masterRole = bootstrapRole(this);
    this.search = new SearchDomain(this, 'Search', { config, logs, network, masterRole });
    this.consumer.allowSearch(this.search.domain.domainArn, this.search.securityGroup);
    this.consumer.setOpenSearchUrl(`https://${this.search.domain.domainEndpoint}`);
    this.alerts = config.detections.enabled ? new AlertsTopic(this, 'Detections', config) : undefined;
    this.consumer.detections(this.alerts?.topic, this.alerts?.key);
    if (config.s3Sources.length > 0) {
      const ingest = new S3IngestWorkers(this, 'S3Ingest', { config, logs, network, cluster: this.consumer.cluster, deadLetters: this.buckets.deadLetters, deadLetterKey: this.buckets.key });
      ingest.allowSearch(this.search.domain.domainArn, this.search.securityGroup);
      ingest.setOpenSearchUrl(`https://${this.search.domain.domainEndpoint}`);
      this.s3Ingest = ingest;
    }
    const writerRoles = [this.consumer.taskRole, ...(this.s3Ingest ? [this.s3Ingest.taskRole] : [])];
    this.bootstrap = new OpenSearchBootstrap(this, 'OpenSearchBootstrap', { config, logs, network, search: this.search, role: masterRole, writerRoles });
    // Templates and the consumer's role mapping exist before the first document is indexed.
    this.consumer.service.node.addDependency(this.bootstrap.resource);
    for (const s of this.s3Ingest?.services ?? []) s.node.addDependency(this.bootstrap.resource);

    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      stream: this.stream.stream,
      deliveryStreamName: this.archive.deliveryStream.ref,
      transform: this.archive.transform,
      consumerNamespace: this.consumer.metricsNamespace,
      domain: this.search.domain,
    });

    new CfnOutput(this, 'StreamArn', { value: this.stream.stream.streamArn });
    new CfnOutput(this, 'ArchiveBucket', { value: this.buckets.archive.bucketName });
    new CfnOutput(this, 'DeadLetterBucket', { value: this.buckets.deadLetters.bucketName });
    new CfnOutput(this, 'OpenSearchEndpoint', { value: this.search.domain.domainEndpoint });
    new CfnOutput(this, 'OpenSearchDashboards', { value: `https://${this.search.domain.domainEndpoint}/_dashboards` });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    if (this.alerts) new CfnOutput(this, 'AlertsTopicArn', { value: this.alerts.topic.topicArn, description: 'detection alerts, each published once' });
  }
}
