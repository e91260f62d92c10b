import { z } from 'zod';
import { optionFields } from '../consumers/index.ts';
import {
  decodeCwlJson,
  decodeCwlRecord,
  DEFAULT_INDEX_PREFIX,
  DEFAULT_MAX_EVENT_AGE_DAYS,
  LogGroupSourcesSchema,
  inflateCwlPayload,
  type DecodeError,
  parseEventAs,
  parseVpcFlowFormat,
  isVpcFlowHeader,
  toDocuments,
  type DecodedRecord,
  type IndexableDocument,
} from '../processors/index.ts';

export const ParseOptionsSchema = z.object({
  source: z
    .enum(['auto', 'vpcflow', 'cloudtrail', 'guardduty'], { error: 'expected auto, vpcflow, cloudtrail or guardduty' })
    .default('auto')
    .meta({ description: 'parse every line as this source (auto: detect each line)', arg: 'source' }),
  vpcFormat: z
    .string()
    .optional()
    .meta({ description: 'custom VPC flow log format, e.g. "${version} ${account-id} ${interface-id} ..." (a header line in the input works too)', arg: 'format' }),
  account: z.string().regex(/^\d{12}$/, 'expected a 12-digit account id').default('000000000000').meta({ description: 'account that owns the log group (CWL envelope owner)', arg: 'id' }),
  logGroup: z.string().min(1).default('centralog-parse').meta({ description: 'log group the events came from', arg: 'name' }),
  logStream: z.string().min(1).default('stdin').meta({ description: 'log stream the events came from', arg: 'name' }),
  indexPrefix: optionFields.indexPrefix.default(DEFAULT_INDEX_PREFIX).meta({ description: 'OpenSearch index prefix', arg: 'prefix' }),
  logGroupSources: optionFields
    .json(LogGroupSourcesSchema)
    .optional()
    .meta({
      description:
        "which log groups carry which source, as the consumer is given (JSON); --source other than auto maps --log-group to it. Unset, the payload decides here, while the consumer's default maps nothing",
      arg: 'json',
    }),
  maxEventAgeDays: optionFields
    .int(1, 36_500)
    .default(DEFAULT_MAX_EVENT_AGE_DAYS)
    .meta({ description: "events older than this (or more than a day ahead) show the ingest day's index, tagged event_time_out_of_range, as the consumer indexes them", arg: 'days' }),
  envelope: z
    .boolean()
    .default(false)
    .meta({ description: 'read whole CloudWatch Logs subscription payloads (JSON, gzip, zlib or base64) instead of raw events' }),
});
export type ParseOptions = z.infer<typeof ParseOptionsSchema>;

export interface ParseIO {
  out: (line: string) => void;
  err: (line: string) => void;
}

function printable(doc: IndexableDocument): string {
  return JSON.stringify({ _index: doc.index, _id: doc.id, ...doc.body });
}

/** Splits text holding one or more JSON values (one per line, pretty-printed or concatenated). */
export function splitJsonValues(text: string): Array<{ text: string; line: number }> {
  const values: Array<{ text: string; line: number }> = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  let line = 1;
  let startLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth === 0) {
        start = i;
        startLine = line;
      }
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0 && start >= 0) {
        values.push({ text: text.slice(start, i + 1), line: startLine });
        start = -1;
      }
    } else if (depth === 0 && !/\s/.test(c ?? '')) {
      throw new Error(`line ${line}: unexpected '${c}' outside a JSON envelope`);
    }
  }
  if (depth !== 0) throw new Error(`line ${startLine}: envelope is not complete JSON (truncated?)`);
  return values;
}

/**
 * Subscription payloads through the pipeline's own decoder: one or more envelopes (or Lambda
 * `{"awslogs":{"data":...}}` events) as JSON text, or compressed (gzip, zlib) or base64 as a
 * Kinesis record carries them.
 */
