import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { compileRules, shippedRuleFiles, type RuleFile, type RuleSet } from '../../processors/detections/index.ts';

/** The operator's rule folder cannot be read; the message names it. */
export class RuleFolderError extends Error {
  override readonly name = 'RuleFolderError';
}

/** Every `.yml`/`.yaml` file under `dir` (sub-folders too), named by its path from `dir`, in a stable order. */
export function readRuleFolder(dir: string): RuleFile[] {
  let stat;
  try {
    stat = statSync(dir);
  } catch (err) {
    throw new RuleFolderError(`rules folder ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message}`);
  }
  if (!stat.isDirectory()) throw new RuleFolderError(`rules folder ${dir}: not a folder`);
  const files: RuleFile[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/i.test(entry.name)) files.push({ name: relative(dir, path), text: readFileSync(path, 'utf8') });
    }
  };
  walk(dir);
  return files;
}

/** The shipped rules plus the operator's folder, if any; rules that cannot be evaluated are in `errors`, with why. */
export function loadRules(dir?: string): RuleSet {
  return compileRules([...shippedRuleFiles(), ...(dir ? readRuleFolder(dir) : [])]);
}
