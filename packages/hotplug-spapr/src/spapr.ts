/**
 * The sPAPR platform side of a pseries machine (hw/ppc/spapr.c): the DRC container and the
 * top-level connectors (CPU cores, LMBs, PHBs), the machine hotplug handler (PHBs, CPU cores,
 * DIMMs, and every PCI device through the PHB that owns its root bus), RTAS and hypercalls,
 * the event sources, CAS, machine reset and the device tree.
 *
 * A machine calls attachSpapr() before it creates its boot CPU cores and PHBs (QEMU creates
 * the CPU, LMB and PHB connectors in spapr_machine_init before any of those devices), so that
 * `/dr-connector` fills in QEMU's order.
 */
import { Device, type HotplugHandler, type Machine, type QObject } from '@plugboard/qdev';
import { PCIDevice, type GuestView, type PCIBus } from '@plugboard/pci-core';
import * as K from './constants.js';
import { DrcContainer } from './container.js';
import { SpaprDrc, type DrcBackend } from './drc.js';
import { SpaprEvents, type DrcIdentifier } from './events.js';
import { SparseGuestMemory, type GuestMemory } from './memory.js';
import { SpaprRtas, type RtasContext, type RtasDispatcher } from './rtas.js';
import { rtasConfigureConnector, rtasGetPowerLevel, rtasGetSensorState, rtasSetIndicator, rtasSetPowerLevel } from './rtas-drc.js';
import { rtasReadPciConfig, rtasWritePciConfig } from './rtas-pci.js';
import { SpaprPhb, phbMachineHandler } from './phb.js';
import { removeBusDrcs } from './pci.js';
import { SpaprCpus, TYPE_SPAPR_CPU_CORE } from './cpu.js';
import { SpaprMemory, TYPE_PC_DIMM } from './dimm.js';
import { casHypercall, type CasState } from './cas.js';
import { buildPseriesFdt } from './fdt-pseries.js';
import { encodeDtb, type FdtNode } from './fdt.js';
import { registerSpapr } from './registry.js';

export interface SpaprOptions {
  /** Where interrupts are delivered; can be set later with connectGuestView. */
  guestView?: GuestView;
  /** Guest memory for RTAS buffers (default: a sparse memory owned by the platform). */
  memory?: GuestMemory;
  /** `-m` in bytes (QEMU's pseries default is 512 MiB), `maxmem` and `slots`. */
  ramSize?: number;
  maxRamSize?: number;
  ramSlots?: number;
  /** `-smp cpus,maxcpus,threads`: possible cores = maxCpus / threads. */
  smp?: { cpus?: number; maxCpus?: number; threads?: number };
  /** `modern-hotplug-events` (spapr->use_hotplug_event_source), default on. */
  modernHotplugEvents?: boolean;
  /** `-machine dumpdtb` aside: the 32 bytes of /chosen/rng-seed (default: random). */
  rngSeed?: () => Uint8Array;
  /** The VM's UUID for /vm,uuid (default all zero, as without -uuid). */
  uuid?: string;
}

const DEFAULT_RAM = 512 * 1024 * 1024;

export class Spapr implements RtasDispatcher {
  readonly machine: Machine;
  readonly container = new DrcContainer();
  readonly events: SpaprEvents;
  readonly rtas = new SpaprRtas();
  readonly memory: GuestMemory;
  readonly cpus: SpaprCpus;
  readonly mem: SpaprMemory;
  readonly phbs: SpaprPhb[] = [];
  readonly ramSize: number;
  readonly maxRamSize: number;
  readonly options: SpaprOptions;
  guestView: GuestView | undefined;
  /** What the guest negotiated at CAS (spapr->ov5_cas); cleared at every reset. */
  readonly cas: CasState = { ov5: new Set<number>() };
  /** The tree of the last reset (what `-machine dumpdtb` writes), then the post-CAS one. */
  fdt: FdtNode | undefined;
  private readonly machineHandler: HotplugHandler;

