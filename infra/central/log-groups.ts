import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DeployConfig } from '../config.ts';

/**
 * The pipeline's own log groups (Lambda, Firehose errors, OpenSearch, consumer), all under
 * one key. None of them is ever subscribed to the destination: the pipeline would feed
 * its own logs back into itself.
 */
export class PipelineLogs extends Construct {
  readonly key: kms.Key;
  private readonly retention: logs.RetentionDays;

  constructor(scope: Construct, id: string, config: DeployConfig) {
    super(scope, id);
    this.retention = config.logRetentionDays as logs.RetentionDays;
    this.key = new kms.Key(this, 'Key', {
      description: "centralog: the pipeline's own log groups",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsInThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*` } },
      }),
    );
  }

  /** A log group of the pipeline, encrypted and with the configured retention. */
  group(scope: Construct, id: string, logGroupName?: string): logs.LogGroup {
    return new logs.LogGroup(scope, id, {
      logGroupName,
      encryptionKey: this.key,
      retention: this.retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

}