function payloads(input: Buffer): Array<{ decoded: DecodedRecord; line: number }> {
  const first = input.toString('latin1', 0, 64).trimStart()[0];
  let text: string;
  if (first === '{' || first === '[') text = input.toString('utf8');
  else {
    try {
      text = inflateCwlPayload(input).toString('utf8');
    } catch (err) {
      return [{ decoded: { kind: 'failed', error: err as DecodeError }, line: 1 }];
    }
  }
  return splitJsonValues(text).map(({ text: value, line }) => {
    const awslogs = /^\{\s*"awslogs"\s*:/.test(value) ? (JSON.parse(value) as { awslogs?: { data?: unknown } }).awslogs?.data : undefined;
    return { decoded: typeof awslogs === 'string' ? decodeCwlRecord(Buffer.from(awslogs)) : decodeCwlJson(value), line };
  });
}

/**
 * `centralog parse`: raw log events (one per line) or whole CWL envelopes in, one ECS
 * document per event out, in input order, with `_index` and `_id`. Returns the number of
 * errors (each already written to stderr).
 */
export function runParse(input: Buffer, options: ParseOptions & { ingestTime?: number }, io: ParseIO): number {
  let errors = 0;
  // The consumer's rule, around this run's clock (tests fix it through ingestTime).
  const now = options.ingestTime ?? Date.now();
  // A forced source is the operator saying what the group carries, as a mapping would.
  const logGroupSources =
    options.logGroupSources && options.source !== 'auto' ? { ...options.logGroupSources, [options.logGroup]: options.source } : options.logGroupSources;
  const rules = { indexPrefix: options.indexPrefix, logGroupSources, indexWindow: { maxAgeDays: options.maxEventAgeDays, ingestTime: now } };
  const vpcFormat = options.vpcFormat ? parseVpcFlowFormat(options.vpcFormat) : undefined;
  if (options.envelope) {
    let all: ReturnType<typeof payloads>;
    try {
      all = payloads(input);
    } catch (err) {
      io.err(`envelope: ${(err as Error).message}`);
      return errors + 1;
    }
    for (const { decoded, line } of all) {
      if (decoded.kind === 'failed') {
        errors++;
        io.err(`envelope at line ${line}: not a CloudWatch Logs payload: ${decoded.error.message}`);
        continue;
      }
      if (decoded.kind === 'control') {
        io.err(`envelope at line ${line}: CONTROL_MESSAGE (no documents)`);
        continue;
      }
      const { envelope } = decoded;
      const vpcFlowFormats = vpcFormat ? { [envelope.logGroup]: vpcFormat } : undefined;
      for (const doc of toDocuments(envelope, { ...rules, vpcFlowFormats })) io.out(printable(doc));
    }
    return errors;
  }

  const envelope = { owner: options.account, logGroup: options.logGroup, logStream: options.logStream };
  let format = vpcFormat;
  const lines = input.toString('utf8').split('\n');
  lines.forEach((raw, i) => {
    const message = raw.replace(/\r$/, '');
    if (message.trim() === '') return;
    const lineNo = i + 1;
    if (options.source !== 'cloudtrail' && options.source !== 'guardduty' && isVpcFlowHeader(message)) {
      format = parseVpcFlowFormat(message);
      io.err(`line ${lineNo}: VPC flow log header, ${format.length} fields: used for the lines after it`);
      return;
    }
    // The line number stands in for the CloudWatch Logs event id.
    const event = { id: String(lineNo), timestamp: now, message };
    const result = parseEventAs(options.source, envelope, event, rules, format);
    if ('error' in result) {
      errors++;
      io.err(`line ${lineNo}: ${result.error}`);
      return;
    }
    const body = result.document.body;
    if (result.document.source === 'cloudwatch_logs' && (body.tags as string[] | undefined)?.includes('parse_failure')) {
      io.err(`line ${lineNo}: indexed as generic aws.cloudwatch_logs: ${(body.error as { message?: string }).message}`);
    }
    io.out(printable(result.document));
  });
  return errors;
}
