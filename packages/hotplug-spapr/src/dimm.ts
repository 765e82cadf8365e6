/**
 * Memory hotplug on pseries (hw/ppc/spapr.c spapr_memory_pre_plug/_plug/_unplug_request,
 * spapr_lmb_release, spapr_memory_unplug_rollback; hw/mem/pc-dimm.c): `pc-dimm` devices backed
 * by `memory-backend-ram` objects, one logical LMB DRC per 256 MiB of hot-pluggable memory.
 */
import { Device, QObject, QemuError, linkProp, uint32Prop, uint64Prop, int32Prop, type HotplugHandler, type Machine, type PluginCommand, type TypeDef } from '@plugboard/qdev';
import * as K from './constants.js';
import type { DrcBackend, SpaprDrc } from './drc.js';
import { FdtNode, cells, u64s } from './fdt.js';
import type { Spapr } from './spapr.js';

export const TYPE_PC_DIMM = 'pc-dimm';
export const TYPE_MEMORY_BACKEND_RAM = 'memory-backend-ram';
const MiB = 1024 * 1024;
/** ibm,associativity of a memory node: reference-point count, then the domains (node id last). */
const ASSOCIATIVITY_DOMAINS = 4;

/** A `-object memory-backend-ram,id=,size=` (an object, not a device). */
export class MemoryBackend extends QObject {
  mappedBy: Device | undefined;
  constructor(readonly size: number) {
    super(TYPE_MEMORY_BACKEND_RAM);
    this.defineProperty({ name: 'size', type: 'uint64', get: () => this.size });
  }
}

/** object-add memory-backend-ram: /objects/ID. */
export function addMemoryBackend(machine: Machine, id: string, size: number): MemoryBackend {
  const objects = machine.qomRoot.childObjects.get('objects')!;
  if (objects.childObjects.has(id)) throw new QemuError(`attempt to add duplicate property '${id}' to object (type 'container')`);
  const b = new MemoryBackend(size);
  objects.addChild(id, b);
  return b;
}

function backendOf(machine: Machine, ref: string | null): MemoryBackend | undefined {
  if (!ref) return undefined;
  const objects = machine.qomRoot.childObjects.get('objects')!;
  const id = ref.startsWith('/objects/') ? ref.slice('/objects/'.length) : ref;
  const o = objects.childObjects.get(id);
  return o instanceof MemoryBackend ? o : undefined;
}

export class SpaprMemory implements HotplugHandler {
  /** Pending DIMM removals: LMBs still to be released (SpaprDimmState). */
  private readonly pending = new Map<Device, number>();
  readonly deviceMemoryBase: number;
  readonly deviceMemorySize: number;

  constructor(
    private readonly spapr: Spapr,
    readonly ramSlots: number,
  ) {
    this.deviceMemoryBase = Math.ceil(spapr.ramSize / K.SPAPR_DEVICE_MEM_ALIGN) * K.SPAPR_DEVICE_MEM_ALIGN;
    this.deviceMemorySize = spapr.maxRamSize - spapr.ramSize;
  }

  /**
   * spapr_create_lmb_dr_connectors, then spapr_create_nvdimm_dr_connectors (pseries supports
   * NVDIMMs: one PMEM connector per memory slot, whether or not NVDIMMs are ever plugged).
   */
  createDrcs(): void {
    const n = Math.floor(this.deviceMemorySize / K.SPAPR_MEMORY_BLOCK_SIZE);
    for (let i = 0; i < n; i++) {
      this.spapr.newDrc(this.spapr.machine, K.TYPE_SPAPR_DRC_LMB, (this.deviceMemoryBase + i * K.SPAPR_MEMORY_BLOCK_SIZE) / K.SPAPR_MEMORY_BLOCK_SIZE, this.drcBackend());
    }
    const pmem: DrcBackend = {
      release: (dev) => dev.destroy(),
      dtPopulate: () => {
        throw new Error('NVDIMMs are not modelled');
      },
    };
    for (let i = 0; i < this.ramSlots; i++) this.spapr.newDrc(this.spapr.machine, K.TYPE_SPAPR_DRC_PMEM, i, pmem);
  }

  dimms(): Device[] {
    return [...this.spapr.machine.peripheral.childObjects.values(), ...this.spapr.machine.peripheralAnon.childObjects.values()]
      .filter((o): o is Device => o instanceof Device && o.type.isA(TYPE_PC_DIMM) && o.realized);
  }

