/** The encoding modifiers: wide/utf16* text and base64 / base64offset forms. */

/** A value as the bytes its encoding modifier names (UTF-8 when none). */
export function encode(text: string, encoding: string | undefined): Buffer {
  if (encoding === undefined) return Buffer.from(text, 'utf8');
  const le = Buffer.from(text, 'utf16le');
  if (encoding === 'utf16be') return le.swap16();
  if (encoding === 'utf16') return Buffer.concat([Buffer.from([0xff, 0xfe]), le]);
  return le;
}

/** The three forms `bytes` takes inside a longer base64 text, by its offset modulo 3. */
export function base64Offsets(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const start = [0, 2, 3][shift]!;
    const end = encoded.length - [0, 3, 2][(bytes.length + shift) % 3]!;
    out.push(encoded.slice(start, end));
  }
  return out;
}
