/**
 * The fields of an Application Load Balancer access log entry, in the order the load balancer
 * writes them, and the scanner that splits one entry. Fields are separated by single spaces;
 * some are double-quoted (a quote inside one is written `\"`); `-` means "no value". The format
 * grows at the end over time (conn_trace_id, then the request transform fields): an entry may
 * stop after any field from `request` on, and fields past the last known one are kept, unnamed.
 */

/** Field names as the AWS documentation lists them. */
export const ALB_FIELDS = [
  'type',
  'time',
  'elb',
  'client:port',
  'target:port',
  'request_processing_time',
  'target_processing_time',
  'response_processing_time',
  'elb_status_code',
  'target_status_code',
  'received_bytes',
  'sent_bytes',
  'request',
  'user_agent',
  'ssl_cipher',
  'ssl_protocol',
  'target_group_arn',
  'trace_id',
  'domain_name',
  'chosen_cert_arn',
  'matched_rule_priority',
  'request_creation_time',
  'actions_executed',
  'redirect_url',
  'error_reason',
  'target:port_list',
  'target_status_code_list',
  'classification',
  'classification_reason',
  'conn_trace_id',
  'transformed_host',
  'transformed_uri',
  'request_transform_status',
] as const;

export type AlbField = (typeof ALB_FIELDS)[number];

/** Entries stop no earlier than `request`: older ones end after user_agent, ssl fields or trace_id. */
export const ALB_MIN_FIELDS = ALB_FIELDS.indexOf('request') + 1;

/** Request/connection types the load balancer writes in the first field. */
export const ALB_TYPES = new Set(['http', 'https', 'h2', 'grpcs', 'ws', 'wss']);

const SPACE = 32;
const QUOTE = 34;
const BACKSLASH = 92;

/**
 * Splits an entry into its raw field values, unquoted and unescaped (`\"` and `\\`); null when
 * a quoted field is not closed (a truncated line). A scanner rather than a regex: it runs once
 * per line of every object.
 */
export function splitAlbEntry(line: string): string[] | null {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    if (line.charCodeAt(i) === QUOTE) {
      let j = i + 1;
      let escaped = false;
      let value = '';
      let from = j;
      for (; j < n; j++) {
        const c = line.charCodeAt(j);
        if (c === BACKSLASH && j + 1 < n) {
          escaped = true;
          value += line.slice(from, j);
          from = j + 1;
          j++;
          continue;
        }
        if (c === QUOTE) break;
      }
      if (j >= n) return null;
      out.push(escaped ? value + line.slice(from, j) : line.slice(i + 1, j));
      i = j + 1;
    } else {
      let j = line.indexOf(' ', i);
      if (j === -1) j = n;
      out.push(line.slice(i, j));
      i = j;
    }
    while (i < n && line.charCodeAt(i) === SPACE) i++;
  }
  return out;
}
