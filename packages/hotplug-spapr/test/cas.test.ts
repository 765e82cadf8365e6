import { describe, expect, it } from 'vitest';
import { decodeDtb, ovecBytes, parseOptionVector, readCells, SparseGuestMemory, spaprConstants as K } from '../src/index.js';
import { buildPseries } from './board.js';

const VEC = 0x4000;
const BUF = 0x100000;

/** What prom_init writes: one PVR record, the terminator, six option vectors (OV5 given). */
function writeVector(mem: SparseGuestMemory, ov5Bits: Array<[number, number]>): void {
  const v: number[] = [];
  const be32 = (x: number) => v.push((x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff);
  be32(0xffff0000); be32(0x004e0000); be32(0xfffffffe); be32(0x0f000001);
  v.push(5);
  for (let n = 1; n <= 6; n++) {
    if (n !== 5) v.push(0, 0);
    else {
      const bytes = new Array(23).fill(0);
      for (const [byte, bit] of ov5Bits) bytes[byte] |= 0x80 >> bit;
      v.push(22, ...bytes);
    }
  }
  mem.write(VEC, Uint8Array.from(v));
}

describe('CAS (KVMPPC_H_CAS)', () => {
  it('negotiates the intersection of OV5 and returns the rebuilt tree behind {version 1}', () => {
    const b = buildPseries({ ramSize: 2 ** 30, maxRamSize: 2 ** 31, ramSlots: 2 });
    const mem = b.spapr.memory as SparseGuestMemory;
    writeVector(mem, [[6, 5], [22, 0], [2, 2], [1, 0]]);
    expect(parseOptionVector(mem, VEC + 16, 5)).toEqual(new Set([K.OV5_HP_EVT, K.OV5_DRMEM_V2, K.OV5_DRCONF_MEMORY, K.OV_BIT(1, 0)]));
    expect(b.gv.hcall(K.KVMPPC_H_CAS, [VEC, BUF, 0x100000])).toEqual([K.H_SUCCESS]);
    expect(b.spapr.cas.ov5).toEqual(new Set([K.OV5_HP_EVT, K.OV5_DRMEM_V2, K.OV5_DRCONF_MEMORY]));
    expect(Array.from(mem.read(BUF, 4))).toEqual([0, 0, 0, 1]);
    const tree = decodeDtb(mem.read(BUF + 4, 0x40000));
    expect(Array.from(tree.find('chosen')!.getprop('ibm,architecture-vec-5')!)).toEqual(Array.from(ovecBytes(b.spapr.cas.ov5)));
    const drmem = tree.find('ibm,dynamic-reconfiguration-memory')!;
    // Boot RAM reserved (4 LMBs), then the 4 hot-pluggable LMBs from 0x80000004, unassigned.
    expect(readCells(drmem.getprop('ibm,dynamic-memory-v2')!)).toEqual([2, 4, 0, 0, 0, 0xffffffff, 0xa0, 4, 0, 0x40000000, 0x80000004, 0xffffffff, 0]);
    expect(b.trace.filter((t) => t.op === 'hcall').length).toBe(1);
  });

  it('routes hotplug logs to the dedicated source once HP_EVT is negotiated', () => {
    const b = buildPseries();
    const irqs: number[] = [];
    b.gv.onInterrupt((e) => irqs.push(e.line));
    writeVector(b.spapr.memory as SparseGuestMemory, [[6, 5]]);
    b.gv.hcall(K.KVMPPC_H_CAS, [VEC, BUF, 0x100000]);
    b.add({ driver: 'e1000', id: 'n4', addr: '4' });
    expect(irqs).toEqual([K.SPAPR_IRQ_HOTPLUG]);
  });

  it('without modern hotplug events the machine offers no HP_EVT and has no hot-plug-events node', () => {
    const b = buildPseries({ modernHotplugEvents: false });
    writeVector(b.spapr.memory as SparseGuestMemory, [[6, 5]]);
    b.gv.hcall(K.KVMPPC_H_CAS, [VEC, BUF, 0x100000]);
    expect(b.spapr.cas.ov5.has(K.OV5_HP_EVT)).toBe(false);
    expect(decodeDtb(b.spapr.dumpDtb()).find('event-sources/hot-plug-events')).toBeUndefined();
  });

  it('settles pending hotplug work: hot-added devices become ready, pending unplugs complete, logs go', () => {
    const b = buildPseries({ devices: [{ driver: 'e1000', id: 'c3', addr: '3' }] });
    b.add({ driver: 'e1000', id: 'n4', addr: '4' });
    b.del('c3');
    writeVector(b.spapr.memory as SparseGuestMemory, []);
    b.gv.hcall(K.KVMPPC_H_CAS, [VEC, BUF, 0x100000]);
    expect(b.deleted()).toEqual(['/machine/peripheral/c3']);
    expect(b.spapr.drcByIndex(0x40000020)!.state).toBe(K.SPAPR_DRC_STATE_PHYSICAL_CONFIGURED);
    expect(b.spapr.events.queue.length).toBe(0);
    // A reset forgets CAS.
    b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    expect(b.spapr.cas.ov5.size).toBe(0);
  });

  it('an unknown hypercall is H_PARAMETER', () => {
    expect(buildPseries().gv.hcall(0x1234, [])).toEqual([K.H_PARAMETER]);
  });
});

describe('configure-connector failures', () => {
  it('a fragment that cannot be built is an error (-1); the DRC stays unisolated', () => {
    const b = buildPseries({ ramSlots: 1, maxRamSize: 2 ** 30 });
    const pmem = b.spapr.drcByIndex(0x90000000)!;
    pmem.attach(b.machine.sysbus.children()[0]!);
    b.gv.rtas(K.RTAS_SET_INDICATOR, [9003, pmem.index, 1], 1);
    b.gv.rtas(K.RTAS_SET_INDICATOR, [9001, pmem.index, 1], 1);
    (b.spapr.memory as SparseGuestMemory).write(0x10000, Uint8Array.from([0x90, 0, 0, 0, 0, 0, 0, 0]));
    expect(b.gv.rtas(K.RTAS_IBM_CONFIGURE_CONNECTOR, [0x10000, 0], 1)).toEqual([K.SPAPR_DR_CC_RESPONSE_ERROR]);
    expect(pmem.state).toBe(K.SPAPR_DRC_STATE_LOGICAL_UNISOLATE);
  });
});
