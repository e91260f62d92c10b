import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DecodeError, decodeCwlRecord, encodeCwlRecord, type CwlEnvelope, type DecodedRecord } from '../../processors/index.ts';
import { prng } from './firehose-response-gen.ts';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const fixtureJson = <T = unknown>(name: string): T => JSON.parse(fixture(name).toString('utf8')) as T;

function expectFailed(decoded: DecodedRecord): DecodeError {
  expect(decoded.kind).toBe('failed');
  if (decoded.kind !== 'failed') throw new Error(`expected failed, got ${decoded.kind}`);
  expect(decoded.error).toBeInstanceOf(DecodeError);
  return decoded.error;
}

function expectEnvelope(decoded: DecodedRecord, kind: 'data' | 'control'): CwlEnvelope {
  expect(decoded.kind).toBe(kind);
  if (decoded.kind !== kind) throw new Error(`expected ${kind}, got ${decoded.kind}`);
  return decoded.envelope;
}

/** The otel-contrib sample, re-compressed exactly as CloudWatch Logs delivers it. */
const validDataJson = fixture('valid_cloudwatch_log.json');
const validDataGzip = gzipSync(validDataJson);

describe('decodeCwlRecord on real payloads', () => {
  it('decodes a gzipped real DATA_MESSAGE to kind data with its owner, logGroup, logStream and event ids', () => {
    const env = expectEnvelope(decodeCwlRecord(validDataGzip), 'data');
    expect(env.messageType).toBe('DATA_MESSAGE');
    expect(env.owner).toBe('123456789012');
    expect(env.logGroup).toBe('CloudTrail');
    expect(env.logStream).toBe('123456789012_CloudTrail_us-east-1');
    expect(env.subscriptionFilters).toEqual(['Destination']);
    expect(env.logEvents.map((e) => e.id)).toEqual([
      '31953106606966983378809025079804211143289615424298221568',
      '31953106606966983378809025079804211143289615424298221569',
      '31953106606966983378809025079804211143289615424298221570',
    ]);
    expect(env.logEvents.every((e) => e.timestamp === 1432826855000)).toBe(true);
    // The message is kept byte for byte, even though it is itself truncated JSON.
    expect(env.logEvents[0]?.message).toBe('{"eventVersion":"1.03","userIdentity":{"type":"Root"}');
  });

  it('decodes a gzipped real CONTROL_MESSAGE to kind control', () => {
    const env = expectEnvelope(decodeCwlRecord(gzipSync(fixture('valid_cloudwatch_log_control.json'))), 'control');
    expect(env.messageType).toBe('CONTROL_MESSAGE');
    expect(env.owner).toBe('CloudwatchLogs');
    expect(env.logEvents[0]?.message).toBe('CWL CONTROL MESSAGE: Checking health of destination Firehose.');
  });

  it('decodes a CONTROL_MESSAGE with empty logGroup, logStream and subscriptionFilters to kind control', () => {
    const env = expectEnvelope(decodeCwlRecord(gzipSync(fixture('vector_remap-test_control-message.json'))), 'control');
    expect(env.logGroup).toBe('');
    expect(env.logStream).toBe('');
    expect(env.subscriptionFilters).toEqual([]);
    expect(env.logEvents).toHaveLength(1);
  });

  it('decodes both records of the real Kinesis capture (base64 gzip data) to their envelopes', () => {
    const capture = fixtureJson<{ Records: { kinesis: { data: string } }[] }>(
      'powertools-py_kinesisStreamCloudWatchLogsEvent.json',
    );
    expect(capture.Records).toHaveLength(2);
    const envs = capture.Records.map((r) => expectEnvelope(decodeCwlRecord(Buffer.from(r.kinesis.data, 'base64')), 'data'));
    for (const env of envs) {
      expect(env.owner).toBe('231436140809');
      expect(env.logGroup).toBe('/aws/lambda/pt-1488-DummyLogDataFunction-gnWXPvL6jJyG');
      expect(env.subscriptionFilters).toEqual(['pt-1488-CloudWatchLogsToKinesisSubscriptionFilter-5gkxsK0HpHDI']);
      expect(env.logEvents).toHaveLength(3);
    }
    expect(envs.map((e) => e.logStream)).toEqual([
      '2022/11/10/[$LATEST]26b6a45d574f442ea28438923cbf7bf7',
      '2022/11/10/[$LATEST]6749cb3ec3b34895986d592d7421cab2',
    ]);
    expect(envs[0]?.logEvents.map((e) => e.id)).toEqual([
      '37199717562907174288355125807040114704837640994633613312',
      '37199717563107880995141901415313936169291476248187437057',
      '37199717563107880995141901415313936169291476248187437058',
    ]);
    expect(envs[0]?.logEvents[0]).toEqual({
      id: '37199717562907174288355125807040114704837640994633613312',
      timestamp: 1668093027015,
      message: 'START RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa Version: $LATEST\n',
    });
    expect(envs[1]?.logEvents[2]?.timestamp).toBe(1668092603918);
  });

  it('decodes a real zlib-wrapped (not gzip) payload, keeping policyLevel', () => {
    const sample = fixtureJson<{ awslogs: { data: string } }>('powertools-py_cloudWatchLogEventWithPolicyLevel.json');
    const bytes = Buffer.from(sample.awslogs.data, 'base64');
    expect(bytes[0]).toBe(0x78); // zlib header, not gzip 1f 8b
    const env = expectEnvelope(decodeCwlRecord(bytes), 'data');
    expect(env.owner).toBe('123456789123');
    expect(env.logGroup).toBe('testLogGroup');
    expect(env.logStream).toBe('testLogStream');
    expect(env.policyLevel).toBe('ACCOUNT_LEVEL_POLICY');
    expect(env.logEvents.map((e) => [e.id, e.message])).toEqual([
      ['eventId1', '[ERROR] First test message'],
      ['eventId2', '[ERROR] Second test message'],
    ]);
  });

  it('decodes a Uint8Array view that starts part-way into a larger buffer', () => {
    const backing = new Uint8Array(validDataGzip.length + 32).fill(0xee);
    backing.set(validDataGzip, 16);
    const view = backing.subarray(16, 16 + validDataGzip.length);
    const env = expectEnvelope(decodeCwlRecord(view), 'data');
    expect(env.logEvents).toHaveLength(3);
  });
});

