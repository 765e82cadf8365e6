/**
 * pseries-7.2 (hw/ppc/spapr.c spapr_machine_init): the sPAPR platform (DR connectors, RTAS,
 * event logs, device tree) first, then XIVE, the boot CPU cores, the VIO bridge with its NVRAM
 * and PHB 0 with its root bus `pci.0`. PCI, PHB, CPU and memory hotplug go through DR
 * connectors (@plugboard/hotplug-spapr).
 */
import { Bus, Machine, type MachineCreateContext, type MachineTypeDef } from '@plugboard/qdev';
import { GuestView, type PCIBus, type PCIHostBridge } from '@plugboard/pci-core';
import { attachGuestPort, attachSpapr, type Spapr, type SpaprPhb } from '@plugboard/hotplug-spapr';
import type { PlugboardMachine } from './x86.js';

/** QEMU's pseries default RAM (hw/ppc/spapr.c: 512 MiB). */
export const PSERIES_DEFAULT_RAM = 512 * 1024 * 1024;

export class SpaprMachine extends Machine implements PlugboardMachine {
  readonly guestView: GuestView;
  readonly spapr: Spapr;

  constructor(ctx: MachineCreateContext) {
    super({ registry: ctx.registry, typeName: 'pseries-7.2-machine', ...(ctx.clock ? { clock: ctx.clock } : {}) });
    this.globals.push(...ctx.options.globals);
    const o = ctx.options;
    // The GuestView sees every PHB, hot-added ones included (query-pci lists them too).
    this.guestView = new GuestView(() => this.spapr.phbs as PCIHostBridge[], () => this.clock.nowNs());
    // Connectors come first: `/dr-connector`'s order depends on their creation order.
    this.spapr = attachSpapr(this, {
      guestView: this.guestView,
      ramSize: o.ramSize,
      ...(o.maxRamSize !== undefined ? { maxRamSize: o.maxRamSize } : {}),
      ...(o.ramSlots !== undefined ? { ramSlots: o.ramSlots } : {}),
      smp: { cpus: o.cpus, ...(o.maxCpus !== undefined ? { maxCpus: o.maxCpus } : {}) },
      ...(o.props['modern-hotplug-events'] === 'off' ? { modernHotplugEvents: false } : {}),
    });
    attachGuestPort(this.guestView, this.spapr);
  }

  get pciRoots(): PCIBus[] {
    return this.spapr.phbs.map((p) => p.rootBus);
  }

  /** PHB 0 (board-created; more come with device_add spapr-pci-host-bridge). */
  addPhb0(): SpaprPhb {
    const phb = this.newDevice('spapr-pci-host-bridge') as SpaprPhb;
    this.addUnattached(phb);
    phb.setProp(phb.type.property('index')!, 0);
    phb.createRootBus('pci.0', false);
    phb.realize(this.sysbus);
    return phb;
  }
}

export function buildPseries(ctx: MachineCreateContext): SpaprMachine {
  const m = new SpaprMachine(ctx);
  m.addBoardDevice('spapr-xive', m.sysbus);
  for (let i = 0; i < m.spapr.cpus.bootCores; i++) {
    m.addBoardDevice('power9_v2.0-spapr-cpu-core', undefined, { props: { 'core-id': i * m.spapr.cpus.threads } });
  }
  const vio = m.addBoardDevice('spapr-vio-bridge', m.sysbus);
  const vioBus = new Bus('spapr-vio', ['spapr-vio-bus', 'bus']);
  vioBus.realized = true;
  vio.addChildBus(vioBus);
  m.addBoardDevice('spapr-nvram', vioBus);
  m.addPhb0();
  return m;
}

export const spaprMachineTypes: MachineTypeDef[] = [
  { name: 'pseries-7.2', alias: 'pseries', description: 'pSeries Logical Partition (PAPR compliant)', isDefault: true, arch: 'ppc64', cpuMax: 4096, defaultCpuType: 'power9_v2.0-powerpc64-cpu', defaultRamId: 'ppc_spapr.ram', defaultRamSize: PSERIES_DEFAULT_RAM, create: buildPseries },
];
