// Side information about parsed JSON values that plain JS values cannot carry.
//
// QEMU distinguishes a JSON float from a JSON integer (qobject/qnum.c): `1.0`
// is not accepted where QAPI wants an 'int'. Parsed values stay plain JS, and
// integral floats are remembered here per container member instead.
//
// JS objects list integer-like keys ("0", "1") first, whatever the insertion
// order; QEMU's output order depends on insertion order for keys that share a
// hash bucket, so parsed objects with such keys remember their real order.

const FLOAT_MEMBERS = new WeakMap<object, Set<string | number>>();
const KEY_ORDER = new WeakMap<object, string[]>();

const ARRAY_INDEX_LIMIT = 2 ** 32 - 1;

/** Whether JS will move `key` ahead of other keys (an array index). */
export function isIndexLikeKey(key: string): boolean {
  const c0 = key.charCodeAt(0);
  if (!(c0 >= 0x30 && c0 <= 0x39)) return false;
  if (key.length > 1 && c0 === 0x30) return false;
  for (let i = 1; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return Number(key) < ARRAY_INDEX_LIMIT;
}

/** Records that `container[key]` was written as a JSON float with an integral value. */
export function markFloat(container: object, key: string | number): void {
  let set = FLOAT_MEMBERS.get(container);
  if (!set) FLOAT_MEMBERS.set(container, (set = new Set()));
  set.add(key);
}

/**
 * Whether `container[key]` came from a JSON float token (`1.0`, `2e3`, `-0.0`)
 * rather than an integer token. Only needed for integral values: a number that
 * is not an integer is a float anyway. Works for values parsed by JsonStreamer.
 */
export function isJsonFloat(container: object, key: string | number): boolean {
  const v = (container as Record<string | number, unknown>)[key];
  if (typeof v !== 'number') return false;
  if (!Number.isInteger(v)) return true;
  return FLOAT_MEMBERS.get(container)?.has(key) ?? false;
}

/** Called by the parser for every member it adds, in input order. */
export function noteKeyInsertion(obj: object, key: string): void {
  let order = KEY_ORDER.get(obj);
  if (!order) {
    if (!isIndexLikeKey(key)) return;
    order = Object.keys(obj); // still insertion order: no index-like key so far
    KEY_ORDER.set(obj, order);
  }
  order.push(key);
}

/** Keys of `obj` in insertion order (as far as it can be known). */
export function insertionOrderKeys(obj: object): string[] {
  const own = Object.keys(obj);
  const order = KEY_ORDER.get(obj);
  if (!order) return own;
  // The object may have been changed since parsing: keep what still exists, then the rest.
  const present = new Set(own);
  const result = order.filter((k) => present.delete(k));
  for (const k of present) result.push(k);
  return result;
}