describe('decodeCwlRecord failure reasons', () => {
  it('reports compression when the gzip body is corrupt', () => {
    const corrupt = Buffer.from(validDataGzip);
    for (let i = 10; i < 30; i++) corrupt[i] = 0xff; // keep the 1f 8b magic, wreck the deflate stream
    const err = expectFailed(decodeCwlRecord(corrupt));
    expect(err.reason).toBe('compression');
    expect(err.message.startsWith('compression: ')).toBe(true);
  });

  it('reports compression when the gzip stream is truncated', () => {
    const err = expectFailed(decodeCwlRecord(validDataGzip.subarray(0, Math.floor(validDataGzip.length / 2))));
    expect(err.reason).toBe('compression');
  });

  it('reports compression, naming the first bytes, when the data is neither gzip nor zlib', () => {
    const err = expectFailed(decodeCwlRecord(validDataJson)); // uncompressed JSON starts with '{'
    expect(err.reason).toBe('compression');
    expect(err.message).toContain('not gzip or zlib');
    expect(err.message).toContain(validDataJson.subarray(0, 4).toString('hex'));
  });

  it('reports json when the decompressed text is truncated JSON', () => {
    const text = validDataJson.toString('utf8');
    const err = expectFailed(decodeCwlRecord(gzipSync(text.slice(0, Math.floor(text.length * 0.6)))));
    expect(err.reason).toBe('json');
    expect(err.message.startsWith('json: ')).toBe(true);
  });

  it('reports envelope naming logEvents when logEvents is missing', () => {
    const obj = fixtureJson<Record<string, unknown>>('valid_cloudwatch_log.json');
    delete obj.logEvents;
    const err = expectFailed(decodeCwlRecord(gzipSync(JSON.stringify(obj))));
    expect(err.reason).toBe('envelope');
    expect(err.message).toMatch(/^envelope: logEvents: /);
  });

  it("reports envelope naming messageType when messageType is 'FOO'", () => {
    const obj = fixtureJson<Record<string, unknown>>('valid_cloudwatch_log.json');
    obj.messageType = 'FOO';
    const err = expectFailed(decodeCwlRecord(gzipSync(JSON.stringify(obj))));
    expect(err.reason).toBe('envelope');
    expect(err.message).toMatch(/^envelope: messageType: /);
  });

  it('reports envelope naming the nested path when a log event has a string timestamp', () => {
    const obj = fixtureJson<{ logEvents: Record<string, unknown>[] }>('valid_cloudwatch_log.json');
    obj.logEvents[1]!.timestamp = '1432826855000';
    const err = expectFailed(decodeCwlRecord(gzipSync(JSON.stringify(obj))));
    expect(err.reason).toBe('envelope');
    expect(err.message).toMatch(/^envelope: logEvents\.1\.timestamp: /);
  });

  it('reports envelope at (root) when the JSON is not an object', () => {
    for (const text of ['null', '[]', '42', '"DATA_MESSAGE"']) {
      const err = expectFailed(decodeCwlRecord(gzipSync(text)));
      expect(err.reason).toBe('envelope');
      expect(err.message).toMatch(/^envelope: \(root\): /);
    }
  });

  it('reports empty for a DATA_MESSAGE with no logEvents', () => {
    const obj = fixtureJson<Record<string, unknown>>('valid_cloudwatch_log.json');
    obj.logEvents = [];
    const err = expectFailed(decodeCwlRecord(gzipSync(JSON.stringify(obj))));
    expect(err.reason).toBe('empty');
  });

  it('reports empty for a zero-length record', () => {
    expect(expectFailed(decodeCwlRecord(new Uint8Array(0))).reason).toBe('empty');
    expect(expectFailed(decodeCwlRecord(Buffer.alloc(0))).reason).toBe('empty');
  });
});

