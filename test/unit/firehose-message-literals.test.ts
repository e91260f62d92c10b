import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { archiveLine, planFirehoseTransform, type CwlEnvelope, type FirehoseTransformationEvent } from '../../processors/index.ts';
import { messageLiterals } from '../../processors/firehose/message-literals.ts';
import { allSamples, sampleEnvelope } from '../samples.ts';
import { prng } from './firehose-response-gen.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

/** Decompressed envelope texts exactly as CloudWatch Logs (or the fixture's author) wrote them. */
function realEnvelopeTexts(): Array<{ origin: string; text: string }> {
  const out: Array<{ origin: string; text: string }> = [];
  const awslogs = (origin: string, data: string) => out.push({ origin, text: gunzipSync(Buffer.from(data, 'base64')).toString('utf8') });
  (JSON.parse(fixture('cloudwatch-logs/sumologic_cwlfixtures_awslogs-gzip-b64.json')) as Array<{ awslogs: { data: string } }>).forEach((e, i) =>
    awslogs(`sumologic#${i}`, e.awslogs.data),
  );
  for (const f of ['aws-lambda-go_cloudwatch-logs-event.json', 'powertools-ts_cloudwatch-base.json']) {
    awslogs(f, (JSON.parse(fixture(`cloudwatch-logs/${f}`)) as { awslogs: { data: string } }).awslogs.data);
  }
  for (const f of ['cloudwatch-logs/extracted_fields_both.json', 'cloudwatch-logs/two_records_different_extracted_fields.json', 'valid_cloudwatch_log.json']) {
    out.push({ origin: f, text: fixture(f) });
  }
  const kinesis = JSON.parse(fixture('powertools-py_kinesisStreamCloudWatchLogsEvent.json')) as { Records: Array<{ kinesis: { data: string } }> };
  kinesis.Records.forEach((r, i) => awslogs(`powertools-kinesis#${i}`, r.kinesis.data));
  // Every real CloudTrail, GuardDuty and VPC flow sample as a message, in the layout CloudWatch Logs writes.
  allSamples().forEach((s, i) => out.push({ origin: s.origin, text: JSON.stringify(sampleEnvelope(s, i)) }));
  return out;
}

/** What the archive must hold for an envelope text: JSON.stringify of each archive line. */
function expectedNdjson(text: string): string {
  const envelope = JSON.parse(text) as CwlEnvelope;
  return envelope.logEvents.map((e) => `${JSON.stringify(archiveLine(envelope, e))}\n`).join('');
}

/** The transform's archive output for one record holding `text`: the bytes of its Ok answer. */
function transformedBytes(text: string | Buffer): Buffer {
  const event: FirehoseTransformationEvent = {
    invocationId: 'literals',
    deliveryStreamArn: 'arn:aws:firehose:eu-west-1:111111111111:deliverystream/archive',
    region: 'eu-west-1',
    records: [{ recordId: '1', approximateArrivalTimestamp: 0, data: gzipSync(typeof text === 'string' ? Buffer.from(text, 'utf8') : text).toString('base64') }],
  };
  const [entry] = planFirehoseTransform(event).response.records;
  expect(entry?.result).toBe('Ok');
  return Buffer.from(entry!.data, 'base64');
}

/** The same, as text. */
const transformed = (text: string | Buffer): string => transformedBytes(text).toString('utf8');

/** Characters whose JSON spelling varies: every escape, controls, surrogates (paired and lone), non-ASCII, U+2028/2029. */
const TRICKY = ['"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0000', '\u0001', '\u001f', '\u007f', 'A', 'é', '€', '\u2028', '\u2029', '\ud83d\ude00', '\ud800', '\udfff', 'u', ' ', '{', '}', ':', ','];

function message(next: () => number): string {
  let m = '';
  const n = Math.floor(next() * 40);
  for (let i = 0; i < n; i++) m += next() < 0.6 ? TRICKY[Math.floor(next() * TRICKY.length)] : String.fromCharCode(0x20 + Math.floor(next() * 0x5f));
  return m;
}

