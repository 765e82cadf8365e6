/**
 * Iteration order of a GLib string-keyed GHashTable (glib/ghash.c, GLib 2.74 as in Debian 12).
 *
 * QEMU keeps such tables where the order shows:
 * - an object's QOM properties. The DRC container `/dr-connector` holds one alias property per
 *   DR connector, named by its index in hex; spapr_dt_drc() (hw/ppc/spapr_drc.c) walks that
 *   table, so the order of every `ibm,drc-indexes` array in the device tree, and the order in
 *   which spapr_drc_reset_all() completes pending unplugs, is the table's slot order after every
 *   insertion and removal so far;
 * - the QAPI input visitor's not-yet-visited argument names (qapi/qobject-input-visitor.c): it
 *   reports the *first one in table order* as "Parameter 'x' is unexpected", so with two or more
 *   unknown arguments only this model names the same one as QEMU (see ghashKeyOrder).
 *
 * Keys are hashed as the bytes QEMU holds: UTF-8, with U+0000 as `\xC0\x80` (QEMU's JSON parser
 * stores modified UTF-8) and lone surrogates as U+FFFD.
 *
 * Facts used (GLib 2.74): g_str_hash is djb2 over *signed* chars; hash values 0 and 1 mark empty
 * and deleted slots, so real hashes below 2 become 2; a table of 2^shift slots hashes with
 * `(hash * 11) % prime` (the largest prime below 2^shift) and probes quadratically; it grows when
 * occupied slots (tombstones included) reach size - size/16, shrinks below a quarter full, and
 * then rehashes in place into 2^shift slots with shift = bits(nnodes * 1.333) (at least 3).
 */

const MIN_SHIFT = 3;
const UNUSED_HASH = 0;
const TOMBSTONE_HASH = 1;
const FIRST_REAL_HASH = 2;
/** g_hash_table_hash_to_index multiplies by a small prime before the modulo. */
const HASH_TO_INDEX_PRIME = 11;
/** g_hash_table_resize sizes the new table for nnodes * 1.333. */
const RESIZE_FACTOR = 1.333;
/** g_hash_table_maybe_resize: shrink when more than 4x too large. */
const SHRINK_RATIO = 4;
/** ... and grow when tombstones plus nodes leave less than size/16 free. */
const GROW_SLACK_DIVISOR = 16;
/** djb2's seed and multiplier (g_str_hash). */
const DJB2_SEED = 5381;
const DJB2_MULTIPLIER = 33;
/** Largest prime below 2^shift, for every shift (glib/ghash.c prime_mod). */
const PRIME_MOD = [
  1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287, 1048573,
  2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647,
];

const encoder = new TextEncoder();

/** The bytes QEMU holds for a string: UTF-8 with U+0000 as C0 80 (modified UTF-8). */
function qemuBytes(key: string): Uint8Array {
  const utf8 = encoder.encode(key);
  if (!utf8.includes(0)) return utf8;
  const out: number[] = [];
  for (const b of utf8) out.push(...(b === 0 ? [0xc0, 0x80] : [b]));
  return Uint8Array.from(out);
}

/** g_str_hash: djb2 over the key's bytes (a string as QEMU holds it) taken as signed char. */
export function gStrHash(key: string | Uint8Array): number {
  let h = DJB2_SEED;
  for (const b of typeof key === 'string' ? qemuBytes(key) : key) h = (Math.imul(h, DJB2_MULTIPLIER) + (b << 24 >> 24)) >>> 0;
  return h;
}

/** A GHashTable of string keys, reduced to what decides its iteration order. */
export class GHashOrder {
  private shift = MIN_SHIFT;
  private hashes: number[] = new Array<number>(1 << MIN_SHIFT).fill(UNUSED_HASH);
  private keys: Array<string | undefined> = new Array<string | undefined>(1 << MIN_SHIFT).fill(undefined);
  private nnodes = 0;
  private noccupied = 0;

  get size(): number {
    return 1 << this.shift;
  }

  get count(): number {
    return this.nnodes;
  }

  has(key: string): boolean {
    const i = this.lookup(key, this.realHash(key));
    return this.keys[i] === key;
  }

