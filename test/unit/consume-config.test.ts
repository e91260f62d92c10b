import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConsumerOptions as resolveConsumeConfig } from '../../cli/consume.ts';
import { buildProgram } from '../../cli/main.ts';
import { ConsumerOptionsSchema, describeOptions, envName, flagName, signsRequests } from '../../consumers/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'centralog-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const required = { streamName: 'central-logs', deadLetterBucket: 'my-dead-letters', opensearchUrl: 'https://search.example:9200' };

function file(content: unknown): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('centralog consume configuration', () => {
  it('fills defaults: 10 s failover, 4 batches in flight, 5 MiB batches, 256 KiB events, status on 127.0.0.1:9464', () => {
    const c = resolveConsumeConfig(required, {});
    expect(c).toMatchObject({
      leaseTable: 'centralog-leases',
      failoverTimeMs: 10_000,
      maxInFlightBatches: 4,
      batchBytes: 5 * 1024 * 1024,
      maxEventBytes: 262_144,
      maxRecordsPerRead: 10_000,
      shardSyncIntervalMs: 60_000,
      statusHost: '127.0.0.1',
      statusPort: 9464,
      installTemplates: true,
      opensearchAuth: 'auto',
    });
  });

  it('layers file < environment < flags, converting strings from the environment', () => {
    const path = file({ ...required, failoverTimeMs: 20_000, maxInFlightBatches: 8, indexPrefix: 'fromfile' });
    const c = resolveConsumeConfig(
      { config: path, maxInFlightBatches: '2' },
      { CENTRALOG_FAILOVER_TIME_MS: '15000', CENTRALOG_INSTALL_TEMPLATES: 'false' },
    );
    expect(c.failoverTimeMs).toBe(15_000);
    expect(c.maxInFlightBatches).toBe(2);
    expect(c.indexPrefix).toBe('fromfile');
    expect(c.installTemplates).toBe(false);
  });

  it('names the key, where it came from and what was expected', () => {
    expect(() => resolveConsumeConfig({ ...required, failoverTimeMs: 'soon' }, {})).toThrow(
      /^--failover-time-ms: expected a number \(got "soon"\)$/,
    );
    expect(() => resolveConsumeConfig(required, { CENTRALOG_BATCH_BYTES: String(20 * 1024 * 1024) })).toThrow(/^CENTRALOG_BATCH_BYTES: expected at most 10485760 \(got "20971520"\)$/);
    expect(() => resolveConsumeConfig({ streamName: 's', deadLetterBucket: 'b-b', opensearchUrl: 'ftp://x' }, {})).toThrow(/^--opensearch-url: expected an http\(s\) URL/);
    expect(() => resolveConsumeConfig({ deadLetterBucket: 'bbb', opensearchUrl: 'http://x' }, {})).toThrow(/^--stream-name \(or CENTRALOG_STREAM_NAME\): required/);
    expect(() => resolveConsumeConfig({ ...required, kinesisEndpoint: 'localhost:4567' }, {})).toThrow(/--kinesis-endpoint: expected an http\(s\) URL or 'aws'/);
  });

  it('rejects unknown or malformed config files and bad VPC flow formats, naming them', () => {
    expect(() => resolveConsumeConfig({ config: file({ ...required, failover: 5 }) }, {})).toThrow(/unknown key "failover"/);
    expect(() => resolveConsumeConfig({ config: file('{"streamName": ') }, {})).toThrow(/^config file .*\.json: /);
    expect(() => resolveConsumeConfig({ config: join(dir, 'missing.json') }, {})).toThrow(/missing\.json: ENOENT/);
    const bad = file({ ...required, vpcFlowFormats: { '/vpc/custom': '${version} ${no-such-field}' } });
    expect(() => resolveConsumeConfig({ config: bad }, {})).toThrow(/vpcFlowFormats in .*\[\/vpc\/custom\]: vpcflow: unknown field 'no-such-field'/);
    const good = file({ ...required, vpcFlowFormats: { '/vpc/custom': '${version} ${srcaddr} ${dstaddr}' } });
    expect(resolveConsumeConfig({ config: good }, {}).vpcFlowFormats).toEqual({ '/vpc/custom': ['version', 'srcaddr', 'dstaddr'] });
  });

  it('signs requests for Amazon OpenSearch Service hosts unless told otherwise', () => {
    expect(signsRequests({ opensearchAuth: 'auto', opensearchUrl: 'https://search-logs-abc.eu-west-1.es.amazonaws.com' })).toBe('es');
    expect(signsRequests({ opensearchAuth: 'auto', opensearchUrl: 'https://abc.us-east-1.aoss.amazonaws.com' })).toBe('aoss');
    expect(signsRequests({ opensearchAuth: 'auto', opensearchUrl: 'http://127.0.0.1:9200' })).toBeUndefined();
    expect(signsRequests({ opensearchAuth: 'sigv4', opensearchUrl: 'https://vpc-proxy.internal' })).toBe('es');
    expect(signsRequests({ opensearchAuth: 'none', opensearchUrl: 'https://x.es.amazonaws.com' })).toBeUndefined();
  });

  it('takes VPC flow formats as JSON from CENTRALOG_VPC_FLOW_FORMATS or a flag, naming a bad one', () => {
    const env = { CENTRALOG_VPC_FLOW_FORMATS: '{"/vpc/custom": "${version} ${srcaddr} ${dstaddr}"}' };
    expect(resolveConsumeConfig(required, env).vpcFlowFormats).toEqual({ '/vpc/custom': ['version', 'srcaddr', 'dstaddr'] });
    expect(resolveConsumeConfig({ ...required, vpcFlowFormats: '{"/g": "version srcaddr"}' }, {}).vpcFlowFormats).toEqual({ '/g': ['version', 'srcaddr'] });
    expect(() => resolveConsumeConfig(required, { CENTRALOG_VPC_FLOW_FORMATS: '{"/vpc/custom": ' })).toThrow(/^CENTRALOG_VPC_FLOW_FORMATS: /);
    expect(() => resolveConsumeConfig(required, { CENTRALOG_VPC_FLOW_FORMATS: '{"/g": "${version} ${nope}"}' })).toThrow(
      /^CENTRALOG_VPC_FLOW_FORMATS \[\/g\]: vpcflow: unknown field 'nope'/,
    );
  });

  it('--help lists every option of the schema with its variable and default', () => {
    const help = buildProgram().commands.find((c) => c.name() === 'consume')!.helpInformation();
    for (const { key, defaultValue, meta } of describeOptions(ConsumerOptionsSchema)) {
      expect(help).toContain(flagName(key));
      expect(help).toContain(envName(key));
      if (defaultValue !== undefined && meta.arg) expect(help.replace(/\s+/g, ' ')).toContain(`default ${typeof defaultValue === 'string' ? defaultValue : JSON.stringify(defaultValue)}`);
    }
    // Literal spot checks, independent of the schema: a default that drifts shows here.
    expect(help.replace(/\s+/g, ' ')).toContain('--failover-time-ms <ms> a lease not renewed for this long is taken over (default 10000; CENTRALOG_FAILOVER_TIME_MS)');
  });

  it('derives flag and variable names from the keys', () => {
    expect(flagName('maxInFlightBatches')).toBe('--max-in-flight-batches');
    expect(envName('maxInFlightBatches')).toBe('CENTRALOG_MAX_IN_FLIGHT_BATCHES');
  });
});
