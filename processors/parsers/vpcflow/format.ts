/** Flow log formats: the header form (`version account-id ...`) and the AWS LogFormat form (`${version} ...`). */
import { ParseError } from '../types.ts';
import { isKnownField } from './fields.ts';

const FIELD_NAME_SYNTAX = /^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/;
const LOG_FORMAT_TOKEN = /^\$\{([^{}\s]*)\}$/;

export interface VpcFlowFormatOptions {
  /**
   * Accept well-formed field names this catalogue does not know (a field AWS added later);
   * their values are kept as strings. Default false: an unknown name is an error, so a typo
   * in a configured format is caught at start-up instead of producing wrong documents.
   */
  allowUnknown?: boolean;
}

function resolveName(token: string, spec: string, options: VpcFlowFormatOptions): string {
  if (!FIELD_NAME_SYNTAX.test(token)) {
    throw new ParseError('vpcflow', `invalid token '${token}' in flow log format '${spec}': not a field name`);
  }
  if (isKnownField(token)) return token;
  // Athena / Parquet column spelling (tcp_flags) of a known field
  const hyphenated = token.replace(/_/g, '-');
  if (isKnownField(hyphenated)) return hyphenated;
  if (options.allowUnknown) return hyphenated;
  throw new ParseError('vpcflow', `unknown field '${token}' in flow log format '${spec}'`);
}

/**
 * The field names of a flow log format, from either the header form
 * (`version account-id interface-id ...`, as S3 files begin) or the AWS LogFormat form
 * (`${version} ${account-id} ...`). Throws a ParseError naming the first token that is not
 * a field (or a duplicated one).
 */
export function parseVpcFlowFormat(spec: string, options: VpcFlowFormatOptions = {}): string[] {
  const trimmed = spec.trim();
  if (trimmed === '') throw new ParseError('vpcflow', 'empty flow log format');
  const tokens = trimmed.split(/\s+/);
  const logFormat = tokens[0]!.startsWith('$');
  const names: string[] = [];
  const seen = new Set<string>();
  for (const token of tokens) {
    let name = token;
    if (logFormat) {
      const m = LOG_FORMAT_TOKEN.exec(token);
      if (!m) throw new ParseError('vpcflow', `invalid token '${token}' in flow log format '${spec}': expected \${field-name}`);
      name = m[1]!;
    } else if (token.startsWith('$')) {
      throw new ParseError('vpcflow', `invalid token '${token}' in flow log format '${spec}': mixes \${field} and plain field names`);
    }
    const resolved = resolveName(name, spec, options);
    if (seen.has(resolved)) throw new ParseError('vpcflow', `duplicate field '${name}' in flow log format '${spec}'`);
    seen.add(resolved);
    names.push(resolved);
  }
  return names;
}

/**
 * True for a header line: at least two whitespace-separated tokens, every one a known field
 * name, none repeated (`version account-id interface-id ...`).
 */
export function isVpcFlowHeader(line: string): boolean {
  const trimmed = line.trim();
  if (trimmed.length < 3 || trimmed.length > 4096) return false;
  // every field name starts with a lowercase letter; records and JSON are rejected here
  const c = trimmed.charCodeAt(0);
  if (c < 97 || c > 122) return false;
  const tokens = trimmed.split(/\s+/);
  if (tokens.length < 2) return false;
  const seen = new Set<string>();
  for (const token of tokens) {
    if (!isKnownField(token) || seen.has(token)) return false;
    seen.add(token);
  }
  return true;
}
