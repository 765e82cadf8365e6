/**
 * CPU cores on pseries (hw/ppc/spapr.c spapr_core_pre_plug/_plug/_unplug_request/_release,
 * hw/ppc/spapr_cpu_core.c, hw/ppc/spapr_rtas.c): one logical CPU DRC per possible core, the
 * `power9_v2.0-spapr-cpu-core` device with its threads, the CPU node a hot-plugged core is
 * described by, and the RTAS calls that start and stop vCPUs.
 */
import { Device, QemuError, boolProp, int32Prop, int64Prop, type HotplugHandler, type Machine, type PluginCommand, type PropKind, type TypeDef, type TypeImpl } from '@plugboard/qdev';
import * as K from './constants.js';
import type { DrcBackend, SpaprDrc } from './drc.js';
import { FdtNode, cells } from './fdt.js';
import { spaprOf } from './registry.js';
import type { RtasContext } from './rtas.js';
import type { Spapr } from './spapr.js';

export const TYPE_CPU_CORE = 'cpu-core';
export const TYPE_SPAPR_CPU_CORE = 'spapr-cpu-core';
export const TYPE_POWER9_SPAPR_CPU_CORE = 'power9_v2.0-spapr-cpu-core';
export const TYPE_POWER9_CPU = 'power9_v2.0-powerpc64-cpu';
/** POWER9 DD2.0 PVR (cpu-version). */
const PVR_POWER9_V2_0 = 0x004e1200;
const CPU_FW_NAME = 'PowerPC,POWER9';
/** 1 GHz TCG core clock and the 512 MHz timebase (spapr.c). */
const CPU_CLOCK_HZ = 1_000_000_000;
const TIMEBASE_HZ = 512_000_000;
const CACHE_SIZE = 0x8000;
const CACHE_LINE = 0x80;
const SLB_SIZE = 0x20;
const DEC_BITS = 0x38;
const HPT_MIN_SHIFT = 18;

/** Static POWER9 properties, as QEMU 7.2's TCG CPU reports them (ibm,pa-features, page sizes). */
const hexBytes = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
const PA_FEATURES = hexBytes('4200f63fc7c080f080000000000000000000800080008000000080008000800080008000c000800080008000800080008000800080008000800080008000800080000000');
const SEGMENT_PAGE_SIZES = hexBytes('0000000c00000000000000010000000c000000000000001000000110000000010000001000000001');
const RADIX_AP_ENCODINGS = hexBytes('0000000ca0000010200000154000001e');
const SEGMENT_SIZES = cells(0x1c, 0x28, 0xffffffff, 0xffffffff);

/** CPUCore's `core-id` / `nr-threads` are plain QOM ints without a default. */
const intProp: PropKind<number> = { ...int64Prop, qomType: 'int' };

/** spapr_hpt_shift_for_ramsize: 1/128th of the RAM rounded up to a power of two, at least 256 KiB. */
export function hptShift(maxRam: number): number {
  let shift = HPT_MIN_SHIFT;
  while (2 ** (shift + 7) < maxRam) shift++;
  return shift;
}

/** A vCPU thread with its interrupt presenters (icp for XICS, xive-tctx for XIVE). */
class PowerPcCpu extends Device {
  vcpuId = 0;
  halted = true;
  protected override onRealize(): void {
    for (const [name, type] of [['icp', 'icp'], ['xive-tctx', 'xive-tctx']] as const) {
      const c = this.machine.newDevice(type);
      this.addChild(name, c);
      c.realize(undefined);
    }
  }
  protected override onUnrealize(): void {
    for (const name of ['icp', 'xive-tctx']) (this.childObjects.get(name) as Device | undefined)?.destroy();
  }
}

export class SpaprCpuCore extends Device {
  readonly threads: PowerPcCpu[] = [];
  constructor(type: TypeImpl, machine: Machine) {
    super(type, machine);
  }
  get coreId(): number {
    return this.prop<number | undefined>('core-id') ?? 0;
  }
  protected override onRealize(): void {
    const cpus = (this as { platform?: SpaprCpus }).platform;
    const n = this.prop<number | undefined>('nr-threads') ?? cpus?.threads ?? 1;
    for (let i = 0; i < n; i++) {
      const t = this.machine.newDevice(TYPE_POWER9_CPU) as PowerPcCpu;
      t.vcpuId = cpus ? cpus.vcpuId(this.coreId + i) : this.coreId + i;
      // All CPUs start halted; the boot CPU is started by the machine (spapr_cpu_reset).
      t.halted = !(this.coreId === 0 && i === 0);
      this.addChild(`thread[${i}]`, t);
      t.realize(undefined);
      this.threads.push(t);
    }
  }
  protected override onUnrealize(): void {
    for (const t of this.threads.splice(0).reverse()) t.destroy();
  }
}

export class SpaprCpus implements HotplugHandler {
  readonly threads: number;
  readonly bootCores: number;
  readonly possibleCores: number;
  readonly slots: Array<SpaprCpuCore | undefined>;