const hex4 = (code: number, upper: boolean): string => {
  const h = code.toString(16).padStart(4, '0');
  return upper ? h.toUpperCase() : h;
};

/** A JSON string literal for `s`, spelt the way some writer might: raw where JSON allows, or any valid escape. */
function spell(s: string, next: () => number): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const isHigh = code >= 0xd800 && code <= 0xdbff;
    const low = s.charCodeAt(i + 1);
    if (isHigh && low >= 0xdc00 && low <= 0xdfff) {
      // A pair: raw UTF-8 or two \u escapes.
      out += next() < 0.5 ? s.slice(i, i + 2) : `\\u${hex4(code, next() < 0.5)}\\u${hex4(low, next() < 0.5)}`;
      i++;
      continue;
    }
    const lone = code >= 0xd800 && code <= 0xdfff;
    const short: Record<number, string> = { 0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x2f: '\\/' };
    const mustEscape = code < 0x20 || code === 0x22 || code === 0x5c || lone;
    const r = next();
    if (r < 0.15 || lone || (mustEscape && !short[code])) out += `\\u${hex4(code, next() < 0.5)}`;
    else if (short[code] && (mustEscape || r < 0.3)) out += short[code];
    else out += s[i];
  }
  return `${out}"`;
}

const ws = (next: () => number): string => (next() < 0.2 ? [' ', '\n', '\t', '\r\n  '][Math.floor(next() * 4)]! : '');

/** An envelope text with shuffled keys, optional whitespace, decoy `message` keys and every spelling. */
function envelopeText(next: () => number): string {
  const obj = (members: Array<[string, string]>): string => {
    const shuffled = [...members].sort(() => next() - 0.5);
    return `{${shuffled.map(([k, v]) => `${ws(next)}${JSON.stringify(k)}${ws(next)}:${ws(next)}${v}${ws(next)}`).join(',')}}`;
  };
  const events: string[] = [];
  const count = 1 + Math.floor(next() * 6);
  for (let i = 0; i < count; i++) {
    const members: Array<[string, string]> = [
      ['id', JSON.stringify(String(3.8e55 + i * 1e40).slice(0, 56))],
      ['timestamp', String(1_700_000_000_000 + i)],
      ['message', spell(message(next), next)],
    ];
    if (next() < 0.3) members.push(['extractedFields', obj([['message', spell(message(next), next)], ['@aws.account', '"111111111111"']])]);
    if (next() < 0.2) members.push(['ingestionTime', `{"message":${spell('decoy', next)},"nested":[{"message":"x"}]}`]);
    events.push(obj(members));
  }
  const top: Array<[string, string]> = [
    ['messageType', '"DATA_MESSAGE"'],
    ['owner', '"111111111111"'],
    ['logGroup', spell(`/app/${message(next)}`, next)],
    ['logStream', spell(message(next), next)],
    ['subscriptionFilters', '["centralog"]'],
    ['logEvents', `[${events.map((e) => `${ws(next)}${e}`).join(',')}${ws(next)}]`],
  ];
  if (next() < 0.3) top.push(['policyLevel', '"ACCOUNT_LEVEL_POLICY"']);
  if (next() < 0.2) top.push(['unknown', '{"logEvents":[{"message":"decoy"}]}']);
  return `${ws(next)}${obj(top)}${ws(next)}`;
}

