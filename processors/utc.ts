/** UTC date parts, zero-padded, as index names and S3 key layouts spell them. */
export interface UtcParts {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

export function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export function utcParts(d: Date): UtcParts {
  return {
    year: String(d.getUTCFullYear()),
    month: pad2(d.getUTCMonth() + 1),
    day: pad2(d.getUTCDate()),
    hour: pad2(d.getUTCHours()),
    minute: pad2(d.getUTCMinutes()),
    second: pad2(d.getUTCSeconds()),
  };
}

/** `YYYY/MM/DD/HH`: Firehose's default time prefix, also used for dead letters. */
export function utcHourPath(d: Date): string {
  const p = utcParts(d);
  return `${p.year}/${p.month}/${p.day}/${p.hour}`;
}