describe('encodeCwlRecord', () => {
  it('round-trips through decodeCwlRecord, including extractedFields and policyLevel', () => {
    const envelope: CwlEnvelope = {
      messageType: 'DATA_MESSAGE',
      owner: '111122223333',
      logGroup: '/aws/vpc/flow-logs',
      logStream: 'eni-1235b8ca123456789-all',
      subscriptionFilters: ['centralog'],
      policyLevel: 'ACCOUNT_LEVEL_POLICY',
      logEvents: [
        { id: '1', timestamp: 1418530070000, message: 'héllo ✓ "quoted"\n' },
        { id: '2', timestamp: 1418530071000, message: 'x', extractedFields: { '@aws.account': '111122223333' } },
      ],
    };
    const encoded = encodeCwlRecord(envelope);
    expect([encoded[0], encoded[1]]).toEqual([0x1f, 0x8b]);
    expect(JSON.parse(gunzipSync(encoded).toString('utf8'))).toEqual(envelope);
    expect(decodeCwlRecord(encoded)).toEqual({ kind: 'data', envelope });
  });

  it('round-trips a CONTROL_MESSAGE to kind control', () => {
    const envelope = fixtureJson<CwlEnvelope>('valid_cloudwatch_log_control.json');
    expect(decodeCwlRecord(encodeCwlRecord(envelope))).toEqual({ kind: 'control', envelope });
  });
});


