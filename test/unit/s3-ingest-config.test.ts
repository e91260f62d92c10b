import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { ConfigError, createS3Ingester, resolveOptions, S3IngestOptionsSchema } from '../../consumers/index.ts';
import { assumedRoleCredentials, AssumeRoleError, decodeS3Key, parseNotification } from '../../consumers/s3-ingest/index.ts';
import { accountFromKey, detectObjectFormat, regionFromKey } from '../../processors/index.ts';

const base = { queueUrls: 'https://sqs.eu-west-1.amazonaws.com/111122223333/alb-events', deadLetterBucket: 'dead-letters', opensearchUrl: 'http://127.0.0.1:9200' };

describe('S3 event notifications', () => {
  it('decodes keys as S3 writes them (form-encoded, + for a space)', () => {
    expect(decodeS3Key('AWSLogs/123/elasticloadbalancing/a+b%3Dc.log.gz')).toBe('AWSLogs/123/elasticloadbalancing/a b=c.log.gz');
  });

  it('reads only ObjectCreated records, and tells test events and strangers apart', () => {
    const body = JSON.stringify({
      Records: [
        { eventName: 'ObjectRemoved:Delete', eventTime: '2024-01-01T00:00:00Z', s3: { bucket: { name: 'b' }, object: { key: 'gone' } } },
        { eventName: 'ObjectCreated:CompleteMultipartUpload', eventTime: '2024-01-01T00:00:00Z', s3: { bucket: { name: 'b' }, object: { key: 'k', size: 5 } } },
      ],
    });
    expect(parseNotification(body)).toEqual({ kind: 'objects', via: 's3', objects: [{ bucket: 'b', key: 'k', size: 5, eventTime: Date.parse('2024-01-01T00:00:00Z') }] });
    expect(parseNotification('{"Service":"Amazon S3","Event":"s3:TestEvent"}')).toEqual({ kind: 'test' });
    expect(parseNotification(JSON.stringify({ Type: 'Notification', Message: '{"Service":"Amazon S3","Event":"s3:TestEvent"}' }))).toEqual({ kind: 'test' });
    expect(parseNotification('not json')).toMatchObject({ kind: 'unknown' });
    expect(parseNotification('{"Records":[{"eventName":"ObjectCreated:Put"}]}')).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('s3.bucket.name') });
  });
});

describe('object formats from AWS key layouts', () => {
  it.each([
    ['AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2024/01/01/123456789012_elasticloadbalancing_eu-west-1_app.lb.1_20240101T0000Z_10.0.0.1_x.log.gz', 'elb'],
    ['AWSLogs/o-abc123defg/123456789012/CloudTrail/eu-west-1/2024/01/01/123456789012_CloudTrail_eu-west-1_20240101T0000Z_x.json.gz', 'cloudtrail'],
    ['AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2024/01/01/x.json.gz', 'cloudtrail_digest'],
    ['AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/01/01/x.log.gz', 'vpcflow'],
    ['AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/01/01/x.parquet', 'parquet'],
    ['AWSLogs/123456789012/GuardDuty/eu-west-1/2024/01/01/x.jsonl.gz', 'guardduty'],
    ['some/other/file.txt', 'unknown_key'],
  ])('%s -> %s', (key, format) => {
    expect(detectObjectFormat(key, 'hello')).toBe(format);
  });

  it('reads the account (also behind an organisation id) and the region from the key', () => {
    expect(accountFromKey('logs/AWSLogs/o-abc123defg/123456789012/CloudTrail/eu-west-1/2024/')).toBe('123456789012');
    expect(regionFromKey('AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2024/01/01/x.log.gz')).toBe('eu-west-1');
  });
});

describe('ingest-s3 options', () => {
  it('takes queues as a comma list or a JSON array and names a bad one', () => {
    expect(resolveOptions(S3IngestOptionsSchema, { flags: { ...base, queueUrls: 'https://q/1, https://q/2' } }).queueUrls).toEqual(['https://q/1', 'https://q/2']);
    expect(resolveOptions(S3IngestOptionsSchema, { flags: { ...base, queueUrls: '["https://q/1"]' } }).queueUrls).toEqual(['https://q/1']);
    expect(() => resolveOptions(S3IngestOptionsSchema, { flags: { ...base, queueUrls: 'alb-events' } })).toThrow(/--queue-urls \[0\]: expected SQS queue URLs/);
    expect(() => resolveOptions(S3IngestOptionsSchema, { flags: { ...base, roleArn: 'my-role' } })).toThrow(/--role-arn: expected an IAM role ARN/);
  });

  it('refuses an external id without the role it belongs to', () => {
    const options = resolveOptions(S3IngestOptionsSchema, { flags: { ...base, externalId: 'centralog-123' } });
    expect(() => createS3Ingester(options)).toThrow(ConfigError);
  });
});

describe('cross-account reads (STS has no local form: its client is mocked)', () => {
  it('assumes the role with the external id once, and again only near expiry', async () => {
    const sts = mockClient(STSClient);
    let expiration = new Date(Date.now() + 3600_000);
    sts.on(AssumeRoleCommand).callsFake(() => ({ Credentials: { AccessKeyId: 'ASIA1', SecretAccessKey: 's', SessionToken: 't', Expiration: expiration } }));
    const provider = assumedRoleCredentials(new STSClient({ region: 'eu-west-1' }), 'arn:aws:iam::444455556666:role/centralog-s3-read', 'centralog-444455556666');
    const [a, b] = await Promise.all([provider(), provider()]);
    expect(a).toEqual({ accessKeyId: 'ASIA1', secretAccessKey: 's', sessionToken: 't', expiration });
    expect(b).toBe(a);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input).toMatchObject({ RoleArn: 'arn:aws:iam::444455556666:role/centralog-s3-read', ExternalId: 'centralog-444455556666' });
    await provider(); // still valid for an hour: no call
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    // Credentials a minute from expiry are renewed before use.
    expiration = new Date(Date.now() + 60_000);
    const expiring = assumedRoleCredentials(new STSClient({ region: 'eu-west-1' }), 'arn:aws:iam::444455556666:role/centralog-s3-read', 'centralog-444455556666');
    await expiring();
    await expiring();
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(3);
    sts.restore();
  });

  it('names the role when STS refuses it', async () => {
    const sts = mockClient(STSClient);
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('User is not authorized to perform: sts:AssumeRole'), { name: 'AccessDenied' }));
    const provider = assumedRoleCredentials(new STSClient({ region: 'eu-west-1' }), 'arn:aws:iam::444455556666:role/centralog-s3-read', 'wrong');
    await expect(provider()).rejects.toThrow(AssumeRoleError);
    await expect(provider()).rejects.toThrow(/arn:aws:iam::444455556666:role\/centralog-s3-read/);
    sts.restore();
  });
});
