import { z } from 'zod';
import { optionFields } from '../consumers/index.ts';
import { DEFAULT_INDEX_PREFIX } from '../processors/index.ts';

const { indexPrefix, int, positive } = optionFields;

/** `centralog demo` (`npm start`): the flags, their defaults and their help, in one place. */
export const DemoOptionsSchema = z.object({
  duration: positive(86_400).default(30).meta({ description: 'how long to produce events', arg: 'seconds' }),
  rate: positive(100_000).default(200).meta({ description: 'log events produced per second, all accounts together', arg: 'events-per-second' }),
  accounts: int(1, 1000).default(3).meta({ description: 'member accounts to simulate', arg: 'n' }),
  shards: int(1, 64).default(4).meta({ description: 'shards of the central Kinesis stream', arg: 'n' }),
  retrieval: z
    .enum(['polling', 'fanout'])
    .default('polling')
    .meta({ description: "how the consumer reads the stream: polling (GetRecords within a per-shard budget) | fanout (enhanced fan-out, here through the local SubscribeToShard endpoint)", arg: 'mode' }),
  workers: int(1, 16).default(2).meta({ description: 'consumer workers sharing the shards through the lease table', arg: 'n' }),
  indexPrefix: indexPrefix.default(DEFAULT_INDEX_PREFIX).meta({ description: 'OpenSearch index prefix', arg: 'prefix' }),
  drainTimeout: positive(3600).default(120).meta({ description: 'how long to wait for the pipeline to catch up after producing', arg: 'seconds' }),
  keep: z.boolean().default(false).meta({ description: 'leave the services up afterwards and print their URLs and example queries' }),
  json: z.boolean().default(false).meta({ description: 'print the summary as one JSON object on the last line of stdout' }),
  verbose: z.boolean().default(false).meta({ description: 'also log lease, shard and worker events (JSON lines on stderr)' }),
});
export type DemoOptions = z.infer<typeof DemoOptionsSchema>;
