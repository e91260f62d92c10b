/** Loads Sigma rule texts into a rule set indexed by eventName/eventSource. */
import { parseAllDocuments } from 'yaml';
import { compileCondition } from './condition.ts';
import { fieldPath } from './field-path.ts';
import { compileSearch, INDEXED_FIELDS, UnsupportedRuleError, type CompiledSearch, type Constraint, type Predicate } from './selection.ts';
import { RULE_LEVELS, type DetectionService, type RuleFile, type RuleLevel, type RuleLoadError, type RuleMatch, type RuleSet, type SigmaRule } from './types.ts';

interface CompiledRule {
  match: RuleMatch;
  test: Predicate;
  constraint: Constraint | undefined;
}

const SERVICES: Record<string, DetectionService> = { cloudtrail: 'cloudtrail', guardduty: 'guardduty' };

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** One rule document: its metadata and compiled detection, or the reason it is refused. */
function compileDocument(doc: unknown): { rule: SigmaRule; service: DetectionService; compiled: CompiledSearch } {
  if (!isMap(doc)) throw new UnsupportedRuleError('not a YAML map');
  if ('correlation' in doc) throw new UnsupportedRuleError('a correlation rule: it needs more than one event');
  if ('action' in doc) throw new UnsupportedRuleError(`a rule collection document (action: ${String(doc.action)}) is not evaluated`);
  const id = str(doc.id);
  const title = str(doc.title);
  if (!id) throw new UnsupportedRuleError('no id');
  if (!title) throw new UnsupportedRuleError('no title');
  const level = (doc.level ?? 'informational') as RuleLevel;
  if (!RULE_LEVELS.includes(level)) throw new UnsupportedRuleError(`level '${String(doc.level)}' is not one of ${RULE_LEVELS.join(', ')}`);
  const logsource = isMap(doc.logsource) ? doc.logsource : {};
  const product = str(logsource.product);
  const service = SERVICES[str(logsource.service) ?? ''];
  if (product !== 'aws' || !service) {
    throw new UnsupportedRuleError(`logsource product '${product ?? ''}' service '${str(logsource.service) ?? ''}' is not evaluated (product aws, service cloudtrail or guardduty)`);
  }
  const detection = doc.detection;
  if (!isMap(detection)) throw new UnsupportedRuleError('no detection map');
  if ('timeframe' in detection) throw new UnsupportedRuleError('detection has a timeframe: it needs more than one event');
  const condition = detection.condition;
  const conditions = typeof condition === 'string' ? [condition] : strings(condition);
  if (!conditions || conditions.length === 0 || (Array.isArray(condition) && conditions.length !== condition.length)) {
    throw new UnsupportedRuleError('detection has no condition string');
  }
  const searches = new Map<string, CompiledSearch>();
  for (const [name, definition] of Object.entries(detection)) {
    if (name !== 'condition') searches.set(name, compileSearch(name, definition));
  }
  // A list of conditions is OR-linked.
  const parts = conditions.map((c) => compileCondition(c, searches));
  const compiled = parts.length === 1 ? parts[0]! : compileCondition(conditions.map((_, i) => `__c${i}`).join(' or '), new Map(parts.map((p, i) => [`__c${i}`, p])));
  const rule: SigmaRule = {
    id,
    title,
    level,
    tags: strings(doc.tags) ?? [],
    logsource: { product, service, ...(str(logsource.category) ? { category: str(logsource.category) } : {}) },
  };
  for (const key of ['author', 'status', 'description'] as const) if (str(doc[key])) rule[key] = str(doc[key]);
  for (const key of ['references', 'falsepositives'] as const) if (strings(doc[key])) rule[key] = strings(doc[key]);
  return { rule, service, compiled };
}

