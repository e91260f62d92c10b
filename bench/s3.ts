import type { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { BulkSink, DeadLetterSink } from '../consumers/sinks/index.ts';
import { ObjectIngest } from '../consumers/s3-ingest/index.ts';
import { decompressed, textLines } from '../consumers/s3-ingest/object-lines.ts';
import { S3AccessLogSimulator } from '../local/index.ts';
import type { BenchResult } from './measure.ts';

const TARGET_BYTES = 100 * 1024 * 1024;
const FILE_BYTES = 10 * 1024 * 1024;

/** ~100 MB of ALB access log entries (the documentation's examples, varied), as 10 MB gzip files the way load balancers write them. */
function accessLogSet(): { files: Array<{ key: string; body: Buffer }>; lines: number; bytes: number } {
  const simulator = new S3AccessLogSimulator({ region: 'eu-west-1' });
  const files: Array<{ key: string; body: Buffer }> = [];
  let lines = 0;
  let bytes = 0;
  for (let f = 0; bytes < TARGET_BYTES; f++) {
    const chunk: string[] = [];
    let size = 0;
    while (size < FILE_BYTES) {
      const batch = simulator.entries('123456789012', 1000, new Date(Date.now() - f * 300_000));
      for (const l of batch) size += l.length + 1;
      chunk.push(...batch);
    }
    const text = chunk.join('\n') + '\n';
    bytes += Buffer.byteLength(text);
    lines += chunk.length;
    files.push({ key: `AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/01/01/bench_${f}.log.gz`, body: gzipSync(text) });
  }
  return { files, lines, bytes };
}

/**
 * Events/s of the S3 way in on one core for a ~100 MB ALB log set: gunzip, split, parse every
 * field, ECS document, id, bounded index name and bulk NDJSON, through the worker's own
 * ObjectIngest (S3 and OpenSearch stood in by in-memory stubs: their time is the network's).
 * Baseline: gunzip + line split of the same files, the least any reader of them does.
 */
export async function benchS3(): Promise<BenchResult[]> {
  const set = accessLogSet();
  const byKey = new Map(set.files.map((f) => [f.key, f.body]));
  const s3 = { send: async (cmd: { input: { Key: string } }) => ({ Body: Readable.from([byKey.get(cmd.input.Key)!]) }) } as unknown as S3Client;
  let indexed = 0;
  const bulk = { write: async (docs: unknown[]) => ((indexed += docs.length), { created: docs, duplicates: [], rejected: [] }) } as unknown as BulkSink;
  const deadLetters = { write: async () => undefined } as unknown as DeadLetterSink;
  const ingest = new ObjectIngest(s3, bulk, deadLetters, { batchBytes: 5 * 1024 * 1024, documents: { indexPrefix: 'bench', indexWindow: { maxAgeDays: 36_500 } } });

  const candidate = async (): Promise<number> => {
    indexed = 0;
    for (const f of set.files) await ingest.ingest({ bucket: 'bench', key: f.key, eventTime: Date.now() });
    return indexed;
  };
  const baseline = async (): Promise<number> => {
    let n = 0;
    for (const f of set.files) for await (const _ of textLines(await decompressed(Readable.from([f.body])))) n++;
    return n;
  };
  const timed = async (fn: () => Promise<number>): Promise<number> => {
    const start = performance.now();
    const n = await fn();
    if (n !== set.lines) throw new Error(`expected ${set.lines} events, got ${n}`);
    return n / ((performance.now() - start) / 1000);
  };
  // Interleaved (A B A B A B), medians kept, as the other benchmarks do.
  const a: number[] = [];
  const b: number[] = [];
  await timed(baseline);
  for (let i = 0; i < 3; i++) {
    a.push(await timed(candidate));
    b.push(await timed(baseline));
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[1]!;
  const value = Math.round(median(a));
  const base = Math.round(median(b));
  process.stderr.write(`s3: ${set.files.length} gzip files, ${(set.bytes / 1024 / 1024).toFixed(1)} MB of ALB entries, ${set.lines.toLocaleString('en-US')} events\n`);
  return [{ name: 's3_alb_events_per_s', value, unit: 'events/s', baseline: base, ratio: Math.round((value / base) * 1000) / 1000 }];
}
