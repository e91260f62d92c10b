import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface IndexTemplate {
  name: string;
  body: Record<string, unknown>;
}

/** The index templates for an index prefix, read from the JSON assets beside this file. */
export function indexTemplates(prefix: string): IndexTemplate[] {
  const raw = readFileSync(join(HERE, 'base-template.json'), 'utf8').replaceAll('{{prefix}}', prefix);
  return [{ name: `${prefix}-aws-base`, body: JSON.parse(raw) as Record<string, unknown> }];
}
