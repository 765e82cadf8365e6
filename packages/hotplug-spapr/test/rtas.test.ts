import { describe, expect, it } from 'vitest';
import { spaprConstants as K, FdtNode, ld32, st32, decodeDtb, readCell, type RtasCallName } from '../src/index.js';
import { buildPseries, type Board } from './board.js';
import { WA, configure } from './cc.js';

const call = (b: Board, name: RtasCallName, args: number[], nret: number) => b.gv.rtas(K.rtasToken(name), args, nret);
const BUF = 0x20000;

describe('set-indicator', () => {
  const b = buildPseries({ devices: [{ driver: 'e1000', id: 'c3', addr: '3' }], smp: { cpus: 1, maxCpus: 2 } });
  const pci = 0x40000018;
  it('checks the argument counts', () => {
    expect(call(b, 'set-indicator', [9001, pci], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'set-indicator', [9001, pci, 0], 2)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
  });
  it('unknown indicator type, unknown index, bad values', () => {
    expect(call(b, 'set-indicator', [9004, pci, 0], 1)).toEqual([K.RTAS_OUT_NOT_SUPPORTED]);
    for (const t of [9001, 9002, 9003]) expect(call(b, 'set-indicator', [t, 0x4000ffff, 0], 1)).toEqual([K.RTAS_OUT_NO_SUCH_INDICATOR]);
    expect(call(b, 'set-indicator', [9001, pci, 2], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'set-indicator', [9002, pci, 4], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'set-indicator', [9003, 0x10000000, 2], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
  });
  it('dr-indicator only on physical DRCs, allocation-state only on logical ones', () => {
    expect(call(b, 'set-indicator', [9002, pci, K.SPAPR_DR_INDICATOR_IDENTIFY], 1)).toEqual([0]);
    expect(b.spapr.drcByIndex(pci)!.drIndicator).toBe(K.SPAPR_DR_INDICATOR_IDENTIFY);
    expect(call(b, 'set-indicator', [9002, 0x10000000, 1], 1)).toEqual([K.RTAS_OUT_NO_SUCH_INDICATOR]);
    expect(call(b, 'set-indicator', [9003, pci, 1], 1)).toEqual([K.RTAS_OUT_NO_SUCH_INDICATOR]);
  });
  it('the DR indicator is re-derived from presence at reset', () => {
    b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    expect(b.spapr.drcByIndex(pci)!.drIndicator).toBe(K.SPAPR_DR_INDICATOR_ACTIVE);
    expect(b.spapr.drcByIndex(0x40000020)!.drIndicator).toBe(K.SPAPR_DR_INDICATOR_INACTIVE);
  });
});

describe('get-sensor-state', () => {
  const b = buildPseries({ devices: [{ driver: 'e1000', id: 'c3', addr: '3' }], smp: { cpus: 1, maxCpus: 2 } });
  it('only dr-entity-sense, with exact counts and a known index', () => {
    expect(call(b, 'get-sensor-state', [9003, 0x40000018], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR, 0]);
    expect(call(b, 'get-sensor-state', [9003], 2)).toEqual([K.RTAS_OUT_PARAM_ERROR, 0]);
    expect(call(b, 'get-sensor-state', [K.RTAS_SENSOR_TYPE_EPOW, 0], 2)).toEqual([K.RTAS_OUT_NOT_SUPPORTED, 0]);
    expect(call(b, 'get-sensor-state', [9003, 0x4000ffff], 2)).toEqual([K.RTAS_OUT_PARAM_ERROR, 0]);
  });
  it('physical: present / empty; logical: present unless unusable', () => {
    expect(call(b, 'get-sensor-state', [9003, 0x40000018], 2)).toEqual([0, K.SPAPR_DR_ENTITY_SENSE_PRESENT]);
    expect(call(b, 'get-sensor-state', [9003, 0x40000020], 2)).toEqual([0, K.SPAPR_DR_ENTITY_SENSE_EMPTY]);
    expect(call(b, 'get-sensor-state', [9003, 0x10000000], 2)).toEqual([0, K.SPAPR_DR_ENTITY_SENSE_PRESENT]);
    expect(call(b, 'get-sensor-state', [9003, 0x10000001], 2)).toEqual([0, K.SPAPR_DR_ENTITY_SENSE_UNUSABLE]);
  });
});

describe('set-power-level / get-power-level', () => {
  const b = buildPseries();
  it('only the live-insertion domain (-1), always at 100', () => {
    expect(call(b, 'set-power-level', [0xffffffff, 0], 2)).toEqual([0, 100]);
    expect(call(b, 'set-power-level', [0xffffffff, 100], 2)).toEqual([0, 100]);
    expect(call(b, 'set-power-level', [0, 100], 2)).toEqual([K.RTAS_OUT_NOT_SUPPORTED]);
    expect(call(b, 'set-power-level', [0xffffffff], 2)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'get-power-level', [0xffffffff], 2)).toEqual([0, 100]);
    expect(call(b, 'get-power-level', [3], 2)).toEqual([K.RTAS_OUT_NOT_SUPPORTED]);
    expect(call(b, 'get-power-level', [0xffffffff], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
  });
  it('an unknown or unimplemented token stores -3', () => {
    expect(b.gv.rtas(0x1234, [], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'ibm,os-term', [0], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
  });
});

describe('ibm,configure-connector', () => {
  it('checks counts, the index and the isolation state', () => {
    const b = buildPseries();
    b.add({ driver: 'e1000', id: 'n4', addr: '4' });
    expect(call(b, 'ibm,configure-connector', [WA], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    st32(b.spapr.memory, WA, 0, 0x4000ffff);
    expect(call(b, 'ibm,configure-connector', [WA, 0], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    st32(b.spapr.memory, WA, 0, 0x40000020);
    expect(call(b, 'ibm,configure-connector', [WA, 0], 1)).toEqual([K.SPAPR_DR_CC_RESPONSE_NOT_CONFIGURABLE]);
  });

  it('hands out the node QEMU would put in the tree, then makes the DRC ready', () => {
    const b = buildPseries();
    b.add({ driver: 'e1000', id: 'n4', addr: '4' });
    expect(call(b, 'set-indicator', [9001, 0x40000020, 1], 1)).toEqual([0]);
    expect(b.spapr.drcByIndex(0x40000020)!.state).toBe(K.SPAPR_DRC_STATE_PHYSICAL_UNISOLATE);
    const { codes, tree } = configure(b, 0x40000020);
    expect(codes[0]).toBe(K.SPAPR_DR_CC_RESPONSE_NEXT_CHILD);
    expect(codes.at(-1)).toBe(K.SPAPR_DR_CC_RESPONSE_SUCCESS);
    expect(tree.map((n) => n.node)).toEqual(['ethernet@4']);
    expect(Object.keys(tree[0]!.props)).toEqual([
      'max-latency', 'min-grant', 'reg', 'ibm,my-drc-index', 'ibm,loc-code', 'devsel-speed', 'cache-line-size',
      'subsystem-vendor-id', 'subsystem-id', 'interrupts', 'class-code', 'revision-id', 'device-id', 'vendor-id',
    ]);
    expect(tree[0]!.props['ibm,my-drc-index']).toEqual([0x40, 0, 0, 0x20]);
    expect(b.spapr.drcByIndex(0x40000020)!.state).toBe(K.SPAPR_DRC_STATE_PHYSICAL_CONFIGURED);
    // The cursor is rewound: the guest may replay the whole sequence.
    expect(configure(b, 0x40000020).codes).toEqual(codes);
    // The fragment is now visible through QOM (qom-get fdt).
    expect(Object.keys(b.spapr.drcByIndex(0x40000020)!.getProperty('fdt') as object)).toContain('vendor-id');
  });

  it('walks into a bridge (prev-parent) and equals the node in the dumped tree', () => {
    const b = buildPseries({ devices: [{ driver: 'pci-bridge', id: 'br1', chassis_nr: 3, addr: '4' }, { driver: 'e1000', id: 'nb', bus: 'br1', addr: '2' }] });
    const { codes, tree } = configure(b, 0x40000020);
    expect(codes.filter((c) => c === K.SPAPR_DR_CC_RESPONSE_PREV_PARENT).length).toBe(1);
    expect(tree.map((n) => n.node)).toEqual(['pci@4', 'ethernet@2']);
    const dumped = decodeDtb(b.spapr.dumpDtb()).find('pci@800000020000000/pci@4')!;
    expect(readCell(dumped.getprop('ibm,my-drc-index')!)).toBe(0x40000020);
    expect(Object.keys(tree[0]!.props)).toEqual(dumped.props.map((p) => p.name));
  });

  it('cuts data at the end of the 4 KiB work area', () => {
    const b = buildPseries();
    // A connector whose fragment has a property longer than the work area.
    const big = new FdtNode('');
    big.addSubnode('big@0').setprop('blob', new Uint8Array(5000).fill(0xab));
    const drc = b.spapr.newDrc(b.machine, 'spapr-drc-pmem', 7, { release: () => {}, dtPopulate: () => big.children[0]! });
    drc.attach(b.machine.sysbus.children()[0]!);
    expect(call(b, 'set-indicator', [9003, drc.index, 1], 1)).toEqual([0]);
    expect(call(b, 'set-indicator', [9001, drc.index, 1], 1)).toEqual([0]);
    b.spapr.memory.write(WA + K.CC_WA_LEN, new Uint8Array([0xee]));
    const { tree } = configure(b, drc.index);
    expect(tree[0]!.props.blob!.length).toBe(5000);
    const dataOffset = ld32(b.spapr.memory, WA, 4);
    expect(b.spapr.memory.read(WA + K.CC_WA_LEN - 1, 2)).toEqual(new Uint8Array([0xab, 0xee]));
    expect(dataOffset).toBe(K.CC_VAL_DATA_OFFSET + 'blob'.length + 1);
  });
});

describe('check-exception and event-scan', () => {
  it('check-exception: counts, no event, then the hotplug log with its header and sections', () => {
    const b = buildPseries();
    const irqs: number[] = [];
    b.gv.onInterrupt((e) => irqs.push(e.line));
    expect(call(b, 'check-exception', [0x500, 0x1000, 0x40000000, 0, BUF], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'check-exception', [0x500, 0x1000, 0x40000000, 0, BUF, 2048], 2)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'check-exception', [0x500, 0x1000, 0x40000000, 0, BUF, 2048], 1)).toEqual([K.RTAS_OUT_NO_ERRORS_FOUND]);
    b.add({ driver: 'e1000', id: 'n4', addr: '4' });
    b.add({ driver: 'e1000', id: 'n5', addr: '5' });
    // No CAS yet: hotplug logs go to the EPOW source.
    expect(irqs).toEqual([K.SPAPR_IRQ_EPOW, K.SPAPR_IRQ_EPOW]);
    expect(call(b, 'check-exception', [0x500, 0x1001, 0x10000000, 0, BUF, 2048], 1)).toEqual([K.RTAS_OUT_NO_ERRORS_FOUND]);
    expect(call(b, 'check-exception', [0x500, 0x1000, 0x40000000, 0, BUF, 2048], 1)).toEqual([0]);
    const m = b.spapr.memory;
    expect(ld32(m, BUF, 0)).toBe(0x063460e5);
    expect(ld32(m, BUF, 1)).toBe(108);
    const log = m.read(BUF + 8, 108);
    expect([log[0], log[2]]).toEqual([0x86, 0x8e]);
    expect(new TextDecoder().decode(log.subarray(12, 15))).toBe('IBM');
    expect(new TextDecoder().decode(log.subarray(16, 18))).toBe('PH');
    expect(new TextDecoder().decode(log.subarray(64, 66))).toBe('UH');
    expect(new TextDecoder().decode(log.subarray(88, 90))).toBe('HP');
    expect(Array.from(log.subarray(96, 104))).toEqual([K.RTAS_LOG_V6_HP_TYPE_PCI, K.RTAS_LOG_V6_HP_ACTION_ADD, K.RTAS_LOG_V6_HP_ID_DRC_INDEX, 0, 0x40, 0, 0, 0x20]);
    // One more log queued: its source is pulsed again.
    expect(irqs).toEqual([K.SPAPR_IRQ_EPOW, K.SPAPR_IRQ_EPOW, K.SPAPR_IRQ_EPOW]);
    expect(call(b, 'check-exception', [0x500, 0x1000, 0x40000000, 0, BUF, 2048, 0], 1)).toEqual([0]);
    expect(ld32(m, BUF + 8, 25)).toBe(0x40000028);
  });

  it('event-scan never returns a log but re-pulses pending sources', () => {
    const b = buildPseries();
    const irqs: number[] = [];
    b.gv.onInterrupt((e) => irqs.push(e.line));
    expect(call(b, 'event-scan', [0xffffffff, 0, BUF], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'event-scan', [0xffffffff, 0, BUF, 2048], 1)).toEqual([K.RTAS_OUT_NO_ERRORS_FOUND]);
    expect(irqs).toEqual([]);
    b.spapr.powerdownRequest();
    expect(call(b, 'event-scan', [0xffffffff, 0, BUF, 2048], 1)).toEqual([K.RTAS_OUT_NO_ERRORS_FOUND]);
    expect(irqs).toEqual([K.SPAPR_IRQ_EPOW, K.SPAPR_IRQ_EPOW]);
    expect(call(b, 'check-exception', [0x500, 0x1000, 0x40000000, 0, BUF, 2048], 1)).toEqual([0]);
    expect(ld32(b.spapr.memory, BUF, 0)).toBe(0x06340040);
    expect(new TextDecoder().decode(b.spapr.memory.read(BUF + 8 + 88, 2))).toBe('EP');
  });

  it('system_reset drops queued logs', () => {
    const b = buildPseries();
    b.add({ driver: 'e1000', id: 'n4', addr: '4' });
    b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    expect(call(b, 'check-exception', [0x500, 0x1000, 0xffffffff, 0, BUF, 2048], 1)).toEqual([K.RTAS_OUT_NO_ERRORS_FOUND]);
  });
});

describe('ibm,read-pci-config / ibm,write-pci-config', () => {
  const b = buildPseries({ devices: [{ driver: 'e1000', id: 'c3', addr: '3' }] });
  const addr = (devfn: number, reg: number) => (((reg & 0xf00) << 20) | (devfn << 8) | (reg & 0xff)) >>> 0;
  const HI = 0x08000000;
  const LO = 0x20000000;
  it('reads and writes a present function', () => {
    expect(call(b, 'ibm,read-pci-config', [addr(0x18, 0), HI, LO, 4], 2)).toEqual([0, 0x100e8086]);
    expect(call(b, 'ibm,write-pci-config', [addr(0x18, 0x3c), HI, LO, 1, 0x12], 1)).toEqual([0]);
    expect(call(b, 'ibm,read-pci-config', [addr(0x18, 0x3c), HI, LO, 1], 2)).toEqual([0, 0x12]);
  });
  it('hardware error for bad counts, sizes, alignment, BUID or an absent function', () => {
    expect(call(b, 'ibm,read-pci-config', [addr(0x18, 0), HI, LO, 4], 1)).toEqual([K.RTAS_OUT_HW_ERROR]);
    expect(call(b, 'ibm,read-pci-config', [addr(0x18, 0), HI, LO, 3], 2)).toEqual([K.RTAS_OUT_HW_ERROR]);
    expect(call(b, 'ibm,read-pci-config', [addr(0x18, 2), HI, LO, 4], 2)).toEqual([K.RTAS_OUT_HW_ERROR]);
    expect(call(b, 'ibm,read-pci-config', [addr(0x18, 0), HI, LO + 5, 4], 2)).toEqual([K.RTAS_OUT_HW_ERROR]);
    expect(call(b, 'ibm,read-pci-config', [addr(0x20, 0), HI, LO, 4], 2)).toEqual([K.RTAS_OUT_HW_ERROR]);
    expect(call(b, 'ibm,write-pci-config', [addr(0x18, 0), HI, LO, 4], 1)).toEqual([K.RTAS_OUT_HW_ERROR]);
  });
});

describe('CPU RTAS calls', () => {
  it('start-cpu, query-cpu-stopped-state and stop-self', () => {
    const b = buildPseries({ smp: { cpus: 1, maxCpus: 2 } });
    b.add({ driver: 'power9_v2.0-spapr-cpu-core', 'core-id': 1, id: 'core1' } as never);
    expect(call(b, 'query-cpu-stopped-state', [0], 2)).toEqual([0, K.QCSS_RUNNING]);
    expect(call(b, 'query-cpu-stopped-state', [1], 2)).toEqual([0, K.QCSS_STOPPED]);
    expect(call(b, 'query-cpu-stopped-state', [7], 2)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'query-cpu-stopped-state', [1], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'start-cpu', [1, 0x100, 1], 1)).toEqual([0]);
    expect(call(b, 'start-cpu', [1, 0x100, 1], 1)).toEqual([K.RTAS_OUT_HW_ERROR]);
    expect(call(b, 'start-cpu', [7, 0x100, 7], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(call(b, 'start-cpu', [1, 0x100], 1)).toEqual([K.RTAS_OUT_PARAM_ERROR]);
    expect(b.gv.rtas(K.rtasToken('stop-self'), [], 1, { cpu: 1 })).toEqual([]);
    expect(call(b, 'query-cpu-stopped-state', [1], 2)).toEqual([0, K.QCSS_STOPPED]);
  });
});
