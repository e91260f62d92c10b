import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { type DeployConfig, names } from '../config.ts';
import { acknowledge } from '../nag.ts';

/**
 * The central Kinesis stream, the customer-managed key that encrypts it, and (for
 * enhanced fan-out) the stream consumer the fleet subscribes with.
 */
export class CentralStream extends Construct {
  readonly key: kms.Key;
  readonly stream: kinesis.Stream;
  /** Registered when the consumer reads with fan-out: its own 2 MB/s per shard, none of Firehose's polling share. */
  readonly consumer?: kinesis.CfnStreamConsumer;

  constructor(scope: Construct, id: string, config: DeployConfig) {
    super(scope, id);
    const n = names(config);
    this.key = new kms.Key(this, 'Key', {
      alias: n.streamKeyAlias,
      description: 'centralog: the central log stream',
      enableKeyRotation: true,
      // Records in the stream (and anything re-read from it) are unreadable without the key.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const onDemand = config.stream.mode === 'on-demand';
    this.stream = new kinesis.Stream(this, 'Stream', {
      streamName: n.stream,
      streamMode: onDemand ? kinesis.StreamMode.ON_DEMAND : kinesis.StreamMode.PROVISIONED,
      shardCount: onDemand ? undefined : config.stream.shardCount,
      retentionPeriod: Duration.hours(config.stream.retentionHours),
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: this.key,
    });
    if (config.stream.retrieval === 'fanout') {
      this.consumer = new kinesis.CfnStreamConsumer(this, 'Consumer', { streamArn: this.stream.streamArn, consumerName: n.streamConsumer });
    }
    acknowledge(this.stream, ['AwsSolutions-KDS3', 'a customer-managed key is a requirement: its key policy, rotation and CloudTrail record decide who reads the logs']);
  }
}
