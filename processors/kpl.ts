import kpl from 'aws-kinesis-agg';
import { DecodeError } from './cwl-codec.ts';

/** The first four bytes of a KPL aggregated record. */
const KPL_MAGIC = [0xf3, 0x89, 0x9a, 0xc2] as const;

/** One user record of a Kinesis record: itself, or one of the records a KPL aggregate holds. */
export interface KinesisUserRecord {
  data: Buffer;
  partitionKey: string;
  sequenceNumber: string;
  /** Position inside an aggregate; 0 for a plain record. */
  subSequenceNumber: number;
  aggregated: boolean;
}

export function isKplAggregate(data: Uint8Array): boolean {
  return data.length > 4 && KPL_MAGIC.every((b, i) => data[i] === b);
}

/**
 * Splits a KPL aggregated record into its user records (MD5 checked); a plain record
 * comes back as the only user record, without copying.
 */
export function deaggregate(
  data: Uint8Array,
  partitionKey: string,
  sequenceNumber: string,
): { records: KinesisUserRecord[] } | { error: DecodeError } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!isKplAggregate(buf)) {
    return { records: [{ data: buf, partitionKey, sequenceNumber, subSequenceNumber: 0, aggregated: false }] };
  }
  let result: { records: KinesisUserRecord[] } | { error: DecodeError } | undefined;
  try {
    kpl.deaggregateSync({ data: buf.toString('base64'), partitionKey, sequenceNumber } as never, true, (err, userRecords) => {
      if (err) {
        result = { error: new DecodeError('kpl', err.message) };
        return;
      }
      result = {
        records: (userRecords ?? []).map((u) => ({
          data: Buffer.from(u.data, 'base64'),
          partitionKey: u.partitionKey,
          sequenceNumber: String(u.sequenceNumber),
          subSequenceNumber: Number(u.subSequenceNumber),
          aggregated: true,
        })),
      };
    });
  } catch (err) {
    return { error: new DecodeError('kpl', (err as Error).message) };
  }
  return result ?? { error: new DecodeError('kpl', 'de-aggregation returned nothing') };
}