describe('decodeCwlRecord under random and mutated input', () => {
  it('never throws and always answers data, control or failed with a known reason over 2,000 seeded mutations', () => {
    const rand = prng(0xc3a710);
    const int = (n: number) => Math.floor(rand() * n);
    const controlGzip = gzipSync(fixture('valid_cloudwatch_log_control.json'));
    const jsonText = validDataJson.toString('utf8');
    const reasons = new Set(['compression', 'json', 'envelope', 'empty']);
    const seen: Record<string, number> = {};

    for (let i = 0; i < 2000; i++) {
      let input: Buffer;
      switch (i % 6) {
        case 0: {
          // flip 1..8 bytes of a valid gzip record
          input = Buffer.from(rand() < 0.5 ? validDataGzip : controlGzip);
          for (let k = 1 + int(8); k > 0; k--) input[int(input.length)] = int(256);
          break;
        }
        case 1: // truncate a valid gzip record anywhere
          input = validDataGzip.subarray(0, int(validDataGzip.length + 1));
          break;
        case 2: {
          // random bytes, sometimes with a gzip or zlib magic in front
          input = Buffer.alloc(int(64));
          for (let k = 0; k < input.length; k++) input[k] = int(256);
          const prefix = int(3);
          if (prefix === 1 && input.length >= 2) [input[0], input[1]] = [0x1f, 0x8b];
          if (prefix === 2 && input.length >= 1) input[0] = 0x78;
          break;
        }
        case 3: {
          // mutate characters of the JSON, then gzip it properly
          const chars = jsonText.split('');
          for (let k = 1 + int(4); k > 0; k--) chars[int(chars.length)] = String.fromCharCode(int(128));
          input = gzipSync(chars.join(''));
          break;
        }
        case 4: // truncate the JSON, then gzip it properly
          input = gzipSync(jsonText.slice(0, int(jsonText.length + 1)));
          break;
        default: {
          // structurally valid JSON with a random key removed or retyped
          const obj = JSON.parse(jsonText) as Record<string, unknown>;
          const keys = Object.keys(obj);
          const key = keys[int(keys.length)]!;
          const choice = int(3);
          if (choice === 0) delete obj[key];
          else if (choice === 1) obj[key] = 42;
          else obj[key] = null;
          input = gzipSync(JSON.stringify(obj));
        }
      }

      let decoded: DecodedRecord;
      try {
        decoded = decodeCwlRecord(input);
      } catch (err) {
        throw new Error(`iteration ${i} threw: ${String(err)} (input ${input.toString('hex').slice(0, 80)})`);
      }
      expect(['data', 'control', 'failed']).toContain(decoded.kind);
      if (decoded.kind === 'failed') {
        expect(decoded.error).toBeInstanceOf(DecodeError);
        expect(reasons.has(decoded.error.reason)).toBe(true);
        expect(decoded.error.message.startsWith(`${decoded.error.reason}: `)).toBe(true);
        seen[decoded.error.reason] = (seen[decoded.error.reason] ?? 0) + 1;
      } else {
        seen[decoded.kind] = (seen[decoded.kind] ?? 0) + 1;
        if (decoded.kind === 'data') expect(decoded.envelope.logEvents.length).toBeGreaterThan(0);
      }
    }
    // The loop really reached every decoding stage, not just the gzip check.
    expect(seen.compression).toBeGreaterThan(0);
    expect(seen.json).toBeGreaterThan(0);
    expect(seen.envelope).toBeGreaterThan(0);
    expect(seen.data).toBeGreaterThan(0);
  });
});

describe('decodeCwlRecord: base64 payloads', () => {
  it('decodes the base64 text of a zlib payload, as a Lambda awslogs event carries it, keeping policyLevel', () => {
    const event = JSON.parse(fixture('powertools-py_cloudWatchLogEventWithPolicyLevel.json').toString('utf8')) as { awslogs: { data: string } };
    const decoded = decodeCwlRecord(Buffer.from(event.awslogs.data, 'latin1'));
    expect(decoded.kind).toBe('data');
    if (decoded.kind !== 'data') return;
    expect(decoded.envelope.policyLevel).toBe('ACCOUNT_LEVEL_POLICY');
    expect(decoded.envelope.logEvents.length).toBeGreaterThan(0);
  });

  it('decodes the base64 text of a gzip payload the same as its bytes', () => {
    const bytes = encodeCwlRecord({
      messageType: 'DATA_MESSAGE',
      owner: '123456789012',
      logGroup: 'g',
      logStream: 's',
      subscriptionFilters: [],
      logEvents: [{ id: '1', timestamp: 1, message: 'm' }],
    });
    expect(decodeCwlRecord(Buffer.from(bytes.toString('base64'), 'latin1'))).toEqual(decodeCwlRecord(bytes));
  });
});
