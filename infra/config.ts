import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseVpcFlowFormat } from '../processors/parsers/vpcflow.ts';
import { LogGroupSourcesSchema, TRANSFORM_PROCESSOR_BUFFER_MB } from '../processors/options.ts';
import type { LogGroupSources } from '../processors/source.ts';

const accountId = z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id');
const region = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'expected an AWS region name such as eu-west-1');
const days = (min: number, max: number) => z.number().int().min(min).max(max);
/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
const logRetention = z
  .number()
  .int()
  .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), `expected one of ${LOG_RETENTION_DAYS.join(', ')}`);

const lifecycle = (glacier: number, expire: number) =>
  z
    .object({
      glacierAfterDays: days(1, 3650).default(glacier).meta({ description: 'move objects to S3 Glacier Flexible Retrieval after this many days' }),
      expireAfterDays: days(2, 36500).default(expire).meta({ description: 'delete objects (and old versions) after this many days' }),
    })
    .refine((l) => l.expireAfterDays > l.glacierAfterDays, { message: 'expireAfterDays must be after glacierAfterDays', path: ['expireAfterDays'] })
    .prefault({});

const vpcFlowFormat = z
  .string()
  .min(1)
  .refine(
    (spec) => {
      try {
        parseVpcFlowFormat(spec);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'expected a VPC flow log format such as "${version} ${account-id} ${interface-id} ..."' },
  );

export const DeployConfigSchema = z
  .object({
    namePrefix: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,19}$/, 'expected 2-20 lowercase letters, digits and -, starting with a letter')
      .default('centralog')
      .meta({ description: 'prefix of every named resource (stream, destinations, roles, tables, buckets)' }),
    centralAccountId: accountId.meta({ description: 'the central logging account (required)' }),
    primaryRegion: region.meta({ description: 'region of the stream, Firehose, OpenSearch and the consumer (required)' }),
    regions: z
      .array(region)
      .min(1)
      .optional()
      .meta({ description: 'regions member log groups live in: one CloudWatch Logs destination each (default: [primaryRegion])' }),
    access: z
      .discriminatedUnion('mode', [
        z.object({ mode: z.literal('organization'), organizationId: z.string().regex(/^o-[a-z0-9]{10,32}$/, 'expected an organization id such as o-a1b2c3d4e5') }),
        z.object({ mode: z.literal('accounts'), accountIds: z.array(accountId).min(1) }),
      ])
      .meta({ description: "who may subscribe: {mode: 'organization', organizationId} or {mode: 'accounts', accountIds} (required)" }),
    stream: z
      .object({
        mode: z.enum(['provisioned', 'on-demand']).default('provisioned').meta({ description: 'provisioned | on-demand' }),
        shardCount: z.number().int().min(1).max(500).default(2).meta({ description: 'shards when provisioned' }),
        maxShards: z.number().int().min(1).max(500).default(8).meta({ description: 'on-demand: the most shards expected (caps the consumer tasks)' }),
        retentionHours: z.number().int().min(24).max(8760).default(168).meta({ description: 'stream retention (default 7 days)' }),
        retrieval: z
          .enum(['polling', 'fanout'])
          .default('polling')
          .meta({
            description:
              "how the consumer reads: polling (GetRecords, sharing each shard's 5 calls/s and 2 MB/s with Firehose) | fanout (a registered stream consumer with its own 2 MB/s per shard; recommended above ~0.5 MB/s per shard or with more readers)",
          }),
      })
      .prefault({}),
    archive: lifecycle(90, 2555).meta({ description: 'S3 archive lifecycle (default Glacier after 90 days, expiry after 7 years)' }),
    deadLetters: lifecycle(30, 365).meta({ description: 'S3 dead-letter lifecycle (default Glacier after 30 days, expiry after 1 year)' }),
    firehose: z
      .object({
        processorBufferMiB: z.number().min(0.2).max(1).default(TRANSFORM_PROCESSOR_BUFFER_MB).meta({ description: 'transform Lambda input per invocation; CloudWatch Logs data expands about 11x into the response, so 0.25 keeps it near 3 MB of the 6 MB limit' }),
        processorIntervalSeconds: z.number().int().min(60).max(900).default(60).meta({ description: 'transform buffer interval' }),
        bufferMiB: z.number().int().min(64).max(128).default(128).meta({ description: 'S3 buffer size (dynamic partitioning needs at least 64)' }),
        bufferSeconds: z.number().int().min(60).max(900).default(300).meta({ description: 'S3 buffer interval (at least 60)' }),
      })
      .prefault({}),
    network: z
      .object({
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/).optional().meta({ description: 'an existing VPC; default: the stack creates one' }),
        privateSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/)).optional().meta({ description: 'with vpcId: private subnets with a route out (one per AZ)' }),
        availabilityZones: z.array(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/)).min(2).max(3).optional().meta({ description: 'AZs to use (default: <primaryRegion>a, b[, c])' }),
        natGateways: z.number().int().min(1).max(3).default(1).meta({ description: 'NAT gateways of the created VPC' }),
      })
      .refine((n) => !n.vpcId || (n.privateSubnetIds && n.availabilityZones && n.privateSubnetIds.length === n.availabilityZones.length), {
        message: 'with vpcId, give privateSubnetIds and availabilityZones, one subnet per AZ',
        path: ['privateSubnetIds'],
      })
      .prefault({}),
    opensearch: z
      .object({
        instanceType: z.string().regex(/^[a-z0-9]+\.[a-z0-9]+\.search$/).default('r7g.large.search').meta({ description: 'data node type' }),
        instanceCount: z.number().int().min(1).max(80).default(2).meta({ description: 'data nodes (a multiple of the AZ count)' }),
        availabilityZoneCount: z.union([z.literal(2), z.literal(3)]).default(2).meta({ description: 'zone awareness: 2 or 3 AZs' }),
        volumeGiB: z.number().int().min(10).max(16384).default(100).meta({ description: 'gp3 volume per data node' }),
        dedicatedMasters: z
          .object({ instanceType: z.string().regex(/^[a-z0-9]+\.[a-z0-9]+\.search$/).default('m7g.large.search'), count: z.union([z.literal(3), z.literal(5)]).default(3) })
          .optional()
          .meta({ description: 'dedicated master nodes (default none)' }),
        placement: z.enum(['vpc', 'public']).default('vpc').meta({ description: 'vpc: in the private subnets; public: an HTTPS endpoint guarded by IAM + fine-grained access control' }),
        createServiceLinkedRole: z.boolean().default(true).meta({ description: 'vpc placement: create the OpenSearch service-linked role if missing (kept on teardown)' }),
        indexPrefix: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/).default('centralog').meta({ description: 'index prefix' }),
        retentionDays: days(1, 3650).default(30).meta({ description: 'ISM deletes indices older than this' }),
        adminRoleArns: z.array(z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/)).default([]).meta({ description: 'IAM roles mapped to all_access (e.g. your operators)' }),
      })
      .refine((o) => o.instanceCount % o.availabilityZoneCount === 0, { message: 'instanceCount must be a multiple of availabilityZoneCount', path: ['instanceCount'] })
      .prefault({}),
    consumer: z
      .object({
        cpu: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)]).default(512).meta({ description: 'Fargate CPU units per task' }),
        memoryMiB: z.number().int().min(512).max(30720).default(1024).meta({ description: 'Fargate memory per task' }),
        minTasks: z.number().int().min(2).default(2).meta({ description: 'fewest tasks (at least 2, for failover)' }),
        scaleOutIteratorAgeSeconds: z.number().int().min(10).default(60).meta({ description: 'add tasks while the stream iterator age is above this' }),
        logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
      })
      .prefault({}),
    alarms: z
      .object({
        emails: z.array(z.email()).default([]).meta({ description: 'addresses subscribed to the alarm topic' }),
        iteratorAgeSeconds: z.number().int().min(10).default(300).meta({ description: 'alarm when records wait longer than this' }),
        firehoseFreshnessSeconds: z.number().int().min(60).default(900).meta({ description: 'alarm when the archive falls this far behind' }),
        consumerLagSeconds: z.number().int().min(10).default(300).meta({ description: 'alarm when the consumer falls this far behind' }),
        freeStorageGiB: z.number().min(1).default(20).meta({ description: 'alarm below this free storage per node' }),
      })
      .prefault({}),
    detections: z
      .object({
        enabled: z.boolean().default(true).meta({ description: 'match CloudTrail and GuardDuty of mapped log groups against the Sigma rules, indexing alerts and publishing each once to the alerts topic' }),
        emails: z.array(z.email()).default([]).meta({ description: 'addresses subscribed to the alerts topic' }),
      })
      .prefault({}),
    logRetentionDays: logRetention.default(365).meta({ description: "retention of the pipeline's own log groups" }),
    members: z
      .object({
        vpcIds: z.array(z.string().regex(/^vpc-[0-9a-f]{8,17}$/)).max(5).default([]).meta({ description: 'default VpcIds parameter of the member stack (per account: override at deploy)' }),
        vpcFlowLogFormat: vpcFlowFormat.optional().meta({ description: 'custom VPC flow log format (default: the AWS default format)' }),
        cloudTrail: z
          .discriminatedUnion('mode', [
            z.object({ mode: z.literal('create'), globalEventsRegion: region.optional() }),
            z.object({ mode: z.literal('existing'), logGroupName: z.string().min(1).max(512) }),
            z.object({ mode: z.literal('none') }),
          ])
          .default({ mode: 'create' })
          .meta({ description: "create (a trail per region; global events in globalEventsRegion, default primaryRegion) | existing (an organisation trail's log group) | none" }),
        guardDuty: z
          .object({ enabled: z.boolean().default(true), createDetector: z.boolean().default(true).meta({ description: 'false where GuardDuty is already on (e.g. org-managed)' }) })
          .prefault({}),
        logRetentionDays: logRetention.default(90).meta({ description: 'retention of member log groups' }),
        logGroupSources: LogGroupSourcesSchema.default({}).meta({
          description:
            'log groups (or prefixes ending in *) beyond those the member stack creates, and what they carry: cloudtrail | vpcflow | guardduty | trusted. Only mapped or trusted groups feed the CloudTrail and GuardDuty indices and the detections',
        }),
        aggregatorAccounts: z
          .array(accountId)
          .default([])
          .meta({ description: "accounts whose log groups carry other accounts' CloudTrail events (an organisation trail's); other mismatches are tagged account_mismatch" }),
      })
      .prefault({}),
    s3Sources: z
      .array(
        z.object({
          name: z.string().regex(/^[a-z][a-z0-9-]{1,24}$/, 'expected 2-25 lowercase letters, digits and -, starting with a letter'),
          accountId: accountId.meta({ description: 'the account that owns the bucket (its stack deploys there)' }),
          region: region.optional().meta({ description: "the bucket's region (default primaryRegion); its queue lives there" }),
          bucketName: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name'),
          prefix: z.string().max(1024).default('AWSLogs/').meta({ description: 'only objects under this prefix are announced and readable' }),
          externalId: z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, 'expected 2-1224 of letters, digits and +=,.@:/-').meta({ description: 'sts:ExternalId the read role requires' }),
          bucketKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:/, 'expected a KMS key ARN').optional().meta({ description: "the bucket's SSE-KMS key, if any (the read role may decrypt with it)" }),
        }),
      )
      .default([])
      .meta({ description: 'buckets that only S3 writes to (ALB access logs, CloudTrail, VPC flow or GuardDuty exports), read by ingest-s3 through S3 -> SQS notifications' }),
    stackSets: z
      .object({
        organizationalUnitIds: z.array(z.string().regex(/^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$/)).min(1),
        regions: z.array(region).min(1),
        callAs: z.enum(['SELF', 'DELEGATED_ADMIN']).default('DELEGATED_ADMIN').meta({ description: 'SELF from the management account' }),
      })
      .optional()
      .meta({ description: 'deploy the member stack org-wide with service-managed StackSets (default: off)' }),
  })
  .superRefine((c, ctx) => {
    const regions = c.regions ?? [c.primaryRegion];
    for (const [i, r] of (c.stackSets?.regions ?? []).entries()) {
      if (!regions.includes(r)) ctx.addIssue({ code: 'custom', path: ['stackSets', 'regions', i], message: `${r} has no destination: add it to regions` });
    }
    if (c.stackSets && c.access.mode !== 'organization') {
      ctx.addIssue({ code: 'custom', path: ['stackSets'], message: "StackSets onboard new accounts automatically: use access.mode 'organization'" });
    }
    if (c.network.availabilityZones && c.network.availabilityZones.length < c.opensearch.availabilityZoneCount) {
      ctx.addIssue({ code: 'custom', path: ['network', 'availabilityZones'], message: `need ${c.opensearch.availabilityZoneCount} AZs for opensearch.availabilityZoneCount` });
    }
  });

