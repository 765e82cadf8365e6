/**
 * The pseries device tree (hw/ppc/spapr.c spapr_build_fdt and the spapr_dt_* helpers it calls,
 * hw/ppc/spapr_events.c spapr_dt_events, hw/intc/xics_spapr.c): nodes are added in QEMU's
 * order with libfdt's insertion rules (see fdt.ts), so the DTB reads like QEMU 7.2's for
 * `-M pseries` with the same devices. At reset this is the tree `-machine dumpdtb` writes;
 * after CAS it carries the negotiated option vector 5 and the dynamic-memory node.
 */
import * as K from './constants.js';
import { FdtNode, cells, concat, strings, u64s } from './fdt.js';
import { dtDrcArrays } from './fdt-pci.js';
import type { Spapr } from './spapr.js';

const HYPERTAS_FUNCTIONS = [
  'hcall-pft', 'hcall-term', 'hcall-dabr', 'hcall-interrupt', 'hcall-tce', 'hcall-vio', 'hcall-splpar', 'hcall-join', 'hcall-bulk',
  'hcall-set-mode', 'hcall-sprg0', 'hcall-copy', 'hcall-debug', 'hcall-vphn', 'hcall-multi-tce', 'hcall-hpt-resize', 'hcall-watchdog',
];
/** spapr_dt_ov5_platform_support for a TCG POWER9: (byte, value) pairs. */
const OV5_PLATFORM_SUPPORT = Uint8Array.from([0x17, 0x80, 0x18, 0xc0, 0x19, 0x00, 0x1a, 0x40]);
/** spapr_dt_rtas: RTAS_MIN_SIZE + RTAS_ERROR_LOG_MAX + 8, then 16 bytes per possible vCPU. */
const RTAS_SIZE_BASE = 0x81c;
const RTAS_SIZE_PER_CPU = 16;
/** spapr-nvram on the VIO bus: its reg, XICS source and size (-nodefaults still has it). */
const NVRAM_REG = 0x71000000;
const NVRAM_IRQ = 0x1100;
const NVRAM_SIZE = 0x10000;
const GRAPHIC_WIDTH = 800;
const GRAPHIC_HEIGHT = 600;
const GRAPHIC_DEPTH = 32;
const RNG_SEED_BYTES = 32;
/** The associativity of a single-node guest (FORM1, 4 reference points). */
const MAX_ASSOC_DOMAINS = [4, 0, 0, 0, 1];
const ASSOC_REFERENCE_POINTS = [4, 4, 2];
/** ibm,dynamic-memory-v2 flags (spapr.h). */
const SPAPR_LMB_FLAGS_ASSIGNED = 0x8;
const SPAPR_LMB_FLAGS_DRC_INVALID = 0x20;
const SPAPR_LMB_FLAGS_RESERVED = 0x80;
const ASSOC_INDEX_NONE = 0xffffffff;

/** spapr_ovec_populate_dt: the bitmap as bytes after a (length - 1) byte, at least one byte. */
export function ovecBytes(bits: ReadonlySet<number>): Uint8Array {
  const last = Math.max(-1, ...bits);
  const len = last < 0 ? 1 : Math.floor(last / 8) + 1;
  const out = new Uint8Array(len + 1);
  out[0] = len - 1;
  for (const b of bits) out[1 + Math.floor(b / 8)]! |= 0x80 >> (b % 8);
  return out;
}

export function buildPseriesFdt(spapr: Spapr): FdtNode {
  const root = new FdtNode('');
  root.setpropString('device_type', 'chrp');
  root.setpropString('model', 'IBM pSeries (emulated by qemu)');
  root.setpropString('compatible', 'qemu,pseries');
  root.setpropString('vm,uuid', spapr.options.uuid ?? '00000000-0000-0000-0000-000000000000');
  root.setpropCell('#address-cells', 2);
  root.setpropCell('#size-cells', 2);
  dtInterruptController(spapr, root);
  dtMemory(spapr, root);
  dtVdevice(root);
  // spapr->phbs is a head-inserted list: the newest PHB is added first and ends up last.
  for (const phb of [...spapr.phbs].reverse()) phb.dtNode(spapr, root);
  dtCpus(spapr, root);
  dtEvents(spapr, root);
  dtRtas(spapr, root);
  dtChosen(spapr, root);
  if (spapr.cas.ov5.has(K.OV5_DRCONF_MEMORY)) dtDynamicMemory(spapr, root);
  const pm = root.addSubnode('ibm,persistent-memory');
  pm.setpropCell('#address-cells', 1);
  pm.setpropCell('#size-cells', 0);
  pm.setpropString('device_type', 'ibm,persistent-memory');
  dtDrcArrays(spapr.container, root, undefined, K.SPAPR_DR_CONNECTOR_TYPE_LMB | K.SPAPR_DR_CONNECTOR_TYPE_PHB | K.SPAPR_DR_CONNECTOR_TYPE_PMEM);
  return root;
}

