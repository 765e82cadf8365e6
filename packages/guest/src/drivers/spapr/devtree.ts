/**
 * The kernel's view of the device tree (drivers/of: unflatten_device_tree, of_attach_node,
 * of_detach_node): the blob QEMU hands over after CAS, turned into nodes, and nodes added
 * or removed at run time (/proc/ppc64/ofdt add_node / remove_node, dlpar_attach_node).
 */

export class OfNode {
  readonly props = new Map<string, Uint8Array>();
  readonly children: OfNode[] = [];
  parent: OfNode | undefined;

  constructor(readonly name: string) {}

  /** Full path (`/pci@800000020000000/ethernet@4`). */
  get path(): string {
    if (!this.parent) return '/';
    const p = this.parent.path;
    return (p === '/' ? '' : p) + '/' + this.name;
  }

  cell(name: string, i = 0): number | undefined {
    const v = this.props.get(name);
    if (!v || v.length < 4 * (i + 1)) return undefined;
    return new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(4 * i);
  }

  cells(name: string): number[] {
    const v = this.props.get(name);
    if (!v) return [];
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    return Array.from({ length: v.length >> 2 }, (_, i) => dv.getUint32(4 * i));
  }

  strings(name: string): string[] {
    const v = this.props.get(name);
    if (!v) return [];
    return new TextDecoder().decode(v).split('\0').slice(0, -1);
  }

  child(name: string): OfNode | undefined {
    return this.children.find((c) => c.name === name);
  }

  /** of_find_node_by_path below this node. */
  find(path: string): OfNode | undefined {
    let n: OfNode | undefined = this;
    for (const part of path.split('/').filter(Boolean)) n = n?.child(part);
    return n;
  }

  *walk(): Generator<OfNode> {
    yield this;
    for (const c of this.children) yield* c.walk();
  }

  attach(child: OfNode): void {
    child.parent = this;
    this.children.push(child);
  }

  detach(): void {
    const p = this.parent;
    if (!p) return;
    p.children.splice(p.children.indexOf(this), 1);
    this.parent = undefined;
  }
}

const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_END = 9;
const align4 = (n: number): number => (n + 3) & ~3;

/** unflatten_device_tree. */
export function unflatten(blob: Uint8Array): OfNode {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (dv.getUint32(0) !== FDT_MAGIC) throw new Error('bad device-tree magic');
  const offStruct = dv.getUint32(8);
  const offStrings = dv.getUint32(12);
  const cstr = (at: number): [string, number] => {
    const end = blob.indexOf(0, at);
    return [new TextDecoder().decode(blob.subarray(at, end)), end + 1];
  };
  const stack: OfNode[] = [];
  let root: OfNode | undefined;
  for (let off = offStruct; ; ) {
    const tag = dv.getUint32(off);
    off += 4;
    if (tag === FDT_BEGIN_NODE) {
      const [name, end] = cstr(off);
      off = align4(end);
      const n = new OfNode(name);
      if (stack.length) stack[stack.length - 1]!.attach(n);
      else root = n;
      stack.push(n);
    } else if (tag === FDT_PROP) {
      const len = dv.getUint32(off);
      stack[stack.length - 1]!.props.set(cstr(offStrings + dv.getUint32(off + 4))[0], blob.slice(off + 8, off + 8 + len));
      off = align4(off + 8 + len);
    } else if (tag === FDT_END_NODE) stack.pop();
    else if (tag === FDT_END) break;
  }
  return root!;
}

/** A DRC table (ibm,drc-indexes / -names / -types / -power-domains) of one node. */
export interface DrcEntry {
  index: number;
  name: string;
  type: string;
  powerDomain: number;
}

/** Reads the four ibm,drc-* arrays (each starts with its count). */
export function drcTable(node: OfNode): DrcEntry[] {
  const idx = node.cells('ibm,drc-indexes').slice(1);
  const pd = node.cells('ibm,drc-power-domains').slice(1);
  const skipCount = (name: string) => {
    const v = node.props.get(name);
    return v ? new TextDecoder().decode(v.subarray(4)).split('\0').slice(0, -1) : [];
  };
  const names = skipCount('ibm,drc-names');
  const types = skipCount('ibm,drc-types');
  return idx.map((index, i) => ({ index, name: names[i] ?? '', type: types[i] ?? '', powerDomain: (pd[i] ?? 0xffffffff) | 0 }));
}
