// Iteration order of a GLib string-keyed GHashTable (glib/ghash.c, GLib 2.74
// as in Debian 12). QEMU's QAPI input visitor keeps the not-yet-visited
// argument names in such a table and reports the *first one in table order*
// as "Parameter 'x' is unexpected" (qapi/qobject-input-visitor.c). With two
// or more unknown arguments, only this emulation names the same one as QEMU.

const MIN_SHIFT = 3;
const UNUSED = 0;
const TOMBSTONE = 1;
const FIRST_REAL_HASH = 2;
/** g_hash_table_hash_to_index() multiplies by a small prime before the modulo. */
const INDEX_MULTIPLIER = 11;
/** Target load when resizing (g_hash_table_resize: nnodes * 1.333). */
const RESIZE_LOAD = 1.333;
const SHRINK_FACTOR = 4;
const TOMBSTONE_SLACK_DIVISOR = 16;
/** The largest prime below 2^shift, for each shift. */
const PRIME_MOD = [
  1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287, 1048573,
  2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647,
];
const DJB_SEED = 5381;
const SIGNED_CHAR_WRAP = 256;
const SIGNED_CHAR_MAX = 127;

/** g_str_hash(): djb2 over *signed* chars of the (UTF-8) key. */
export function gStrHash(bytes: Uint8Array): number {
  let h = DJB_SEED;
  for (const b of bytes) {
    const sc = b > SIGNED_CHAR_MAX ? b - SIGNED_CHAR_WRAP : b;
    h = (Math.imul(h, 33) + sc) >>> 0;
  }
  return h;
}

/** Minimal model of a GHashTable<string, _>: insert, remove, first key in iteration order. */
export class GHashTableModel {
  private size = 0;
  private mod = 0;
  private mask = 0;
  private nnodes = 0;
  private noccupied = 0;
  private hashes: number[] = [];
  private keys: (string | undefined)[] = [];

  constructor(private readonly bytesOf: (key: string) => Uint8Array) {
    this.setShift(MIN_SHIFT);
    this.hashes = new Array<number>(this.size).fill(UNUSED);
    this.keys = new Array<string | undefined>(this.size).fill(undefined);
  }

  private setShift(shift: number): void {
    this.size = 1 << shift;
    this.mod = PRIME_MOD[shift]!;
    this.mask = this.size - 1;
  }

  private hashOf(key: string): number {
    const h = gStrHash(this.bytesOf(key));
    return h < FIRST_REAL_HASH ? FIRST_REAL_HASH : h;
  }

  private toIndex(hash: number): number {
    return (Math.imul(hash, INDEX_MULTIPLIER) >>> 0) % this.mod;
  }

  /** Index holding `key`, or where it would go (first tombstone on the probe path, else the empty slot). */
  private lookup(key: string, hash: number, forInsert: boolean): number {
    let i = this.toIndex(hash);
    let step = 0;
    let tombstone = -1;
    while (this.hashes[i] !== UNUSED) {
      if (this.hashes[i] === hash && this.keys[i] === key) return i;
      if (forInsert && this.hashes[i] === TOMBSTONE && tombstone < 0) tombstone = i;
      step++;
      i = (i + step) & this.mask;
    }
    return forInsert && tombstone >= 0 ? tombstone : i;
  }

  insert(key: string): void {
    const hash = this.hashOf(key);
    const i = this.lookup(key, hash, true);
    const old = this.hashes[i]!;
    if (old >= FIRST_REAL_HASH) return; // already present
    this.hashes[i] = hash;
    this.keys[i] = key;
    this.nnodes++;
    if (old === UNUSED) {
      this.noccupied++;
      this.maybeResize();
    }
  }

  remove(key: string): void {
    const hash = this.hashOf(key);
    const i = this.lookup(key, hash, false);
    if (this.hashes[i]! < FIRST_REAL_HASH) return;
    this.hashes[i] = TOMBSTONE;
    this.keys[i] = undefined;
    this.nnodes--;
    this.maybeResize();
  }

  /** Keys in g_hash_table_iter order. */
  keysInOrder(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.size; i++) if (this.hashes[i]! >= FIRST_REAL_HASH) out.push(this.keys[i]!);
    return out;
  }

  private maybeResize(): void {
    const occ = this.noccupied;
    if ((this.size > this.nnodes * SHRINK_FACTOR && this.size > 1 << MIN_SHIFT) || this.size <= occ + Math.floor(occ / TOMBSTONE_SLACK_DIVISOR)) {
      this.resize();
    }
  }

  private static closestShift(n: number): number {
    let i = 0;
    for (; n; i++) n >>= 1;
    return Math.max(i, MIN_SHIFT);
  }

  /** In-place rehash exactly as GLib does it (the placement order decides the final layout). */
  private resize(): void {
    const oldSize = this.size;
    this.setShift(GHashTableModel.closestShift(Math.trunc(this.nnodes * RESIZE_LOAD)));
    const span = Math.max(oldSize, this.size);
    for (let i = oldSize; i < span; i++) {
      this.hashes[i] = UNUSED;
      this.keys[i] = undefined;
    }
    const placed = new Uint8Array(span);
    for (let i = 0; i < oldSize; i++) {
      let nodeHash = this.hashes[i]!;
      if (nodeHash < FIRST_REAL_HASH) {
        this.hashes[i] = UNUSED;
        continue;
      }
      if (placed[i]) continue;
      this.hashes[i] = UNUSED;
      let key = this.keys[i];
      this.keys[i] = undefined;
      for (;;) {
        let j = this.toIndex(nodeHash);
        let step = 0;
        while (placed[j]) {
          step++;
          j = (j + step) & this.mask;
        }
        placed[j] = 1;
        const replaced = this.hashes[j]!;
        const replacedKey = this.keys[j];
        this.hashes[j] = nodeHash;
        this.keys[j] = key;
        if (replaced < FIRST_REAL_HASH) break;
        nodeHash = replaced; // evicted entry moves on
        key = replacedKey;
      }
    }
    this.hashes.length = this.size;
    this.keys.length = this.size;
    this.noccupied = this.nnodes;
  }
}
