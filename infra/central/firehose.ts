import { Annotations, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { type DeployConfig, memberLogGroupSources } from '../config.ts';
import { acknowledge, acknowledgeWildcards, skipCheckov } from '../nag.ts';
import { nodeFunction, skipLambdaChecks } from './functions.ts';
import type { PipelineLogs } from './log-groups.ts';

/** The keys the transform returns as metadata.partitionKeys, in S3 key order. */
export const PARTITION_KEYS = ['source', 'account', 'year', 'month', 'day', 'hour'] as const;
/** `source=!{partitionKeyFromLambda:source}/account=.../hour=.../`, the layout the local harness writes too. */
export const ARCHIVE_PREFIX = PARTITION_KEYS.map((k) => `${k}=!{partitionKeyFromLambda:${k}}/`).join('');
/** Firehose names the error type (processing-failed, ...) where the local harness does. */
export const ERROR_OUTPUT_PREFIX = '!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/';

export interface ArchiveDeliveryProps {
  config: DeployConfig;
  stream: kinesis.IStream;
  streamKey: kms.IKey;
  bucket: s3.IBucket;
  bucketKey: kms.IKey;
  logs: PipelineLogs;
  /** CENTRALOG_VPC_FLOW_FORMATS, when members use a custom format. */
  vpcFlowFormats?: string;
}

/** Lambda environment variables share 4 KB; the map is left out (labels are then parsed, not looked up) before it could break a deploy. */
const LAMBDA_ENVIRONMENT_BUDGET = 3500;

function transformEnvironment(scope: Construct, config: DeployConfig, vpcFlowFormats: string | undefined): Record<string, string> {
  const env: Record<string, string> = vpcFlowFormats ? { CENTRALOG_VPC_FLOW_FORMATS: vpcFlowFormats } : {};
  // The consumer's map: a mapped group's events are labelled for the archive without parsing them.
  const sources = JSON.stringify(memberLogGroupSources(config));
  if (sources.length + (vpcFlowFormats?.length ?? 0) <= LAMBDA_ENVIRONMENT_BUDGET) env.CENTRALOG_LOG_GROUP_SOURCES = sources;
  else Annotations.of(scope).addWarningV2('centralog:transform-map', `the log group map (${sources.length} characters) does not fit the transform Lambda's environment: the transform labels every event by parsing it, which is slower; prefix patterns (ending in *) keep the map short`);
  return env;
}

/** Firehose reading the stream, transforming with the Lambda and archiving to S3 by source/account/hour. */
export class ArchiveDelivery extends Construct {
  readonly transform: lambda.Function;
  readonly deliveryStream: firehose.CfnDeliveryStream;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ArchiveDeliveryProps) {
    super(scope, id);
    const { config } = props;

    this.transform = nodeFunction(this, 'Transform', {
      entry: 'infra/lambda/firehose-transform.ts',
      description: 'centralog: Firehose transform (CloudWatch Logs records to NDJSON, partition keys)',
      logs: props.logs,
      memorySize: 1024,
      // Firehose waits up to 5 minutes for an invocation.
      timeout: Duration.minutes(3),
      environment: transformEnvironment(this, config, props.vpcFlowFormats),
    });
    skipLambdaChecks(this.transform, 'the Firehose transform', { inVpc: false });
    // Overflow past the 6 MB response goes back into the stream it came from.
    this.transform.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReingestOverflow', actions: ['kinesis:PutRecords'], resources: [props.stream.streamArn] }));
    this.transform.addToRolePolicy(new iam.PolicyStatement({ sid: 'EncryptForStream', actions: ['kms:GenerateDataKey'], resources: [props.streamKey.keyArn] }));

    const errors = props.logs.group(this, 'DeliveryErrors');
    const errorStream = new logs.LogStream(this, 'S3DeliveryErrors', { logGroup: errors, logStreamName: 'S3Delivery' });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': config.centralAccountId } } }),
      description: 'centralog Firehose: reads the stream, runs the transform, writes the archive',
    });
    const policy = new iam.Policy(this, 'Policy', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadStream',
          actions: ['kinesis:DescribeStream', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards'],
          resources: [props.stream.streamArn],
        }),
        new iam.PolicyStatement({ sid: 'DecryptStream', actions: ['kms:Decrypt'], resources: [props.streamKey.keyArn] }),
        new iam.PolicyStatement({ sid: 'RunTransform', actions: ['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'], resources: [this.transform.functionArn] }),
        new iam.PolicyStatement({
          sid: 'WriteArchive',
          actions: ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:GetObject', 's3:ListBucket', 's3:ListBucketMultipartUploads', 's3:PutObject'],
          resources: [props.bucket.bucketArn, props.bucket.arnForObjects('*')],
        }),
        new iam.PolicyStatement({
          sid: 'EncryptArchive',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [props.bucketKey.keyArn],
          conditions: { StringLike: { 'kms:EncryptionContext:aws:s3:arn': [props.bucket.arnForObjects('*'), props.bucket.bucketArn] } },
        }),
        new iam.PolicyStatement({ sid: 'LogDeliveryErrors', actions: ['logs:PutLogEvents'], resources: [`${errors.logGroupArn}`] }),
      ],
    });
    acknowledgeWildcards(policy, 'objects of the archive bucket only: Firehose makes the keys at delivery time', props.bucket.arnForObjects('*'));

    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'Resource', {
      deliveryStreamName: `${config.namePrefix}-archive`,
      deliveryStreamType: 'KinesisStreamAsSource',
      kinesisStreamSourceConfiguration: { kinesisStreamArn: props.stream.streamArn, roleArn: this.role.roleArn },
      extendedS3DestinationConfiguration: {
        bucketArn: props.bucket.bucketArn,
        roleArn: this.role.roleArn,
        prefix: ARCHIVE_PREFIX,
        errorOutputPrefix: ERROR_OUTPUT_PREFIX,
        compressionFormat: 'GZIP',
        bufferingHints: { sizeInMBs: config.firehose.bufferMiB, intervalInSeconds: config.firehose.bufferSeconds },
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: props.bucketKey.keyArn } },
        dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: 'Lambda',
              parameters: [
                { parameterName: 'LambdaArn', parameterValue: this.transform.functionArn },
                { parameterName: 'BufferSizeInMBs', parameterValue: String(config.firehose.processorBufferMiB) },
                { parameterName: 'BufferIntervalInSeconds', parameterValue: String(config.firehose.processorIntervalSeconds) },
                { parameterName: 'NumberOfRetries', parameterValue: '3' },
              ],
            },
          ],
        },
        cloudWatchLoggingOptions: { enabled: true, logGroupName: errors.logGroupName, logStreamName: errorStream.logStreamName },
        s3BackupMode: 'Disabled',
      },
    });
    // Firehose checks its role when the delivery stream is created.
    this.deliveryStream.node.addDependency(policy);
    acknowledge(this.deliveryStream, ['AwsSolutions-KDF1', 'a delivery stream with a Kinesis source is encrypted by its source stream (customer-managed key); Firehose refuses its own SSE then']);
    skipCheckov(this.deliveryStream, ['CKV_AWS_240', 'a Kinesis-sourced delivery stream takes the stream\'s encryption (CMK); Firehose refuses its own SSE then'], ['CKV_AWS_241', 'as CKV_AWS_240: the source stream is encrypted with a customer-managed key']);
  }
}