  constructor(
    private readonly spapr: Spapr,
    smp: { cpus?: number; maxCpus?: number; threads?: number },
  ) {
    this.threads = smp.threads ?? 1;
    const cpus = smp.cpus ?? 1;
    this.bootCores = Math.ceil(cpus / this.threads);
    this.possibleCores = Math.floor((smp.maxCpus ?? cpus) / this.threads);
    this.slots = new Array(this.possibleCores).fill(undefined);
  }

  /** spapr_vcpu_id: with vsmt = threads per core under TCG, the cpu index itself. */
  vcpuId(cpuIndex: number): number {
    return cpuIndex;
  }

  maxCpus(): number {
    return this.possibleCores * this.threads;
  }

  createDrcs(): void {
    for (let i = 0; i < this.possibleCores; i++) this.spapr.newDrc(this.spapr.machine, K.TYPE_SPAPR_DRC_CPU, this.vcpuId(i * this.threads), this.drcBackend());
  }

  private drcOf(core: SpaprCpuCore): SpaprDrc | undefined {
    return this.spapr.container.byId(K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_CPU, this.vcpuId(core.coreId));
  }

  private drcBackend(): DrcBackend {
    return {
      release: (dev) => {
        this.unplug(dev);
        dev.destroy();
      },
      dtPopulate: (drc) => {
        const core = drc.dev as SpaprCpuCore;
        const name = `${CPU_FW_NAME}@${core.threads[0]!.vcpuId.toString(16)}`;
        const n = this.dtCpu(new FdtNode(''), core);
        // spapr_core_dt_populate adds "name", which spapr_dt_cpu leaves to SLOF at boot.
        n.setpropString('name', name);
        return n;
      },
    };
  }

  /** spapr_dt_cpu: a core's node (all its threads as interrupt servers). */
  dtCpu(parent: FdtNode, core: SpaprCpuCore): FdtNode {
    const first = core.threads[0]!.vcpuId;
    const n = parent.addSubnode(`${CPU_FW_NAME}@${first.toString(16)}`);
    const drc = this.drcOf(core);
    if (drc) n.setpropCell('ibm,my-drc-index', drc.index);
    n.setpropCell('reg', first);
    n.setpropString('device_type', 'cpu');
    n.setpropCell('cpu-version', PVR_POWER9_V2_0);
    for (const p of ['d-cache-block-size', 'd-cache-line-size', 'i-cache-block-size', 'i-cache-line-size']) n.setpropCell(p, CACHE_LINE);
    n.setpropCell('d-cache-size', CACHE_SIZE);
    n.setpropCell('i-cache-size', CACHE_SIZE);
    n.setpropCell('timebase-frequency', TIMEBASE_HZ);
    n.setpropCell('clock-frequency', CPU_CLOCK_HZ);
    n.setpropCell('slb-size', SLB_SIZE);
    n.setpropCell('ibm,slb-size', SLB_SIZE);
    n.setpropString('status', 'okay');
    n.setpropEmpty('64-bit');
    n.setpropCell('ibm,purr', 1);
    n.setpropCell('ibm,spurr', 1);
    n.setprop('ibm,processor-segment-sizes', SEGMENT_SIZES);
    n.setpropCell('ibm,vmx', 2);
    n.setpropCell('ibm,dfp', 1);
    n.setprop('ibm,segment-page-sizes', SEGMENT_PAGE_SIZES);
    n.setprop('ibm,pa-features', PA_FEATURES);
    n.setpropCell('ibm,chip-id', 0);
    // HPT resizing is on by default: the table follows the RAM present now (boot RAM + DIMMs).
    n.setpropCells('ibm,pft-size', [0, hptShift(this.spapr.ramSize + this.spapr.mem.pluggedSize())]);
    const servers = core.threads.map((t) => t.vcpuId);
    n.setpropCells('ibm,ppc-interrupt-server#s', servers);
    n.setpropCells('ibm,ppc-interrupt-gserver#s', servers.flatMap((s) => [s, 0]));
    n.setprop('ibm,processor-radix-AP-encodings', RADIX_AP_ENCODINGS);
    n.setpropCell('ibm,dec-bits', DEC_BITS);
    return n;
  }

  cores(): SpaprCpuCore[] {
    return this.slots.filter((c): c is SpaprCpuCore => !!c);
  }

  // ---- HotplugHandler ---------------------------------------------------------------------

  prePlug(d: Device): void {
    const core = d as SpaprCpuCore;
    (core as { platform?: SpaprCpus }).platform = this;
    if (core.typeName !== TYPE_POWER9_SPAPR_CPU_CORE) throw new QemuError(`CPU core type should be ${TYPE_POWER9_SPAPR_CPU_CORE}`);
    if (core.coreId % this.threads) throw new QemuError(`invalid core id ${core.coreId}`);
    const nr = core.prop<number | undefined>('nr-threads') ?? this.threads;
    if (nr !== this.threads) throw new QemuError(`invalid nr-threads ${nr}, must be ${this.threads}`);
    const index = Math.floor(core.coreId / this.threads);
    if (core.coreId < 0 || index >= this.possibleCores) throw new QemuError(`core id ${core.coreId} out of range`);
    if (this.slots[index]) throw new QemuError(`core ${core.coreId} already populated`);
  }