  pluggedSize(): number {
    return this.dimms().reduce((n, d) => n + d.prop<number>('size'), 0);
  }

  private lmbDrcs(dimm: Device): SpaprDrc[] {
    const first = dimm.prop<number>('addr') / K.SPAPR_MEMORY_BLOCK_SIZE;
    const n = dimm.prop<number>('size') / K.SPAPR_MEMORY_BLOCK_SIZE;
    return Array.from({ length: n }, (_, i) => this.spapr.container.byId(K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_LMB, first + i)!);
  }

  private drcBackend(): DrcBackend {
    return {
      // spapr_lmb_release: the DIMM goes with its last LMB.
      release: (dev) => {
        const left = (this.pending.get(dev) ?? 1) - 1;
        if (left > 0) return void this.pending.set(dev, left);
        this.unplug(dev);
        dev.destroy();
      },
      // spapr_lmb_dt_populate: a memory@ADDR node for the LMB.
      dtPopulate: (drc) => this.dtMemoryNode(new FdtNode(''), drc.dev!.prop<number>('node'), drc.drcId * K.SPAPR_MEMORY_BLOCK_SIZE, K.SPAPR_MEMORY_BLOCK_SIZE),
      unplugRollback: (dev) => this.rollback(dev),
    };
  }

  /** spapr_dt_memory_node. */
  dtMemoryNode(parent: FdtNode, node: number, start: number, size: number): FdtNode {
    const n = parent.addSubnode(`memory@${start.toString(16)}`);
    n.setpropString('device_type', 'memory');
    n.setprop('reg', u64s(BigInt(start), BigInt(size)));
    n.setprop('ibm,associativity', cells(ASSOCIATIVITY_DOMAINS, ...new Array(ASSOCIATIVITY_DOMAINS - 1).fill(0), node));
    return n;
  }

  /** spapr_memory_unplug_rollback: the guest kept the memory. */
  private rollback(dev: Device): void {
    if (!this.pending.delete(dev)) return;
    for (const drc of this.lmbDrcs(dev)) drc.unplugRequested = false;
    const path = dev.realizedPath ?? dev.canonicalPath();
    this.spapr.machine.events.emit('MEM_UNPLUG_ERROR', { device: dev.id ?? '', msg: `Memory hotunplug rejected by the guest for device ${dev.id}` });
    this.spapr.machine.events.emit('DEVICE_UNPLUG_GUEST_ERROR', dev.id !== undefined ? { device: dev.id, path } : { path });
  }

  // ---- HotplugHandler -------------------------------------------------------------------

  prePlug(dimm: Device): void {
    const backend = backendOf(this.spapr.machine, dimm.prop<string | null>('memdev'));
    if (!backend) throw new QemuError("'memdev' property must be set");
    if (backend.size % K.SPAPR_MEMORY_BLOCK_SIZE) throw new QemuError(`Hotplugged memory size must be a multiple of ${K.SPAPR_MEMORY_BLOCK_SIZE / MiB} MB`);
    if (backend.mappedBy) throw new QemuError(`can't use already busy memdev: ${dimm.prop<string>('memdev').replace('/objects/', '')}`);
    if (!this.ramSlots) throw new QemuError("no slots where allocated, please specify the 'slots' option");
    const used = this.dimms();
    let slot = dimm.prop<number>('slot');
    if (slot < 0) {
      slot = 0;
      while (used.some((d) => d.prop<number>('slot') === slot)) slot++;
      if (slot >= this.ramSlots) throw new QemuError('no free slots');
    }
    let addr = this.deviceMemoryBase;
    for (const d of [...used].sort((a, b) => a.prop<number>('addr') - b.prop<number>('addr'))) {
      if (addr + backend.size <= d.prop<number>('addr')) break;
      addr = Math.max(addr, d.prop<number>('addr') + d.prop<number>('size'));
    }
    if (addr + backend.size > this.deviceMemoryBase + this.deviceMemorySize) throw new QemuError('could not find position in guest address space for memory device');
    const def = (n: string) => dimm.type.property(n)!;
    dimm.setProp(def('slot'), slot);
    dimm.setProp(def('addr'), addr);
    dimm.setProp(def('size'), backend.size);
    dimm.setProp(def('memdev'), backend.canonicalPath());
    backend.mappedBy = dimm;
  }

