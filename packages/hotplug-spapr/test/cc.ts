/** Drives ibm,configure-connector the way the kernel and drmgr do, through the guest port. */
import { spaprConstants as K, ld32, st32 } from '../src/index.js';
import type { Board } from './board.js';

export const WA = 0x10000;
const call = (b: Board, args: number[]) => b.gv.rtas(K.RTAS_IBM_CONFIGURE_CONNECTOR, args, 1);

/** Runs configure-connector to the end; returns the responses and the rebuilt nodes. */
export function configure(b: Board, index: number): { codes: number[]; tree: Array<{ node: string; props: Record<string, number[]> }> } {
  const mem = b.spapr.memory;
  st32(mem, WA, 0, index);
  st32(mem, WA, 1, 0);
  const codes: number[] = [];
  const tree: Array<{ node: string; props: Record<string, number[]> }> = [];
  const str = (off: number) => {
    const bytes = mem.read(WA + off, 256);
    return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
  };
  for (let i = 0; i < 1000; i++) {
    const [rc] = call(b, [WA, 0]);
    codes.push(rc!);
    if (rc === K.SPAPR_DR_CC_RESPONSE_NEXT_CHILD) tree.push({ node: str(ld32(mem, WA, 2)), props: {} });
    else if (rc === K.SPAPR_DR_CC_RESPONSE_NEXT_PROPERTY) {
      const len = ld32(mem, WA, 3);
      tree[tree.length - 1]!.props[str(ld32(mem, WA, 2))] = Array.from(mem.read(WA + ld32(mem, WA, 4), len));
    } else if (rc !== K.SPAPR_DR_CC_RESPONSE_PREV_PARENT) break;
  }
  return { codes, tree };
}

