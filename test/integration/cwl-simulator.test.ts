import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchLogsSimulator, SIMULATED_SOURCES } from '../../local/index.ts';
import { decodeCwlRecord, detectSource, type CwlEnvelope } from '../../processors/index.ts';
import { createStream, readStream, startTestStack, uniqueName } from '../helpers.ts';

type TestStack = Awaited<ReturnType<typeof startTestStack>>;

const ONE_MIB = 1024 * 1024;


interface Decoded {
  controls: CwlEnvelope[];
  data: CwlEnvelope[];
  failed: number;
  sizes: number[];
}

async function readDecoded(kinesis: KinesisClient, streamName: string): Promise<Decoded> {
  const out: Decoded = { controls: [], data: [], failed: 0, sizes: [] };
  for (const record of await readStream(kinesis, streamName)) {
    out.sizes.push(record.Data!.byteLength);
    const decoded = decodeCwlRecord(record.Data!);
    if (decoded.kind === 'control') out.controls.push(decoded.envelope);
    else if (decoded.kind === 'data') out.data.push(decoded.envelope);
    else out.failed++;
  }
  return out;
}

const streamKey = (e: CwlEnvelope): string => `${e.owner}|${e.logGroup}|${e.logStream}`;

describe('CloudWatch Logs simulator, read back from a real stream', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  describe('subscribe() then produce(300) over 4 accounts', () => {
    const accounts = 4;
    const streamName = uniqueName('cwl-sim');
    let simulator: CloudWatchLogsSimulator;
    let afterSubscribe: Decoded;
    let decoded: Decoded;

    beforeAll(async () => {
      await createStream(stack.kinesis, streamName, 2);
      simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts });
      await simulator.subscribe();
      afterSubscribe = await readDecoded(stack.kinesis, streamName);
      await simulator.produce(300);
      decoded = await readDecoded(stack.kinesis, streamName);
    });

    it('subscribe() writes one CONTROL_MESSAGE per log group and nothing else', () => {
      const groups = new Set(simulator.streams.map((s) => `${s.owner}|${s.logGroup}`));
      expect(groups.size).toBe(accounts * 3);
      expect(afterSubscribe.data).toHaveLength(0);
      expect(afterSubscribe.failed).toBe(0);
      expect(afterSubscribe.controls).toHaveLength(groups.size);
      expect(simulator.controlMessagesSent).toBe(groups.size);
      for (const control of afterSubscribe.controls) {
        expect(control.messageType).toBe('CONTROL_MESSAGE');
        expect(control.owner).toBe('CloudwatchLogs');
        expect(control.logEvents.length).toBeGreaterThan(0);
        expect(control.logEvents[0]!.message).toContain('CWL CONTROL MESSAGE');
      }
      // produce() adds no control messages.
      expect(decoded.controls).toHaveLength(groups.size);
    });

    it('produce(300) writes exactly 300 log events over DATA_MESSAGE records, every record decodable', () => {
      expect(decoded.failed).toBe(0);
      expect(decoded.data.length).toBeGreaterThan(0);
      for (const envelope of decoded.data) {
        expect(envelope.messageType).toBe('DATA_MESSAGE');
        expect(envelope.logEvents.length).toBeGreaterThan(0);
        expect(envelope.subscriptionFilters.length).toBeGreaterThan(0);
      }
      expect(decoded.data.reduce((n, e) => n + e.logEvents.length, 0)).toBe(300);
      expect(simulator.produced).toBe(300);
      expect(simulator.recordsSent).toBe(decoded.controls.length + decoded.data.length);
    });

    it("each record is one simulated log stream's batch: all its events come from that stream's source and account", () => {
      const specs = new Map(simulator.streams.map((s) => [`${s.owner}|${s.logGroup}|${s.logStream}`, s]));
      // One produce() call batches each log stream's events into one record.
      const keys = decoded.data.map(streamKey);
      expect(new Set(keys).size).toBe(keys.length);
      for (const envelope of decoded.data) {
        const spec = specs.get(streamKey(envelope));
        expect(spec, streamKey(envelope)).toBeDefined();
        for (const event of envelope.logEvents) {
          const detected = detectSource(event.message);
          expect(detected.source).toBe(spec!.source);
          if (detected.source === 'vpcflow') {
            expect(detected.line.split(' ')[1]).toBe(envelope.owner);
          } else if (detected.source === 'cloudtrail') {
            expect(detected.record.recipientAccountId).toBe(envelope.owner);
          } else if (detected.source === 'guardduty') {
            expect(detected.envelope?.account).toBe(envelope.owner);
            expect(detected.finding.accountId).toBe(envelope.owner);
          }
        }
      }
    });

    it('event ids are 56-digit strings, unique across the stream', () => {
      const ids = decoded.data.flatMap((e) => e.logEvents.map((ev) => ev.id));
      expect(ids).toHaveLength(300);
      for (const id of ids) expect(id).toMatch(/^\d{56}$/);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('accounts vary: owners are 12-digit ids, as many distinct as accounts', () => {
      const owners = new Set(decoded.data.map((e) => e.owner));
      for (const owner of owners) expect(owner).toMatch(/^\d{12}$/);
      expect(owners.size).toBe(accounts);
      expect(new Set(simulator.streams.map((s) => s.owner)).size).toBe(accounts);
    });

    it('messages cover vpcflow, cloudtrail and guardduty, with unique CloudTrail eventIDs and GuardDuty finding ids', () => {
      const bySource: Record<string, number> = {};
      const trailIds: string[] = [];
      const findingIds: string[] = [];
      for (const envelope of decoded.data) {
        for (const event of envelope.logEvents) {
          const detected = detectSource(event.message);
          bySource[detected.source] = (bySource[detected.source] ?? 0) + 1;
          if (detected.source === 'cloudtrail') trailIds.push(String(detected.record.eventID));
          if (detected.source === 'guardduty') findingIds.push(String(detected.finding.id));
        }
      }
      for (const source of SIMULATED_SOURCES) {
        expect(bySource[source], source).toBeGreaterThan(0);
        expect(bySource[source], source).toBe(simulator.producedBySource[source]);
      }
      expect(bySource.cloudwatch_logs).toBeUndefined();
      expect(trailIds.length).toBeGreaterThan(1);
      expect(new Set(trailIds).size).toBe(trailIds.length);
      expect(findingIds.length).toBeGreaterThan(1);
      expect(new Set(findingIds).size).toBe(findingIds.length);
    });

    it('producedKeys is exactly the owner|logGroup|logStream|id set found in the stream', () => {
      const inStream = decoded.data.flatMap((e) => e.logEvents.map((ev) => `${streamKey(e)}|${ev.id}`));
      expect(inStream).toHaveLength(simulator.producedKeys.size);
      expect(new Set(inStream)).toEqual(simulator.producedKeys);
    });

    it('no record exceeds 1 MiB', () => {
      expect(decoded.sizes).toHaveLength(decoded.controls.length + decoded.data.length);
      for (const size of decoded.sizes) expect(size).toBeLessThanOrEqual(ONE_MIB);
    });
  });

  describe('a large produce() on one account', () => {
    it('splits a log stream with more than ~1 MB of events over several records, each under 1 MiB, losing no event', async () => {
      const streamName = uniqueName('cwl-sim-big');
      await createStream(stack.kinesis, streamName, 1);
      const simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts: 1 });
      await simulator.produce(8000);
      const records = await readStream(stack.kinesis, streamName);
      const perStream = new Map<string, number>();
      const ids = new Set<string>();
      for (const record of records) {
        expect(record.Data!.byteLength).toBeLessThanOrEqual(ONE_MIB);
        // The uncompressed batch stays within 1 MiB too.
        expect(gunzipSync(record.Data!).length).toBeLessThanOrEqual(ONE_MIB);
        const decoded = decodeCwlRecord(record.Data!);
        expect(decoded.kind).toBe('data');
        if (decoded.kind !== 'data') continue;
        perStream.set(streamKey(decoded.envelope), (perStream.get(streamKey(decoded.envelope)) ?? 0) + 1);
        for (const e of decoded.envelope.logEvents) ids.add(`${streamKey(decoded.envelope)}|${e.id}`);
      }
      expect(Math.max(...perStream.values())).toBeGreaterThan(1);
      expect(ids.size).toBe(8000);
      expect(ids).toEqual(simulator.producedKeys);
    });
  });
});
