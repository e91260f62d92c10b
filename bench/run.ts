// `npm run bench -- <transform|parse|detect|s3|consumer|all> [--json]`: throughput next to a baseline measured in the same run.
import { benchConsumer } from './consumer.ts';
import { benchDetect } from './detect.ts';
import { report, type BenchResult } from './measure.ts';
import { benchParse } from './parse.ts';
import { benchS3 } from './s3.ts';
import { benchTransform } from './transform.ts';

const BENCHMARKS: Record<string, () => BenchResult[] | Promise<BenchResult[]>> = {
  transform: benchTransform,
  parse: benchParse,
  detect: benchDetect,
  // ~100 MB of ALB access logs through the S3 way in, against gunzip + line split of the same files.
  s3: benchS3,
  // Starts the local stack (OpenSearch included) and one consumer process: about a minute.
  consumer: benchConsumer,
};

const args = process.argv.slice(2);
const json = args.includes('--json');
const names = args.filter((a) => !a.startsWith('--'));
if (args.includes('--help') || names.some((n) => n !== 'all' && !(n in BENCHMARKS))) {
  process.stderr.write(`usage: npm run bench -- [${Object.keys(BENCHMARKS).join('|')}|all] [--json]\n`);
  process.exit(args.includes('--help') ? 0 : 2);
}
const chosen = names.length === 0 || names.includes('all') ? Object.keys(BENCHMARKS) : names;
for (const name of chosen) report(await BENCHMARKS[name]!(), json);
