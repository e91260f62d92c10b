import { encodeCwlRecord, type CwlEnvelope, type CwlLogEvent } from '../cwl-codec.ts';
import { chunkBySize } from '../chunk.ts';
import { archiveLine, type ArchiveLabels } from './archive.ts';
import type { ReingestRecord } from './types.ts';

/** Kinesis takes at most 1 MiB per record, data and partition key together. */
const KINESIS_MAX_RECORD_BYTES = 1_048_576;
/** Kinesis partition keys are 1 to 256 Unicode characters. */
const MAX_PARTITION_KEY_CHARS = 256;
/** Output (NDJSON) per split record: re-gzipped, each piece stays far under Kinesis's 1 MiB. */
const SPLIT_TARGET_OUTPUT_BYTES = 1_000_000;

/** One CWL envelope of a Firehose record, with the partition key its Kinesis (user) record had. */
export interface DecodedPart {
  envelope: CwlEnvelope;
  partitionKey: string;
  /** The decompressed JSON the envelope was parsed from. */
  text?: string;
}

/** Splits an envelope's events into CWL records whose archive output stays near the split target. */
function splitEnvelope(envelope: CwlEnvelope, labels?: ArchiveLabels): Buffer[] {
  const lineBytes = (event: CwlLogEvent) => Buffer.byteLength(JSON.stringify(archiveLine(envelope, event, labels))) + 1;
  return [...chunkBySize(envelope.logEvents, lineBytes, SPLIT_TARGET_OUTPUT_BYTES)].map((logEvents) =>
    encodeCwlRecord({ ...envelope, logEvents }, { reingested: true }),
  );
}

/**
 * The records that carry a Firehose record's events back into the stream: one marked CWL
 * record per envelope (a KPL aggregate comes apart), split into smaller ones when the
 * output could never fit a response alone (`split`) or a record would pass Kinesis's limit.
 */
export function reingestRecords(
  parts: DecodedPart[],
  recordId: string,
  split: boolean,
  labels?: ArchiveLabels,
): ReingestRecord[] {
  const out: ReingestRecord[] = [];
  for (const { envelope, partitionKey } of parts) {
    const key = [...(partitionKey || envelope.logStream || recordId)].slice(0, MAX_PARTITION_KEY_CHARS).join('');
    const whole = split ? undefined : encodeCwlRecord(envelope, { reingested: true });
    const pieces = whole && whole.length + Buffer.byteLength(key) <= KINESIS_MAX_RECORD_BYTES ? [whole] : splitEnvelope(envelope, labels);
    for (const data of pieces) out.push({ partitionKey: key, data, recordId });
  }
  return out;
}