export type DeployConfigInput = z.input<typeof DeployConfigSchema>;
type Parsed = z.output<typeof DeployConfigSchema>;
/** The validated configuration with every default filled in. */
export type DeployConfig = Parsed & { regions: string[]; network: Parsed['network'] & { availabilityZones: string[] } };

export class DeployConfigError extends Error {}

/** Validates a configuration object; the error names each bad key and what was expected. */
export function parseDeployConfig(input: unknown, origin = 'config'): DeployConfig {
  const result = DeployConfigSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new DeployConfigError(`invalid deployment config (${origin}):\n${lines.join('\n')}`);
  }
  const c = result.data;
  const azCount = c.opensearch.availabilityZoneCount;
  const availabilityZones = c.network.availabilityZones ?? ['a', 'b', 'c'].slice(0, azCount).map((l) => `${c.primaryRegion}${l}`);
  return { ...c, regions: c.regions ?? [c.primaryRegion], network: { ...c.network, availabilityZones } };
}

/** Reads and validates a JSON configuration file. */
export function loadDeployConfig(path: string): DeployConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DeployConfigError(`cannot read deployment config ${path}: ${(err as Error).message}`);
  }
  return parseDeployConfig(raw, path);
}

/** The shard count the consumer can use at most (one lease per shard). */
export function maxShards(c: DeployConfig): number {
  return c.stream.mode === 'provisioned' ? c.stream.shardCount : c.stream.maxShards;
}

