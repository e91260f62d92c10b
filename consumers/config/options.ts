import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { jsonText } from '../../processors/index.ts';

/** A configuration value is wrong; the message names the key, where it came from and what was expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** What `--help` shows for an option: its description and the placeholder of its value. */
export interface OptionMeta {
  description: string;
  /** Placeholder in `--flag <arg>`; absent for a switch (a boolean defaulting to false). */
  arg?: string;
  /** Only in the config file or as JSON in the variable: no flag (values too long for a command line). */
  fileOnly?: boolean;
}

export const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

/** An endpoint URL (a local or private service), or `aws` for the real service. */
export const endpoint = z.string().refine((v) => v === 'aws' || httpUrl.safeParse(v).success, "expected an http(s) URL or 'aws'");

export const int = (min: number, max: number) =>
  z.coerce
    .number({ error: (issue) => (issue.code === 'invalid_type' ? 'expected a number' : undefined) })
    .int('expected a whole number')
    .min(min, `expected at least ${min}`)
    .max(max, `expected at most ${max}`);

export const positive = (max: number) =>
  z.coerce
    .number({ error: (issue) => (issue.code === 'invalid_type' ? 'expected a number' : undefined) })
    .positive('expected a positive number')
    .max(max, `expected at most ${max}`);

export const bool = z.union([z.boolean(), z.stringbool({ error: 'expected true or false' })]);

export const indexPrefix = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected lowercase letters, digits, - and _');

/** A JSON value given as text (a variable or a flag) or as a value (the config file). */
export const json = jsonText;

/** `maxInFlightBatches` -> `CENTRALOG_MAX_IN_FLIGHT_BATCHES`. */
export function envName(key: string): string {
  return `CENTRALOG_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** `maxInFlightBatches` -> `--max-in-flight-batches`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export interface OptionSources {
  /** Parsed flags by key; `config` names a JSON file. */
  flags?: Record<string, unknown>;
  /** CENTRALOG_* variables (undefined: none); `CENTRALOG_CONFIG` names a JSON file. */
  env?: NodeJS.ProcessEnv;
  /** Whether a JSON config file may be given. */
  allowFile?: boolean;
}

type AnyObject = z.ZodObject<z.ZodRawShape>;

/**
 * Merges the config file, the environment and the flags (each later one wins) and
 * validates them against one component's schema; a bad value stops with its key, where
 * it came from and what was expected.
 */
export function resolveOptions<S extends AnyObject>(schema: S, sources: OptionSources): z.infer<S> {
  const keys = Object.keys(schema.shape);
  const flags = sources.flags ?? {};
  const env = sources.env ?? {};
  const raw: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  const configFile = sources.allowFile ? ((flags.config as string | undefined) ?? env.CENTRALOG_CONFIG) : undefined;
  if (configFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${configFile}: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${configFile}: expected a JSON object`);
    for (const [k, v] of Object.entries(parsed)) {
      if (!keys.includes(k)) throw new ConfigError(`config file ${configFile}: unknown key "${k}" (known: ${keys.join(', ')})`);
      raw[k] = v;
      origin[k] = `${k} in ${configFile}`;
    }
  }
  for (const k of keys) {
    const v = env[envName(k)];
    if (v !== undefined && v !== '') {
      raw[k] = v;
      origin[k] = envName(k);
    }
  }
  for (const k of keys) {
    if (flags[k] !== undefined) {
      raw[k] = flags[k];
      origin[k] = flagName(k);
    }
  }
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = String(issue.path[0]);
  const inner = issue.path.length > 1 ? ` [${issue.path.slice(1).map(String).join('.')}]` : '';
  const where = (origin[key] ?? `${flagName(key)} (or ${envName(key)})`) + inner;
  const got = raw[key] === undefined || inner ? '' : ` (got ${JSON.stringify(raw[key])})`;
  throw new ConfigError(`${where}: ${issue.message}${got}`);
}

/** One option of a schema as `--help` and the flag parser need it. */
export interface OptionInfo {
  key: string;
  meta: OptionMeta;
  defaultValue: unknown;
  required: boolean;
}

/** The options of a schema, in declaration order, with their descriptions and defaults. */
export function describeOptions(schema: AnyObject): OptionInfo[] {
  return Object.entries(schema.shape).map(([key, field]) => {
    const f = field as z.ZodType;
    const meta = (f.meta() ?? {}) as Partial<OptionMeta>;
    if (!meta.description) throw new Error(`option ${key} has no description`);
    const def = f instanceof z.ZodDefault ? (f.def.defaultValue as unknown) : undefined;
    return { key, meta: meta as OptionMeta, defaultValue: def, required: !f.safeParse(undefined).success };
  });
}

/** The value types options are built from, for other components' schemas. */
export const optionFields = { int, positive, bool, indexPrefix, httpUrl, endpoint, json };
