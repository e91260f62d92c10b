import type { KinesisClient, PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { putRecordsWithRetry } from '../consumers/index.ts';
import { chunkBySize, encodeCwlRecord, type CwlEnvelope, type CwlLogEvent, type LogGroupSources } from '../processors/index.ts';

const SAMPLES = join(dirname(fileURLToPath(import.meta.url)), 'simulator', 'samples');

export type SimulatedSource = 'vpcflow' | 'cloudtrail' | 'guardduty';
export const SIMULATED_SOURCES: readonly SimulatedSource[] = ['vpcflow', 'cloudtrail', 'guardduty'];

/** Share of produced events per source: flow logs dominate real volumes, findings are rare. */
const SOURCE_WEIGHTS: Record<SimulatedSource, number> = { vpcflow: 0.5, cloudtrail: 0.4, guardduty: 0.1 };

// A record's data stays well under Kinesis's 1 MiB.
const MAX_RAW_BATCH_BYTES = 900 * 1024;
const SUBSCRIPTION_FILTER = 'centralog-destination';

interface LogStreamSpec {
  source: SimulatedSource;
  owner: string;
  logGroup: string;
  logStream: string;
}

/** One CWL record as the subscription would write it, with the events it carries. */
export interface SimulatedRecord {
  partitionKey: string;
  data: Buffer;
  source: SimulatedSource;
  /** `owner|logGroup|logStream|eventId` of each event in the record. */
  keys: string[];
}

export interface SimulatorOptions {
  /** Only needed to produce into a stream; building records needs none. */
  kinesis?: KinesisClient;
  streamName?: string;
  /** Member accounts to simulate (each with VPC flow, CloudTrail and GuardDuty log groups). */
  accounts: number;
  region?: string;
}

/** Loads the bundled real samples once (see simulator/samples/README.md for their sources). */
function loadSamples() {
  const lines = (file: string) =>
    readFileSync(join(SAMPLES, file), 'utf8')
      .split('\n')
      .filter((l) => l.trim().length > 0);
  return { cloudtrail: lines('cloudtrail.ndjson'), vpcflow: lines('vpcflow-v2.txt'), guardduty: lines('guardduty.ndjson') };
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Writes records to a Kinesis stream exactly as a CloudWatch Logs subscription does:
 * gzip JSON envelopes, events batched per log stream, 56-digit event ids, and a
 * CONTROL_MESSAGE when each subscription starts. Events are the real samples with
 * accounts, times and ids varied, so any volume can be produced.
 */
export class CloudWatchLogsSimulator {
  readonly streams: LogStreamSpec[];
  readonly producedBySource: Record<SimulatedSource, number> = { vpcflow: 0, cloudtrail: 0, guardduty: 0 };
  /** `owner|logGroup|logStream|eventId` of every produced event, for end-to-end accounting. */
  readonly producedKeys = new Set<string>();
  controlMessagesSent = 0;
  recordsSent = 0;
  private readonly samples = loadSamples();
  private readonly region: string;
  private counter = 0;
  private pick = 0;
  private readonly nonce = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');

  /**
   * What the simulated member accounts' log groups carry, as an operator maps them
   * (CENTRALOG_LOG_GROUP_SOURCES): without the map their CloudTrail and GuardDuty events
   * would be indexed as generic look-alikes.
   */
  static readonly LOG_GROUP_SOURCES = {
    '/aws/vpc/flowlogs': 'vpcflow',
    'aws-cloudtrail-logs-*': 'cloudtrail',
    '/aws/events/guardduty': 'guardduty',
  } as const satisfies LogGroupSources;

  constructor(private readonly opts: SimulatorOptions) {
    this.region = opts.region ?? 'us-east-1';
    this.streams = [];
    for (let a = 0; a < opts.accounts; a++) {
      const owner = String(111111111111 + a * 1010101).padStart(12, '0');
      for (let i = 0; i < 2; i++) {
        this.streams.push({ source: 'vpcflow', owner, logGroup: '/aws/vpc/flowlogs', logStream: `eni-${hex(9).slice(0, 17)}-all` });
      }
      this.streams.push({
        source: 'cloudtrail',
        owner,
        logGroup: `aws-cloudtrail-logs-${owner}`,
        logStream: `${owner}_CloudTrail_${this.region}`,
      });
      this.streams.push({ source: 'guardduty', owner, logGroup: '/aws/events/guardduty', logStream: hex(16) });
    }
  }

  get produced(): number {
    return this.producedKeys.size;
  }

  /** CloudWatch Logs' 56-digit event id; unique per simulator run. */
  private eventId(timestamp: number): string {
    this.counter++;
    return `${String(timestamp).padStart(20, '0')}${this.nonce}${String(this.counter).padStart(28, '0')}`;
  }

  private message(spec: LogStreamSpec, now: number): string {
    const i = this.pick++;
    if (spec.source === 'vpcflow') {
      const line = this.samples.vpcflow[i % this.samples.vpcflow.length]!;
      const f = line.split(' ');
      const end = Math.floor(now / 1000);
      f[1] = spec.owner;
      f[10] = String(end - 60);
      f[11] = String(end);
      if (f[5] !== '-' && f[6] !== '-' && f[7] === '6') f[5] = String(32768 + (i % 28000));
      return f.join(' ');
    }
    if (spec.source === 'cloudtrail') {
      const record = JSON.parse(this.samples.cloudtrail[i % this.samples.cloudtrail.length]!) as Record<string, unknown>;
      record.eventID = randomUUID();
      record.eventTime = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
      record.recipientAccountId = spec.owner;
      const identity = record.userIdentity as Record<string, unknown> | undefined;
      if (identity && typeof identity.accountId === 'string') identity.accountId = spec.owner;
      return JSON.stringify(record);
    }
    const event = JSON.parse(this.samples.guardduty[i % this.samples.guardduty.length]!) as Record<string, unknown>;
    const iso = new Date(now).toISOString();
    event.id = randomUUID();
    event.account = spec.owner;
    event.region = this.region;
    event.time = iso.replace(/\.\d{3}Z$/, 'Z');
    const finding = event.detail as Record<string, unknown>;
    finding.id = hex(16);
    finding.accountId = spec.owner;
    finding.region = this.region;
    finding.createdAt = iso;
    finding.updatedAt = iso;
    return JSON.stringify(event);
  }

  /** Sends the CONTROL_MESSAGE each new subscription filter produces. */
  async subscribe(): Promise<void> {
    const groups = new Set(this.streams.map((s) => `${s.owner}|${s.logGroup}`));
    const entries: PutRecordsRequestEntry[] = [...groups].map(() => ({
      PartitionKey: randomUUID(),
      Data: encodeCwlRecord({
        messageType: 'CONTROL_MESSAGE',
        owner: 'CloudwatchLogs',
        logGroup: '',
        logStream: '',
        subscriptionFilters: [],
        logEvents: [{ id: '', timestamp: Date.now(), message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.' }],
      }),
    }));
    await this.put(entries);
    this.controlMessagesSent += entries.length;
  }

  /**
   * Builds `count` events spread over every log stream by source weight, as the CWL
   * records a subscription would deliver (one per log stream batch). No I/O.
   */
  buildRecords(count: number, now = Date.now()): SimulatedRecord[] {
    const batches = new Map<LogStreamSpec, CwlLogEvent[]>();
    for (let n = 0; n < count; n++) {
      const spec = this.chooseStream();
      const event = { id: this.eventId(now), timestamp: now, message: this.message(spec, now) };
      let list = batches.get(spec);
      if (!list) batches.set(spec, (list = []));
      list.push(event);
    }
    const records: SimulatedRecord[] = [];
    for (const [spec, events] of batches) {
      for (const part of this.splitBySize(events)) {
        const envelope: CwlEnvelope = {
          messageType: 'DATA_MESSAGE',
          owner: spec.owner,
          logGroup: spec.logGroup,
          logStream: spec.logStream,
          subscriptionFilters: [SUBSCRIPTION_FILTER],
          logEvents: part,
        };
        records.push({
          partitionKey: randomUUID(),
          data: encodeCwlRecord(envelope),
          source: spec.source,
          keys: part.map((e) => `${spec.owner}|${spec.logGroup}|${spec.logStream}|${e.id}`),
        });
      }
    }
    return records;
  }

  /** Produces `count` events into the stream, as one PutRecords round. */
  async produce(count: number): Promise<void> {
    if (count <= 0) return;
    const records = this.buildRecords(count);
    await this.put(records.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })));
    for (const r of records) {
      this.producedBySource[r.source] += r.keys.length;
      for (const key of r.keys) this.producedKeys.add(key);
    }
  }

  /** Produces at `ratePerSecond` until `durationMs` passes or the signal aborts. */
  async run(options: { durationMs: number; ratePerSecond: number; signal?: AbortSignal; tickMs?: number }): Promise<void> {
    const tick = options.tickMs ?? 200;
    const started = Date.now();
    while (Date.now() - started < options.durationMs && !options.signal?.aborted) {
      const due = Math.floor(((Date.now() - started + tick) / 1000) * options.ratePerSecond) - this.produced;
      const tickStart = Date.now();
      await this.produce(Math.max(0, due));
      const rest = tick - (Date.now() - tickStart);
      if (rest > 0) await sleep(rest);
    }
  }

  private chooseStream(): LogStreamSpec {
    let r = Math.random();
    let source: SimulatedSource = 'vpcflow';
    for (const s of SIMULATED_SOURCES) {
      r -= SOURCE_WEIGHTS[s];
      if (r <= 0) {
        source = s;
        break;
      }
    }
    const candidates = this.streams.filter((s) => s.source === source);
    return candidates[Math.floor(Math.random() * candidates.length)]!;
  }

  /** CloudWatch Logs keeps each delivered batch under about 1 MB of JSON. */
  private splitBySize(events: CwlLogEvent[]): Generator<CwlLogEvent[]> {
    // The message as it appears in the envelope's JSON, escapes included.
    return chunkBySize(events, (e) => JSON.stringify(e.message).length + 100, MAX_RAW_BATCH_BYTES);
  }

  private async put(entries: PutRecordsRequestEntry[]): Promise<void> {
    if (!this.opts.kinesis || !this.opts.streamName) throw new Error('CloudWatchLogsSimulator needs kinesis and streamName to produce');
    await putRecordsWithRetry(this.opts.kinesis, this.opts.streamName, entries);
    this.recordsSent += entries.length;
  }
}
