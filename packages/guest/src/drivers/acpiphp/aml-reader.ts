/**
 * AML byte reader and namespace types for the guest's interpreter (aml.ts): PkgLength,
 * NameSeg and NameString decoding as ACPI 6.4 §20.2 defines them.
 */
export type AmlValue = number | string | Uint8Array | AmlValue[] | undefined;

export interface AmlNode {
  seg: string;
  parent: AmlNode | undefined;
  children: Map<string, AmlNode>;
  kind: 'scope' | 'device' | 'method' | 'name' | 'region' | 'field' | 'mutex' | 'bufferField';
  value?: AmlValue;
  method?: { argc: number; serialized: boolean; code: Uint8Array };
  region?: { space: number; offset: number; length: number };
  field?: { region: AmlNode; bitOffset: number; bitLength: number; access: number; update: number };
  bufferField?: { buffer: Uint8Array; byteOffset: number };
}

/** A Notify the AML raised, delivered after the method (acpi_ev_queue_notify_request). */
export interface AmlNotify {
  node: AmlNode;
  value: number;
}


/** `\_SB_.PCI0.S28_` as ACPICA prints a path (acpi_handle_* messages). */
export function nodePath(n: AmlNode): string {
  const segs: string[] = [];
  for (let x: AmlNode | undefined = n; x?.parent; x = x.parent) segs.unshift(x.seg);
  return `\\${segs.join('.')}`;
}

export class Reader {
  constructor(
    readonly b: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}
  byte(): number {
    if (this.pos >= this.end) throw new Error('AML: unexpected end of code');
    return this.b[this.pos++]!;
  }
  peek(): number {
    return this.b[this.pos]!;
  }
  /** PkgLength: returns the end offset of the package. */
  pkgEnd(): number {
    const start = this.pos;
    const lead = this.byte();
    const n = lead >> 6;
    let len = n === 0 ? lead & 0x3f : lead & 0x0f;
    for (let k = 1; k <= n; k++) len |= this.byte() << (4 + 8 * (k - 1));
    return start + len;
  }
  seg(): string {
    const s = String.fromCharCode(...this.b.subarray(this.pos, this.pos + 4));
    this.pos += 4;
    return s;
  }
  /** NameString -> { root, parents, segs }. */
  nameString(): { root: boolean; up: number; segs: string[] } {
    let root = false;
    let up = 0;
    if (this.peek() === 0x5c) {
      root = true;
      this.pos++;
    }
    while (this.peek() === 0x5e) {
      up++;
      this.pos++;
    }
    const p = this.byte();
    if (p === 0x00) return { root, up, segs: [] };
    if (p === 0x2e) return { root, up, segs: [this.seg(), this.seg()] };
    if (p === 0x2f) {
      const n = this.byte();
      return { root, up, segs: Array.from({ length: n }, () => this.seg()) };
    }
    this.pos--;
    return { root, up, segs: [this.seg()] };
  }
}

export const isLeadNameChar = (c: number) => c === 0x5c || c === 0x5e || c === 0x2e || c === 0x2f || c === 0x5f || (c >= 0x41 && c <= 0x5a);

