import { describe, expect, it } from 'vitest';
import { detectObjectFormat, ExportEventReader, exportObjectKey, parseExportLine } from '../../processors/index.ts';

describe('CloudWatch Logs export objects', () => {
  it('reads the log stream from the key, slashes included, and no stream from the write-test object', () => {
    expect(exportObjectKey('exports/0a1b2c3d-4e5f/2026/05/01/[$LATEST]abc123/000000.gz', 'exports', '0a1b2c3d-4e5f')).toEqual({ taskId: '0a1b2c3d-4e5f', logStream: '2026/05/01/[$LATEST]abc123' });
    expect(exportObjectKey('exports/0a1b2c3d-4e5f/eni-0f1e2d3c-all/000001.gz', 'exports/', '0a1b2c3d-4e5f')?.logStream).toBe('eni-0f1e2d3c-all');
    expect(exportObjectKey('exports/aws-logs-write-test', 'exports', '0a1b2c3d-4e5f')).toBeUndefined();
    expect(exportObjectKey('exports/other-task/stream/000000.gz', 'exports', '0a1b2c3d-4e5f')).toBeUndefined();
  });

  it('splits a line into its ISO time and message', () => {
    expect(parseExportLine('2022-11-10T16:24:34.000Z {"eventVersion":"1.05"}')).toEqual({ timestamp: Date.parse('2022-11-10T16:24:34.000Z'), message: '{"eventVersion":"1.05"}' });
    expect(parseExportLine('    at handler (index.js:3:9)')).toBeUndefined();
  });

  it('joins continuation lines into the message before them and numbers identical events apart', () => {
    const r = new ExportEventReader();
    const lines = ['2026-05-01T10:00:00.000Z Error: boom', '    at handler (index.js:3:9)', '2026-05-01T10:00:01.000Z ping', '2026-05-01T10:00:01.000Z ping'];
    const events = [...lines.map((l, i) => r.push(l, i + 1)), r.flush()].filter((e) => e !== undefined);
    expect(events.map((e) => [e.line, e.message])).toEqual([
      [1, 'Error: boom\n    at handler (index.js:3:9)'],
      [3, 'ping'],
      [4, 'ping'],
    ]);
    expect(events[1]!.id).not.toBe(events[2]!.id);
    // The same lines read again (a second export of the range) give the same ids.
    const again = new ExportEventReader();
    const ids = [...lines.map((l, i) => again.push(l, i + 1)), again.flush()].filter((e) => e !== undefined).map((e) => e.id);
    expect(ids).toEqual(events.map((e) => e.id));
  });

  it('is no format the S3 notification path can read without its log group: skipped there, not misparsed', () => {
    const key = 'exports/0a1b2c3d-4e5f/111122223333_CloudTrail_us-east-1/000000.gz';
    expect(detectObjectFormat(key, '2022-11-10T16:24:34.000Z {"eventVersion":"1.05","eventSource":"signin.amazonaws.com"}')).toBe('unknown_key');
    expect(detectObjectFormat(key, '2026-05-01T10:00:00.000Z 2 123456789012 eni-0f1e2d3c 10.0.0.1 10.0.0.2 443 49152 6 10 840 1746093600 1746093660 ACCEPT OK')).toBe('unknown_key');
  });
});