  plug(dimm: Device): void {
    const drcs = this.lmbDrcs(dimm);
    for (const drc of drcs) {
      drc.attach(dimm);
      if (!dimm.hotplugged) drc.resetState();
    }
    if (!dimm.hotplugged) return;
    const first = drcs[0]!;
    if (this.spapr.cas.ov5.has(K.OV5_HP_EVT)) {
      this.spapr.hotplugByCount(K.RTAS_LOG_V6_HP_TYPE_MEMORY, K.RTAS_LOG_V6_HP_ACTION_ADD, { kind: K.RTAS_LOG_V6_HP_ID_DRC_COUNT_INDEXED, count: drcs.length, index: first.index });
    } else {
      this.spapr.hotplugByCount(K.RTAS_LOG_V6_HP_TYPE_MEMORY, K.RTAS_LOG_V6_HP_ACTION_ADD, { kind: K.RTAS_LOG_V6_HP_ID_DRC_COUNT, count: drcs.length });
    }
  }

  unplugRequest(dimm: Device): void {
    if (this.pending.has(dimm)) throw new QemuError(`Memory unplug already in progress for device ${dimm.id}`);
    const drcs = this.lmbDrcs(dimm);
    this.pending.set(dimm, drcs.length);
    const first = drcs[0]!;
    for (const drc of drcs) if (drc.dev === dimm) drc.unplugRequest();
    // Removal is always by indexed count in 7.2 (no pre-6.0 compatibility on pseries-7.2).
    this.spapr.hotplugByCount(K.RTAS_LOG_V6_HP_TYPE_MEMORY, K.RTAS_LOG_V6_HP_ACTION_REMOVE, { kind: K.RTAS_LOG_V6_HP_ID_DRC_COUNT_INDEXED, count: drcs.length, index: first.index });
  }

  unplug(dimm: Device): void {
    this.pending.delete(dimm);
    const backend = backendOf(this.spapr.machine, dimm.prop<string | null>('memdev'));
    if (backend?.mappedBy === dimm) backend.mappedBy = undefined;
  }
}

export const dimmTypes: TypeDef[] = [
  {
    name: TYPE_PC_DIMM, parent: 'device', category: 'misc', description: 'DIMM memory module',
    properties: [
      { name: 'addr', kind: uint64Prop, default: 0 },
      { name: 'node', kind: uint32Prop, default: 0 },
      { name: 'slot', kind: int32Prop, default: -1 },
      { name: 'memdev', kind: linkProp('memory-backend'), default: null },
      { name: 'size', kind: uint64Prop, readOnly: true },
    ],
    classData: { propertyListOrder: ['memdev', 'node', 'addr', 'slot', 'size'] },
  },
];

/** QMP commands for the backends and memory devices (qapi/qom.json, qapi/machine.json). */
export const memoryQmpCommands: PluginCommand[] = [
  {
    name: 'object-add', allowExtraArgs: true, args: { 'qom-type': 'str', id: 'str' },
    handler(a, { machine }) {
      if (a['qom-type'] !== TYPE_MEMORY_BACKEND_RAM) throw new QemuError(`invalid object type: ${String(a['qom-type'])}`);
      addMemoryBackend(machine, a.id as string, Number(a.size ?? 0));
      return {};
    },
  },
  {
    name: 'object-del', args: { id: 'str' },
    handler(a, { machine }) {
      const objects = machine.qomRoot.childObjects.get('objects')!;
      const b = objects.childObjects.get(a.id as string);
      if (!b) throw new QemuError(`object '${String(a.id)}' not found`);
      if (b instanceof MemoryBackend && b.mappedBy) throw new QemuError(`object '${String(a.id)}' is in use, can not be deleted`);
      objects.removeChild(a.id as string);
      return {};
    },
  },
  {
    name: 'query-memory-devices',
    handler(_a, { machine }) {
      const dimms = [...machine.peripheral.childObjects.values(), ...machine.peripheralAnon.childObjects.values()]
        .filter((o): o is Device => o instanceof Device && o.type.isA(TYPE_PC_DIMM) && o.realized)
        .sort((x, y) => x.prop<number>('addr') - y.prop<number>('addr'));
      return dimms.map((d) => ({
        type: 'dimm',
        data: {
          ...(d.id !== undefined ? { id: d.id } : {}),
          addr: d.prop<number>('addr'), size: d.prop<number>('size'), slot: d.prop<number>('slot'), node: d.prop<number>('node'),
          memdev: d.prop<string>('memdev'), hotplugged: d.hotplugged, hotpluggable: true,
        },
      }));
    },
  },
];
