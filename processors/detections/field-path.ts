/**
 * Reads a Sigma field name from an event. Dots walk into nested objects (CloudTrail's
 * `requestParameters.ipPermissions.items.ipRanges.items.cidrIp`); an array met on the way, or at
 * the end, stands for each of its elements, so a test holds if it holds for any of them.
 * A key that itself contains dots (`{"a.b": ...}` for `a.b.c`) is also followed.
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
  // dotted[i]: [key, next segment index] for each run of two or more segments from i joined
  // again, for keys that contain dots themselves.
  const last = segments.length;
  const dotted = segments.map((_, i) => segments.slice(i + 1).map((__, k) => [segments.slice(i, i + k + 2).join('.'), i + k + 2] as const));

  const walk = (node: unknown, i: number, test: (value: unknown) => boolean): boolean => {
    if (Array.isArray(node)) {
      for (const element of node) if (walk(element, i, test)) return true;
      return false;
    }
    if (i === last) return test(node);
    if (node === null || typeof node !== 'object') return false;
    const obj = node as Record<string, unknown>;
    const value = obj[segments[i]!];
    if (value !== undefined && Object.hasOwn(obj, segments[i]!) && walk(value, i + 1, test)) return true;
    for (const [key, next] of dotted[i]!) if (Object.hasOwn(obj, key) && walk(obj[key], next, test)) return true;
    return false;
  };

  if (last === 1) {
    // The common case (eventName, eventSource): one property read.
    return {
      name,
      some: (event, test) => {
        if (event === null || typeof event !== 'object') return false;
        const value = (event as Record<string, unknown>)[name];
        if (value === undefined || !Object.hasOwn(event, name)) return false;
        return walk(value, 1, test);
      },
      exists: (event) => event !== null && typeof event === 'object' && Object.hasOwn(event, name),
    };
  }
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
