import { Command } from 'commander';
import { z } from 'zod';
import { loadRules } from '../../consumers/alerts/index.ts';
import { resolveOptions } from '../../consumers/index.ts';
import { RULE_LEVELS, type RuleSet } from '../../processors/detections/index.ts';
import { table } from '../io.ts';
import { addSchemaOptions } from '../options.ts';
import { describeRuleError } from './detect.ts';

export const RulesListOptionsSchema = z.object({
  rules: z.string().min(1).optional().meta({ description: 'a folder of your own Sigma rules (.yml, sub-folders too), listed beside the shipped ones', arg: 'dir' }),
  json: z.boolean().default(false).meta({ description: 'print the result as JSON on stdout' }),
});

/** Rules by level, least urgent first, every level present (0 when none). */
export function countByLevel(rules: RuleSet): Record<string, number> {
  const counts = Object.fromEntries(RULE_LEVELS.map((l) => [l, 0]));
  for (const r of rules.rules) counts[r.level]!++;
  return counts;
}

/** The listing: one row per loaded rule, counts by level, then each refused rule with why. */
export function rulesListing(rules: RuleSet): string[] {
  const sorted = [...rules.rules].sort((a, b) => RULE_LEVELS.indexOf(b.level) - RULE_LEVELS.indexOf(a.level) || a.title.localeCompare(b.title));
  const lines = table([['LEVEL', 'ID', 'TITLE', 'AUTHOR', 'SOURCE'], ...sorted.map((r) => [r.level, r.id, r.title, r.author ?? '', r.logsource.service ?? ''])]);
  const counts = countByLevel(rules);
  lines.push('', `${rules.rules.length} rules: ${RULE_LEVELS.map((l) => `${counts[l]} ${l}`).join(', ')}`);
  if (rules.errors.length > 0) {
    lines.push('', `${rules.errors.length} refused:`);
    for (const e of rules.errors) lines.push(`  ${describeRuleError(e)}`);
  }
  return lines;
}

/** `centralog rules list`: the rules `detect` and the consumer evaluate, and those they refuse. */
export function rulesCommand(): Command {
  const command = new Command('rules').description('The Sigma detection rules centralog evaluates (shipped, plus a folder of your own).');
  const list = new Command('list').description(
    'List the loaded rules (level, id, title, author, source) with their counts by level, then every rule that cannot be evaluated, with the reason. Exit code 1 if any is refused.',
  );
  addSchemaOptions(list, RulesListOptionsSchema)
    .addHelpText('after', '\nExamples:\n  centralog rules list\n  centralog rules list --rules ./my-rules --json\n')
    .action((raw: Record<string, unknown>) => {
      const options = resolveOptions(RulesListOptionsSchema, { flags: raw });
      const rules = loadRules(options.rules);
      if (options.json) {
        const shown = rules.rules.map((r) => ({ id: r.id, title: r.title, level: r.level, author: r.author ?? null, service: r.logsource.service ?? null, tags: r.tags }));
        process.stdout.write(`${JSON.stringify({ rules: shown, counts: countByLevel(rules), refused: rules.errors })}\n`);
      } else process.stdout.write(`${rulesListing(rules).join('\n')}\n`);
      process.exitCode = rules.errors.length > 0 ? 1 : 0;
    });
  return command.addCommand(list.showHelpAfterError());
}
