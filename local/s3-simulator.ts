import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { hashId, splitAlbEntry } from '../processors/index.ts';

const SAMPLES = join(dirname(fileURLToPath(import.meta.url)), 'simulator', 'samples', 'alb-access-log.txt');

export interface S3SimulatorOptions {
  s3: S3Client;
  sqs: SQSClient;
  bucket: string;
  queueUrl: string;
  /** Member accounts whose load balancers write logs (12-digit ids). */
  accounts: string[];
  region: string;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const quoted = new Set([12, 13, 17, 18, 19, 22, 23, 24, 25, 26, 27, 28, 30, 31, 32]);

/**
 * What Elastic Load Balancing and S3 do for access logs: the load balancer writes a gzip
 * object of entries under AWSLogs/<account>/elasticloadbalancing/<region>/YYYY/MM/DD/ every
 * few minutes, and S3 sends an ObjectCreated notification to the bucket's queue. Entries are
 * the AWS documentation's examples with their time, client, trace id and target group account
 * varied. Every entry produced is remembered by the id the S3 path gives it.
 */
export class S3AccessLogSimulator {
  /** Document ids (bucket, key, line) of every entry written. */
  readonly producedIds = new Set<string>();
  objects = 0;
  private readonly samples: string[][];
  private seq = 0;

  constructor(private readonly o: S3SimulatorOptions | Pick<S3SimulatorOptions, 'region'>) {
    this.samples = readFileSync(SAMPLES, 'utf8').trim().split('\n').map((l) => splitAlbEntry(l)!);
  }

  get produced(): number {
    return this.producedIds.size;
  }

  /** One entry of a sample, at `time`, from a varied client, with the account's target group. */
  private entry(sample: string[], time: Date, account: string): string {
    const f = [...sample];
    const iso = (d: Date) => `${d.toISOString().slice(0, 19)}.${pad(d.getUTCMilliseconds(), 3)}${pad(Math.floor(Math.random() * 1000), 3)}Z`;
    f[1] = iso(time);
    f[21] = iso(new Date(time.getTime() - Math.floor(Math.random() * 500)));
    f[3] = `198.51.100.${1 + Math.floor(Math.random() * 254)}:${1024 + Math.floor(Math.random() * 60000)}`;
    f[16] = f[16]!.replace(/:\d{12}:/, `:${account}:`);
    f[17] = `Root=1-${Math.floor(time.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
    return f.map((v, i) => (quoted.has(i) ? `"${v.replace(/"/g, '\\"')}"` : v)).join(' ');
  }

  /** `count` entries of an account's load balancer, 10 ms apart, ending at `end`. */
  entries(account: string, count: number, end = new Date()): string[] {
    return Array.from({ length: count }, (_, i) => this.entry(this.samples[i % this.samples.length]!, new Date(end.getTime() - (count - i) * 10), account));
  }

  /** Writes one log object of `entries` entries for an account and sends its notification. */
  async writeObject(account: string, entries: number, now = new Date()): Promise<string> {
    const d = now;
    const lbId = '50dc6c495c0c9188';
    const stamp = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
    const key =
      `AWSLogs/${account}/elasticloadbalancing/${this.o.region}/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/` +
      `${account}_elasticloadbalancing_${this.o.region}_app.my-loadbalancer.${lbId}_${stamp}_10.0.0.1_${(this.seq++).toString(36)}${randomBytes(4).toString('hex')}.log.gz`;
    const body = gzipSync(this.entries(account, entries, d).join('\n') + '\n');
    const o = this.o as S3SimulatorOptions;
    await o.s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: key, Body: body }));
    for (let i = 1; i <= entries; i++) this.producedIds.add(hashId(['s3', o.bucket, key, String(i)]));
    this.objects++;
    const notification = {
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: this.o.region,
          eventTime: new Date().toISOString(),
          eventName: 'ObjectCreated:Put',
          userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
          s3: {
            s3SchemaVersion: '1.0',
            configurationId: 'centralog-access-logs',
            bucket: { name: o.bucket, arn: `arn:aws:s3:::${o.bucket}` },
            // S3 form-encodes keys in notifications.
            object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+'), size: body.length },
          },
        },
      ],
    };
    await o.sqs.send(new SendMessageBatchCommand({ QueueUrl: o.queueUrl, Entries: [{ Id: '1', MessageBody: JSON.stringify(notification) }] }));
    return key;
  }

  /** Writes objects for `durationMs`, `ratePerSecond` entries a second spread over the accounts, one object per account each second. */
  async run(options: { durationMs: number; ratePerSecond: number; signal?: AbortSignal }): Promise<void> {
    const end = Date.now() + options.durationMs;
    const { accounts } = this.o as S3SimulatorOptions;
    const perObject = Math.max(1, Math.round(options.ratePerSecond / accounts.length));
    while (Date.now() < end) {
      options.signal?.throwIfAborted();
      const tick = Date.now();
      await Promise.all(accounts.map((a) => this.writeObject(a, perObject)));
      await sleep(Math.max(0, 1000 - (Date.now() - tick)));
    }
  }
}
