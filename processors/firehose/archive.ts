import type { CwlEnvelope, CwlLogEvent } from '../cwl-codec.ts';
import { archiveSource, logGroupSourceOf, type LogGroupSources, type VpcFlowFormats } from '../source.ts';
import { utcParts } from '../utc.ts';
import { messageLiterals } from './message-literals.ts';
import type { ArchiveLine, ArchivePartitionKeys } from './types.ts';

/** How the transform labels each event's source: custom VPC flow formats and the log group map. */
export interface ArchiveLabels {
  vpcFlowFormats?: VpcFlowFormats;
  logGroupSources?: LogGroupSources;
}

function labeller(labels: ArchiveLabels | undefined, logGroup: string): (message: string) => ArchiveLine['source'] {
  const format = labels?.vpcFlowFormats?.[logGroup];
  const mapping = labels?.logGroupSources && logGroupSourceOf(labels.logGroupSources, logGroup);
  return (message) => `aws.${archiveSource(message, format, mapping)}`;
}

export function archiveLine(envelope: CwlEnvelope, event: CwlLogEvent, labels?: ArchiveLabels): ArchiveLine {
  const line: ArchiveLine = {
    source: labeller(labels, envelope.logGroup)(event.message),
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
function partitionKeys(source: ArchiveLine['source'], owner: string, timestamp: number): ArchivePartitionKeys {
  const { year, month, day, hour } = utcParts(new Date(timestamp));
  return { source, account: owner, year, month, day, hour };
}

/**
 * The NDJSON of every event, the same as JSON.stringify(archiveLine(...)) per line, but
 * with each envelope's fields serialised once and each message copied from the JSON text it
 * was parsed from (`text`) where that text already spells it as JSON.stringify would: the
 * hot path of the transform.
 */
export function archiveOutput(
  parts: ReadonlyArray<{ envelope: CwlEnvelope; text?: string }>,
  labels?: ArchiveLabels,
): { ndjson: string; lines: number; partitionKeys: ArchivePartitionKeys } {
  let out = '';
  let lines = 0;
  let firstSource: ArchiveLine['source'] | undefined;
  for (const { envelope: env, text } of parts) {
    const label = labeller(labels, env.logGroup);
    const shared = `,"owner":${JSON.stringify(env.owner)},"logGroup":${JSON.stringify(env.logGroup)},"logStream":${JSON.stringify(env.logStream)},"id":`;
    const policy = env.policyLevel ? `,"policyLevel":${JSON.stringify(env.policyLevel)}` : '';
    const literals = text === undefined ? undefined : messageLiterals(text, env.logEvents);
    const events = env.logEvents;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const source = label(e.message);
      firstSource ??= source;
      out += `{"source":"${source}"${shared}${JSON.stringify(e.id)},"timestamp":${e.timestamp},"message":${literals?.[i] ?? JSON.stringify(e.message)}`;
      if (e.extractedFields) out += `,"extractedFields":${JSON.stringify(e.extractedFields)}`;
      out += `${policy}}\n`;
      lines++;
    }
  }
  const first = parts[0]!.envelope;
  return { ndjson: out, lines, partitionKeys: partitionKeys(firstSource!, first.owner, first.logEvents[0]!.timestamp) };
}
