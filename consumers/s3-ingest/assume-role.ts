import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';

/** Temporary credentials, in the shape every SDK client's `credentials` option takes. */
export interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type AwsCredentialIdentityProvider = () => Promise<AwsCredentialIdentity>;

/** The role could not be assumed; the message names the role and what STS said. */
export class AssumeRoleError extends Error {
  override readonly name = 'AssumeRoleError';
}

/** Credentials are renewed this long before they expire, so no request is signed with expiring ones. */
const RENEW_BEFORE_MS = 5 * 60_000;

/**
 * Credentials of a role in another account (the bucket owner's read role), assumed with the
 * external id that role's trust policy requires, cached and renewed before they expire.
 */
export function assumedRoleCredentials(
  sts: STSClient,
  roleArn: string,
  externalId: string | undefined,
  sessionName = 'centralog-ingest-s3',
): AwsCredentialIdentityProvider {
  let current: AwsCredentialIdentity | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  const fetch = async (): Promise<AwsCredentialIdentity> => {
    let res;
    try {
      res = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName, ExternalId: externalId, DurationSeconds: 3600 }));
    } catch (err) {
      throw new AssumeRoleError(`assuming ${roleArn}${externalId ? ' with the given external id' : ''} failed: ${(err as Error).name}: ${(err as Error).message}`);
    }
    const c = res.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new AssumeRoleError(`assuming ${roleArn} returned no credentials`);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  };
  return async () => {
    if (current && (!current.expiration || current.expiration.getTime() - Date.now() > RENEW_BEFORE_MS)) return current;
    pending ??= fetch().finally(() => (pending = undefined));
    current = await pending;
    return current;
  };
}
