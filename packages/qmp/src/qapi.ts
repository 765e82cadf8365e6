// Argument checking as QEMU's generated marshallers do it with the QObject
// input visitor (qapi/qobject-input-visitor.c, qapi/qapi-visit-core.c):
// members in schema order, the first failure wins, error paths such as
// 'events[0].data.key', and the same choice of "unexpected" member.

import { isJsonFloat } from './json-values.js';
import { qdictOrder } from './qdict-order.js';

const ENUM_VALUES: unique symbol = Symbol('qapi.enum');

/** A QAPI enum type; build with qapiEnum(). */
export interface QapiEnum {
  readonly [ENUM_VALUES]: readonly string[];
}

/**
 * A QAPI type: builtin names, `[T]` for a list of T, qapiEnum(...) for an
 * enum, or an object of members (`'*name'` = optional) for a nested struct.
 * 'int' is int64, 'uint64' also accepts negative int64 (as QEMU does),
 * 'number' any number.
 */
export type QapiType =
  | 'str'
  | 'int'
  | 'uint64'
  | 'bool'
  | 'number'
  | 'any'
  | 'null'
  | QapiType[]
  | QapiEnum
  | { [member: string]: QapiType };

/** An enum type for argument schemas: `{ type: qapiEnum('static', 'full') }`. */
export function qapiEnum(...values: string[]): QapiEnum {
  return Object.freeze({ [ENUM_VALUES]: Object.freeze([...values]) });
}

/** Members of a struct type in schema order: [name, optional, type]. */
export type QapiMembers = Record<string, QapiType>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
/** snprintf("[%u]") of an index that starts at -1 before the first element. */
const UNSIGNED_WRAP = 2 ** 32;

export const QERR_MISSING_PARAMETER = (name: string): string => `Parameter '${name}' is missing`;
export const QERR_INVALID_PARAMETER_TYPE = (name: string, expected: string): string =>
  `Invalid parameter type for '${name}', expected: ${expected}`;
export const QERR_INVALID_PARAMETER_VALUE = (name: string, expected: string): string => `Parameter '${name}' expects ${expected}`;

/**
 * Iteration order of QEMU's table of the argument names not visited yet (a GLib GHashTable,
 * qapi/qobject-input-visitor.c), given the names put in (the object's members, in its order) and
 * those visited since (taken out, in order). QEMU reports the first name left as unexpected, so
 * the order decides which one it names when there are several.
 */
export type UnvisitedOrder = (inserted: readonly string[], visited: readonly string[]) => readonly string[];

/**
 * The default UnvisitedOrder: the names left, in the object's own order. It names the same member
 * as QEMU when one is unexpected; for QEMU's choice among several, pass a GLib hash-table model
 * (the server passes @plugboard/qdev's ghashKeyOrder).
 */
export const memberOrder: UnvisitedOrder = (inserted, visited) => inserted.filter((k) => !visited.includes(k));

class VisitError {
  constructor(readonly desc: string) {}
}

interface StackObject {
  name: string | null;
  obj: Record<string, unknown> | unknown[];
  isDict: boolean;
  /** Dict: names visited so far, in order. */
  visited?: string[];
  /** List: position of the next element, and QEMU's index (last consumed). */
  next: number;
  index: number;
}

function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function has(obj: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key) && obj[key] !== undefined;
}

class InputVisitor {
  private readonly stack: StackObject[] = []; // top = last

  constructor(
    private readonly root: Record<string, unknown>,
    private readonly unvisitedOrder: UnvisitedOrder,
  ) {}