/** A field's one value in an event; SEVERAL when it has more (an array on its path). */
const SEVERAL = Symbol('several');
function indexedValue(field: string): (event: Record<string, unknown>) => unknown {
  if (!field.includes('.')) return (event) => event[field];
  const path = fieldPath(field);
  return (event) => {
    let found: unknown;
    let count = 0;
    path.some(event, (v) => ((found = v), ++count > 1));
    return count > 1 ? SEVERAL : found;
  };
}

interface FieldIndex {
  read: (event: Record<string, unknown>) => unknown;
  byValue: Map<string, CompiledRule[]>;
}

/** Evaluates events against the compiled rules of one service, trying only rules an event can match. */
class ServiceIndex {
  private readonly fields = new Map<string, FieldIndex>();
  private readonly always: CompiledRule[] = [];

  add(rule: CompiledRule): void {
    // The first indexed field the rule constrains decides where it is filed.
    const field = INDEXED_FIELDS.find((f) => rule.constraint?.has(f));
    if (!field) {
      this.always.push(rule);
      return;
    }
    let index = this.fields.get(field);
    if (!index) this.fields.set(field, (index = { read: indexedValue(field), byValue: new Map() }));
    for (const value of rule.constraint!.get(field)!) {
      const list = index.byValue.get(value);
      if (list) list.push(rule);
      else index.byValue.set(value, [rule]);
    }
  }

  match(event: Record<string, unknown>): RuleMatch[] {
    const out: RuleMatch[] = [];
    for (const rule of this.always) if (rule.test(event)) out.push(rule.match);
    for (const { read, byValue } of this.fields.values()) {
      const value = read(event);
      if (value === undefined) continue; // an absent field equals no listed value
      if (typeof value === 'string') {
        const rules = byValue.get(value.toLowerCase());
        if (rules) for (const rule of rules) if (rule.test(event)) out.push(rule.match);
      } else {
        // Not one plain string (an array, say): the index cannot decide, so every filed rule is tried once.
        const tried = new Set<CompiledRule>();
        for (const rules of byValue.values()) for (const rule of rules) if (!tried.has(rule) && (tried.add(rule), rule.test(event))) out.push(rule.match);
      }
    }
    return out;
  }
}

/** Compiles rule files (Sigma YAML, one or more documents each); a rule that cannot be evaluated is listed in `errors`. */
export function compileRules(files: RuleFile[]): RuleSet {
  const rules: SigmaRule[] = [];
  const errors: RuleLoadError[] = [];
  const indices: Record<DetectionService, ServiceIndex> = { cloudtrail: new ServiceIndex(), guardduty: new ServiceIndex() };
  const seen = new Map<string, string>();
  for (const file of files) {
    let docs;
    try {
      docs = parseAllDocuments(file.text, { uniqueKeys: true });
    } catch (err) {
      errors.push({ file: file.name, reason: `not YAML: ${(err as Error).message}` });
      continue;
    }
    for (const doc of Array.isArray(docs) ? docs : [docs]) {
      const broken = doc.errors[0];
      const value: unknown = broken ? undefined : doc.toJS();
      const id = isMap(value) ? str(value.id) : undefined;
      const refuse = (reason: string) => errors.push({ file: file.name, ...(id ? { id } : {}), reason });
      if (broken) {
        refuse(`not YAML: ${broken.message.split('\n')[0]}`);
        continue;
      }
      if (value === null || value === undefined) continue; // an empty document, e.g. after a trailing ---
      try {
        const { rule, service, compiled } = compileDocument(value);
        const first = seen.get(rule.id);
        if (first) {
          refuse(`id already loaded from ${first}`);
          continue;
        }
        seen.set(rule.id, file.name);
        rules.push(rule);
        indices[service].add({ match: { rule }, test: compiled.test, constraint: compiled.constraint });
      } catch (err) {
        if (!(err instanceof UnsupportedRuleError)) throw err;
        refuse(err.message);
      }
    }
  }
  return { rules, errors, match: (event, service) => indices[service].match(event) };
}
