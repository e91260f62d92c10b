import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Reingest } from '../../processors/index.ts';
import { putRecordsWithRetry, type PutRecordsOptions } from './kinesis-put.ts';

/** The Firehose transform's way back into its source stream, keeping each record's partition key. */
export function kinesisReingest(kinesis: KinesisClient, options?: PutRecordsOptions): Reingest {
  return (streamName, records) =>
    putRecordsWithRetry(
      kinesis,
      streamName,
      records.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })),
      options,
    );
}
