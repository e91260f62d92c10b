import { describe, expect, it } from 'vitest';
import { toDocument } from '../../processors/index.ts';
import { allSamples, sampleEnvelope, type Sample } from '../samples.ts';

/**
 * Samples that are not indexed as their family, each for a reason in the data itself.
 * They still become generic documents: nothing is dropped.
 */
const KNOWN_GENERIC: Array<{ origin: RegExp; why: string; tagged: boolean }> = [
  { origin: /^panther-analysis_cloudtrail_rule_test_logs\.ndjson#/, why: 'hand-edited rule-test fragments: no eventVersion, lower-cased keys, or a placeholder eventTime', tagged: false },
  { origin: /^event-cloud-trail-bedrock-create-customization-jobs\.json$/, why: 'truncated fixture without eventTime', tagged: true },
  { origin: /^valid_vpc_flow_log\.log:2$/, why: 'sanitised 11-digit account id, not a flow line an account could emit', tagged: false },
];

function route(sample: Sample, i: number) {
  const envelope = sampleEnvelope(sample, i);
  return toDocument(envelope, envelope.logEvents[0]!, {}, sample.vpcFormat);
}

describe('every real sample through detection, parsing and normalisation', () => {
  const samples = allSamples();
  const routed = samples.map((s, i) => ({ sample: s, doc: route(s, i) }));

  it('indexes each sample as its own source, apart from the listed data quirks', () => {
    const wrong = routed.filter(({ sample, doc }) => doc.source !== sample.expected && !KNOWN_GENERIC.some((k) => k.origin.test(sample.origin)));
    expect(wrong.map(({ sample, doc }) => `${sample.origin} -> ${doc.source}`)).toEqual([]);
    const bySource = (s: string) => routed.filter(({ doc }) => doc.source === s).length;
    expect(bySource('cloudtrail')).toBe(857);
    expect(bySource('guardduty')).toBe(10);
    expect(bySource('vpcflow')).toBeGreaterThanOrEqual(30);
  });

  it('keeps the quirky samples as generic documents, tagged with the parse error when they looked like their source', () => {
    for (const { sample, doc } of routed) {
      const known = KNOWN_GENERIC.find((k) => k.origin.test(sample.origin));
      if (!known || doc.source === sample.expected) continue;
      expect(doc.source, sample.origin).toBe('cloudwatch_logs');
      expect(doc.body.message, sample.origin).toBe(sample.message);
      if (known.tagged) expect(doc.body.tags, sample.origin).toContain('cloudtrail_parse_failure');
    }
  });

  it('gives every document the fields analysts filter on: time, dataset, account, region or network endpoints', () => {
    for (const { sample, doc } of routed) {
      if (doc.source !== sample.expected) continue;
      const b = doc.body as Record<string, any>;
      expect(Number.isNaN(Date.parse(b['@timestamp'])), sample.origin).toBe(false);
      expect(b.event.dataset, sample.origin).toBe(`aws.${sample.expected}`);
      expect(b.cloud.account.id, sample.origin).toMatch(/^\d{12}$|^[A-Za-z0-9-]+$/);
      if (doc.source === 'cloudtrail') {
        expect(typeof b.event.action, sample.origin).toBe('string');
        expect(typeof b.event.provider, sample.origin).toBe('string');
      }
      if (doc.source === 'guardduty') {
        expect(b.event.kind).toBe('alert');
        expect(typeof b.rule.name).toBe('string');
      }
      if (doc.source === 'vpcflow' && !/NODATA|SKIPDATA/.test(sample.message) && b.source) {
        expect(b.source.ip ?? b.aws.vpcflow.pkt_srcaddr, sample.origin).toBeDefined();
      }
      expect(doc.index, sample.origin).toMatch(new RegExp(`^centralog-aws\\.${doc.source}-\\d{4}\\.\\d\\d\\.\\d\\d$`));
    }
  });
});
