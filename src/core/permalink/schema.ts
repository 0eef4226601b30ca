/**
 * Readers for untrusted JSON (permalink states, exported reports): each checks one value's type
 * and size and returns it, or throws a SchemaError naming where it is (`view.files.mode`,
 * `images[2].layers[0].digest`), so the page can say which field of a link or file is wrong.
 */

export class SchemaError extends Error {
  constructor(
    /** Where in the document, e.g. `images[2].layers[0].digest`. */
    readonly path: string,
    /** What is wrong there. */
    readonly reason: string,
  ) {
    super(`${path || 'the document'}: ${reason}`);
    this.name = 'SchemaError';
  }

  /** The same error, for a document nested at `prefix` of another. */
  within(prefix: string): SchemaError {
    return new SchemaError(this.path ? `${prefix}.${this.path}` : prefix, this.reason);
  }
}

/** No string of a real report or link comes near this. */
const MAX_STRING = 64 * 1024;

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'string' ? 'a string' : `a ${typeof v}`;
}

export function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new SchemaError(path, `expected an object, found ${describe(v)}`);
  return v;
}

export interface StringRule {
  max?: number;
  /** The form the string must have (a digest, a tag…). */
  pattern?: RegExp;
}

export function str(v: unknown, path: string, rule: StringRule = {}): string {
  const max = rule.max ?? MAX_STRING;
  if (typeof v !== 'string') throw new SchemaError(path, `expected a string, found ${describe(v)}`);
  if (v.length > max) throw new SchemaError(path, `a string of ${v.length} characters is longer than ${max}`);
  if (rule.pattern && !rule.pattern.test(v))
    throw new SchemaError(path, `"${v.slice(0, 80)}" is not in the expected form`);
  return v;
}

export function optStr(o: Obj, key: string, path: string, rule?: StringRule): string | undefined {
  return o[key] === undefined ? undefined : str(o[key], `${path}.${key}`, rule);
}

export function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new SchemaError(path, `expected a number ≥ 0, found ${describe(v)}`);
  return v;
}

export function nullable<T>(v: unknown, path: string, read: (v: unknown, path: string) => T): T | null {
  return v === null || v === undefined ? null : read(v, path);
}

export function flag(v: unknown, path: string): boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'boolean')
    throw new SchemaError(path, `expected true, false or null, found ${describe(v)}`);
  return v;
}

export function list<T>(v: unknown, path: string, max: number, read: (v: unknown, path: string) => T): T[] {
  if (!Array.isArray(v)) throw new SchemaError(path, `expected a list, found ${describe(v)}`);
  if (v.length > max) throw new SchemaError(path, `${v.length} items, more than the ${max} allowed`);
  return v.map((x, i) => read(x, `${path}[${i}]`));
}