  /** g_hash_table_insert of a new key (an existing key keeps its slot). */
  insert(key: string): void {
    const hash = this.realHash(key);
    const i = this.lookup(key, hash);
    const old = this.hashes[i]!;
    if (old >= FIRST_REAL_HASH) return;
    this.hashes[i] = hash;
    this.keys[i] = key;
    this.nnodes++;
    if (old === UNUSED_HASH) {
      this.noccupied++;
      this.maybeResize();
    }
  }

  /** g_hash_table_remove: the slot becomes a tombstone. */
  remove(key: string): void {
    const i = this.lookup(key, this.realHash(key));
    if (this.hashes[i]! < FIRST_REAL_HASH) return;
    this.hashes[i] = TOMBSTONE_HASH;
    this.keys[i] = undefined;
    this.nnodes--;
    this.maybeResize();
  }

  /** Keys in g_hash_table_iter order (slot order). */
  keysInOrder(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.size; i++) if (this.hashes[i]! >= FIRST_REAL_HASH) out.push(this.keys[i]!);
    return out;
  }

  private realHash(key: string): number {
    const h = gStrHash(key);
    return h < FIRST_REAL_HASH ? FIRST_REAL_HASH : h;
  }

  private toIndex(hash: number): number {
    return (Math.imul(hash, HASH_TO_INDEX_PRIME) >>> 0) % PRIME_MOD[this.shift]!;
  }

  /** g_hash_table_lookup_node: the key's slot, or the first tombstone / empty slot on its path. */
  private lookup(key: string, hash: number): number {
    const mask = this.size - 1;
    let i = this.toIndex(hash);
    let step = 0;
    let firstTombstone = -1;
    while (this.hashes[i] !== UNUSED_HASH) {
      if (this.hashes[i] === hash && this.keys[i] === key) return i;
      if (this.hashes[i] === TOMBSTONE_HASH && firstTombstone < 0) firstTombstone = i;
      step++;
      i = (i + step) & mask;
    }
    return firstTombstone >= 0 ? firstTombstone : i;
  }

  private maybeResize(): void {
    const size = this.size;
    const tooBig = size > this.nnodes * SHRINK_RATIO && size > 1 << MIN_SHIFT;
    const tooFull = size <= this.noccupied + Math.floor(this.noccupied / GROW_SLACK_DIVISOR);
    if (tooBig || tooFull) this.resize();
  }

  /** g_hash_table_resize: an in-place rehash whose evictions decide the new layout. */
  private resize(): void {
    const oldSize = this.size;
    let n = Math.trunc(this.nnodes * RESIZE_FACTOR);
    let shift = 0;
    for (; n; shift++) n >>= 1;
    this.shift = Math.max(shift, MIN_SHIFT);
    const size = this.size;
    const span = Math.max(oldSize, size);
    for (let i = oldSize; i < span; i++) {
      this.hashes[i] = UNUSED_HASH;
      this.keys[i] = undefined;
    }
    const placed = new Uint8Array(span);
    const mask = size - 1;
    for (let i = 0; i < oldSize; i++) {
      let hash = this.hashes[i]!;
      if (hash < FIRST_REAL_HASH) {
        this.hashes[i] = UNUSED_HASH;
        continue;
      }
      if (placed[i]) continue;
      let key = this.keys[i];
      this.hashes[i] = UNUSED_HASH;
      this.keys[i] = undefined;
      for (;;) {
        let j = this.toIndex(hash);
        let step = 0;
        while (placed[j]) {
          step++;
          j = (j + step) & mask;
        }
        placed[j] = 1;
        const evictedHash = this.hashes[j]!;
        const evictedKey = this.keys[j];
        this.hashes[j] = hash;
        this.keys[j] = key;
        if (evictedHash < FIRST_REAL_HASH) break;
        hash = evictedHash;
        key = evictedKey;
      }
    }
    this.hashes.length = size;
    this.keys.length = size;
    this.noccupied = this.nnodes;
  }
}

/**
 * The keys of a table into which `inserted` were inserted and from which `removed` were then
 * removed, both in the order given, in g_hash_table_iter order.
 */
export function ghashKeyOrder(inserted: readonly string[], removed: readonly string[]): string[] {
  const table = new GHashOrder();
  for (const k of inserted) table.insert(k);
  for (const k of removed) table.remove(k);
  return table.keysInOrder();
}
