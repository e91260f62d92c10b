import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALB_FIELDS, parseAlbLogEntry, splitAlbEntry } from '../../../processors/parsers/alb.ts';
import { ParseError } from '../../../processors/parsers/types.ts';

// The documentation's examples, in its order (see test/fixtures/alb/README.md).
const [http, https, h2, ws, wss, lambdaOk, lambdaFailed] = readFileSync(
  new URL('../../fixtures/alb/awsdocs_alb-user-guide_access-log-entry-examples.log', import.meta.url),
  'utf8',
)
  .trim()
  .split('\n');
const ctx = { owner: '123456789012' };
const doc = (line: string) => parseAlbLogEntry(line, ctx).document as Record<string, any>;

describe('ALB access log entries (AWS documentation examples)', () => {
  it('splits every documented field, the request transform fields included', () => {
    const fields = splitAlbEntry(https!)!;
    expect(fields).toHaveLength(ALB_FIELDS.length);
    expect(ALB_FIELDS.slice(-4)).toEqual(['conn_trace_id', 'transformed_host', 'transformed_uri', 'request_transform_status']);
    expect(fields.slice(-4)).toEqual(['TID_1234abcd5678ef90', 'm.example.com', '-', 'TransformSuccess']);
    expect(fields[12]).toBe('GET https://www.example.com:443/ HTTP/1.1');
  });

  it('maps the HTTP entry to http.*, url.*, source.*, destination.*, user_agent and event times', () => {
    const { timestamp, document } = parseAlbLogEntry(http!, ctx);
    const d = document as Record<string, any>;
    expect(timestamp.toISOString()).toBe('2018-07-02T22:23:00.186Z');
    expect(d.http).toEqual({ version: '1.1', request: { method: 'GET', bytes: 34, id: 'Root=1-58337262-36d228ad5d99923122bbe354' }, response: { status_code: 200, bytes: 366 } });
    expect(d.url).toEqual({ original: 'http://www.example.com:80/', scheme: 'http', domain: 'www.example.com', port: 80, path: '/' });
    expect(d.source).toEqual({ ip: '192.168.131.39', port: 2817, address: '192.168.131.39' });
    expect(d.destination).toEqual({ ip: '10.0.0.1', port: 80, address: '10.0.0.1' });
    expect(d.user_agent).toEqual({ original: 'curl/7.46.0' });
    expect(d.tls).toBeUndefined();
    expect(d.event.start).toBe('2018-07-02T22:22:48.364Z');
    expect(d.event.end).toBe('2018-07-02T22:23:00.186Z');
    // 22:23:00.186641 - 22:22:48.364000 = 11.822641 s, in nanoseconds.
    expect(d.event.duration).toBe(11_822_641_000);
    expect(d.event.outcome).toBe('success');
    expect(d.cloud).toMatchObject({ account: { id: '123456789012' }, region: 'us-east-2' });
    expect(d.aws.elb).toMatchObject({
      type: 'http',
      name: 'my-loadbalancer',
      id: 'app/my-loadbalancer/50dc6c495c0c9188',
      request_processing_time: { sec: 0 },
      target_processing_time: { sec: 0.001 },
      response_processing_time: { sec: 0 },
      elb_status_code: 200,
      target_status_code: 200,
      target_group: { arn: 'arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067' },
      matched_rule_priority: 0,
      actions_executed: ['forward'],
      target_port_list: ['10.0.0.1:80'],
      target_status_code_list: ['200'],
      conn_trace_id: 'TID_1234abcd5678ef90',
    });
    expect(d.aws.elb.transformed_host).toBeUndefined();
  });

  it('maps TLS, the certificate, the domain and the request transform of the HTTPS entry', () => {
    const d = doc(https!);
    expect(d.tls).toEqual({ cipher: 'ECDHE-RSA-AES128-GCM-SHA256', version_protocol: 'tls', version: '1.2', server: { name: 'www.example.com' } });
    expect(d.url).toMatchObject({ scheme: 'https', port: 443 });
    expect(d.aws.elb).toMatchObject({
      chosen_cert: { arn: 'arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012' },
      domain_name: 'www.example.com',
      matched_rule_priority: 1,
      actions_executed: ['authenticate', 'forward'],
      transformed_host: 'm.example.com',
      request_transform_status: 'TransformSuccess',
    });
    expect(d.aws.elb.request_processing_time.sec).toBe(0.086);
  });

  it('reads HTTP/2, the redirect and WebSockets entries', () => {
    const d2 = doc(h2!);
    expect(d2.http.version).toBe('2.0');
    expect(d2.aws.elb).toMatchObject({ type: 'h2', actions_executed: ['redirect'], redirect_url: 'https://example.com:80/' });
    const dws = doc(ws!);
    expect(dws.network.protocol).toBe('websocket');
    expect(dws.http.response.status_code).toBe(101);
    expect(dws.user_agent).toBeUndefined();
    expect(doc(wss!).cloud.region).toBe('us-west-2');
  });

  it('leaves absent what Lambda targets do not write, and keeps the error reason of a failure', () => {
    const ok = doc(lambdaOk!);
    expect(ok.destination).toBeUndefined();
    expect(ok.aws.elb.target_port_list).toBeUndefined();
    const failed = doc(lambdaFailed!);
    expect(failed.http.response.status_code).toBe(502);
    expect(failed.aws.elb.target_status_code).toBeUndefined();
    expect(failed.aws.elb.error_reason).toBe('LambdaInvalidResponse');
    expect(failed.event).toMatchObject({ outcome: 'failure', reason: 'LambdaInvalidResponse' });
  });
});

describe('ALB access log entries: older, newer and broken lines', () => {
  it('accepts an older entry that ends after the trace id', () => {
    const old = splitAlbEntry(http!)!.slice(0, 18).map((v, i) => ([12, 13, 17].includes(i) ? `"${v}"` : v)).join(' ');
    const d = doc(old);
    expect(d.aws.elb.trace_id).toBe('Root=1-58337262-36d228ad5d99923122bbe354');
    expect(d.aws.elb.conn_trace_id).toBeUndefined();
    expect(d.event.duration).toBeUndefined();
  });

  it('keeps fields newer than the known format instead of failing', () => {
    expect(doc(`${http} "later-field"`).aws.elb.unknown_fields).toEqual(['later-field']);
  });

  it('unescapes quotes in the user agent and leaves -1 processing times absent', () => {
    const line = http!
      .replace('"curl/7.46.0"', '"say \\"hi\\""')
      .replace('0.000 0.001 0.000 200 200', '-1 -1 -1 460 -');
    const d = doc(line);
    expect(d.user_agent.original).toBe('say "hi"');
    expect(d.aws.elb.request_processing_time).toBeUndefined();
    expect(d.http.response.status_code).toBe(460);
  });

  it('reads a request the load balancer could not parse', () => {
    const d = doc(http!.replace('"GET http://www.example.com:80/ HTTP/1.1"', '"- - - "'));
    expect(d.http.request.method).toBeUndefined();
    expect(d.url).toBeUndefined();
  });

  it.each([
    ['an entry cut inside a quoted field', http!.slice(0, 150)],
    ['a line that is not an entry', 'hello world'],
    ['an unknown type', http!.replace(/^http/, 'ftp')],
    ['a time that is not one', http!.replace('2018-07-02T22:23:00.186641Z', 'yesterday')],
  ])('refuses %s with a ParseError', (_name, line) => {
    expect(() => parseAlbLogEntry(line, ctx)).toThrow(ParseError);
  });
});
