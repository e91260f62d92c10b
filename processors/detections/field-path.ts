/**
 * Reads a Sigma field name from an event. Dots walk into nested objects (CloudTrail's
 * `requestParameters.ipPermissions.items.ipRanges.items.cidrIp`); an array met on the way, or at
 * the end, stands for each of its elements, so a test holds if it holds for any of them.
 * Where the nested path is missing, a key that itself contains dots (`{"a.b": ...}` for
 * `a.b.c`) is followed instead.
 */
export interface FieldPath {
  readonly name: string;
  /** True if `test` holds for one of the field's values (null included, absent excluded). */
  some(event: unknown, test: (value: unknown) => boolean): boolean;
  /** True if the field is present (even when null or empty). */
  exists(event: unknown): boolean;
}

const ANY = (): boolean => true;

export function fieldPath(name: string): FieldPath {
  const segments = name.split('.');
  const last = segments.length;
  // Names like `constructor` would otherwise read Object.prototype; only those need an own-property check.
  const inherited = segments.map((seg) => seg in Object.prototype);
  // dotted[i]: [key, next segment index] for each run of two or more segments from i joined
  // again, for keys that contain dots themselves; tried where the nested path is missing.
  const dotted = segments.map((_, i) => segments.slice(i + 1).map((__, k) => [segments.slice(i, i + k + 2).join('.'), i + k + 2] as const));

  // Iterative down plain objects (the common case, one property read per segment);
  // recursive only into arrays and keys with dots.
  const walk = (start: unknown, from: number, test: (value: unknown) => boolean): boolean => {
    let node = start;
    for (let i = from; i < last; i++) {
      if (node === null || typeof node !== 'object') return false;
      if (Array.isArray(node)) {
        for (const element of node) if (walk(element, i, test)) return true;
        return false;
      }
      const obj = node as Record<string, unknown>;
      const value = obj[segments[i]!];
      if (value === undefined || (inherited[i] && !Object.hasOwn(obj, segments[i]!))) {
        const alternatives = dotted[i]!;
        for (let k = 0; k < alternatives.length; k++) {
          const [key, next] = alternatives[k]!;
          if (Object.hasOwn(obj, key) && walk(obj[key], next, test)) return true;
        }
        return false;
      }
      node = value;
    }
    if (Array.isArray(node)) {
      for (const element of node) if (walk(element, last, test)) return true;
      return false;
    }
    return test(node);
  };

  return { name, some: (event, test) => walk(event, 0, test), exists: (event) => walk(event, 0, ANY) };
}

/** Every string, number and boolean anywhere in the event, for Sigma keyword (field-less) search. */
export function someLeaf(node: unknown, test: (value: string) => boolean): boolean {
  if (typeof node === 'string') return test(node);
  if (typeof node === 'number' || typeof node === 'boolean') return test(String(node));
  if (node === null || typeof node !== 'object') return false;
  if (Array.isArray(node)) {
    for (const element of node) if (someLeaf(element, test)) return true;
    return false;
  }
  for (const key in node) if (someLeaf((node as Record<string, unknown>)[key], test)) return true;
  return false;
}
