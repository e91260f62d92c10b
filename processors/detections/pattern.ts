/**
 * Sigma string values: `*` and `?` wildcards with backslash escaping, compared case-insensitively
 * unless `cased`. Each pattern compiles to the cheapest test that decides it.
 */
export type Token = string | typeof STAR | typeof QMARK;
export const STAR = Symbol('*');
export const QMARK = Symbol('?');

/**
 * Splits a Sigma value into literal text and wildcards. `\*`, `\?` and `\\` are the literal
 * characters; a backslash before anything else is itself.
 */
export function tokenize(value: string): Token[] {
  const out: Token[] = [];
  let literal = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\') {
      const next = value[i + 1];
      if (next === '*' || next === '?' || next === '\\') {
        literal += next;
        i++;
      } else literal += c;
    } else if (c === '*' || c === '?') {
      if (literal) out.push(literal);
      literal = '';
      out.push(c === '*' ? STAR : QMARK);
    } else literal += c;
  }
  if (literal) out.push(literal);
  return out;
}

/** The literal text of a pattern without wildcards, or undefined if it has any. */
export function literalOf(tokens: Token[]): string | undefined {
  if (tokens.length === 0) return '';
  return tokens.length === 1 && typeof tokens[0] === 'string' ? tokens[0] : undefined;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A test on one string: the whole string must match the tokens. */
export function compileTokens(tokens: Token[], cased: boolean): (s: string) => boolean {
  const fold = cased ? (s: string) => s : (s: string) => s.toLowerCase();
  if (tokens.length === 0) return (s) => s === '';
  const inner = tokens.slice(tokens[0] === STAR ? 1 : 0, tokens.at(-1) === STAR && tokens.length > 1 ? -1 : undefined);
  const leading = tokens[0] === STAR;
  const trailing = tokens.length > 1 && tokens.at(-1) === STAR;
  if (inner.length === 0) return () => true; // `*`
  if (inner.length === 1 && typeof inner[0] === 'string') {
    const text = fold(inner[0]);
    if (leading && trailing) return (s) => fold(s).includes(text);
    if (leading) return (s) => s.length >= text.length && fold(s.slice(s.length - text.length)) === text;
    if (trailing) return (s) => s.length >= text.length && fold(s.slice(0, text.length)) === text;
    return (s) => s.length === text.length && fold(s) === text;
  }
  const source = tokens.map((t) => (t === STAR ? '.*' : t === QMARK ? '.' : escapeRegExp(t))).join('');
  const re = new RegExp(`^(?:${source})$`, cased ? 's' : 'is');
  return (s) => re.test(s);
}
