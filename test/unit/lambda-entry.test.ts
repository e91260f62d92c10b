import { build } from 'esbuild';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeCwlRecord, type FirehoseTransformationEvent } from '../../processors/index.ts';
import { esbuildOptions } from '../../scripts/build.mjs';

function event(): FirehoseTransformationEvent {
  const data = encodeCwlRecord({
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: '/aws/vpc/flowlogs',
    logStream: 'eni-0123456789abcdef0-all',
    subscriptionFilters: ['central'],
    logEvents: [
      {
        id: '3'.repeat(56),
        timestamp: 1_700_000_000_000,
        message: '2 123456789012 eni-0123456789abcdef0 10.0.0.1 10.0.0.2 443 49152 6 10 840 1699999940 1700000000 ACCEPT OK',
      },
    ],
  });
  const control = encodeCwlRecord({
    messageType: 'CONTROL_MESSAGE',
    owner: 'CloudwatchLogs',
    logGroup: '',
    logStream: '',
    subscriptionFilters: [],
    logEvents: [{ id: '', timestamp: 1_700_000_000_000, message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.' }],
  });
  return {
    invocationId: 'invocation-1',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/archive',
    sourceKinesisStreamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/central',
    region: 'us-east-1',
    records: [data, control].map((d, i) => ({ recordId: `r${i}`, approximateArrivalTimestamp: 1_700_000_000_000, data: d.toString('base64') })),
  };
}

describe('deployed Firehose transform Lambda entry', () => {
  afterEach(() => vi.restoreAllMocks());

  it('answers the event and publishes EMF metrics for what it did', async () => {
    vi.stubEnv('POWERTOOLS_DEV', 'false');
    const lines: string[] = [];
    const capture = (...args: unknown[]) => lines.push(args.map(String).join(' '));
    vi.spyOn(console, 'log').mockImplementation(capture);
    vi.spyOn(console, 'info').mockImplementation(capture);
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const { handler } = await import('../../infra/lambda/firehose-transform.ts');
    const response = await handler(event());
    vi.restoreAllMocks();

    expect(response.records.map((r) => [r.recordId, r.result])).toEqual([
      ['r0', 'Ok'],
      ['r1', 'Dropped'],
    ]);
    const emf = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf.length).toBeGreaterThan(0);
    const metrics = emf[0]!;
    expect(metrics.RecordsOk).toBe(1);
    expect(metrics.ControlMessagesDropped).toBe(1);
    expect(metrics.LogEventsArchived).toBe(1);
    const aws = metrics._aws as { CloudWatchMetrics: Array<{ Namespace: string }> };
    expect(aws.CloudWatchMetrics[0]!.Namespace).toBe('centralog');
  });

  it('reads CENTRALOG_VPC_FLOW_FORMATS as consume does: a custom format makes its group\'s lines VPC flow, a bad one fails the cold start by name', async () => {
    const custom = (): FirehoseTransformationEvent => ({
      ...event(),
      records: [
        {
          recordId: 'c0',
          approximateArrivalTimestamp: 1_700_000_000_000,
          data: encodeCwlRecord({
            messageType: 'DATA_MESSAGE',
            owner: '123456789012',
            logGroup: '/custom/flows',
            logStream: 's',
            subscriptionFilters: ['central'],
            logEvents: [{ id: '4'.repeat(56), timestamp: 1_700_000_000_000, message: '2 10.0.0.1 10.0.0.2 ACCEPT' }],
          }).toString('base64'),
        },
      ],
    });
    const sourceOf = (r: { data?: string }) => (JSON.parse(Buffer.from(r.data!, 'base64').toString('utf8').split('\n')[0]!) as { source: string }).source;
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);

    vi.resetModules();
    vi.stubEnv('CENTRALOG_VPC_FLOW_FORMATS', '{"/custom/flows": "${version} ${srcaddr} ${dstaddr} ${action}"}');
    const withFormat = await import('../../infra/lambda/firehose-transform.ts');
    expect(sourceOf((await withFormat.handler(custom())).records[0]!)).toBe('aws.vpcflow');

    vi.resetModules();
    vi.stubEnv('CENTRALOG_VPC_FLOW_FORMATS', '');
    const without = await import('../../infra/lambda/firehose-transform.ts');
    expect(sourceOf((await without.handler(custom())).records[0]!)).toBe('aws.cloudwatch_logs');

    vi.resetModules();
    vi.stubEnv('CENTRALOG_VPC_FLOW_FORMATS', '{"/custom/flows": "${version} ${no-such-field}"}');
    await expect(import('../../infra/lambda/firehose-transform.ts')).rejects.toThrow(/^CENTRALOG_VPC_FLOW_FORMATS \[\/custom\/flows\]: vpcflow: unknown field 'no-such-field'/);
    vi.unstubAllEnvs();
  });

  it("loads only the Kinesis re-ingest path of the consumer, none of its OpenSearch, metrics, DynamoDB or S3 modules", async () => {
    // The module graph of the deployed bundle, built in memory.
    const { metafile } = await build({ ...esbuildOptions('lambda'), minify: false });
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain('consumers/sinks/kinesis-reingest.ts');
    expect(inputs).not.toContain('consumers/index.ts');
    const heavy = ['@opensearch-project/opensearch', 'prom-client', '@aws-sdk/client-dynamodb', '@aws-sdk/client-s3', 'pino'];
    expect(inputs.filter((path) => heavy.some((pkg) => path.includes(`node_modules/${pkg}/`)))).toEqual([]);
  });
});
