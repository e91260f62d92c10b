/** A pre-test for the `re` modifier: text every match of a regular expression contains. */

/**
 * The longest run of plain characters (3 or more, ASCII) every match of `source` must contain,
 * or undefined when that is not evident (alternation, or no such run). Groups, classes and
 * optional characters end a run and are never part of one.
 */
export function requiredLiteral(source: string): string | undefined {
  if (source.includes('|')) return undefined;
  let best = '';
  let run = '';
  const end = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    let literal: string | undefined;
    if (c === '\\') {
      const next = source[i + 1];
      // An escaped punctuation character is itself; \d, \w, \b and the like are classes or assertions.
      if (next !== undefined && /[^0-9A-Za-z]/.test(next)) literal = next;
      i++;
    } else if (c === '(' || c === '[') {
      end();
      // Skip the whole group or class: it may be optional, repeated or an alternative.
      let depth = 0;
      let inClass = false;
      for (; i < source.length; i++) {
        const d = source[i]!;
        if (d === '\\') i++;
        else if (inClass) {
          if (d === ']' && ((inClass = false), depth === 0)) break;
        } else if (d === '[') inClass = true;
        else if (d === '(') depth++;
        else if (d === ')' && --depth === 0) break;
      }
      continue;
    } else if (c === '{') {
      // A {n,m} quantifier: its digits are not text.
      end();
      while (i < source.length && source[i] !== '}') i++;
      continue;
    } else if (!'.^$*+?{}'.includes(c)) literal = c;
    if (literal === undefined || literal.charCodeAt(0) > 0x7e) {
      end();
      continue;
    }
    const quantifier = source[i + 1];
    if (quantifier === '?' || quantifier === '*' || quantifier === '{') {
      end();
      continue;
    }
    run += literal;
    if (quantifier === '+') end();
  }
  end();
  return best.length >= 3 ? best : undefined;
}