  constructor(machine: Machine, opts: SpaprOptions = {}) {
    this.machine = machine;
    this.options = opts;
    this.guestView = opts.guestView;
    this.memory = opts.memory ?? new SparseGuestMemory();
    this.ramSize = opts.ramSize ?? DEFAULT_RAM;
    this.maxRamSize = Math.max(opts.maxRamSize ?? this.ramSize, this.ramSize);
    this.events = new SpaprEvents(
      {
        pulse: (irq) => this.guestView?.raise({ kind: 'spapr', line: irq }),
        rtcSeconds: () => machine.clock.timestamp().seconds,
        hotplugEventsNegotiated: () => this.cas.ov5.has(K.OV5_HP_EVT),
      },
      opts.modernHotplugEvents ?? true,
    );
    this.cpus = new SpaprCpus(this, opts.smp ?? {});
    this.mem = new SpaprMemory(this, opts.ramSlots ?? 0);
    this.registerRtas();
    const phbHandler = phbMachineHandler(this);
    this.machineHandler = this.routingHandler(phbHandler);
  }

  // ---- wiring -----------------------------------------------------------------------------------

  /** Installs the container, the connectors and the hotplug handlers on the machine. */
  attach(): void {
    registerSpapr(this.machine, this);
    this.machine.qomRoot.addChild(K.DRC_CONTAINER_PATH, this.container);
    const previous = this.machine.machineHotplugHandler;
    this.machine.machineHotplugHandler = (dev) => this.handlerFor(dev) ?? previous?.(dev);
    // spapr_machine_init: the machine handles dynamic sysbus devices (PHBs) on the main bus.
    this.machine.sysbus.setHotplugHandler(this.machineHandler, this.machine);
    // spapr_machine_init creates CPU, LMB, then PHB connectors, before any device.
    this.cpus.createDrcs();
    this.mem.createDrcs();
    for (let i = 0; i < K.SPAPR_MAX_PHBS; i++) this.newDrc(this.machine, K.TYPE_SPAPR_DRC_PHB, i, phbDrcBackend(this));
    this.machine.onReset(() => this.reset());
    // spapr_machine_init registers spapr_powerdown_req as the powerdown notifier.
    this.machine.onPowerdown(() => this.powerdownRequest());
    // error_report lines (a guest refusing an unplug...) go where the host prints QEMU's stderr.
    this.container.onErrorReport = (text) => this.machine.errorReport(text);
  }

  connectGuestView(gv: GuestView): void {
    this.guestView = gv;
  }

  /** spapr_dr_connector_new: a realized DRC, child `dr-connector[INDEX]` of `owner`. */
  newDrc(owner: QObject, type: string, id: number, backend: DrcBackend): SpaprDrc {
    const drc = this.machine.newDevice(type) as SpaprDrc;
    drc.drcId = id;
    drc.ownerObject = owner;
    drc.backend = backend;
    drc.host = this.container;
    owner.addChild(`dr-connector[${drc.index}]`, drc);
    drc.realize(undefined);
    return drc;
  }

  drcByIndex(index: number): SpaprDrc | undefined {
    return this.container.byIndex(index);
  }

  private handlerFor(dev: Device): HotplugHandler | undefined {
    if (dev instanceof PCIDevice) {
      const phb = phbOfBus(dev.parentBus as PCIBus | undefined);
      return phb?.pciHandler;
    }
    if (dev instanceof SpaprPhb || dev.type.isA(TYPE_SPAPR_CPU_CORE) || dev.type.isA(TYPE_PC_DIMM)) return this.machineHandler;
    return undefined;
  }

  /** The machine as hotplug handler (spapr_machine_device_pre_plug & co.): by device kind. */
  private routingHandler(phb: HotplugHandler): HotplugHandler {
    const pick = (dev: Device): HotplugHandler | undefined => {
      if (dev instanceof SpaprPhb) return phb;
      if (dev.type.isA(TYPE_SPAPR_CPU_CORE)) return this.cpus;
      if (dev.type.isA(TYPE_PC_DIMM)) return this.mem;
      return undefined;
    };
    return {
      prePlug: (dev) => pick(dev)?.prePlug?.(dev),
      plug: (dev) => pick(dev)?.plug?.(dev),
      unplugRequest: (dev) => pick(dev)?.unplugRequest?.(dev),
      unplug: (dev) => pick(dev)?.unplug?.(dev),
    };
  }