  plug(d: Device): void {
    const core = d as SpaprCpuCore;
    const drc = this.drcOf(core);
    if (drc) {
      drc.attach(core);
      if (core.hotplugged) this.spapr.hotplugAddByIndex(drc);
      else drc.resetState();
    }
    this.slots[Math.floor(core.coreId / this.threads)] = core;
  }

  unplugRequest(d: Device): void {
    const core = d as SpaprCpuCore;
    const index = Math.floor(core.coreId / this.threads);
    if (index < 0 || index >= this.possibleCores) throw new QemuError(`Unable to find CPU core with core-id: ${core.coreId}`);
    if (index === 0) throw new QemuError('Boot CPU core may not be unplugged');
    const drc = this.drcOf(core)!;
    if (!drc.unplugRequested) drc.unplugRequest();
    // Left outside the check on purpose: a refused removal can be asked for again.
    this.spapr.hotplugRemoveByIndex(drc);
  }

  unplug(d: Device): void {
    const core = d as SpaprCpuCore;
    const index = Math.floor(core.coreId / this.threads);
    if (this.slots[index] === core) this.slots[index] = undefined;
  }

  // ---- RTAS ---------------------------------------------------------------------------------

  private thread(id: number): PowerPcCpu | undefined {
    for (const c of this.cores()) for (const t of c.threads) if (t.vcpuId === id) return t;
    return undefined;
  }

  /** query-cpu-stopped-state(id) -> status, 0 stopped / 2 running. */
  rtasQueryStoppedState(args: readonly number[], nret: number): number[] {
    if (args.length !== 1 || nret !== 2) return [K.RTAS_OUT_PARAM_ERROR];
    const t = this.thread(args[0]!);
    if (!t) return [K.RTAS_OUT_PARAM_ERROR];
    return [K.RTAS_OUT_SUCCESS, t.halted ? K.QCSS_STOPPED : K.QCSS_RUNNING];
  }

  /** start-cpu(id, entry, r3): only a halted vCPU can be started. */
  rtasStartCpu(args: readonly number[], nret: number): number[] {
    if (args.length !== 3 || nret !== 1) return [K.RTAS_OUT_PARAM_ERROR];
    const t = this.thread(args[0]!);
    if (!t) return [K.RTAS_OUT_PARAM_ERROR];
    if (!t.halted) return [K.RTAS_OUT_HW_ERROR];
    t.halted = false;
    return [K.RTAS_OUT_SUCCESS];
  }

  /** stop-self: the calling vCPU halts; nothing is returned. */
  rtasStopSelf(_args: readonly number[], _nret: number, ctx: RtasContext): number[] {
    const t = ctx.cpu === undefined ? undefined : this.thread(ctx.cpu);
    if (t) t.halted = true;
    return [];
  }
}

export const cpuTypes: TypeDef[] = [
  { name: TYPE_CPU_CORE, parent: 'device', abstract: true, category: 'cpu' },
  {
    name: TYPE_SPAPR_CPU_CORE, parent: TYPE_CPU_CORE, abstract: true, instantiate: (t, m) => new SpaprCpuCore(t, m),
    properties: [
      { name: 'core-id', kind: intProp },
      { name: 'nr-threads', kind: intProp },
      { name: 'node-id', kind: int32Prop, default: -1 },
      { name: 'pre-3.0-migration', kind: boolProp, default: false },
    ],
  },
  { name: TYPE_POWER9_SPAPR_CPU_CORE, parent: TYPE_SPAPR_CPU_CORE, classData: { propertyListOrder: ['nr-threads', 'core-id', 'pre-3.0-migration', 'node-id'] } },
  { name: 'powerpc64-cpu', parent: 'device', abstract: true, userCreatable: false, hotpluggable: false },
  { name: TYPE_POWER9_CPU, parent: 'powerpc64-cpu', instantiate: (t, m) => new PowerPcCpu(t, m) },
  { name: 'icp', parent: 'device', userCreatable: false, hotpluggable: false },
  { name: 'xive-tctx', parent: 'device', userCreatable: false, hotpluggable: false },
];


/** query-hotpluggable-cpus (hw/core/machine-qmp-cmds.c): every possible core, last first. */
export const cpuQmpCommands: PluginCommand[] = [
  {
    name: 'query-hotpluggable-cpus',
    handler(_a, { machine }) {
      const cpus = spaprOf(machine)?.cpus;
      if (!cpus) throw new QemuError('machine does not support hot-plugging CPUs');
      const out = [];
      for (let i = cpus.possibleCores - 1; i >= 0; i--) {
        const core = cpus.slots[i];
        out.push({
          type: TYPE_POWER9_SPAPR_CPU_CORE,
          'vcpus-count': cpus.threads,
          props: { 'node-id': 0, 'core-id': i * cpus.threads },
          ...(core ? { 'qom-path': core.canonicalPath() } : {}),
        });
      }
      return out;
    },
  },
];
