/**
 * Sigma conditions: `and`, `or`, `not`, parentheses, `1 of pattern`, `all of pattern`, `1 of them`,
 * `all of them` (`N of` counts). Precedence, least binding first: or, and, not, x of, ( ).
 * Aggregations (`| count() ...`) and `near` are refused: they need more than one event.
 */
import { mergeAnd, mergeOr, UnsupportedRuleError, type CompiledSearch, type Constraint, type Predicate } from './selection.ts';

type Node =
  | { kind: 'id'; name: string }
  | { kind: 'not'; operand: Node }
  | { kind: 'and' | 'or'; operands: Node[] }
  | { kind: 'of'; quantity: number | 'all'; pattern: string };

function tokenizeCondition(text: string): string[] {
  if (text.includes('|')) throw new UnsupportedRuleError(`condition '${text}' has an aggregation ('|'), which needs more than one event`);
  return text.match(/\(|\)|[^\s()]+/g) ?? [];
}

function parse(text: string): Node {
  const tokens = tokenizeCondition(text);
  let at = 0;
  const peek = () => tokens[at]?.toLowerCase();
  const fail = (what: string): never => {
    throw new UnsupportedRuleError(`condition '${text}': ${what}`);
  };
  const expression = (): Node => {
    const operands = [conjunction()];
    while (peek() === 'or') {
      at++;
      operands.push(conjunction());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'or', operands };
  };
  const conjunction = (): Node => {
    const operands = [negation()];
    while (peek() === 'and') {
      at++;
      operands.push(negation());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'and', operands };
  };
  const negation = (): Node => {
    if (peek() === 'not') {
      at++;
      return { kind: 'not', operand: negation() };
    }
    return primary();
  };
  const primary = (): Node => {
    const token = tokens[at];
    if (token === undefined) return fail('ends where an identifier was expected');
    if (token === '(') {
      at++;
      const inner = expression();
      if (tokens[at] !== ')') fail(`expected ')' at token ${at + 1}`);
      at++;
      return inner;
    }
    const lower = token.toLowerCase();
    if (lower === 'near') fail("'near' needs more than one event");
    if (['and', 'or', ')', 'of', 'them'].includes(lower)) fail(`unexpected '${token}'`);
    if (tokens[at + 1]?.toLowerCase() === 'of') {
      const quantity = lower === 'all' ? 'all' : lower === 'any' ? 1 : /^[1-9]\d*$/.test(token) ? Number(token) : fail(`'${token} of': expected 1, a number or all`);
      const pattern = tokens[at + 2];
      if (pattern === undefined || pattern === '(' || pattern === ')') fail(`'${token} of' needs a pattern or them`);
      at += 3;
      return { kind: 'of', quantity, pattern: pattern! };
    }
    at++;
    return { kind: 'id', name: token };
  };
  const node = expression();
  if (at < tokens.length) fail(`unexpected '${tokens[at]}'`);
  return node;
}

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** Compiles a condition over the rule's compiled search identifiers. */
export function compileCondition(text: string, searches: Map<string, CompiledSearch>): CompiledSearch {
  const build = (node: Node): CompiledSearch => {
    switch (node.kind) {
      case 'id': {
        const search = searches.get(node.name);
        if (!search) throw new UnsupportedRuleError(`condition '${text}' names '${node.name}', which the detection does not define`);
        return search;
      }
      case 'not': {
        const inner = build(node.operand).test;
        return { test: (e) => !inner(e), constraint: undefined };
      }
      case 'and':
      case 'or':
        return combine(node.kind, node.operands.map(build));
      case 'of': {
        const names =
          node.pattern.toLowerCase() === 'them'
            ? [...searches.keys()].filter((n) => !n.startsWith('_'))
            : [...searches.keys()].filter((n) => globToRegExp(node.pattern).test(n));
        if (names.length === 0) throw new UnsupportedRuleError(`condition '${text}': no search identifier matches '${node.pattern}'`);
        const parts = names.map((n) => searches.get(n)!);
        if (node.quantity === 'all') return combine('and', parts);
        if (node.quantity === 1) return combine('or', parts);
        const need = node.quantity;
        const tests = parts.map((p) => p.test);
        return { test: (e) => tests.filter((t) => t(e)).length >= need, constraint: undefined };
      }
    }
  };
  return build(parse(text));
}

function combine(kind: 'and' | 'or', parts: CompiledSearch[]): CompiledSearch {
  const tests: Predicate[] = parts.map((p) => p.test);
  const constraint: Constraint | undefined = kind === 'and' ? mergeAnd(parts.map((p) => p.constraint)) : mergeOr(parts.map((p) => p.constraint));
  if (tests.length === 1) return { test: tests[0]!, constraint };
  if (tests.length === 2) {
    const [a, b] = tests as [Predicate, Predicate];
    return { test: kind === 'and' ? (e) => a(e) && b(e) : (e) => a(e) || b(e), constraint };
  }
  return { test: kind === 'and' ? (e) => tests.every((t) => t(e)) : (e) => tests.some((t) => t(e)), constraint };
}