  // ---- hotplug events (spapr_hotplug_req_*) -------------------------------------------------------

  private hpTypeOf(drc: SpaprDrc): number {
    switch (drc.drcType) {
      case K.SPAPR_DR_CONNECTOR_TYPE_PCI: return K.RTAS_LOG_V6_HP_TYPE_PCI;
      case K.SPAPR_DR_CONNECTOR_TYPE_CPU: return K.RTAS_LOG_V6_HP_TYPE_CPU;
      case K.SPAPR_DR_CONNECTOR_TYPE_LMB: return K.RTAS_LOG_V6_HP_TYPE_MEMORY;
      case K.SPAPR_DR_CONNECTOR_TYPE_PHB: return K.RTAS_LOG_V6_HP_TYPE_PHB;
      default: return K.RTAS_LOG_V6_HP_TYPE_PMEM;
    }
  }

  hotplugAddByIndex(drc: SpaprDrc): void {
    this.events.hotplugRequest(this.hpTypeOf(drc), K.RTAS_LOG_V6_HP_ACTION_ADD, { kind: K.RTAS_LOG_V6_HP_ID_DRC_INDEX, index: drc.index });
  }

  hotplugRemoveByIndex(drc: SpaprDrc): void {
    this.events.hotplugRequest(this.hpTypeOf(drc), K.RTAS_LOG_V6_HP_ACTION_REMOVE, { kind: K.RTAS_LOG_V6_HP_ID_DRC_INDEX, index: drc.index });
  }

  hotplugByCount(hpType: number, action: number, id: DrcIdentifier): void {
    this.events.hotplugRequest(hpType, action, id);
  }

  /** system_powerdown on pseries: the EPOW shutdown log. */
  powerdownRequest(): void {
    this.events.powerdownRequest();
  }

  // ---- RTAS and hypercalls -----------------------------------------------------------------------

  private registerRtas(): void {
    const r = this.rtas;
    r.register('set-indicator', (a, n) => rtasSetIndicator(this.container, a, n));
    r.register('get-sensor-state', (a, n) => rtasGetSensorState(this.container, a, n));
    r.register('ibm,configure-connector', (a, n, m) => rtasConfigureConnector(this.container, a, n, m));
    r.register('set-power-level', (a, n) => rtasSetPowerLevel(a, n));
    r.register('get-power-level', (a, n) => rtasGetPowerLevel(a, n));
    r.register('check-exception', (a, n, m) => this.events.checkException(a, n, m));
    r.register('event-scan', (a, n) => this.events.eventScan(a, n));
    r.register('ibm,read-pci-config', (a, n) => rtasReadPciConfig(this.phbs, a, n));
    r.register('ibm,write-pci-config', (a, n) => rtasWritePciConfig(this.phbs, a, n));
    r.register('power-off', (a, n) => this.rtasPowerOff(a, n));
    r.register('system-reboot', (a, n) => this.rtasSystemReboot(a, n));
    r.register('query-cpu-stopped-state', (a, n) => this.cpus.rtasQueryStoppedState(a, n));
    r.register('start-cpu', (a, n) => this.cpus.rtasStartCpu(a, n));
    r.register('stop-self', (a, n, _m, ctx) => this.cpus.rtasStopSelf(a, n, ctx));
  }

  /**
   * power-off(power_on_time_hi, power_on_time_lo) (spapr_rtas.c rtas_power_off): exactly 2
   * arguments and 1 return, else -3; then a guest shutdown request and the calling vCPU stops.
   * Observed (fixtures/qemu-7.2-ppc/power-off*.json): SHUTDOWN {guest: true, reason:
   * guest-shutdown}, then the process exits, or with -no-shutdown STOP and status "shutdown".
   */
  private rtasPowerOff(args: readonly number[], nret: number): number[] {
    if (args.length !== 2 || nret !== 1) return [K.RTAS_OUT_PARAM_ERROR];
    this.machine.requestShutdown({ guest: true, reason: 'guest-shutdown' });
    return [K.RTAS_OUT_SUCCESS];
  }

