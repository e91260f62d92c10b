import { Command } from 'commander';
import { resolveOptions } from '../../consumers/index.ts';
import { addSchemaOptions } from '../options.ts';
import { ParseOptionsSchema, runParse } from '../parse.ts';

/** `centralog parse`: the pipeline's document builder on stdin. */
export function parseCommand(): Command {
  const command = new Command('parse')
    .description(
      'Parse log events from stdin into the ECS documents centralog indexes: one raw event per line (blank lines ignored), ' +
        'one JSON document per line out, in input order, with _index and _id. Errors go to stderr; the exit code is 1 if any line failed.',
    );
  addSchemaOptions(command, ParseOptionsSchema)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        "  echo '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK' | centralog parse\n" +
        '  centralog parse --source cloudtrail < events.ndjson\n' +
        '  centralog parse --envelope < subscription-payload.json\n',
    )
    .action(async (raw: Record<string, unknown>) => {
      const options = resolveOptions(ParseOptionsSchema, { flags: raw });
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      let out = '';
      const errors = runParse(Buffer.concat(chunks), options, {
        out: (line) => {
          out += `${line}\n`;
          if (out.length > 1 << 16) {
            process.stdout.write(out);
            out = '';
          }
        },
        err: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(out);
      process.exitCode = errors > 0 ? 1 : 0;
    });

  return command;
}
