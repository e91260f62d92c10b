import type { App } from 'aws-cdk-lib';

/** Behaviour switches of aws-cdk-lib the stacks rely on (also in cdk.json, for the CDK CLI). */
export const FEATURE_FLAGS: Record<string, unknown> = {
  // S3 server access logs delivered by bucket policy, not the legacy LogDeliveryWrite ACL.
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
};

/** Sets FEATURE_FLAGS on an app that has no stacks yet. */
export function applyFeatureFlags(app: App): void {
  for (const [key, value] of Object.entries(FEATURE_FLAGS)) app.node.setContext(key, value);
}