describe('archive lines copy each message from the envelope text', () => {
  const real = realEnvelopeTexts();

  it('match JSON.stringify of every archive line for every real envelope', () => {
    expect(real.length).toBeGreaterThan(200);
    for (const { origin, text } of real) expect(transformed(text), origin).toBe(expectedNdjson(text));
  });

  it('reuse the envelope text for every real message (CloudWatch Logs writes JSON.stringify spellings)', () => {
    let reused = 0;
    for (const { origin, text } of real) {
      const envelope = JSON.parse(text) as CwlEnvelope;
      const literals = messageLiterals(text, envelope.logEvents);
      expect(literals, origin).toBeDefined();
      literals!.forEach((l, i) => {
        expect(l, `${origin} event ${i}`).toBe(JSON.stringify(envelope.logEvents[i]!.message));
        reused++;
      });
    }
    expect(reused).toBeGreaterThan(5000);
  });

  it('match JSON.stringify for generated texts with every escape, spelling, key order and decoy', () => {
    const next = prng(20260);
    let sliced = 0;
    let fallback = 0;
    for (let n = 0; n < 3000; n++) {
      const text = envelopeText(next);
      expect(transformed(text), text).toBe(expectedNdjson(text));
      // The text as the transform sees it: through UTF-8 bytes.
      const decoded = Buffer.from(text, 'utf8').toString('utf8');
      const envelope = JSON.parse(decoded) as CwlEnvelope;
      for (const [i, l] of (messageLiterals(decoded, envelope.logEvents) ?? []).entries()) {
        if (l === undefined) fallback++;
        else {
          expect(l, decoded).toBe(JSON.stringify(envelope.logEvents[i]!.message));
          sliced++;
        }
      }
    }
    // Both paths ran many times.
    expect(sliced).toBeGreaterThan(1000);
    expect(fallback).toBeGreaterThan(1000);
  });

  it('send `\\/` and `\\u` spellings the slow way and keep JSON.stringify spellings, whatever they escape', () => {
    const text = String.raw`{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"logEvents":[` +
      String.raw`{"id":"1","timestamp":1,"message":"a\/b"},{"id":"2","timestamp":2,"message":"\u0041"},` +
      String.raw`{"id":"3","timestamp":3,"message":"q\"b\\n\n\t\r\b\f\u2028"},{"id":"4","timestamp":4,"message":"é😀 "}]}`;
    const envelope = JSON.parse(text) as CwlEnvelope;
    expect(messageLiterals(text, envelope.logEvents)).toEqual([undefined, undefined, undefined, '"é😀 "']);
    const plain = text.replace(String.raw`\u2028`, '\u2028');
    expect(messageLiterals(plain, (JSON.parse(plain) as CwlEnvelope).logEvents)?.[2]).toBe(String.raw`"q\"b\\n\n\t\r\b\f` + '\u2028"');
  });

  it('archive what JSON.parse read when the bytes are not valid UTF-8: each bad sequence as U+FFFD, never the bytes themselves', () => {
    const text = '{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"logEvents":[{"id":"1","timestamp":1,"message":"ok"},{"id":"2","timestamp":2,"message":"aXXb"}]}';
    // A lone continuation byte and a truncated two-byte sequence, where XX stood.
    const bytes = Buffer.from(text, 'utf8');
    const at = bytes.indexOf('XX');
    bytes[at] = 0x80;
    bytes[at + 1] = 0xc3;
    // Compared as bytes: decoding the answer as text would turn copied bad bytes into U+FFFD too.
    const archived = transformedBytes(bytes);
    expect(archived.equals(Buffer.from(expectedNdjson(bytes.toString('utf8')), 'utf8'))).toBe(true);
    expect(archived.includes(Buffer.from([0x80]))).toBe(false);
    expect(archived.includes(Buffer.from('a\ufffd\ufffdb', 'utf8'))).toBe(true);
  });

  it('give up on layouts JSON.parse reads differently from a simple walk: duplicate and escaped keys', () => {
    const head = '{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[]';
    const cases = [
      `${head},"logEvents":[{"id":"1","timestamp":1,"message":"first","message":"second"}]}`,
      `${head},"logEvents":[{"id":"1","timestamp":1,"message":"a"}],"logEvents":[{"id":"1","timestamp":1,"message":"b"}]}`,
      `${head},"logEvents":[{"id":"1","timestamp":1,"mess\\u0061ge":"a","message":"b"}]}`,
      `${head},"log\\u0045vents":[{"id":"1","timestamp":1,"message":"a"}],"logEvents":[{"id":"1","timestamp":1,"message":"b"}]}`,
    ];
    for (const text of cases) {
      expect(messageLiterals(text, (JSON.parse(text) as CwlEnvelope).logEvents), text).toBeUndefined();
      expect(transformed(text), text).toBe(expectedNdjson(text));
    }
  });
});
