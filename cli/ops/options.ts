import { z } from 'zod';
import { ConfigError, envName, optionFields, resolveOptions } from '../../consumers/index.ts';
import { DEFAULT_INDEX_PREFIX } from '../../processors/index.ts';
import { OperatorOptionsSchema } from '../io.ts';

const { httpUrl, indexPrefix } = optionFields;

const bucket = (what: string) =>
  z
    .string({ error: `required: the S3 bucket ${what}` })
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name');

/**
 * Where the central pipeline's resources are. Each is also a CENTRALOG_* variable, the ones
 * `npm start -- --keep` prints and `consume` reads, so one `export` points every command.
 */
export const ResourceOptionsSchema = z.object({
  opensearchUrl: httpUrl.meta({ description: 'OpenSearch endpoint (required)', arg: 'url' }),
  opensearchAuth: z
    .enum(['auto', 'none', 'sigv4'])
    .default('auto')
    .meta({ description: 'auto | none | sigv4; auto signs requests to *.es.amazonaws.com and *.aoss.amazonaws.com', arg: 'mode' }),
  indexPrefix: indexPrefix.default(DEFAULT_INDEX_PREFIX).meta({ description: 'OpenSearch index prefix', arg: 'prefix' }),
  streamName: z.string({ error: 'required: the central Kinesis stream' }).min(1).max(128).meta({ description: 'central Kinesis stream (required)', arg: 'name' }),
  leaseTable: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'expected a DynamoDB table name (3-255 of letters, digits, _ . -)')
    .default('centralog-leases')
    .meta({ description: "the consumers' DynamoDB lease table", arg: 'name' }),
  archiveBucket: bucket('the Firehose archive is written to').meta({ description: 'S3 bucket of the archive Firehose writes (required)', arg: 'bucket' }),
  deadLetterBucket: bucket('holding dead letters').meta({ description: 'S3 bucket of the dead letters (required)', arg: 'bucket' }),
  deadLetterPrefix: z.string().default('dead-letters/').meta({ description: 'key prefix of dead letters', arg: 'prefix' }),
  deliveryStream: z.string().min(1).max(64).optional().meta({ description: 'the Firehose delivery stream writing the archive (none on the local stack)', arg: 'name' }),
});

const CONNECTION_FIELDS = { ...OperatorOptionsSchema.shape, ...ResourceOptionsSchema.shape };
type ConnectionKey = Exclude<keyof typeof CONNECTION_FIELDS, 'json' | 'region' | 'profile'>;

/**
 * The connection options of one command: region and profile, plus the endpoints and
 * resources it uses (so `--help` lists no flag the command ignores).
 */
export function connectionSchema<K extends ConnectionKey>(keys: readonly K[]) {
  const picked = Object.fromEntries(keys.map((k) => [k, CONNECTION_FIELDS[k]])) as Pick<typeof CONNECTION_FIELDS, K>;
  return OperatorOptionsSchema.pick({ region: true, profile: true }).extend(picked);
}

/** `--json`, which every operator command takes among its own options. */
export const jsonOption = OperatorOptionsSchema.pick({ json: true }).shape;

/**
 * Flags win over CENTRALOG_* variables. Only connection settings come from the
 * environment; a command's own switches (`--repair`, `--from`) are never set by a variable.
 */
export function resolveCommandOptions<S extends z.ZodObject<z.ZodRawShape>>(
  schema: S,
  connection: z.ZodObject<z.ZodRawShape>,
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const allowed = new Set(Object.keys(connection.shape).filter((k) => k !== 'json').map(envName));
  const picked = Object.fromEntries(Object.entries(env).filter(([name]) => allowed.has(name)));
  try {
    return resolveOptions(schema, { flags, env: picked });
  } catch (err) {
    // A command's own option has no variable: do not suggest one.
    if (err instanceof ConfigError) err.message = err.message.replace(/ \(or (CENTRALOG_[A-Z_]+)\)/, (all, name: string) => (allowed.has(name) ? all : ''));
    throw err;
  }
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `15m`, `2h`, `30d` in milliseconds; undefined if it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2]!]! : undefined;
}

/** A duration option: `30d`, `12h`, `15m`. */
export const duration = z
  .string()
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 15m, 12h or 30d' });
      return z.NEVER;
    }
    return ms;
  });

/**
 * A point in time: ISO 8601 (`2026-05-01`, `2026-05-01T10:00Z`), `now`, or a duration ago
 * (`15m`, `2h`, `7d`). `now` is read when the option is parsed.
 */
export function parseTime(text: string, now = Date.now()): Date | undefined {
  const t = text.trim();
  if (t === 'now') return new Date(now);
  const ago = parseDuration(t.replace(/^now-/, ''));
  if (ago !== undefined) return new Date(now - ago);
  // Date-only or timezone-less times are UTC, like every partition and index name here.
  const iso = /^\d{4}-\d\d-\d\d$/.test(t) ? `${t}T00:00:00Z` : /T[\d:.]+$/.test(t) ? `${t}Z` : t;
  if (!/^\d{4}-\d\d-\d\d/.test(iso)) return undefined;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export const time = (required?: string) =>
  z.string(required ? { error: required } : undefined).transform((text, ctx) => {
    const d = parseTime(text);
    if (!d) {
      ctx.addIssue({ code: 'custom', message: 'expected an ISO time (2026-05-01T10:00Z), a date (2026-05-01), now, or a duration ago (15m, 2h, 7d)' });
      return z.NEVER;
    }
    return d;
  });

/** A 12-digit AWS account id. */
export const accountId = z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id');

/** A comma-separated list flag (`--account 111122223333,444455556666`). */
export function list<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (v) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean)),
    z.array(item).optional(),
  );
}

export const SOURCES = ['vpcflow', 'cloudtrail', 'guardduty', 'cloudwatch_logs'] as const;
export const source = z.enum(SOURCES, { error: `expected one of ${SOURCES.join(', ')}` });
