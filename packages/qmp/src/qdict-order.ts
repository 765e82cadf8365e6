// Member order of QEMU's JSON output. QEMU builds every reply as a QDict, a
// hash table, and writes members in table order (qobject/qdict.c): buckets in
// ascending order, and within a bucket the most recently inserted first. That
// is why a reply reads {"return": ..., "id": ...} but an error reads
// {"id": ..., "error": ...}. We reproduce the order from the keys alone, so
// callers never have to care: insert members in QAPI schema order (the order
// QEMU's generated code inserts them) and the output matches QEMU's.

import { insertionOrderKeys } from './json-values.js';
import { qemuStringBytes } from './utf8.js';

/** QDICT_BUCKET_MAX in include/qapi/qmp/qdict.h. */
export const QDICT_BUCKETS = 512;
// Constants of the gdbm/tdb-derived string hash used by qdict.c.
const HASH_SEED_PER_BYTE = 0x238f13af;
const HASH_MULTIPLIER = 1103515243;
const HASH_INCREMENT = 12345;
const SHIFT_STEP = 5;
const SHIFT_MODULUS = 24;

/** QDict bucket of a key (the hash runs over the bytes QEMU holds: modified UTF-8). */
export function qdictBucket(key: string): number {
  const bytes = qemuStringBytes(key);
  const len = bytes.length;
  let value = Math.imul(HASH_SEED_PER_BYTE, len) >>> 0;
  for (let i = 0; i < len; i++) {
    value = (value + ((bytes[i]! << ((i * SHIFT_STEP) % SHIFT_MODULUS)) >>> 0)) >>> 0;
  }
  return ((Math.imul(HASH_MULTIPLIER, value) + HASH_INCREMENT) >>> 0) % QDICT_BUCKETS;
}

/** Small cache: replies reuse a handful of member names over and over. */
const bucketCache = new Map<string, number>();
const BUCKET_CACHE_MAX = 8192;
const CACHEABLE_KEY_LENGTH = 64;

function cachedBucket(key: string): number {
  let b = bucketCache.get(key);
  if (b === undefined) {
    b = qdictBucket(key);
    if (key.length <= CACHEABLE_KEY_LENGTH) {
      if (bucketCache.size >= BUCKET_CACHE_MAX) bucketCache.clear();
      bucketCache.set(key, b);
    }
  }
  return b;
}

/**
 * Keys of `obj` in the order QEMU would write them, given that they were
 * inserted in `obj`'s insertion order. Members whose value is `undefined`
 * are left out (an absent optional member).
 */
export function qdictOrder(obj: object): string[] {
  return [...qdictOrderShared(obj)];
}

/**
 * qdictOrder without the copy: the array may be shared with other calls, never change it.
 * Replies repeat a few shapes many times (query-pci: one per device, bus, BAR...) and the order
 * depends on the key list alone, so it is computed once per list, found again by walking a
 * tree of the keys in insertion order (bounded: cleared past ORDER_NODES_MAX nodes).
 */
export function qdictOrderShared(obj: object): readonly string[] {
  const rec = obj as Record<string, unknown>;
  const all = insertionOrderKeys(obj);
  let node = orderRoot;
  for (const k of all) {
    if (rec[k] === undefined) continue;
    let next = node.next.get(k);
    if (!next) {
      if (orderNodes >= ORDER_NODES_MAX) {
        orderRoot = { next: new Map() };
        orderNodes = 0;
        return qdictOrderOfKeys(all.filter((key) => rec[key] !== undefined));
      }
      next = { next: new Map() };
      node.next.set(k, next);
      orderNodes++;
    }
    node = next;
  }
  return (node.order ??= qdictOrderOfKeys(all.filter((key) => rec[key] !== undefined)));
}

interface OrderNode {
  next: Map<string, OrderNode>;
  /** QDict order of the key list that ends here. */
  order?: string[];
}
let orderRoot: OrderNode = { next: new Map() };
let orderNodes = 0;
const ORDER_NODES_MAX = 16384;

/** Same order for QEMU-internal dicts built from a list of keys in insertion order. */
export function qdictOrderOfKeys(keys: readonly string[]): string[] {
  const idx = keys.map((_, i) => i);
  const buckets = keys.map(cachedBucket);
  idx.sort((a, b) => buckets[a]! - buckets[b]! || b - a);
  return idx.map((i) => keys[i]!);
}
