import type { Command } from 'commander';
import { z } from 'zod';
import { DocumentRulesSchema, MAX_EVENT_BYTES, optionFields } from '../../consumers/index.ts';
import { BulkSink } from '../../consumers/sinks/index.ts';
import { Progress, table } from '../io.ts';
import { operatorClients } from '../ops/clients.ts';
import { operatorCommand } from '../ops/command.ts';
import { connectionSchema, jsonOption, list, time } from '../ops/options.ts';
import { redrive } from '../ops/redrive.ts';
import { fmt } from './replay.ts';

const { int } = optionFields;
const MiB = 1024 * 1024;

const RedriveOwnSchema = z.object({
  ...jsonOption,
  from: time().optional().meta({ description: 'only dead letters that arrived from this time (default: all)', arg: 'time' }),
  to: time().optional().meta({ description: 'with --from: only dead letters that arrived before this time (default now)', arg: 'time' }),
  stage: list(z.enum(['decode', 'size', 'index'], { error: 'expected decode, size or index' })).meta({
    description: 'only these stages, comma-separated: decode (unreadable records), size (oversized events), index (refused by OpenSearch)',
    arg: 'list',
  }),
  redrivenPrefix: z.string().min(1).default('redriven/').meta({ description: 'where letters that now succeed are moved, mirroring their keys', arg: 'prefix' }),
  concurrency: int(1, 32).default(4).meta({ description: 'dead-letter objects processed at once', arg: 'n' }),
  maxEventBytes: int(1024, 16 * MiB).default(MAX_EVENT_BYTES).meta({ description: 'events with a larger message stay dead-lettered (raise it to redrive oversized events)', arg: 'bytes' }),
});
// With the consumer's rules (its CENTRALOG_* variables), events come back with the ids, sources and indices it gave them.
const RedriveConnection = connectionSchema(['s3Endpoint', 'opensearchUrl', 'opensearchAuth', 'indexPrefix', 'deadLetterBucket', 'deadLetterPrefix']).extend(DocumentRulesSchema.shape);
const RedriveOptionsSchema = RedriveOwnSchema.extend(RedriveConnection.shape).refine((o) => !o.from || !o.to || o.from < o.to, { message: 'expected --from before --to', path: ['from'] })
  .refine((o) => !o.to || o.from, { message: 'needs --from as well', path: ['to'] });

/** `centralog redrive`: dead letters back through the pipeline after a fix. */
export function redriveCommand(): Command {
  return operatorCommand({
    name: 'redrive',
    description:
      'Send dead letters back through the pipeline after a fix (a parser, an index template, a size limit): each letter is rebuilt from its event or record ' +
      "and indexed under the pipeline's id. Letters that succeed move to the redriven/ prefix; those that still fail stay where they are, with their new reason.",
    own: RedriveOwnSchema,
    connection: RedriveConnection,
    schema: RedriveOptionsSchema,
    examples: ['centralog redrive', 'centralog redrive --from 2026-05-01 --stage index --json', 'centralog redrive --stage size --max-event-bytes 1048576'],
    run: async (o, io, signal) => {
      const clients = operatorClients(o);
      // Without --from, every dead letter: listing by hour from the epoch would be thousands of calls.
      const range = o.from ? { from: o.from, to: o.to ?? new Date(Date.now() + 3_600_000) } : undefined;
            let progress: Progress | undefined;
      let redriven = 0;
      let failing = 0;
      io.err(`redrive: s3://${o.deadLetterBucket}/${o.deadLetterPrefix} into ${o.opensearchUrl} (${o.indexPrefix}-*)`);
      const summary = await redrive(
        { s3: clients.s3(), bucket: o.deadLetterBucket, bulk: new BulkSink(clients.opensearch()) },
        {
          prefix: o.deadLetterPrefix,
          redrivenPrefix: o.redrivenPrefix,
          range,
          stages: o.stage,
          indexPrefix: o.indexPrefix,
          rules: o,
          maxEventBytes: o.maxEventBytes,
          concurrency: o.concurrency,
          signal,
          onPlan: (objects) => (progress = new Progress(io, 'redrive: dead-letter objects', objects.length)),
          onObject: (_, part) => {
            redriven += part.redriven;
            failing += part.stillFailing;
            progress?.advance(1, `${fmt(redriven)} redriven, ${fmt(failing)} still failing`);
          },
        },
      );
      progress?.finish(`${fmt(summary.letters)} letters in ${summary.seconds.toFixed(1)} s`);
      if (o.json) {
        io.out(JSON.stringify({ ...summary, seconds: Math.round(summary.seconds * 1000) / 1000 }));
      } else {
        io.out('');
        for (const line of table([
          ['dead-letter objects', 'letters', 'redriven', 'created', 'already present', 'still failing', 'skipped'],
          [fmt(summary.objects), fmt(summary.letters), fmt(summary.redriven), fmt(summary.created), fmt(summary.alreadyPresent), fmt(summary.stillFailing), fmt(summary.skipped)],
        ]))
          io.out(`  ${line}`);
        const reasons = Object.entries(summary.reasons).sort((a, b) => b[1] - a[1]);
        if (reasons.length > 0) {
          io.out('');
          io.out('  still failing, by reason:');
          for (const [reason, n] of reasons.slice(0, 10)) io.out(`  ${String(n).padStart(8)}  ${reason.length > 160 ? `${reason.slice(0, 157)}...` : reason}`);
        }
        if (summary.redriven > 0) io.out(`\n  redriven letters are kept under s3://${o.deadLetterBucket}/${o.redrivenPrefix}`);
      }
      return summary.stillFailing > 0 ? 1 : 0;
    },
  });
}
