import { describe, expect, it } from 'vitest';
import { bool, digits, int, ip, isIpAddress, isUsableDate, num, obj, parseTime, str } from '../../../processors/parsers/values.ts';

const iso = (v: unknown): string | undefined => parseTime(v)?.toISOString();

describe('isIpAddress / ip: what an OpenSearch ip field stores', () => {
  it.each([
    ['IPv4', '192.0.2.0'],
    ['IPv4 lowest', '0.0.0.0'],
    ['IPv4 highest', '255.255.255.255'],
    ['IPv6 full', '2001:0db8:0000:0000:0000:ff00:0042:8329'],
    ['IPv6 eight groups', '1:2:3:4:5:6:7:8'],
    ['IPv6 compressed', '2001:db8::ff00:42:8329'],
    ['IPv6 loopback', '::1'],
    ['IPv6 unspecified', '::'],
    ['IPv6 trailing ::', '2a02:cf40::'],
    ['IPv6 upper case', '2001:DB8::1'],
    ['IPv4-mapped IPv6', '::ffff:192.0.2.1'],
    ['IPv6 with an IPv4 tail', '64:ff9b::198.51.100.7'],
  ])('accepts %s (%s)', (_what, s) => {
    expect(isIpAddress(s)).toBe(true);
    expect(ip(s)).toBe(s);
  });

  it.each([
    // "010" is octal (8) to inet_aton and decimal (10) to others: refused rather than guessed.
    ['zero-padded IPv4', '010.1.1.1'],
    ['zero-padded octets (anonymised CloudTrail)', '225.01.00.16'],
    ['IPv4-mapped with a zero-padded octet', '::ffff:010.1.1.1'],
    ['an octet over 255', '256.1.1.1'],
    ['an octet over 255 elsewhere', '192.0.2.300'],
    ['three octets', '1.2.3'],
    ['five octets', '1.2.3.4.5'],
    // OpenSearch's ip type has no zone; the address without it would name another interface.
    ['IPv6 with a zone id', 'fe80::1%eth0'],
    ['two ::', '1::2::3'],
    ['nine groups', '1:2:3:4:5:6:7:8:9'],
    ['a five-digit group', '1::00001'],
    ['brackets', '[::1]'],
    ['surrounding space', ' 192.0.2.1'],
    ['empty', ''],
    ['VPC flow no-data marker', '-'],
    ['a service name', 'ec2.amazonaws.com'],
    ['CloudTrail placeholder', 'AWS Internal'],
  ])('refuses %s (%j)', (_what, s) => {
    expect(isIpAddress(s)).toBe(false);
    expect(ip(s)).toBeUndefined();
  });

  it('takes only strings', () => {
    for (const v of [3232235777, null, undefined, ['10.0.0.1'], { ip: '10.0.0.1' }]) expect(ip(v)).toBeUndefined();
  });
});

