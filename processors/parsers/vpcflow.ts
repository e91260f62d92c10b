/**
 * VPC Flow Logs (and Transit Gateway Flow Logs) to ECS.
 *
 * A flow log record is one line of space-separated values in the order of its flow log's
 * format: the default (version 2) format, or a custom format chosen when the flow log was
 * created. A value of `-` means "not applicable / not computed" and is left out of the
 * document. Every field present is kept under `aws.vpcflow.<name with - as _>` with its
 * proper type; the well-known ones are also mapped to ECS (`source.*`, `destination.*`,
 * `network.*`, `event.*`, `cloud.*`, `related.ip`).
 *
 * Some forwarders write each record wrapped as JSON (`{"message":"2 123456789012 eni-..."}`);
 * such a record is parsed as the line it carries.
 *
 * Parsing is compiled once per format (`compileVpcFlowFormat`, cached): see ./vpcflow/.
 */
import type { ParseContext, ParsedEvent } from './types.ts';
import { compileVpcFlowFormat } from './vpcflow/compiled.ts';
import { obj } from './values.ts';

export { compileVpcFlowFormat, looksLikeVpcFlowLine, type CompiledVpcFlowFormat } from './vpcflow/compiled.ts';
export {
  DEFAULT_VPC_FLOW_FORMAT,
  isoFromSeconds,
  VPC_FLOW_FIELDS,
  vpcFlowTransport,
  type VpcFlowFieldInfo,
  type VpcFlowFieldKind,
} from './vpcflow/fields.ts';
export { isVpcFlowHeader, parseVpcFlowFormat, type VpcFlowFormatOptions } from './vpcflow/format.ts';

/** True when a string may begin a flow record: records of the default format (and of custom formats that lead with the version or an account id) start with a digit. */
function startsWithDigit(s: string): boolean {
  const c = s.charCodeAt(0);
  return c >= 48 && c <= 57;
}

/**
 * The `message` of a JSON-wrapped record (`{"message":"2 123456789012 eni-..."}`) when it starts with a
 * digit, else undefined; whether it is a flow line is for the format to say. The digit rule keeps
 * other JSON logs from being split and tried, and matches mayBeWrappedVpcFlowLine, so the archive's
 * label and the document's source agree.
 */
export function wrappedVpcFlowLine(json: Record<string, unknown>): string | undefined {
  const m = json.message;
  return typeof m === 'string' && startsWithDigit(m) ? m.trim() : undefined;
}

/**
 * A cheap look at raw text, before any JSON.parse: true when some `"message"` key in it has a string
 * value starting with a digit, i.e. it may be a JSON-wrapped flow record (see wrappedVpcFlowLine).
 */
export function mayBeWrappedVpcFlowLine(text: string): boolean {
  const n = text.length;
  for (let k = text.indexOf('"message"'); k >= 0; k = text.indexOf('"message"', k + 9)) {
    let i = k + 9;
    // JSON whitespace (space, tab, LF, CR) and the colon
    for (let c = text.charCodeAt(i); i < n && (c === 32 || c === 9 || c === 10 || c === 13 || c === 58); c = text.charCodeAt(++i));
    if (text.charCodeAt(i) === 34 /* " */ && startsWithDigit(text.slice(i + 1, i + 2))) return true;
  }
  return false;
}

/** One flow log record in the given format (bare, or wrapped as JSON) to its ECS document. */
export function parseVpcFlowLine(line: string, format: string[], ctx: ParseContext): ParsedEvent {
  const compiled = compileVpcFlowFormat(format);
  if (line.charCodeAt(0) === 123 /* { */) {
    let inner: string | undefined;
    try {
      const json = obj(JSON.parse(line));
      inner = json ? wrappedVpcFlowLine(json) : undefined;
    } catch {
      // not JSON: the format check below names what is wrong with the line
    }
    if (inner !== undefined) return compiled.parse(inner, ctx);
  }
  return compiled.parse(line, ctx);
}
