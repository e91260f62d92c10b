import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Client } from '@opensearch-project/opensearch';
import { createS3Client, createS3Ingester, S3IngestOptionsSchema, type LogFunction, type S3IngestParts } from '../consumers/index.ts';
import { S3AccessLogSimulator, type LocalStack } from '../local/index.ts';
import { indexedDocumentIdCounts, readDeadLetters } from './verify.ts';

/** The demo's account of the S3 way in: every access log entry written is indexed or dead-lettered, once. */
export interface DemoS3Summary {
  objects: number;
  produced: number;
  indexed: number;
  deadLettered: number;
  duplicates: number;
  unaccounted: number;
}

/**
 * The second way in, on the local stack: load balancers write access log objects to a bucket,
 * S3 notifies a queue (with a DLQ), and an `ingest-s3` worker built as the command builds it
 * indexes them.
 */
export class DemoS3Path {
  private constructor(
    readonly simulator: S3AccessLogSimulator,
    readonly parts: S3IngestParts,
    private readonly s3: S3Client,
    private readonly deadLetterBucket: string,
    private readonly deadLetterPrefix: string,
  ) {}

  static async start(
    stack: LocalStack,
    o: { runId: string; indexPrefix: string; deadLetterBucket: string; accounts: number; log: LogFunction },
  ): Promise<DemoS3Path> {
    const region = stack.endpoints.region;
    const endpoint = stack.sqs!.endpoint;
    const sqs = new SQSClient({ region, endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestHandler: new NodeHttpHandler() });
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `centralog-access-logs-dlq-${o.runId}` }));
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: `centralog-access-logs-${o.runId}`,
        Attributes: { VisibilityTimeout: '60', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) },
      }),
    );
    const bucket = `centralog-access-logs-${o.runId}`;
    const s3 = createS3Client(stack.endpoints);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const prefix = 'dead-letters-s3/';
    const parts = createS3Ingester(
      S3IngestOptionsSchema.parse({
        queueUrls: queue.QueueUrl,
        deadLetterBucket: o.deadLetterBucket,
        deadLetterPrefix: prefix,
        opensearchUrl: stack.opensearchUrl,
        region,
        s3Endpoint: stack.endpoints.s3 ?? 'aws',
        sqsEndpoint: endpoint,
        indexPrefix: o.indexPrefix,
        installTemplates: false,
        waitTimeSeconds: 1,
        visibilityTimeoutSeconds: 60,
      }),
      { log: o.log },
    );
    parts.ingester.start();
    const accounts = Array.from({ length: o.accounts }, (_, i) => String(111111111111 * (i + 1)).slice(0, 12));
    const simulator = new S3AccessLogSimulator({ s3, sqs, bucket, queueUrl: queue.QueueUrl!, accounts, region });
    return new DemoS3Path(simulator, parts, s3, o.deadLetterBucket, prefix);
  }

  /** Every entry written is indexed, a 409 or dead-lettered. */
  drained(): boolean {
    const c = this.parts.accounting.counters;
    return c.created + c.duplicates + c.deadLettered >= this.simulator.produced;
  }

  progress(): string {
    return `elb ${this.simulator.produced}/${this.parts.accounting.counters.indexedBySource.elb}`;
  }

  stop(): Promise<void> {
    return this.parts.ingester.stop();
  }

  /** Reads back OpenSearch and the dead letters for every entry written. */
  async verify(opensearch: Client, indexPrefix: string): Promise<DemoS3Summary> {
    const ids = [...this.simulator.producedIds];
    const counts = await indexedDocumentIdCounts(opensearch, `${indexPrefix}-aws.*`, ids);
    const letters = await readDeadLetters(this.s3, this.deadLetterBucket, this.deadLetterPrefix);
    const dead = new Set(letters.map((l) => l.document?.id).filter((x): x is string => x !== undefined));
    const summary: DemoS3Summary = { objects: this.simulator.objects, produced: ids.length, indexed: 0, deadLettered: letters.length, duplicates: 0, unaccounted: 0 };
    for (const id of ids) {
      const n = counts.get(id) ?? 0;
      if (n > 0) summary.indexed++;
      summary.duplicates += Math.max(0, n - 1);
      if (n === 0 && !dead.has(id)) summary.unaccounted++;
    }
    return summary;
  }
}
