import { Command } from 'commander';
import { z } from 'zod';
import { loadRules } from '../../consumers/alerts/index.ts';
import { resolveOptions } from '../../consumers/index.ts';
import { detectSource } from '../../processors/index.ts';
import { RULE_LEVELS, type RuleLoadError, type RuleSet } from '../../processors/detections/index.ts';
import { addSchemaOptions } from '../options.ts';

export const DetectOptionsSchema = z.object({
  rules: z.string().min(1).optional().meta({ description: 'a folder of your own Sigma rules (.yml, sub-folders too), evaluated beside the shipped ones', arg: 'dir' }),
  json: z.boolean().default(false).meta({ description: 'write refused rules, unreadable lines and the summary on stderr as JSON lines' }),
});
export type DetectOptions = z.infer<typeof DetectOptionsSchema>;

export interface DetectIO {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** What a run saw: lines evaluated, lines that were no CloudTrail event or GuardDuty finding, matches by level. */
export interface DetectSummary {
  events: number;
  skipped: number;
  matches: number;
  byLevel: Record<string, number>;
}

export function describeRuleError(e: RuleLoadError): string {
  return `rule ${e.file}${e.id ? ` (${e.id})` : ''} not loaded: ${e.reason}`;
}

/**
 * Evaluates raw events, one per line (CloudTrail records, also inside EventBridge events, and
 * GuardDuty findings), and writes one JSON line per match with the rule's author, as the
 * Detection Rule License asks of alerts.
 */
export function runDetect(input: string, rules: RuleSet, io: DetectIO, json = false): DetectSummary {
  const summary: DetectSummary = { events: 0, skipped: 0, matches: 0, byLevel: {} };
  const lines = input.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (!text) continue;
    const detected = detectSource(text);
    const event = detected.source === 'cloudtrail' ? detected.record : detected.source === 'guardduty' ? detected.finding : undefined;
    if (!event) {
      summary.skipped++;
      const reason = text.startsWith('{') ? 'neither a CloudTrail event nor a GuardDuty finding' : 'not a JSON event';
      io.err(json ? JSON.stringify({ line: i + 1, error: reason }) : `line ${i + 1}: ${reason}`);
      continue;
    }
    summary.events++;
    const eventID = detected.source === 'cloudtrail' ? event.eventID : event.id;
    for (const { rule } of rules.match(event, detected.source as 'cloudtrail' | 'guardduty')) {
      summary.matches++;
      summary.byLevel[rule.level] = (summary.byLevel[rule.level] ?? 0) + 1;
      io.out(JSON.stringify({ rule: { id: rule.id, title: rule.title, level: rule.level, author: rule.author ?? null }, event: { line: i + 1, eventID: typeof eventID === 'string' ? eventID : null } }));
    }
  }
  return summary;
}

/** `centralog detect`: the shipped (and your) Sigma rules over raw events on stdin. */
export function detectCommand(): Command {
  const command = new Command('detect').description(
    'Match raw events from stdin against the detection rules: one CloudTrail event (bare or in an EventBridge event) or GuardDuty finding per line, ' +
      'one JSON line per match out: {"rule":{"id","title","level","author"},"event":{"line","eventID"}} (line is 1-based; a finding gives its id). ' +
      'Refused rules and lines that are no such event go to stderr; the exit code is 1 if any line was not one.',
  );
  addSchemaOptions(command, DetectOptionsSchema)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  jq -c \'.Records[]\' trail-file.json | centralog detect\n' +
        '  centralog detect --rules ./my-rules < events.ndjson\n',
    )
    .action(async (raw: Record<string, unknown>) => {
      const options = resolveOptions(DetectOptionsSchema, { flags: raw });
      const rules = loadRules(options.rules);
      const err = (line: string) => process.stderr.write(`${line}\n`);
      for (const e of rules.errors) err(options.json ? JSON.stringify({ refused: e }) : describeRuleError(e));
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      let out = '';
      const summary = runDetect(
        Buffer.concat(chunks).toString('utf8'),
        rules,
        {
          out: (line) => {
            out += `${line}\n`;
            if (out.length > 1 << 16) {
              process.stdout.write(out);
              out = '';
            }
          },
          err,
        },
        options.json,
      );
      process.stdout.write(out);
      const levels = [...RULE_LEVELS].reverse().filter((l) => summary.byLevel[l]).map((l) => `${summary.byLevel[l]} ${l}`).join(', ');
      err(
        options.json
          ? JSON.stringify({ summary: { ...summary, rules: rules.rules.length, refused: rules.errors.length } })
          : `${summary.events} events, ${summary.matches} matches${levels ? ` (${levels})` : ''}, ${rules.rules.length} rules${rules.errors.length ? `, ${rules.errors.length} refused` : ''}${summary.skipped ? `; ${summary.skipped} lines not evaluated` : ''}`,
      );
      process.exitCode = summary.skipped > 0 ? 1 : 0;
    });
  return command;
}
