import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { describeOptions, envName, type EndpointOptionsSchema, type LocalStackEnvSchema } from '../consumers/index.ts';

function shown(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Adds one flag per option of a component's schema, with the schema's description and
 * default. Flags carry no defaults of their own: the schema applies them after the
 * config file and the environment, so a flag left out never hides a variable.
 */
export function addSchemaOptions(command: Command, schema: z.ZodObject<z.ZodRawShape>, options: { env?: boolean } = {}): Command {
  for (const { key, meta, defaultValue } of describeOptions(schema)) {
    if (meta.fileOnly) continue;
    const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const notes = [
      defaultValue !== undefined && meta.arg ? `default ${shown(defaultValue)}` : undefined,
      options.env ? envName(key) : undefined,
    ].filter(Boolean);
    const help = notes.length > 0 ? `${meta.description} (${notes.join('; ')})` : meta.description;
    command.addOption(new Option(meta.arg ? `--${flag} <${meta.arg}>` : `--${flag}`, help));
  }
  return command;
}

/** `  CENTRALOG_X  description` lines for a schema's variables. */
export function describeEnv(schema: typeof EndpointOptionsSchema | typeof LocalStackEnvSchema): string {
  const rows = Object.entries(schema.shape).map(([key, field]) => [envName(key), (field.meta()?.description as string) ?? ''] as const);
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, text]) => `  ${name.padEnd(width)}  ${text}\n`).join('');
}
