import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ParseError, compact, type EcsDocument, type ParseContext, type ParsedEvent } from '../../../processors/parsers/types.ts';
import {
  DEFAULT_VPC_FLOW_FORMAT,
  VPC_FLOW_FIELDS,
  compileVpcFlowFormat,
  isVpcFlowHeader,
  isoFromSeconds,
  looksLikeVpcFlowLine,
  parseVpcFlowFormat,
  parseVpcFlowLine,
  vpcFlowTransport,
} from '../../../processors/parsers/vpcflow.ts';
import { detectSource, sniffSource } from '../../../processors/source.ts';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../fixtures/vpcflow/${name}`, import.meta.url));
const fixtureText = (name: string): string => fixture(name).toString('utf8');
const fixtureJson = <T>(name: string): T => JSON.parse(fixtureText(name)) as T;

type Obj = Record<string, any>;
interface DocBlock {
  doc_line: number;
  section: string;
  kind: 'records' | 'format_header';
  lines: string[];
}
interface CwlEnvelope {
  owner: string;
  logGroup: string;
  logStream: string;
  logEvents: { id: string; timestamp: number; message: string }[];
}

const CTX: ParseContext = {
  owner: '999988887777',
  logGroup: '/aws/vpc/flowlogs',
  logStream: 'eni-1235b8ca123456789-all',
  eventId: '36000000000000000000000000000000000000000000000000000000',
  timestamp: Date.UTC(2024, 0, 2, 3, 4, 5),
};

const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString();

function parse(line: string, format: string[] = DEFAULT_VPC_FLOW_FORMAT, ctx: ParseContext = CTX): { parsed: ParsedEvent; doc: Obj } {
  const parsed = parseVpcFlowLine(line, format, ctx);
  return { parsed, doc: parsed.document as Obj };
}

function parseError(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).source).toBe('vpcflow');
    return err as ParseError;
  }
  throw new Error('expected a ParseError');
}

/** Lines of an S3-style flow log file: header first, records after (empty lines dropped). */
function fileLines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

// ------------------------------------------------------------------------------------
// The AWS user guide examples: every record line, each in its section's format

const blocks = fixtureJson<DocBlock[]>('awsdocs_vpc-user-guide_flow-logs-records-examples.json');
const formatBySection = new Map<string, string[]>();
for (const b of blocks) if (b.kind === 'format_header') formatBySection.set(b.section, parseVpcFlowFormat(b.lines[0]!));
const recordBlocks = blocks.filter((b) => b.kind === 'records');
const formatOf = (b: DocBlock): string[] => formatBySection.get(b.section) ?? DEFAULT_VPC_FLOW_FORMAT;
const blockAt = (docLine: number): DocBlock => {
  const b = recordBlocks.find((x) => x.doc_line === docLine);
  if (!b) throw new Error(`no records block at doc line ${docLine}`);
  return b;
};
const docRecord = (docLine: number, index = 0): { parsed: ParsedEvent; doc: Obj } => {
  const b = blockAt(docLine);
  return parse(b.lines[index]!, formatOf(b));
};
/** The page annotates two NAT records with a trailing `#...` comment that is not part of the record. */
const withoutAnnotation = (line: string): string => line.replace(/\s+#.*$/, '');

describe('AWS user guide examples: every record line in its block format', () => {
  it('holds 4 custom formats and 28 record lines, one of them the page\'s "..." elision', () => {
    expect(formatBySection.size).toBe(4);
    const lines = recordBlocks.flatMap((b) => b.lines);
    expect(lines).toHaveLength(28);
    expect(lines.filter((l) => l === '...')).toHaveLength(1);
  });

  it('parses each of the 27 records (annotations stripped) with its format, the timestamp following end or the event time', () => {
    let parsed = 0;
    for (const b of recordBlocks) {
      const format = formatOf(b);
      for (const raw of b.lines) {
        if (raw === '...') continue;
        const line = withoutAnnotation(raw);
        const { parsed: p, doc } = parse(line, format);
        expect(doc.event.original).toBe(line);
        expect(doc.event.kind).toBe('event');
        expect(doc.event.category).toEqual(['network']);
        const end = doc.aws.vpcflow.end as number | undefined;
        expect(p.timestamp.getTime()).toBe(end !== undefined ? end * 1000 : CTX.timestamp);
        parsed++;
      }
    }
    expect(parsed).toBe(27);
  });

  it('rejects the "..." elision line with a ParseError naming the field count', () => {
    const b = recordBlocks.find((x) => x.lines.includes('...'))!;
    const err = parseError(() => parseVpcFlowLine('...', formatOf(b), CTX));
    expect(err.message).toContain('line has 1 field(s) but the flow log format has 17');
    expect(err.message).toContain("first missing field is 'interface-id'");
  });

  it('rejects an annotated NAT line as it stands, naming the first extra value', () => {
    const b = blockAt(144);
    const err = parseError(() => parseVpcFlowLine(b.lines[0]!, formatOf(b), CTX));
    expect(err.message).toMatch(/line has \d+ field\(s\) but the flow log format has 6/);
    expect(err.message).toContain("the first '#Traffic'");
  });

  it('maps an accepted SSH flow (default format) to ECS source/destination/network/event fields', () => {
    const { parsed, doc } = docRecord(23);
    expect(parsed.timestamp.toISOString()).toBe(iso(1418530070));
    expect(doc.source).toEqual({ address: '172.31.16.139', ip: '172.31.16.139', port: 20641, bytes: 4249, packets: 20 });
    expect(doc.destination).toEqual({ address: '172.31.16.21', ip: '172.31.16.21', port: 22 });
    expect(doc.network).toEqual({ transport: 'tcp', iana_number: '6', type: 'ipv4', bytes: 4249, packets: 20 });
    expect(doc.event).toMatchObject({
      action: 'ACCEPT',
      outcome: 'success',
      type: ['connection', 'allowed'],
      start: iso(1418530010),
      end: iso(1418530070),
      duration: 60_000_000_000,
    });
    expect(doc.cloud).toEqual({ account: { id: '123456789010' } });
    expect(doc.related).toEqual({ ip: ['172.31.16.139', '172.31.16.21'] });
    expect(doc.aws.vpcflow).toEqual({
      version: 2,
      account_id: '123456789010',
      interface_id: 'eni-1235b8ca123456789',
      srcaddr: '172.31.16.139',
      dstaddr: '172.31.16.21',
      srcport: 20641,
      dstport: 22,
      protocol: 6,
      packets: 20,
      bytes: 4249,
      start: 1418530010,
      end: 1418530070,
      action: 'ACCEPT',
      log_status: 'OK',
    });
  });

  it('maps a rejected RDP flow to event.action reject, outcome failure, type denied', () => {
    const { doc } = docRecord(29);
    expect(doc.event).toMatchObject({ action: 'REJECT', outcome: 'failure', type: ['connection', 'denied'] });
    expect(doc.destination).toEqual({ address: '172.31.9.12', ip: '172.31.9.12', port: 3389 });
    expect(doc.source.ip).toBe('172.31.9.69');
    expect(doc.aws.vpcflow.action).toBe('REJECT');
  });

  it('keeps a NODATA record with log_status and times but no action, outcome unknown and no network fields', () => {
    const { parsed, doc } = docRecord(39);
    expect(parsed.timestamp.toISOString()).toBe(iso(1431280934));
    expect(doc.event.outcome).toBe('unknown');
    expect(doc.event.type).toEqual(['info']);
    expect(doc.event).not.toHaveProperty('action');
    expect(doc.event.start).toBe(iso(1431280876));
    for (const k of ['source', 'destination', 'network', 'related']) expect(doc).not.toHaveProperty(k);
    expect(doc.aws.vpcflow).toEqual({
      version: 2,
      account_id: '123456789010',
      interface_id: 'eni-1235b8ca123456789',
      start: 1431280876,
      end: 1431280934,
      log_status: 'NODATA',
    });
  });

  it('keeps a SKIPDATA record the same way', () => {
    const { doc } = docRecord(45);
    expect(doc.aws.vpcflow.log_status).toBe('SKIPDATA');
    expect(doc.aws.vpcflow.interface_id).toBe('eni-11111111aaaaaaaaa');
    expect(doc.event.outcome).toBe('unknown');
    expect(doc.event).not.toHaveProperty('action');
    expect(doc).not.toHaveProperty('network');
  });

  it('maps the ICMP ping pair (security group accepts, network ACL rejects the reply) to transport icmp', () => {
    const request = docRecord(57).doc;
    const reply = docRecord(61).doc;
    expect(request.network).toMatchObject({ transport: 'icmp', iana_number: '1', bytes: 336, packets: 4 });
    expect(request.source).toMatchObject({ ip: '203.0.113.12', port: 0 });
    expect(request.event.outcome).toBe('success');
    expect(reply.source.ip).toBe('172.31.16.139');
    expect(reply.destination.ip).toBe('203.0.113.12');
    expect(reply.event).toMatchObject({ action: 'REJECT', outcome: 'failure', start: iso(1432917094), duration: 48_000_000_000 });
  });

  it('maps IPv6 addresses and sets network.type ipv6', () => {
    const { doc } = docRecord(71);
    expect(doc.source).toMatchObject({ ip: '2001:db8:1234:a100:8d6e:3477:df66:f105', port: 34892 });
    expect(doc.destination).toEqual({ address: '2001:db8:1234:a102:3304:8879:34cf:4071', ip: '2001:db8:1234:a102:3304:8879:34cf:4071', port: 22 });
    expect(doc.network.type).toBe('ipv6');
    expect(doc.related.ip).toEqual(['2001:db8:1234:a100:8d6e:3477:df66:f105', '2001:db8:1234:a102:3304:8879:34cf:4071']);
  });

  it('reads the v3 TCP flag sequence as numbers, with VPC, subnet and instance ids', () => {
    const flags = [90, 99, 106].flatMap((l) => blockAt(l).lines.map((line) => parse(line, formatOf(blockAt(l))).doc.aws.vpcflow.tcp_flags));
    expect(flags).toEqual([2, 18, 2, 18, 1, 1, 3, 19]);
    const { doc } = docRecord(90);
    expect(doc.aws.vpcflow).toMatchObject({
      version: 3,
      vpc_id: 'vpc-abcdefab012345678',
      subnet_id: 'subnet-aaaaaaaa012345678',
      instance_id: 'i-01234567890123456',
      type: 'IPv4',
      pkt_srcaddr: '52.213.180.42',
      pkt_dstaddr: '10.0.0.62',
      bytes: 568,
      packets: 8,
    });
    expect(doc.cloud).toEqual({ account: { id: '123456789010' }, instance: { id: 'i-01234567890123456' } });
    expect(doc.network.type).toBe('ipv4');
    expect(doc.related.ip).toEqual(['52.213.180.42', '10.0.0.62']);
  });

  it('parses the TCP flag line that has two spaces between two values', () => {
    const b = blockAt(106);
    expect(b.lines[1]).toContain('43638  10.0.0.62');
    const { doc } = parse(b.lines[1]!, formatOf(b));
    expect(doc.source.port).toBe(5001);
    expect(doc.destination.port).toBe(43638);
    expect(doc.aws.vpcflow.pkt_srcaddr).toBe('10.0.0.62');
  });

  it('keeps NAT gateway pkt-dstaddr apart from dstaddr: destination.ip is dstaddr, related.ip has both', () => {
    const { parsed, doc } = docRecord(125);
    expect(doc.source.ip).toBe('10.0.1.5');
    expect(doc.destination.ip).toBe('10.0.0.220');
    expect(doc.aws.vpcflow).toEqual({
      interface_id: 'eni-1235b8ca123456789',
      srcaddr: '10.0.1.5',
      dstaddr: '10.0.0.220',
      pkt_srcaddr: '10.0.1.5',
      pkt_dstaddr: '203.0.113.5',
    });
    expect(doc.related.ip).toEqual(['10.0.1.5', '10.0.0.220', '203.0.113.5']);
    // no account-id, start, end or action in this format
    expect(doc.cloud).toEqual({ account: { id: CTX.owner } });
    expect(parsed.timestamp.getTime()).toBe(CTX.timestamp);
    expect(doc.event).toMatchObject({ outcome: 'unknown', type: ['connection'] });
    expect(doc.event).not.toHaveProperty('action');
    expect(doc.event).not.toHaveProperty('start');
    expect(doc).not.toHaveProperty('aws.vpcflow.instance_id');
  });

  it('keeps NAT gateway pkt-srcaddr apart from srcaddr on the response', () => {
    const { doc } = docRecord(138);
    expect(doc.source.ip).toBe('10.0.0.220');
    expect(doc.aws.vpcflow.pkt_srcaddr).toBe('203.0.113.5');
    expect(doc.related.ip).toEqual(['10.0.0.220', '10.0.1.5', '203.0.113.5']);
  });

  it('reads the instance-side NAT records (annotation stripped) with cloud.instance.id', () => {
    const b = blockAt(144);
    const { doc } = parse(withoutAnnotation(b.lines[1]!), formatOf(b));
    expect(doc.cloud.instance).toEqual({ id: 'i-01234567890123456' });
    expect(doc.source.ip).toBe('203.0.113.5');
    expect(doc.related.ip).toEqual(['203.0.113.5', '10.0.1.5']);
  });

  it('reads the transit gateway requester-managed interface record: source.ip from srcaddr, client address in pkt_srcaddr', () => {
    const { doc } = docRecord(171);
    expect(doc.source).toEqual({ address: '10.40.1.175', ip: '10.40.1.175', port: 39812 });
    expect(doc.destination).toEqual({ address: '10.40.2.236', ip: '10.40.2.236', port: 80 });
    expect(doc.aws.vpcflow).toMatchObject({ pkt_srcaddr: '10.20.33.164', tcp_flags: 3, subnet_id: 'subnet-11111111aaaaaaaaa' });
    expect(doc.aws.vpcflow).not.toHaveProperty('instance_id');
    expect(doc.related.ip).toEqual(['10.40.1.175', '10.40.2.236', '10.20.33.164']);
    expect(doc.event).toMatchObject({ action: 'ACCEPT', outcome: 'success' });
  });

  it('reads v5 ingress: pkt-src-aws-service, flow direction, region and AZ id, no traffic path', () => {
    const { doc } = docRecord(191, 0);
    expect(doc.network).toMatchObject({ direction: 'ingress', transport: 'tcp', bytes: 15044, packets: 14 });
    expect(doc.aws.vpcflow).toMatchObject({ pkt_src_aws_service: 'S3', flow_direction: 'ingress', az_id: 'apse2-az3', region: 'ap-southeast-2', tcp_flags: 19 });
    expect(doc.aws.vpcflow).not.toHaveProperty('traffic_path');
    expect(doc.aws.vpcflow).not.toHaveProperty('sublocation_type');
    expect(doc.cloud).toEqual({ account: { id: '123456789012' }, region: 'ap-southeast-2', instance: { id: 'i-0c50d5961bcb2d47b' } });
    expect(doc.event).toMatchObject({ start: iso(1616729292), end: iso(1616729349) });
  });

  it('reads v5 egress: traffic path 8 (internet gateway) as a number and pkt-dst-aws-service', () => {
    const { doc } = docRecord(191, 1);
    expect(doc.network.direction).toBe('egress');
    expect(doc.aws.vpcflow).toMatchObject({ traffic_path: 8, pkt_dst_aws_service: 'S3', flow_direction: 'egress', version: 5 });
    expect(doc.aws.vpcflow).not.toHaveProperty('pkt_src_aws_service');
    expect(doc.destination).toEqual({ address: '52.95.128.179', ip: '52.95.128.179', port: 80 });
  });

  it('builds documents that are already compact (no undefined, empty strings or empty objects)', () => {
    for (const b of recordBlocks) {
      for (const raw of b.lines) {
        if (raw === '...') continue;
        const { doc } = parse(withoutAnnotation(raw), formatOf(b));
        expect(compact(doc as EcsDocument)).toEqual(doc);
      }
    }
  });
});

// ------------------------------------------------------------------------------------
// S3-style files with header lines (OpenTelemetry and Loki test data)

describe('files that start with a header line', () => {
  it('reads the NODATA file: header gives the default format, the record keeps its 11-digit account id', () => {
    const [header, record] = fileLines(fixtureText('valid_vpc_flow_log.log'));
    expect(isVpcFlowHeader(header!)).toBe(true);
    const format = parseVpcFlowFormat(header!);
    expect(format).toEqual(DEFAULT_VPC_FLOW_FORMAT);
    expect(isVpcFlowHeader(record!)).toBe(false);
    const { parsed, doc } = parse(record!, format);
    expect(parsed.timestamp.toISOString()).toBe(iso(1742570142));
    expect(doc.cloud.account.id).toBe('12345678910');
    expect(doc.aws.vpcflow).toMatchObject({ log_status: 'NODATA', interface_id: 'eni-0eb1e4178af74336c' });
    expect(doc.event.outcome).toBe('unknown');
    expect(doc).not.toHaveProperty('source');
  });

  it('reads the multi-record file: header + 2 records (no trailing newline)', () => {
    const text = fixtureText('valid_vpc_flow_log_multi.log');
    expect(text.endsWith('\n')).toBe(false);
    const [header, ...records] = fileLines(text);
    expect(isVpcFlowHeader(header!)).toBe(true);
    const format = parseVpcFlowFormat(header!);
    const docs = records.map((line) => parse(line, format).doc);
    expect(docs).toHaveLength(2);
    expect(docs.map((d) => d.event.action)).toEqual(['ACCEPT', 'REJECT']);
    expect(docs[1]).toMatchObject({
      source: { address: '172.31.9.69', ip: '172.31.9.69', port: 49761, bytes: 4249, packets: 20 },
      destination: { address: '172.31.9.12', ip: '172.31.9.12', port: 3389 },
      cloud: { account: { id: '123456789010' } },
      event: { outcome: 'failure', start: iso(1418530010), end: iso(1418530070), duration: 60_000_000_000 },
    });
  });

  it('reads the ECS file: all ten ecs-* fields kept, container.id and orchestrator mapped', () => {
    const [header, record] = fileLines(fixtureText('valid_vpc_flow_log_ecs.log'));
    expect(isVpcFlowHeader(header!)).toBe(true);
    const format = parseVpcFlowFormat(header!);
    expect(format.filter((n) => n.startsWith('ecs-'))).toHaveLength(10);
    const { doc } = parse(record!, format);
    expect(doc.aws.vpcflow).toMatchObject({
      version: 5,
      ecs_cluster_arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/my-cluster',
      ecs_cluster_name: 'my-cluster',
      ecs_container_instance_arn: 'arn:aws:ecs:us-east-1:123456789012:container-instance/my-cluster/abcdef',
      ecs_container_instance_id: 'abcdef1234567890',
      ecs_container_id: 'container-1',
      ecs_second_container_id: 'container-2',
      ecs_service_name: 'my-service',
      ecs_task_definition_arn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/my-task:1',
      ecs_task_arn: 'arn:aws:ecs:us-east-1:123456789012:task/my-cluster/abcdef',
      ecs_task_id: 'abcdef1234567890',
    });
    expect(doc.container).toEqual({ id: 'container-1' });
    expect(doc.orchestrator).toEqual({ type: 'ecs', cluster: { name: 'my-cluster' } });
    expect(doc.source).toEqual({ address: '10.0.1.100', ip: '10.0.1.100', port: 49152, bytes: 3500, packets: 15 });
    expect(doc.event.outcome).toBe('success');
  });

  it('reads the Transit Gateway file: tgw-* ids, packets-lost-* counters as numbers, direction and region', () => {
    const [header, record] = fileLines(fixtureText('valid_tgw_flow_log.log'));
    expect(isVpcFlowHeader(header!)).toBe(true);
    const format = parseVpcFlowFormat(header!);
    expect(format).toHaveLength(31);
    const { parsed, doc } = parse(record!, format);
    expect(parsed.timestamp.toISOString()).toBe(iso(1700000060));
    expect(doc.aws.vpcflow).toMatchObject({
      version: 6,
      account_id: '123456789012',
      tgw_id: 'tgw-0abc12345def67890',
      tgw_attachment_id: 'tgw-attach-0abc12345def67890',
      tgw_src_vpc_id: 'vpc-0abc12345def67890',
      tgw_dst_vpc_id: 'vpc-0def12345abc67890',
      tgw_src_subnet_id: 'subnet-0abc12345def67890',
      tgw_dst_subnet_id: 'subnet-0def12345abc67890',
      tgw_src_eni: 'eni-0abc12345def67890',
      tgw_dst_eni: 'eni-0def12345abc67890',
      tgw_src_az_id: 'use1-az1',
      tgw_dst_az_id: 'use1-az2',
      tgw_pair_attachment_id: 'tgw-attach-0def12345abc67890',
      packets_lost_no_route: 1,
      packets_lost_blackhole: 2,
      packets_lost_mtu_exceeded: 3,
      packets_lost_ttl_expired: 4,
      tcp_flags: 2,
      log_status: 'OK',
      type: 'IPv4',
    });
    expect(doc.network).toEqual({ transport: 'tcp', iana_number: '6', type: 'ipv4', direction: 'ingress', bytes: 1000, packets: 10 });
    expect(doc.cloud).toEqual({ account: { id: '123456789012' }, region: 'us-east-1' });
    // Transit Gateway records have no action
    expect(doc.event).toMatchObject({ outcome: 'unknown', type: ['connection'] });
    expect(doc.event).not.toHaveProperty('action');
  });

  it('reads the Loki gzip object: header + 3 real records', () => {
    const lines = fileLines(gunzipSync(fixture('loki_lambda-promtail_vpcflowlog.log.gz')).toString('utf8'));
    expect(lines).toHaveLength(4);
    expect(isVpcFlowHeader(lines[0]!)).toBe(true);
    const format = parseVpcFlowFormat(lines[0]!);
    const docs = lines.slice(1).map((l) => parse(l, format).doc);
    expect(docs.map((d) => d.source.ip)).toEqual(['10.26.1.153', '3.239.232.29', '10.26.0.9']);
    expect(docs[1]).toMatchObject({
      source: { ip: '3.239.232.29', port: 443, bytes: 12071, packets: 47 },
      destination: { ip: '10.26.1.153', port: 60220 },
      cloud: { account: { id: '123456789012' } },
      event: { start: iso(1669842701), end: iso(1669842702), duration: 1_000_000_000 },
    });
    expect(docs[2]).toMatchObject({ destination: { ip: '10.26.4.139', port: 57879 }, network: { bytes: 112, packets: 2 } });
  });
});

// ------------------------------------------------------------------------------------
// CloudWatch Logs subscription payloads (OpenTelemetry test data)

describe('CloudWatch Logs payloads', () => {
  const ctxOf = (env: CwlEnvelope, i: number): ParseContext => ({
    owner: env.owner,
    logGroup: env.logGroup,
    logStream: env.logStream,
    eventId: env.logEvents[i]!.id,
    timestamp: env.logEvents[i]!.timestamp,
  });

  it('parses both default-format log events, accepted and rejected', () => {
    const env = fixtureJson<CwlEnvelope>('valid_vpc_flow_cw.json');
    const docs = env.logEvents.map((e, i) => {
      expect(looksLikeVpcFlowLine(e.message.split(' '), DEFAULT_VPC_FLOW_FORMAT)).toBe(true);
      return parse(e.message, DEFAULT_VPC_FLOW_FORMAT, ctxOf(env, i));
    });
    expect(docs.map((d) => d.doc.event.outcome)).toEqual(['success', 'failure']);
    expect(docs[1]!.doc.destination).toEqual({ address: '172.31.9.12', ip: '172.31.9.12', port: 3389 });
    expect(docs[0]!.parsed.timestamp.toISOString()).toBe(iso(1418530070));
  });

  it('rejects the custom-format lines in the default format with a ParseError naming the count and the first missing field', () => {
    const env = fixtureJson<CwlEnvelope>('valid_vpc_flow_cw_custom.json');
    const message = env.logEvents[0]!.message;
    expect(looksLikeVpcFlowLine(message.split(' '), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
    const err = parseError(() => parseVpcFlowLine(message, DEFAULT_VPC_FLOW_FORMAT, ctxOf(env, 0)));
    expect(err.message).toContain('line has 4 field(s) but the flow log format has 14');
    expect(err.message).toContain("first missing field is 'dstaddr'");
  });

  it('parses the same lines in their own 4-field format, the timestamp falling back to the log event time', () => {
    const env = fixtureJson<CwlEnvelope>('valid_vpc_flow_cw_custom.json');
    const format = parseVpcFlowFormat('${version} ${interface-id} ${srcaddr} ${dstaddr}');
    const docs = env.logEvents.map((e, i) => parse(e.message, format, ctxOf(env, i)));
    expect(docs.map((d) => d.parsed.timestamp.getTime())).toEqual([1733430000000, 1733430001000]);
    expect(docs[1]!.doc.aws.vpcflow).toEqual({ version: 2, interface_id: 'eni-1235b8ca123456789', srcaddr: '172.31.9.69', dstaddr: '172.31.9.12' });
    expect(docs[1]!.doc.cloud.account.id).toBe('123456789012');
    expect(docs[1]!.doc.network).toEqual({ type: 'ipv4' });
  });

  it('rejects the Transit Gateway log event in the file header format (it lacks the 4 packets-lost-* values)', () => {
    const env = fixtureJson<CwlEnvelope>('valid_tgw_flow_cw.json');
    const tgwFormat = parseVpcFlowFormat(fileLines(fixtureText('valid_tgw_flow_log.log'))[0]!);
    const err = parseError(() => parseVpcFlowLine(env.logEvents[0]!.message, tgwFormat, ctxOf(env, 0)));
    expect(err.message).toContain('line has 27 field(s) but the flow log format has 31');
    const withoutLost = tgwFormat.filter((n) => !n.startsWith('packets-lost-'));
    const { doc } = parse(env.logEvents[0]!.message, withoutLost, ctxOf(env, 0));
    expect(doc.aws.vpcflow).toMatchObject({ tgw_id: 'tgw-0abc12345def67890', tcp_flags: 2, flow_direction: 'ingress' });
    expect(doc.aws.vpcflow).not.toHaveProperty('packets_lost_blackhole');
  });
});

// ------------------------------------------------------------------------------------
// Formats and headers

describe('parseVpcFlowFormat', () => {
  const header = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';

  it('reads the header form and the AWS LogFormat form to the same field list', () => {
    const logFormat = header.split(' ').map((n) => `\${${n}}`).join(' ');
    expect(parseVpcFlowFormat(header)).toEqual(DEFAULT_VPC_FLOW_FORMAT);
    expect(parseVpcFlowFormat(logFormat)).toEqual(DEFAULT_VPC_FLOW_FORMAT);
    expect(parseVpcFlowFormat(`  ${logFormat}\n`)).toEqual(DEFAULT_VPC_FLOW_FORMAT);
  });

  it('reads every custom format header of the user guide page', () => {
    const headers = blocks.filter((b) => b.kind === 'format_header').map((b) => parseVpcFlowFormat(b.lines[0]!));
    expect(headers.map((h) => h.length)).toEqual([21, 6, 17, 29]);
  });

  it('names an unknown field', () => {
    const err = parseError(() => parseVpcFlowFormat('version srcadr dstaddr'));
    expect(err.message).toContain("unknown field 'srcadr'");
    expect(parseError(() => parseVpcFlowFormat('${version} ${srcadr}')).message).toContain("unknown field 'srcadr'");
  });

  it('names a token that is not a field name or not ${name}', () => {
    expect(parseError(() => parseVpcFlowFormat('${version} ${account-id')).message).toContain("invalid token '${account-id'");
    expect(parseError(() => parseVpcFlowFormat('${version} account-id')).message).toContain("invalid token 'account-id'");
    expect(parseError(() => parseVpcFlowFormat('version ${account-id}')).message).toContain("invalid token '${account-id}'");
    expect(parseError(() => parseVpcFlowFormat('2 123456789010 eni-1235b8ca123456789')).message).toContain("invalid token '2'");
    expect(parseError(() => parseVpcFlowFormat('{"eventVersion":"1.08"}')).message).toContain('invalid token');
  });

  it('refuses an empty format and a repeated field', () => {
    expect(parseError(() => parseVpcFlowFormat('  ')).message).toContain('empty flow log format');
    expect(parseError(() => parseVpcFlowFormat('srcaddr dstaddr srcaddr')).message).toContain("duplicate field 'srcaddr'");
  });

  it('accepts the Athena spelling of known fields (tcp_flags) as the AWS name', () => {
    expect(parseVpcFlowFormat('version tcp_flags pkt_src_aws_service')).toEqual(['version', 'tcp-flags', 'pkt-src-aws-service']);
  });

  it('keeps a well-formed unknown field when allowed, and the parser stores it as a string under its underscore name', () => {
    const format = parseVpcFlowFormat('${version} ${srcaddr} ${encryption-status}', { allowUnknown: true });
    expect(format).toEqual(['version', 'srcaddr', 'encryption-status']);
    const { doc } = parse('8 10.0.0.1 1', format);
    expect(doc.aws.vpcflow).toEqual({ version: 8, srcaddr: '10.0.0.1', encryption_status: '1' });
  });
});

describe('isVpcFlowHeader', () => {
  it('is true for the header lines of every sample file', () => {
    for (const name of ['valid_vpc_flow_log.log', 'valid_vpc_flow_log_multi.log', 'valid_vpc_flow_log_ecs.log', 'valid_tgw_flow_log.log']) {
      expect(isVpcFlowHeader(fileLines(fixtureText(name))[0]!)).toBe(true);
    }
    for (const b of blocks.filter((x) => x.kind === 'format_header')) expect(isVpcFlowHeader(b.lines[0]!)).toBe(true);
  });

  it('is false for records, JSON, one lone field name, unknown or repeated names and the ${} form', () => {
    for (const b of recordBlocks) for (const line of b.lines) expect(isVpcFlowHeader(line)).toBe(false);
    expect(isVpcFlowHeader('{"version":2}')).toBe(false);
    expect(isVpcFlowHeader('version')).toBe(false);
    expect(isVpcFlowHeader('version srcadr')).toBe(false);
    expect(isVpcFlowHeader('version version')).toBe(false);
    expect(isVpcFlowHeader('${version} ${srcaddr}')).toBe(false);
    expect(isVpcFlowHeader('')).toBe(false);
  });
});

describe('looksLikeVpcFlowLine', () => {
  const ok = '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK';
  const withValue = (i: number, v: string): string[] => ok.split(' ').map((x, j) => (j === i ? v : x));

  it('accepts default-format records, including NODATA and IPv6 ones', () => {
    for (const b of recordBlocks.filter((x) => !formatBySection.has(x.section))) {
      for (const line of b.lines) expect(looksLikeVpcFlowLine(line.split(/\s+/), DEFAULT_VPC_FLOW_FORMAT)).toBe(true);
    }
  });

  it('accepts custom-format records in their format and not in the default one', () => {
    const b = blockAt(191);
    expect(looksLikeVpcFlowLine(b.lines[0]!.split(' '), formatOf(b))).toBe(true);
    expect(looksLikeVpcFlowLine(b.lines[0]!.split(' '), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
  });

  it('refuses implausible values for the fields present', () => {
    expect(looksLikeVpcFlowLine(ok.split(' ').slice(1), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
    expect(looksLikeVpcFlowLine(withValue(0, 'v2'), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
    expect(looksLikeVpcFlowLine(withValue(3, '300.1.1.1'), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
    expect(looksLikeVpcFlowLine(withValue(3, 'host.example'), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
    expect(looksLikeVpcFlowLine(withValue(5, 'abc'), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
    expect(looksLikeVpcFlowLine(withValue(6, '70000'), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
    expect(looksLikeVpcFlowLine(withValue(12, 'ALLOW'), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
    expect(looksLikeVpcFlowLine(withValue(13, 'FAILED'), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
    expect(looksLikeVpcFlowLine(DEFAULT_VPC_FLOW_FORMAT.map(() => '-'), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
    expect(looksLikeVpcFlowLine('2024-01-01 12:00:00 INFO started the worker pool for all fourteen shards now ok'.split(' '), DEFAULT_VPC_FLOW_FORMAT)).toBe(
      false,
    );
  });
});

// ------------------------------------------------------------------------------------
// Errors and edge values

describe('looksLikeVpcFlowLine: what AWS always writes', () => {
  const ok = '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK';
  const withValue = (i: number, v: string): string[] => ok.split(' ').map((x, j) => (j === i ? v : x));

  it('wants a 12-digit account id or "unknown"', () => {
    expect(looksLikeVpcFlowLine(withValue(1, 'unknown'), DEFAULT_VPC_FLOW_FORMAT)).toBe(true);
    expect(looksLikeVpcFlowLine(withValue(1, '12345'), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
    expect(looksLikeVpcFlowLine(withValue(1, 'acct-1'), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
  });

  it('wants version 2 in a format of version 2 fields (the default), and at least 2 in others', () => {
    expect(looksLikeVpcFlowLine(withValue(0, '3'), DEFAULT_VPC_FLOW_FORMAT)).toBe(false);
    const v5 = formatOf(blockAt(191));
    const line = blockAt(191).lines[0]!.split(' ');
    expect(looksLikeVpcFlowLine(line, v5)).toBe(true);
    expect(looksLikeVpcFlowLine(['1', ...line.slice(1)], v5)).toBe(false);
  });

  it('does not take the 11-digit account sample for a record, though it parses in its header format', () => {
    const [header, record] = fileLines(fixtureText('valid_vpc_flow_log.log'));
    const format = parseVpcFlowFormat(header!);
    expect(looksLikeVpcFlowLine(record!.split(' '), format)).toBe(false);
    expect(parse(record!, format).doc.aws.vpcflow.account_id).toBe('12345678910');
  });

  it('takes the ECS sample (version 5 beside version 7 fields) and the Transit Gateway sample in their header formats', () => {
    for (const name of ['valid_vpc_flow_log_ecs.log', 'valid_tgw_flow_log.log']) {
      const [header, record] = fileLines(fixtureText(name));
      expect(looksLikeVpcFlowLine(record!.split(' '), parseVpcFlowFormat(header!)), name).toBe(true);
    }
  });
});

describe('parseVpcFlowLine: values that do not fit', () => {
  const base = '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK';
  const replace = (i: number, v: string): string => base.split(' ').map((x, j) => (j === i ? v : x)).join(' ');

  it.each([
    [5, 'abc', "field 'srcport' (position 6) has invalid value 'abc': expected a port number 0-65535 or '-'"],
    [6, '65536', "field 'dstport' (position 7) has invalid value '65536'"],
    [7, '256', "field 'protocol' (position 8) has invalid value '256': expected an IANA protocol number 0-255"],
    [3, '10.0.0.256', "field 'srcaddr' (position 4) has invalid value '10.0.0.256': expected an IPv4 or IPv6 address"],
    [4, '2001:db8::1::2', "field 'dstaddr' (position 5) has invalid value '2001:db8::1::2'"],
    [9, '-5', "field 'bytes' (position 10) has invalid value '-5'"],
    [10, '2014-12-14', "field 'start' (position 11) has invalid value '2014-12-14': expected Unix seconds"],
    [12, 'ALLOW', "field 'action' (position 13) has invalid value 'ALLOW': expected ACCEPT or REJECT"],
    [13, 'ok', "field 'log-status' (position 14) has invalid value 'ok'"],
  ])('names field %i with value %s', (i, value, message) => {
    const err = parseError(() => parseVpcFlowLine(replace(i, value), DEFAULT_VPC_FLOW_FORMAT, CTX));
    expect(err.message).toContain(message);
  });

  it('names too many values by the first extra one', () => {
    const err = parseError(() => parseVpcFlowLine(`${base} extra`, DEFAULT_VPC_FLOW_FORMAT, CTX));
    expect(err.message).toContain("1 extra value(s), the first 'extra'");
  });

  it('falls back to start when end is beyond any date, without throwing, and keeps the raw number', () => {
    const { parsed, doc } = parse(replace(11, '99999999999999'));
    expect(parsed.timestamp.toISOString()).toBe(iso(1418530010));
    expect(doc.event.start).toBe(iso(1418530010));
    expect(doc.event).not.toHaveProperty('end');
    expect(doc.event).not.toHaveProperty('duration');
    expect(doc.aws.vpcflow.end).toBe(99999999999999);
  });

  it('falls back to the log event time when start and end are both unusable, leaving over-long digits out of the document', () => {
    const line = base.split(' ').map((x, j) => (j === 10 ? '253402300800' : j === 11 ? '123456789012345678901234' : x)).join(' ');
    const { parsed, doc } = parse(line);
    expect(parsed.timestamp.getTime()).toBe(CTX.timestamp);
    expect(doc.event).not.toHaveProperty('start');
    expect(doc.event).not.toHaveProperty('end');
    expect(doc.aws.vpcflow.start).toBe(253402300800);
    expect(doc.aws.vpcflow).not.toHaveProperty('end');
  });

  it('accepts the last second of year 9999 as a date', () => {
    const { parsed, doc } = parse(replace(11, '253402300799'));
    expect(parsed.timestamp.toISOString()).toBe('9999-12-31T23:59:59.000Z');
    expect(doc.event.end).toBe('9999-12-31T23:59:59.000Z');
  });

  it('tolerates surrounding whitespace, a trailing CR and tabs between values', () => {
    expect(parse(`  ${base}\r`).doc.aws.vpcflow.log_status).toBe('OK');
    expect(parse(base.replace(/ /g, '\t')).doc.source.port).toBe(20641);
  });

  it('falls back to the envelope owner when account-id is "unknown" (AWS-managed interfaces)', () => {
    const { doc } = parse(replace(1, 'unknown'));
    expect(doc.cloud.account.id).toBe(CTX.owner);
    expect(doc.aws.vpcflow.account_id).toBe('unknown');
  });

  it('accepts IPv4-mapped and compressed IPv6 forms', () => {
    expect(parse(replace(3, '::ffff:10.1.2.3')).doc.source.ip).toBe('::ffff:10.1.2.3');
    const v6 = parse(replace(3, 'fe80::').replace(' 172.31.16.21 ', ' ::1 ')).doc;
    expect(v6.source.ip).toBe('fe80::');
    expect(v6.destination.ip).toBe('::1');
    expect(v6.network.type).toBe('ipv6');
  });

  it('keeps the reject reason (v8) in aws.vpcflow and event.reason', () => {
    const format = parseVpcFlowFormat('version srcaddr dstaddr action reject-reason log-status');
    const { doc } = parse('8 198.51.100.7 10.0.0.5 REJECT BPA OK', format);
    expect(doc.aws.vpcflow.reject_reason).toBe('BPA');
    expect(doc.event).toMatchObject({ reason: 'BPA', action: 'REJECT', outcome: 'failure' });
  });
});

describe('network.transport', () => {
  it('names common IANA protocols and keeps the number otherwise', () => {
    expect([6, 17, 1, 58, 47, 50, 132].map(vpcFlowTransport)).toEqual(['tcp', 'udp', 'icmp', 'ipv6-icmp', 'gre', 'esp', 'sctp']);
    expect(vpcFlowTransport(253)).toBe('253');
    const line = '2 123456789010 eni-1 10.0.0.1 10.0.0.2 53 53 17 1 80 1418530010 1418530070 ACCEPT OK';
    expect(parse(line).doc.network).toMatchObject({ transport: 'udp', iana_number: '17' });
    expect(parse(line.replace(' 17 ', ' 253 ')).doc.network).toMatchObject({ transport: '253', iana_number: '253' });
  });
});

describe('catalogue, compiled formats and template', () => {
  it('knows every field of versions 2-8 and of Transit Gateway flow logs', () => {
    expect(Object.keys(VPC_FLOW_FIELDS)).toHaveLength(58);
    expect(Object.values(VPC_FLOW_FIELDS).filter((f) => f.transitGateway)).toHaveLength(18);
    expect(VPC_FLOW_FIELDS['reject-reason']).toEqual({ kind: 'string', version: 8 });
    expect(VPC_FLOW_FIELDS['tcp-flags']!.kind).toBe('count');
  });

  it('compiles a format once and reuses it for equal field lists', () => {
    const a = compileVpcFlowFormat(DEFAULT_VPC_FLOW_FORMAT);
    expect(compileVpcFlowFormat(DEFAULT_VPC_FLOW_FORMAT)).toBe(a);
    expect(compileVpcFlowFormat([...DEFAULT_VPC_FLOW_FORMAT])).toBe(a);
    expect(compileVpcFlowFormat(DEFAULT_VPC_FLOW_FORMAT.slice(0, 4))).not.toBe(a);
  });

  it('formats Unix seconds exactly as Date#toISOString does', () => {
    for (const s of [0, 59, 86_399, 86_400, 951_782_400, 951_868_800, 1_418_530_070, 4_107_542_400, 253_402_300_799]) {
      expect(isoFromSeconds(s)).toBe(iso(s));
    }
  });

  it('maps every catalogue field under aws.vpcflow in the family template with its type, and nothing else', () => {
    const template = JSON.parse(readFileSync(new URL('../../../infra/opensearch/templates/vpcflow.json', import.meta.url), 'utf8')) as Obj;
    expect(Object.keys(template.properties)).toEqual(['aws']);
    expect(Object.keys(template.properties.aws.properties)).toEqual(['vpcflow']);
    const props = template.properties.aws.properties.vpcflow.properties as Obj;
    expect(Object.keys(props).sort()).toEqual(Object.keys(VPC_FLOW_FIELDS).map((n) => n.replace(/-/g, '_')).sort());
    for (const [name, info] of Object.entries(VPC_FLOW_FIELDS)) {
      const mapping = props[name.replace(/-/g, '_')];
      const expected = info.kind === 'ip' ? { type: 'ip' } : info.kind === 'string' || info.kind === 'action' || info.kind === 'log-status' ? { type: 'keyword', ignore_above: 1024 } : { type: 'long' };
      expect(mapping, name).toEqual(expected);
    }
  });
});

describe('a flow line wrapped as JSON ({"message": "2 123456789012 eni-..."}), as some forwarders write it', () => {
  // The AWS user guide's accepted SSH record, wrapped the way such forwarders wrap it.
  const line = blockAt(23).lines[0]!;
  const wrapped = JSON.stringify({ message: line });

  it('parses as the flow line it carries, with that line as event.original', () => {
    const bare = parseVpcFlowLine(line, DEFAULT_VPC_FLOW_FORMAT, CTX);
    const fromJson = parseVpcFlowLine(wrapped, DEFAULT_VPC_FLOW_FORMAT, CTX);
    expect(fromJson).toEqual(bare);
    expect((fromJson.document.event as Obj).original).toBe(line);
    expect(fromJson.document.source).toEqual({ address: '172.31.16.139', ip: '172.31.16.139', port: 20641, bytes: 4249, packets: 20 });
  });

  it('is detected as VPC flow, for documents and the archive label alike', () => {
    expect(detectSource(wrapped)).toEqual({ source: 'vpcflow', line, format: DEFAULT_VPC_FLOW_FORMAT });
    expect(sniffSource(wrapped)).toBe('vpcflow');
    expect(sniffSource(JSON.stringify({ level: 'info', message: line }))).toBe('vpcflow');
    // a JSON log whose message is not a flow line stays a generic document
    const app = JSON.stringify({ message: '2 apples' });
    expect(detectSource(app)).toEqual({ source: 'cloudwatch_logs', json: { message: '2 apples' } });
    expect(sniffSource(app)).toBe('cloudwatch_logs');
    expect(sniffSource(JSON.stringify({ message: 'GET / 200' }))).toBe('cloudwatch_logs');
  });

  it('still names the fields that do not fit when the wrapped line is not a record', () => {
    const err = parseError(() => parseVpcFlowLine(JSON.stringify({ message: '2 123456789010 eni-1 x' }), DEFAULT_VPC_FLOW_FORMAT, CTX));
    expect(err.message).toMatch(/line has 4 field\(s\) but the flow log format has 14/);
  });
});

describe('detection of wrapped flow lines agrees with the archive label', () => {
  const line = '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK';
  it('gives the same source from detectSource and sniffSource for each wrapping', () => {
    const cases = [
      `{"message":"${line}"}`,
      `{ "message" :\t"${line}" }`,
      `{"nested":{"message":"text"},"message":"${line}"}`,
      `{"message":" ${line}"}`,
      `{"message":"eni-1 - -"}`,
      `{"message":"\\u0032 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"}`,
    ];
    const got = cases.map((c) => [detectSource(c).source, sniffSource(c)]);
    expect(got).toEqual([
      ['vpcflow', 'vpcflow'],
      ['vpcflow', 'vpcflow'],
      ['vpcflow', 'vpcflow'],
      ['cloudwatch_logs', 'cloudwatch_logs'],
      ['cloudwatch_logs', 'cloudwatch_logs'],
      ['vpcflow', 'vpcflow'],
    ]);
  });
});