/** XICS presenter node (ic-mode dual shows XICS until CAS picks an interrupt mode). */
function dtInterruptController(spapr: Spapr, root: FdtNode): void {
  const n = root.addSubnode('interrupt-controller');
  n.setpropString('device_type', 'PowerPC-External-Interrupt-Presentation');
  n.setpropString('compatible', 'IBM,ppc-xicp');
  n.setpropEmpty('interrupt-controller');
  n.setpropCells('ibm,interrupt-server-ranges', [0, spapr.cpus.maxCpus()]);
  n.setpropCell('#interrupt-cells', 2);
  n.setpropCell('linux,phandle', K.PHANDLE_INTC);
  n.setpropCell('phandle', K.PHANDLE_INTC);
}

/** spapr_dt_memory: boot RAM as memory@0 (one NUMA node). */
function dtMemory(spapr: Spapr, root: FdtNode): void {
  spapr.mem.dtMemoryNode(root, 0, 0, spapr.ramSize);
}

/** spapr_dt_vdevice with the board's spapr-nvram. */
function dtVdevice(root: FdtNode): void {
  const v = root.addSubnode('vdevice');
  v.setpropString('device_type', 'vdevice');
  v.setpropString('compatible', 'IBM,vdevice');
  v.setpropCell('#address-cells', 1);
  v.setpropCell('#size-cells', 0);
  v.setpropCell('#interrupt-cells', 2);
  v.setpropEmpty('interrupt-controller');
  const nv = v.addSubnode(`nvram@${NVRAM_REG.toString(16)}`);
  nv.setpropCell('reg', NVRAM_REG);
  nv.setpropString('device_type', 'nvram');
  nv.setpropString('compatible', 'qemu,spapr-nvram');
  nv.setpropCells('interrupts', [NVRAM_IRQ, 0]);
  nv.setpropCell('#bytes', NVRAM_SIZE);
}

/** spapr_dt_cpus: cores in reverse so they read in order, then the CPU DRC arrays. */
function dtCpus(spapr: Spapr, root: FdtNode): void {
  const n = root.addSubnode('cpus');
  n.setpropCell('#address-cells', 1);
  n.setpropCell('#size-cells', 0);
  for (const core of [...spapr.cpus.cores()].reverse()) spapr.cpus.dtCpu(n, core);
  dtDrcArrays(spapr.container, n, undefined, K.SPAPR_DR_CONNECTOR_TYPE_CPU);
}

/** spapr_dt_events: EPOW then hot-plug source, each <irq, edge>, and the range list. */
function dtEvents(spapr: Spapr, root: FdtNode): void {
  const n = root.addSubnode('event-sources');
  n.setpropEmpty('interrupt-controller');
  n.setpropCell('#interrupt-cells', 2);
  const ranges: number[] = [];
  const sources: Array<[string, number]> = [['epow-events', K.SPAPR_IRQ_EPOW]];
  if (spapr.events.useHotplugEventSource) sources.push(['hot-plug-events', K.SPAPR_IRQ_HOTPLUG]);
  for (const [name, irq] of sources) {
    n.addSubnode(name).setpropCells('interrupts', [irq, 0]);
    ranges.push(irq, 1);
  }
  n.setpropCells('interrupt-ranges', ranges);
}

