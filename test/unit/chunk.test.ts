import { describe, expect, it } from 'vitest';
import { chunkBySize, utcHourPath, utcParts } from '../../processors/index.ts';

describe('chunkBySize', () => {
  it('keeps order and never passes the byte or count limit, except for one item larger than the limit', () => {
    const sizes = [3, 4, 2, 9, 1, 1, 1, 1, 5];
    const chunks = [...chunkBySize(sizes, (n) => n, 6, 3)];
    expect(chunks.flat()).toEqual(sizes);
    expect(chunks).toEqual([[3], [4, 2], [9], [1, 1, 1], [1, 5]]);
  });

  it('yields nothing for no items', () => {
    expect([...chunkBySize([], () => 1, 10)]).toEqual([]);
  });
});

describe('UTC parts', () => {
  it('zero-pads every part from the UTC clock, not the local one', () => {
    const d = new Date('2024-03-05T07:08:09.123Z');
    expect(utcParts(d)).toEqual({ year: '2024', month: '03', day: '05', hour: '07', minute: '08', second: '09' });
    expect(utcHourPath(d)).toBe('2024/03/05/07');
  });
});
