import type { CwlEnvelope, CwlLogEvent } from '../cwl-codec.ts';
import { sniffSource, type VpcFlowFormats } from '../source.ts';
import { utcParts } from '../utc.ts';
import type { ArchiveLine, ArchivePartitionKeys } from './types.ts';

export function archiveLine(envelope: CwlEnvelope, event: CwlLogEvent, formats?: VpcFlowFormats): ArchiveLine {
  const line: ArchiveLine = {
    source: `aws.${sniffSource(event.message, formats?.[envelope.logGroup])}`,
    owner: envelope.owner,
    logGroup: envelope.logGroup,
    logStream: envelope.logStream,
    id: event.id,
    timestamp: event.timestamp,
    message: event.message,
  };
  if (event.extractedFields) line.extractedFields = event.extractedFields;
  if (envelope.policyLevel) line.policyLevel = envelope.policyLevel;
  return line;
}

/** A record is one log stream's batch, so it lands in one partition: its first event's source and hour. */
function partitionKeys(first: ArchiveLine): ArchivePartitionKeys {
  const { year, month, day, hour } = utcParts(new Date(first.timestamp));
  return { source: first.source, account: first.owner, year, month, day, hour };
}

/**
 * The NDJSON of every event, the same as JSON.stringify(archiveLine(...)) per line, but
 * with each envelope's fields serialised once: the hot path of the transform.
 */
export function archiveOutput(envelopes: CwlEnvelope[], formats?: VpcFlowFormats): { ndjson: string; lines: number; partitionKeys: ArchivePartitionKeys } {
  let out = '';
  let lines = 0;
  for (const env of envelopes) {
    const format = formats?.[env.logGroup];
    const shared = `,"owner":${JSON.stringify(env.owner)},"logGroup":${JSON.stringify(env.logGroup)},"logStream":${JSON.stringify(env.logStream)},"id":`;
    const policy = env.policyLevel ? `,"policyLevel":${JSON.stringify(env.policyLevel)}` : '';
    for (const e of env.logEvents) {
      out += `{"source":"aws.${sniffSource(e.message, format)}"${shared}${JSON.stringify(e.id)},"timestamp":${e.timestamp},"message":${JSON.stringify(e.message)}`;
      if (e.extractedFields) out += `,"extractedFields":${JSON.stringify(e.extractedFields)}`;
      out += `${policy}}\n`;
      lines++;
    }
  }
  const first = envelopes[0]!;
  return { ndjson: out, lines, partitionKeys: partitionKeys(archiveLine(first, first.logEvents[0]!, formats)) };
}