/** spapr_dt_rtas: properties, then one token per RTAS call. */
function dtRtas(spapr: Spapr, root: FdtNode): void {
  const n = root.addSubnode('rtas');
  n.setprop('ibm,hypertas-functions', strings(...HYPERTAS_FUNCTIONS));
  n.setpropString('qemu,hypertas-functions', 'hcall-memop1');
  n.setpropCells('ibm,associativity-reference-points', ASSOC_REFERENCE_POINTS);
  n.setpropCells('ibm,max-associativity-domains', MAX_ASSOC_DOMAINS);
  n.setpropCell('rtas-size', RTAS_SIZE_BASE + spapr.cpus.maxCpus() * RTAS_SIZE_PER_CPU);
  n.setpropCell('rtas-error-log-max', K.RTAS_ERROR_LOG_MAX);
  n.setpropCell('rtas-event-scan-rate', K.RTAS_EVENT_SCAN_RATE);
  n.setpropEmpty('ibm,change-msix-capable');
  n.setpropEmpty('ibm,extended-os-term');
  const maxDeviceAddr = spapr.mem.deviceMemorySize ? spapr.mem.deviceMemoryBase + spapr.mem.deviceMemorySize : 0;
  n.setprop('ibm,lrdr-capacity', concat(u64s(BigInt(maxDeviceAddr), BigInt(K.SPAPR_MEMORY_BLOCK_SIZE)), cells(spapr.cpus.maxCpus())));
  K.RTAS_CALL_NAMES.forEach((name, i) => n.setpropCell(name, K.RTAS_TOKEN_BASE + i));
}

/** spapr_dt_chosen (no kernel, no console with -nodefaults) plus the OV5 properties. */
function dtChosen(spapr: Spapr, root: FdtNode): void {
  const n = root.addSubnode('chosen');
  n.setpropCell('qemu,graphic-width', GRAPHIC_WIDTH);
  n.setpropCell('qemu,graphic-height', GRAPHIC_HEIGHT);
  n.setpropCell('qemu,graphic-depth', GRAPHIC_DEPTH);
  n.setpropCell('linux,pci-probe-only', 0);
  n.setprop('ibm,arch-vec-5-platform-support', OV5_PLATFORM_SUPPORT);
  n.setprop('rng-seed', spapr.options.rngSeed?.() ?? globalThis.crypto.getRandomValues(new Uint8Array(RNG_SEED_BYTES)));
  n.setprop('ibm,architecture-vec-5', ovecBytes(spapr.cas.ov5));
}

/**
 * spapr_dt_dynamic_reconfiguration_memory with ibm,dynamic-memory-v2 (post-CAS only): the boot
 * RAM as reserved LMBs, then runs of hot-pluggable LMBs, assigned where a DIMM sits.
 * Not compared with QEMU (a post-CAS tree cannot be dumped); layout per spapr.c.
 */
function dtDynamicMemory(spapr: Spapr, root: FdtNode): void {
  const m = spapr.mem;
  if (!m.deviceMemorySize) return;
  const n = root.addSubnode('ibm,dynamic-reconfiguration-memory');
  n.setprop('ibm,lmb-size', u64s(BigInt(K.SPAPR_MEMORY_BLOCK_SIZE)));
  n.setpropCell('ibm,memory-flags-mask', 0xff);
  n.setpropCell('ibm,memory-preservation-time', 0);
  const entry = (count: number, base: number, drcIndex: number, aa: number, flags: number) => concat(cells(count), u64s(BigInt(base)), cells(drcIndex, aa, flags));
  const entries: Uint8Array[] = [entry(m.deviceMemoryBase / K.SPAPR_MEMORY_BLOCK_SIZE, 0, 0, ASSOC_INDEX_NONE, SPAPR_LMB_FLAGS_RESERVED | SPAPR_LMB_FLAGS_DRC_INVALID)];
  const lmbs = m.deviceMemorySize / K.SPAPR_MEMORY_BLOCK_SIZE;
  let run: { start: number; count: number; assigned: boolean } | undefined;
  const flush = () => {
    if (!run) return;
    const addr = m.deviceMemoryBase + run.start * K.SPAPR_MEMORY_BLOCK_SIZE;
    const drc = spapr.container.byId(K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_LMB, addr / K.SPAPR_MEMORY_BLOCK_SIZE);
    entries.push(entry(run.count, addr, drc?.index ?? 0, run.assigned ? 0 : ASSOC_INDEX_NONE, run.assigned ? SPAPR_LMB_FLAGS_ASSIGNED : 0));
  };
  for (let i = 0; i < lmbs; i++) {
    const drc = spapr.container.byId(K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_LMB, (m.deviceMemoryBase / K.SPAPR_MEMORY_BLOCK_SIZE) + i);
    const assigned = !!drc?.dev && drc.state === K.SPAPR_DRC_STATE_LOGICAL_CONFIGURED;
    if (run && run.assigned === assigned) run.count++;
    else {
      flush();
      run = { start: i, count: 1, assigned };
    }
  }
  flush();
  n.setprop('ibm,dynamic-memory-v2', concat(cells(entries.length), ...entries));
  n.setprop('ibm,associativity-lookup-arrays', cells(1, 4, 0, 0, 0, 0));
}