  /** full_name_nth(): the dotted/indexed path QEMU prints for `name` in the current container. */
  fullName(name: string | null, skip = 0): string {
    let out = '';
    let n = skip;
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const so = this.stack[i]!;
      if (n) n--;
      else if (so.isDict) out = '.' + (name ?? '<anonymous>') + out;
      else out = `[${so.index < 0 ? so.index + UNSIGNED_WRAP : so.index}]` + out;
      name = so.name;
    }
    if (name !== null) return name + out;
    if (out.startsWith('.')) return out.slice(1);
    return out || '<anonymous>';
  }

  private tryGet(name: string | null, consume: boolean): { value: unknown; container: object | null; key: string | number } | null {
    const tos = this.stack[this.stack.length - 1];
    if (!tos) return { value: this.root, container: null, key: '' };
    if (tos.isDict) {
      const dict = tos.obj as Record<string, unknown>;
      if (!has(dict, name!)) return null;
      if (consume) tos.visited!.push(name!);
      return { value: dict[name!], container: dict, key: name! };
    }
    const list = tos.obj as unknown[];
    const at = tos.next;
    if (consume) {
      tos.next++;
      tos.index++;
    }
    return at < list.length ? { value: list[at], container: list, key: at } : null;
  }

  private get(name: string | null): { value: unknown; container: object | null; key: string | number } {
    const got = this.tryGet(name, true);
    if (!got) throw new VisitError(QERR_MISSING_PARAMETER(this.fullName(name)));
    return got;
  }

  private push(name: string | null, obj: Record<string, unknown> | unknown[]): void {
    const isDict = !Array.isArray(obj);
    this.stack.push({ name, obj, isDict, visited: isDict ? [] : undefined, next: 0, index: -1 });
  }

  visitStruct(name: string | null, members: QapiMembers): void {
    const { value } = this.get(name);
    if (!isDict(value)) throw new VisitError(QERR_INVALID_PARAMETER_TYPE(this.fullName(name), 'object'));
    this.push(name, value);
    for (const [spec, type] of Object.entries(members)) {
      const optional = spec.startsWith('*');
      const member = optional ? spec.slice(1) : spec;
      if (optional && !this.tryGet(member, false)) continue;
      this.visit(member, type);
    }
    const { obj, visited } = this.stack[this.stack.length - 1]!;
    // QEMU fills the table in the dict's own iteration order.
    const names = qdictOrder(obj);
    const extra = names.length > visited!.length ? this.unvisitedOrder(names, visited!)[0] : undefined;
    if (extra !== undefined) throw new VisitError(`Parameter '${this.fullName(extra)}' is unexpected`);
    this.stack.pop();
  }

  visit(name: string | null, type: QapiType): void {
    if (Array.isArray(type)) return this.visitList(name, type[0]!);
    if (typeof type === 'object') {
      if (ENUM_VALUES in type) return this.visitEnum(name, (type as QapiEnum)[ENUM_VALUES]);
      return this.visitStruct(name, type as QapiMembers);
    }
    const { value, container, key } = this.get(name);
    const bad = (expected: string): VisitError => new VisitError(QERR_INVALID_PARAMETER_TYPE(this.fullName(name), expected));
    switch (type) {
      case 'str':
        if (typeof value !== 'string') throw bad('string');
        return;
      case 'int':
        if (!isInt64(value, container, key)) throw bad('integer');
        return;
      case 'uint64':
        if (!isInt64(value, container, key) && !(typeof value === 'bigint' && value >= 0n && value <= UINT64_MAX)) {
          throw new VisitError(QERR_INVALID_PARAMETER_VALUE(this.fullName(name), 'uint64'));
        }
        return;
      case 'bool':
        if (typeof value !== 'boolean') throw bad('boolean');
        return;
      case 'number':
        if (typeof value !== 'number' && typeof value !== 'bigint') throw bad('number');
        return;
      case 'null':
        if (value !== null) throw bad('null');
        return;
      case 'any':
        return;
      default:
        throw new Error(`unknown QAPI type ${String(type)}`);
    }
  }

  private visitList(name: string | null, element: QapiType): void {
    const { value } = this.get(name);
    if (!Array.isArray(value)) throw new VisitError(QERR_INVALID_PARAMETER_TYPE(this.fullName(name), 'array'));
    this.push(name, value);
    for (let i = 0; i < value.length; i++) this.visit(null, element);
    this.stack.pop();
  }

  private visitEnum(name: string | null, values: readonly string[]): void {
    const { value } = this.get(name);
    if (typeof value !== 'string') throw new VisitError(QERR_INVALID_PARAMETER_TYPE(this.fullName(name), 'string'));
    // QEMU names the member here, not its full path (qapi-visit-core.c input_type_enum()).
    if (!values.includes(value)) throw new VisitError(`Parameter '${name ?? 'null'}' does not accept value '${value}'`);
  }
}

function isEmpty(obj: Record<string, unknown>): boolean {
  for (const k in obj) if (Object.prototype.hasOwnProperty.call(obj, k) && obj[k] !== undefined) return false;
  return true;
}

function isInt64(value: unknown, container: object | null, key: string | number): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value) && !(container && isJsonFloat(container, key));
  return typeof value === 'bigint' && value >= INT64_MIN && value <= INT64_MAX;
}

/**
 * Check command arguments like a QEMU marshaller: returns the error desc of
 * the first problem, or null when `args` matches `members` exactly.
 */
export function checkArguments(args: Record<string, unknown>, members: QapiMembers = {}, unvisitedOrder: UnvisitedOrder = memberOrder): string | null {
  if (isEmpty(args)) {
    // Fast path for the common argument-less call: only a required member can fail.
    for (const spec of Object.keys(members)) if (!spec.startsWith('*')) return QERR_MISSING_PARAMETER(spec);
    return null;
  }
  try {
    new InputVisitor(args, unvisitedOrder).visitStruct(null, members);
    return null;
  } catch (e) {
    if (e instanceof VisitError) return e.desc;
    throw e;
  }
}
