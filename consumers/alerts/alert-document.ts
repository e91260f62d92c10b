import * as crypto from 'node:crypto';
import { isIP } from 'node:net';
import type { IndexableDocument } from '../../processors/index.ts';
import type { RuleLevel, RuleMatch } from '../../processors/detections/index.ts';

/**
 * ECS `event.severity` of each Sigma level. Low to critical take the risk scores Elastic
 * Security gives its own signals of those severities (21/47/73/99), so range filters and
 * sort orders written against Elastic signals read ours alike; Elastic has no informational
 * level, so it sits below low.
 */
export const ALERT_SEVERITY: Record<RuleLevel, number> = { informational: 1, low: 21, medium: 47, high: 73, critical: 99 };

/** An alert as it is written to OpenSearch (op_type create under its deterministic id). */
export interface AlertDocument {
  index: string;
  id: string;
  body: AlertBody;
}

/** The fields the alert index template maps; dashboards rely on these names. */
export interface AlertBody {
  '@timestamp': string;
  event: { kind: 'signal'; severity: number; created: string; action?: string; provider?: string };
  rule: { id: string; name: string; author?: string; ruleset: 'sigma'; description?: string };
  tags: string[];
  cloud?: { account?: { id?: string }; region?: string };
  user?: { name?: string };
  source?: { ip?: string };
  /** Where the event came from: its log group and CloudWatch Logs event id. */
  aws: { cloudwatch: { log_group?: string; event_id?: string } };
  centralog: {
    alert: {
      level: RuleLevel;
      published: boolean;
      published_at?: string;
      /** Who may publish it, since when: the creator at first, a sweeping worker after the claim runs out. */
      claimed_by: string;
      claimed_at: string;
      source: { id: string; index: string };
    };
  };
}

/** Stable alert id: one alert per rule and source document, however often the event is replayed. */
export function alertId(ruleId: string, documentId: string): string {
  return crypto.createHash('sha256').update(`alert|${ruleId}|${documentId}`).digest('base64url');
}

/**
 * `<prefix>-alerts-YYYY.MM`. The month is the source document's index day, which is the
 * event's own day bounded like every index (an event time outside the window went to the
 * ingest day): alert months can then never be more numerous than the source indices.
 */
export function alertIndex(prefix: string, sourceIndex: string, eventTime: string): string {
  const day = /-(\d{4})\.(\d{2})\.\d{2}$/.exec(sourceIndex);
  const month = day ? `${day[1]}.${day[2]}` : eventTime.slice(0, 7).replace('-', '.');
  return `${prefix}-alerts-${month}`;
}

const at = (o: unknown, ...path: string[]): unknown => {
  let v = o;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
};
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const ip = (v: unknown): string | undefined => (typeof v === 'string' && isIP(v) !== 0 ? v : undefined);

/** Drops undefined leaves so the body holds only what the source document had. */
function compact<T extends Record<string, unknown>>(o: T): T | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const inner = compact(v as Record<string, unknown>);
      if (inner !== undefined) out[k] = inner;
    } else out[k] = v;
  }
  return Object.keys(out).length > 0 ? (out as T) : undefined;
}

/** The alert one rule match on one indexed document becomes, unpublished and claimed by its creator. */
export function alertDocument(
  match: RuleMatch,
  source: IndexableDocument,
  opts: { indexPrefix: string; workerId: string; now?: Date },
): AlertDocument {
  const { rule } = match;
  const b = source.body;
  const now = (opts.now ?? new Date()).toISOString();
  const timestamp = str(b['@timestamp']) ?? now;
  const body: AlertBody = {
    '@timestamp': timestamp,
    event: compact({ kind: 'signal' as const, severity: ALERT_SEVERITY[rule.level], created: now, action: str(at(b, 'event', 'action')), provider: str(at(b, 'event', 'provider')) })!,
    rule: compact({ id: rule.id, name: rule.title, author: rule.author, ruleset: 'sigma' as const, description: rule.description })!,
    tags: [...rule.tags],
    cloud: compact({ account: { id: str(at(b, 'cloud', 'account', 'id')) }, region: str(at(b, 'cloud', 'region')) }),
    user: compact({ name: str(at(b, 'user', 'name')) }),
    // source.ip is an ip field: a value that is not one would refuse the whole alert.
    source: compact({ ip: ip(at(b, 'source', 'ip')) }),
    aws: { cloudwatch: { log_group: str(at(b, 'aws', 'cloudwatch', 'log_group')), event_id: str(at(b, 'aws', 'cloudwatch', 'event_id')) } },
    centralog: {
      alert: { level: rule.level, published: false, claimed_by: opts.workerId, claimed_at: now, source: { id: source.id, index: source.index } },
    },
  };
  for (const k of ['cloud', 'user', 'source'] as const) if (body[k] === undefined) delete body[k];
  return { index: alertIndex(opts.indexPrefix, source.index, timestamp), id: alertId(rule.id, source.id), body };
}
