import { Command } from 'commander';
import { ConfigError, LocalStackEnvSchema, resolveOptions } from '../../consumers/index.ts';
import { DemoOptionsSchema } from '../demo-options.ts';
import { addSchemaOptions, describeEnv } from '../options.ts';
import { interruptSignal } from '../signals.ts';

/** The demo module, which a production build leaves out (it brings the emulators). */
async function loadDemo(): Promise<typeof import('../demo.ts')> {
  try {
    return await import('../demo.ts');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes('demo.ts')) {
      throw new ConfigError('centralog demo needs a source checkout (git clone, npm ci, npx centralog demo); this build has the consumer only');
    }
    throw err;
  }
}

/** `centralog demo` (`npm start`): the product's main job on the embedded local stack. */
export function demoCommand(): Command {
  const command = new Command('demo')
    .description(
      'Run the whole pipeline on the embedded local stack (Kinesis, DynamoDB, S3 emulators and a real OpenSearch node): ' +
        'simulated member accounts deliver VPC flow, CloudTrail and GuardDuty events, Firehose archives them to S3, the ' +
        'consumer indexes them; ends with a summary that accounts for every event (exit 0 only if none is missing or duplicated).',
    );
  addSchemaOptions(command, DemoOptionsSchema)
    .addHelpText(
      'after',
      '\nEnvironment (each one replaces an embedded service):\n' +
        describeEnv(LocalStackEnvSchema) +
        '\nExample:\n  npm start -- --rate 5000 --duration 20 --keep\n',
    )
    .action(async (raw: Record<string, unknown>) => {
      const options = resolveOptions(DemoOptionsSchema, { flags: raw });
      // A bad endpoint variable stops the demo before anything starts.
      resolveOptions(LocalStackEnvSchema, { env: process.env });
      // Loaded only here: the demo brings the emulators, which a production install does not have.
      const { runDemo } = await loadDemo();
      const { ok } = await runDemo(options, {
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
        interactive: process.stderr.isTTY === true,
        signal: interruptSignal(),
      });
      process.exitCode = ok ? 0 : 1;
    });
  return command;
}
