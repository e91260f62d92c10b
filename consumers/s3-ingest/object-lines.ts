import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

/** The object's bytes could not be read as text lines (bad gzip, a line past the limit). */
export class UnreadableObjectError extends Error {
  override readonly name = 'UnreadableObjectError';
}

/** A line no log format writes; a file without newlines must not be held whole in memory. */
export const MAX_LINE_CHARS = 16 * 1024 * 1024;

/**
 * The body's bytes, gunzipped when they start with the gzip magic (whatever the key says):
 * S3 serves ALB, CloudTrail and flow log files as gzip, exports and tests sometimes plain.
 * Concatenated gzip members (as delivery services append) are read through.
 */
export async function decompressed(body: AsyncIterable<Uint8Array>): Promise<AsyncIterable<Buffer>> {
  const it = body[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : Buffer.from(first.value);
  const all = Readable.from(
    (async function* () {
      if (head.length > 0) yield head;
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield Buffer.from(next.value);
      }
    })(),
  );
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    all.on('error', (err) => gunzip.destroy(err));
    return all.pipe(gunzip);
  }
  return all;
}

/** Lines of UTF-8 text (CRLF or LF), without their ends; gzip errors become UnreadableObjectError. */
export async function* textLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  try {
    for await (const chunk of chunks) {
      const text = pending + decoder.write(chunk);
      let from = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
        yield text.charCodeAt(nl - 1) === 13 ? text.slice(from, nl - 1) : text.slice(from, nl);
        from = nl + 1;
      }
      pending = text.slice(from);
      if (pending.length > MAX_LINE_CHARS) throw new UnreadableObjectError(`a line longer than ${MAX_LINE_CHARS} characters`);
    }
  } catch (err) {
    if (err instanceof UnreadableObjectError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || code === 'Z_STREAM_ERROR' || /unexpected end of file|incorrect header/i.test(String(err))) {
      throw new UnreadableObjectError(`gzip: ${(err as Error).message}`);
    }
    throw err;
  }
  const last = pending + decoder.end();
  if (last !== '') yield last.endsWith('\r') ? last.slice(0, -1) : last;
}
