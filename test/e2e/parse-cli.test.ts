import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  docs: Array<Record<string, any>>;
}

/** Runs `centralog parse` as a user would, feeding `input` on stdin. */
function parse(args: string[], input: string | Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'cli', 'bin.mjs'), 'parse', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout, stderr, docs: stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>) }),
    );
    child.stdin.end(input);
  });
}

const CLOUDTRAIL = (JSON.parse(readFileSync(join(FIXTURES, 'cloudtrail', 'stratus-red-team', 'aws.credential-access.ec2-get-password-data.json'), 'utf8')) as Array<
  Record<string, unknown>
>).map((e) => JSON.stringify(e));

describe('centralog parse', () => {
  it('prints one document per input line, in input order, with _index and _id, ignoring blank lines', async () => {
    const input = `${CLOUDTRAIL.slice(0, 10).join('\n\n')}\n\n`;
    const run = await parse(['--source', 'cloudtrail', '--account', '111122223333'], input);
    expect(run.code, run.stderr).toBe(0);
    expect(run.docs.map((d) => d.event.id)).toEqual(CLOUDTRAIL.slice(0, 10).map((l) => (JSON.parse(l) as { eventID: string }).eventID));
    for (const d of run.docs) {
      expect(d._index).toMatch(/^centralog-aws\.cloudtrail-\d{4}\.\d\d\.\d\d$/);
      expect(d._id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(d.aws.cloudwatch.owner).toBe('111122223333');
    }
    expect(new Set(run.docs.map((d) => d._id)).size).toBe(10);
  });

  it('detects mixed sources in auto mode and applies a VPC flow header to the lines after it', async () => {
    const input = [
      CLOUDTRAIL[0],
      'version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status',
      '3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789012 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK',
      'plain application log line',
    ].join('\n');
    const run = await parse([], input);
    expect(run.code, run.stderr).toBe(0);
    expect(run.docs.map((d) => d.event.dataset)).toEqual(['aws.cloudtrail', 'aws.vpcflow', 'aws.cloudwatch_logs']);
    expect(run.stderr).toContain('line 2: VPC flow log header, 21 fields');
    const flow = run.docs[1]!;
    expect(flow.source).toMatchObject({ ip: '52.213.180.42', port: 43416 });
    expect(flow.destination).toMatchObject({ ip: '10.0.0.62', port: 5001 });
    expect(flow.aws.vpcflow.tcp_flags).toBe(2);
    expect(flow.aws.vpcflow.vpc_id).toBe('vpc-abcdefab012345678');
    expect(run.docs[2]!.message).toBe('plain application log line');
  });

  it('takes a custom format in ${field} syntax with --vpc-format', async () => {
    const run = await parse(
      ['--source', 'vpcflow', '--vpc-format', '${instance-id} ${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr}'],
      '- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5\n',
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.docs[0]!.aws.vpcflow.pkt_dstaddr).toBe('203.0.113.5');
    expect(run.docs[0]!.related.ip).toEqual(expect.arrayContaining(['10.0.1.5', '10.0.0.220', '203.0.113.5']));
  });

  it('names the line and the reason for a line that is not of the forced source, still printing the others, and exits 1', async () => {
    const good = '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK';
    const run = await parse(['--source', 'vpcflow'], `${good}\n2 123456789010 eni-1 172.31.16.139 172.31.16.21 abc 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n${good}\n`);
    expect(run.code).toBe(1);
    expect(run.docs).toHaveLength(2);
    expect(run.stderr).toMatch(/^line 2: vpcflow: field 'srcport' \(position 6\) has invalid value 'abc'/m);
  });

  it('rejects a format naming an unknown field, naming the token', async () => {
    const run = await parse(['--vpc-format', 'version srcadr dstaddr'], '');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("srcadr");
  });

  it('reads whole CloudWatch Logs envelopes with --envelope, concatenated or gzip, skipping CONTROL_MESSAGEs', async () => {
    const text = readFileSync(join(FIXTURES, 'multiple_json_objects.json'), 'utf8');
    const control = readFileSync(join(FIXTURES, 'valid_cloudwatch_log_control.json'), 'utf8');
    for (const input of [text + control, gzipSync(text + control)]) {
      const run = await parse(['--envelope'], input);
      expect(run.code, run.stderr).toBe(0);
      expect(run.docs.map((d) => d.aws.cloudwatch.log_group)).toEqual(['/my/first/log/group', '/my/second/log/group']);
      expect(run.docs[0]!.message).toBe('some text');
      expect(run.stderr).toContain('CONTROL_MESSAGE');
    }
  });

  it('decodes --envelope payloads as the pipeline does: zlib, base64 and Lambda awslogs events, and keeps a VPC header line as a document', async () => {
    const envelope = {
      messageType: 'DATA_MESSAGE',
      owner: '123456789012',
      logGroup: '/vpc/flows',
      logStream: 'eni-1',
      subscriptionFilters: ['central'],
      logEvents: [
        { id: '1', timestamp: 1_700_000_000_000, message: 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status' },
        { id: '2', timestamp: 1_700_000_000_000, message: '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK' },
      ],
    };
    const json = JSON.stringify(envelope);
    const base64 = gzipSync(json).toString('base64');
    for (const input of [deflateSync(json), base64, JSON.stringify({ awslogs: { data: base64 } })]) {
      const run = await parse(['--envelope'], input);
      expect(run.code, run.stderr).toBe(0);
      // The consumer indexes the header line too (as a generic document): parse shows what it indexes.
      expect(run.docs.map((d) => d.event.dataset)).toEqual(['aws.cloudwatch_logs', 'aws.vpcflow']);
    }
    const bad = await parse(['--envelope'], Buffer.from('not a payload at all'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/line 1: not a CloudWatch Logs payload: .*not gzip or zlib/);
  });

  it('reports a truncated envelope with its line instead of crashing', async () => {
    const run = await parse(['--envelope'], '{"messageType": "DATA_MESSAGE", "owner": "1"');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/line 1: envelope is not complete JSON/);
  });
});