describe('parseTime', () => {
  it('reads ISO 8601 with and without Z, millis, a longer fraction or an offset', () => {
    expect(iso('2023-07-19T21:17:28Z')).toBe('2023-07-19T21:17:28.000Z');
    expect(iso('2017-12-08T15:32:49.865Z')).toBe('2017-12-08T15:32:49.865Z');
    expect(iso('2017-12-08t15:32:49.8z')).toBe('2017-12-08T15:32:49.800Z');
    expect(iso('2024-12-12 16:04:32.123456789')).toBe('2024-12-12T16:04:32.123Z');
    expect(iso('2025-02-25 20:40:06.000000000')).toBe('2025-02-25T20:40:06.000Z');
    expect(iso('2024-12-12T18:04:32+02:00')).toBe('2024-12-12T16:04:32.000Z');
    expect(iso('2024-12-12T18:04:32+0200')).toBe('2024-12-12T16:04:32.000Z');
    expect(iso('2024-12-12T10:34:32-05:30')).toBe('2024-12-12T16:04:32.000Z');
    expect(iso('2024-12-12T18:04:32+02')).toBe('2024-12-12T16:04:32.000Z');
    expect(iso('  2024-12-12T16:04:32Z\n')).toBe('2024-12-12T16:04:32.000Z');
  });

  it('reads a time without a zone as UTC, never as local time', () => {
    expect(iso('2022-07-17 04:50:23')).toBe('2022-07-17T04:50:23.000Z');
    expect(iso('2022-07-17T04:50:23')).toBe('2022-07-17T04:50:23.000Z');
  });

  it('reads numbers as epoch seconds below 1e11 and as milliseconds from there', () => {
    expect(iso(1_700_000_000)).toBe('2023-11-14T22:13:20.000Z');
    expect(iso(1_700_000_000_000)).toBe('2023-11-14T22:13:20.000Z');
    expect(iso(1636625755.218)).toBe('2021-11-11T10:15:55.218Z');
    expect(iso(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(iso(99_999_999_999)).toBe('5138-11-16T09:46:39.000Z');
    expect(iso(100_000_000_000)).toBe('1973-03-03T09:46:40.000Z');
  });

  it('places the range on the instant, after the offset: years 1970-9999 UTC', () => {
    expect(iso('1969-12-31T23:30:00-01:00')).toBe('1970-01-01T00:30:00.000Z');
    expect(parseTime('1970-01-01T00:30:00+01:00')).toBeUndefined();
    expect(iso('9999-12-31T23:59:59.999Z')).toBe('9999-12-31T23:59:59.999Z');
    expect(parseTime('9999-12-31T23:59:59-01:00')).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['the no-data marker', '-'],
    ['a word', 'yesterday'],
    ['a redaction', 'redacted'],
    ['a doubled T', '2025-10-21TT12:00:00Z'],
    ['30 February', '2025-02-30 10:00:00'],
    ['29 February of a common year', '2023-02-29T00:00:00Z'],
    ['month 13', '2025-13-01T00:00:00Z'],
    ['day 0', '2025-01-00T00:00:00Z'],
    ['hour 25', '2025-01-01T25:00:00Z'],
    ['a leap second', '2016-12-31T23:59:60Z'],
    ['an offset of 24 hours', '2025-01-01T00:00:00+24:00'],
    ['year 0000', '0000-01-01T00:00:00Z'],
    ['year 0099 (Date.UTC would read it as 1999)', '0099-06-01T00:00:00Z'],
    ['before 1970', '1969-12-31T23:59:59Z'],
    ['a date only', '2025-01-01'],
    ['digits as a string', '1700000000'],
    ['a negative epoch', -1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['past year 9999', 253_402_300_800_000],
    ['null', null],
    ['an object', {}],
  ])('refuses %s without throwing', (_what, v) => {
    expect(parseTime(v)).toBeUndefined();
  });

  it('agrees with isUsableDate on the range', () => {
    expect(isUsableDate(new Date(0))).toBe(true);
    expect(isUsableDate(new Date(-1))).toBe(false);
    expect(isUsableDate(new Date(Number.NaN))).toBe(false);
    expect(isUsableDate(new Date(Date.UTC(10000, 0, 1)))).toBe(false);
    expect(isUsableDate(undefined)).toBe(false);
  });
});

describe('str, bool, num, int, digits, obj', () => {
  it('str: non-empty strings as they are, finite numbers as decimal text, nothing else', () => {
    expect(str('x')).toBe('x');
    expect(str('-')).toBe('-'); // the VPC flow marker is the flow parser's business, not a missing string
    expect(str(' ')).toBe(' ');
    expect(str(123456789012)).toBe('123456789012');
    expect(str(7.5)).toBe('7.5');
    for (const v of ['', Number.NaN, Number.POSITIVE_INFINITY, true, null, undefined, {}, ['a']]) expect(str(v)).toBeUndefined();
  });

  it('bool: booleans, and true/false/yes/no as strings in any case', () => {
    for (const v of [true, 'true', 'TRUE', 'True', 'yes', 'Yes', 'YES']) expect(bool(v), String(v)).toBe(true);
    for (const v of [false, 'false', 'False', 'no', 'No', 'NO']) expect(bool(v), String(v)).toBe(false);
    for (const v of ['1', '0', 1, 0, 't', 'y', 'maybe', ' true', '', '-', null, undefined]) expect(bool(v), String(v)).toBeUndefined();
  });

  it('num: finite numbers and decimal strings; hex, Infinity and overflow are not numbers', () => {
    expect(num(7.5)).toBe(7.5);
    expect(num('209')).toBe(209);
    expect(num(' 7.5 ')).toBe(7.5);
    expect(num('-1')).toBe(-1);
    expect(num('.5')).toBe(0.5);
    expect(num('1e3')).toBe(1000);
    expect(num(1e308)).toBe(1e308);
    for (const v of ['', ' ', '-', '0x10', '0b1', '1,5', '7 kB', 'Infinity', '1e999', Number.POSITIVE_INFINITY, Number.NaN, true, null]) {
      expect(num(v), String(v)).toBeUndefined();
    }
  });

  it('int: safe integers only, so a long field stores exactly what was sent', () => {
    expect(int(42)).toBe(42);
    expect(int('42')).toBe(42);
    expect(int(-1)).toBe(-1);
    expect(int(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    for (const v of [7.5, '7.5', Number.MAX_SAFE_INTEGER + 1, 1e300, '9007199254740993', 'many']) expect(int(v), String(v)).toBeUndefined();
  });

  it('digits: plain ASCII digits up to a length, else -1', () => {
    expect(digits('0', 3)).toBe(0);
    expect(digits('65535', 5)).toBe(65535);
    expect(digits('007', 3)).toBe(7);
    expect(digits('123456789012345678', 18)).toBe(123456789012345678);
    for (const s of ['', '-', '+1', '-1', '1.0', ' 1', '1e3', '0x1', '٣']) expect(digits(s, 18), s).toBe(-1);
    expect(digits('1234', 3)).toBe(-1);
  });

  it('obj: plain objects only', () => {
    expect(obj({ a: 1 })).toEqual({ a: 1 });
    for (const v of [null, [], 'x', 1, undefined]) expect(obj(v)).toBeUndefined();
  });
});