/** Names shared by the central and member stacks, so neither needs the other's outputs. */
export function names(c: DeployConfig) {
  const p = c.namePrefix;
  return {
    stream: `${p}-logs`,
    destination: `${p}-destination`,
    destinationRole: `${p}-cwl-to-kinesis`,
    memberSubscriptionRole: `${p}-cwl-subscription`,
    streamKeyAlias: `alias/${p}-stream`,
    streamConsumer: `${p}-consumer`,
    vpcFlowLogGroup: `/${p}/vpc-flow-logs`,
    cloudTrailLogGroup: `/${p}/cloudtrail`,
    guardDutyLogGroup: `/aws/events/${p}-guardduty`,
    /** The central ingest-s3 task role: bucket owners' queue and read-role policies name it. */
    s3IngestRole: `${p}-ingest-s3`,
    s3Queue: (source: string) => `${p}-${source}-events`,
    s3ReadRole: (source: string) => `${p}-${source}-read`,
    s3QueueKeyAlias: (source: string) => `alias/${p}-${source}-events`,
  };
}

/** What the log groups the member stack subscribes carry (the same names in every account). */
export function memberStackLogGroupSources(c: DeployConfig): LogGroupSources {
  const n = names(c);
  const sources: LogGroupSources = { [n.vpcFlowLogGroup]: 'vpcflow' };
  const trail = c.members.cloudTrail;
  if (trail.mode === 'create') sources[n.cloudTrailLogGroup] = 'cloudtrail';
  else if (trail.mode === 'existing') sources[trail.logGroupName] = 'cloudtrail';
  if (c.members.guardDuty.enabled) sources[n.guardDutyLogGroup] = 'guardduty';
  return sources;
}

/** The member stack's groups, then the operator's own: the consumer parses a group only as its source. */
export function memberLogGroupSources(c: DeployConfig): LogGroupSources {
  return { ...memberStackLogGroupSources(c), ...c.members.logGroupSources };
}

/** The destination ARN member log groups in `region` subscribe to. */
export function destinationArn(c: DeployConfig, region: string, partition = 'aws'): string {
  return `arn:${partition}:logs:${region}:${c.centralAccountId}:destination:${names(c).destination}`;
}
