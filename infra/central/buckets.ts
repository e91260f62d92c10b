import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { DeployConfig } from '../config.ts';
import { acknowledge, skipCheckov } from '../nag.ts';

interface Lifecycle {
  glacierAfterDays: number;
  expireAfterDays: number;
}

/** The archive and dead-letter buckets, their key, and the bucket their access logs go to. */
export class CentralBuckets extends Construct {
  readonly key: kms.Key;
  readonly accessLogs: s3.Bucket;
  readonly archive: s3.Bucket;
  readonly deadLetters: s3.Bucket;

  constructor(scope: Construct, id: string, config: DeployConfig) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'centralog: archive and dead-letter buckets',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // S3 server access logging delivers only to buckets encrypted with S3-managed keys.
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: rules({ glacierAfterDays: 90, expireAfterDays: 365 }),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.accessLogs, ['AwsSolutions-S1', 'the access-log bucket itself: logging it into itself would loop']);
    skipCheckov(
      this.accessLogs,
      ['CKV_AWS_18', 'the access-log bucket itself: logging it into itself would loop'],
      ['CKV_AWS_145', 'S3 server access logging delivers only to SSE-S3 buckets'],
    );
    this.archive = this.dataBucket('Archive', 'archive/', config.archive);
    this.deadLetters = this.dataBucket('DeadLetters', 'dead-letters/', config.deadLetters);
  }

  private dataBucket(id: string, logPrefix: string, lifecycle: Lifecycle): s3.Bucket {
    return new s3.Bucket(this, id, {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: logPrefix,
      lifecycleRules: rules(lifecycle),
      // The archive is the copy every replay starts from; dead letters wait for a redrive.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

function rules(l: Lifecycle): s3.LifecycleRule[] {
  return [
    {
      id: 'tiering-and-expiry',
      transitions: [{ storageClass: s3.StorageClass.GLACIER, transitionAfter: Duration.days(l.glacierAfterDays) }],
      expiration: Duration.days(l.expireAfterDays),
      noncurrentVersionExpiration: Duration.days(30),
      abortIncompleteMultipartUploadAfter: Duration.days(7),
    },
  ];
}
