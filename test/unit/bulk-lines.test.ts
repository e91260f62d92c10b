import { describe, expect, it } from 'vitest';
import { bulkLines, documentBody, releaseBody, type BulkDocument } from '../../consumers/sinks/opensearch-bulk.ts';
import type { IndexableDocument } from '../../processors/index.ts';

function doc(n: number, message: string): IndexableDocument {
  return { index: 'centralog-aws.cloudwatch_logs-2026.12.02', id: `id-${n}`, source: 'cloudwatch_logs', eventTimestamp: 0, body: { n, message } };
}

describe('bulkLines', () => {
  it('is the create action and the document, one line each, in UTF-8', () => {
    const d = doc(1, 'héllo ☃ 🚀 "quoted" \\ \n tab\t');
    expect(bulkLines(d).toString('utf8')).toBe(
      '{"create":{"_index":"centralog-aws.cloudwatch_logs-2026.12.02","_id":"id-1"}}\n' +
        '{"n":1,"message":"héllo ☃ 🚀 \\"quoted\\" \\\\ \\n tab\\t"}\n',
    );
  });

  it('writes a lone surrogate as JSON.stringify escapes it', () => {
    expect(bulkLines(doc(2, 'a\ud800b')).toString('utf8')).toContain('"message":"a\\ud800b"');
  });

  it('keeps every document its own bytes across many slabs, large documents included', () => {
    const docs = Array.from({ length: 3000 }, (_, i) => doc(i, 'é'.repeat(i % 500 === 7 ? 200_000 : i % 300)));
    const lines = docs.map((d) => bulkLines(d));
    docs.forEach((d, i) => {
      expect(lines[i]!.toString('utf8')).toBe(`${JSON.stringify({ create: { _index: d.index, _id: d.id } })}\n${JSON.stringify(d.body)}\n`);
    });
  });

  it('lets a serialised body go, and gives back what was sent when a dead letter asks for it', () => {
    const d: BulkDocument = { ...doc(3, 'héllo\nworld'), raw: { eventName: 'x' } };
    const sent = { ...d.body };
    releaseBody(d);
    // Not serialised yet: nothing to give it back from, so it stays.
    expect(d.body).toEqual(sent);
    d.ndjson = bulkLines(d);
    releaseBody(d);
    expect(d.body).toEqual({});
    expect(d.raw).toBeUndefined();
    expect(documentBody(d)).toEqual(sent);
    expect(documentBody(doc(4, 'kept'))).toEqual({ n: 4, message: 'kept' });
  });
});
