import { z } from 'zod';
import { EndpointOptionsSchema } from '../consumers/index.ts';

/**
 * What every operator command takes besides its own options: the standard AWS credential
 * chain with a profile, the region, per-service endpoints (the local stack), and `--json`.
 * A command's schema is `OperatorOptionsSchema.extend({...})`.
 */
export const OperatorOptionsSchema = EndpointOptionsSchema.extend({
  profile: z.string().min(1).optional().meta({ description: 'AWS profile from ~/.aws/config (default: the standard credential chain)', arg: 'name' }),
  json: z.boolean().default(false).meta({ description: 'print the result as JSON on stdout (progress stays on stderr)' }),
});
export type OperatorOptions = z.infer<typeof OperatorOptionsSchema>;

/** Selects the profile for every AWS SDK client made afterwards in this process. */
export function useProfile(options: Pick<OperatorOptions, 'profile'>): void {
  if (options.profile) process.env.AWS_PROFILE = options.profile;
}

export interface CommandIO {
  out: (line: string) => void;
  err: (line: string) => void;
  /** stderr is a terminal: progress redraws one line instead of printing lines. */
  interactive: boolean;
}

export const processIO: CommandIO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  interactive: process.stderr.isTTY === true,
};

/**
 * Progress of long work on stderr: a redrawn bar on a terminal, a plain line at most every
 * `everyMs` elsewhere (logs and CI), and always a last line when done.
 */
export class Progress {
  private done = 0;
  private lastPrinted = 0;

  constructor(
    private readonly io: CommandIO,
    private readonly label: string,
    private readonly total?: number,
    private readonly everyMs = 5000,
  ) {}

  advance(n = 1, detail = ''): void {
    this.done += n;
    this.print(false, detail);
  }

  finish(detail = ''): void {
    this.print(true, detail);
  }

  private print(final: boolean, detail: string): void {
    const now = Date.now();
    if (!final && now - this.lastPrinted < (this.io.interactive ? 100 : this.everyMs)) return;
    this.lastPrinted = now;
    const count = this.total ? `${this.done.toLocaleString('en-US')}/${this.total.toLocaleString('en-US')}` : this.done.toLocaleString('en-US');
    const bar = this.total ? ` [${'#'.repeat(Math.round((20 * this.done) / this.total)).padEnd(20)}]` : '';
    const line = `${this.label}${bar} ${count}${detail ? `  ${detail}` : ''}`;
    if (this.io.interactive) process.stderr.write(`\r${line}${final ? '\n' : ''}`);
    else this.io.err(line);
  }
}

/** Rows as an aligned text table (first row: headers). */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}