  /**
   * system-reboot() (spapr_rtas.c rtas_system_reboot): no argument and exactly 1 return, else -3
   * and nothing happens; then a guest reset request (qemu_system_reset_request,
   * SHUTDOWN_CAUSE_GUEST_RESET). Observed through qtest (fixtures/qemu-7.2-ppc/system-reboot*.json):
   * RESET {guest: true, reason: guest-reset} in prelaunch and running alike, the run state kept,
   * pending unplugs completed by the reset; with -no-reboot SHUTDOWN {guest: true, reason:
   * guest-reset} and the process exits.
   */
  private rtasSystemReboot(args: readonly number[], nret: number): number[] {
    if (args.length !== 0 || nret !== 1) return [K.RTAS_OUT_PARAM_ERROR];
    this.machine.requestReset({ guest: true, reason: 'guest-reset' });
    return [K.RTAS_OUT_SUCCESS];
  }

  rtasCall(token: number, args: readonly number[], nret: number, mem: GuestMemory = this.memory, ctx: RtasContext = {}): number[] {
    return this.rtas.call(token, args, nret, mem, ctx);
  }

  rtasCallName(token: number): string | undefined {
    return this.rtas.nameOf(token);
  }

  hcall(opcode: number, args: readonly number[], mem: GuestMemory = this.memory): number[] {
    if (opcode === K.KVMPPC_H_CAS) return casHypercall(this, args, mem);
    return [K.H_PARAMETER];
  }

  // ---- reset and device tree -------------------------------------------------------------------

  /** The part of spapr_machine_reset after the device resets. */
  reset(): void {
    this.cas.ov5.clear();
    for (const drc of this.container.all()) drc.reset();
    // spapr_drc_reset_all: completing an unplug may destroy connectors, so start over each time.
    restart: for (;;) {
      for (const drc of this.container.all()) if (drc.resetState()) continue restart;
      break;
    }
    this.events.clear();
    this.fdt = this.buildFdt();
  }

  /** spapr_build_fdt for the current state (pre-CAS at reset, post-CAS after H_CAS). */
  buildFdt(): FdtNode {
    return buildPseriesFdt(this);
  }

  /** The DTB `-machine dumpdtb=FILE` writes (the tree built at the first reset). */
  dumpDtb(): Uint8Array {
    return encodeDtb(this.fdt ?? this.buildFdt());
  }
}

/** The PHB owning `bus` (the host of its root bus). */
export function phbOfBus(bus: PCIBus | undefined): SpaprPhb | undefined {
  let b = bus;
  while (b && !b.isRoot) b = b.bridge?.pciBus;
  const host = b?.parentDevice;
  return host instanceof SpaprPhb ? host : undefined;
}

/** PHB DRCs (machine-owned): release unplugs the PHB, the fragment is its node. */
function phbDrcBackend(spapr: Spapr): DrcBackend {
  return {
    release: (dev) => {
      // QEMU finalizes the PHB's PCI connectors at once, its PCI functions, TCE tables and the
      // PHB only after an RCU grace period (qdev-hotplug.md §6): the connectors' DEVICE_DELETED
      // come first (fixtures/qemu-7.2-ppc/phb-cold.json). Removing them again at unrealize is a no-op.
      removeBusDrcs(spapr, dev);
      spapr.machine.deferRcuDeletions(() => {
        dev.hotplugHandler()?.unplug?.(dev);
        dev.destroy();
      });
    },
    dtPopulate: (drc) => (drc.dev as SpaprPhb).dtNode(spapr),
  };
}

/** attachSpapr(machine, opts): the sPAPR platform of a pseries machine (see Spapr.attach). */
export function attachSpapr(machine: Machine, opts: SpaprOptions = {}): Spapr {
  const s = new Spapr(machine, opts);
  s.attach();
  return s;
}

