/**
 * pseries-7.2 (hw/ppc/spapr.c): one sPAPR PHB (index 0) whose root bus is `pci.0`.
 * DR connectors and RTAS come with the sPAPR backend.
 */
import { Bus, Machine, type MachineCreateContext, type MachineTypeDef } from '@plugboard/qdev';
import { GuestView, PCIHostBridge, isBridgeDevice, regs, type PCIBus } from '@plugboard/pci-core';
import type { PlugboardMachine } from './x86.js';

export class SpaprMachine extends Machine implements PlugboardMachine {
  readonly pciRoots: PCIBus[] = [];
  readonly guestView: GuestView;
  readonly phbs: PCIHostBridge[] = [];

  constructor(ctx: MachineCreateContext) {
    super({ registry: ctx.registry, typeName: 'pseries-7.2-machine', ...(ctx.clock ? { clock: ctx.clock } : {}) });
    this.globals.push(...ctx.options.globals);
    this.guestView = new GuestView(() => this.phbs, () => this.clock.nowNs());
    // The PHB numbers bridges itself when it builds the device tree at every reset
    // (hw/ppc/spapr_pci.c spapr_phb_pci_enumerate): there is no firmware bus walk.
    this.onReset(() => {
      for (const phb of this.phbs) enumerateBus(phb.rootBus, { next: phb.rootBus.number });
    });
  }

  /** A PHB with its root bus (`pci.0` for index 0, `pci.N` otherwise as QEMU names them). */
  addPhb(index: number): PCIHostBridge {
    const phb = this.newDevice('spapr-pci-host-bridge') as PCIHostBridge;
    this.addUnattached(phb);
    phb.createRootBus(index === 0 ? 'pci.0' : `pci.${index}`, false);
    phb.realize(this.sysbus);
    phb.rootBus.realized = true;
    this.phbs.push(phb);
    this.pciRoots.push(phb.rootBus);
    return phb;
  }
}

export function buildPseries(ctx: MachineCreateContext): SpaprMachine {
  const m = new SpaprMachine(ctx);
  m.addBoardDevice('spapr-xive', m.sysbus);
  m.addBoardDevice('power9_v2.0-spapr-cpu-core', undefined);
  const vio = m.addBoardDevice('spapr-vio-bridge', m.sysbus);
  const vioBus = new Bus('spapr-vio', ['spapr-vio-bus', 'bus']);
  vioBus.realized = true;
  vio.addChildBus(vioBus);
  m.addBoardDevice('spapr-nvram', vioBus);
  m.addPhb(0);
  return m;
}

export const spaprMachineTypes: MachineTypeDef[] = [
  { name: 'pseries-7.2', alias: 'pseries', description: 'pSeries Logical Partition (PAPR compliant)', isDefault: true, arch: 'ppc64', cpuMax: 4096, defaultCpuType: 'power9_v2.0-powerpc64-cpu', defaultRamId: 'ppc_spapr.ram', create: buildPseries },
];

function enumerateBus(bus: PCIBus, counter: { next: number }): void {
  for (const d of bus.inDevfnOrder()) {
    if (!isBridgeDevice(d)) continue;
    const c = d.config;
    c.set8(regs.PCI_PRIMARY_BUS, bus.number);
    counter.next++;
    c.set8(regs.PCI_SECONDARY_BUS, counter.next);
    c.set8(regs.PCI_SUBORDINATE_BUS, counter.next);
    enumerateBus(d.secondaryBus, counter);
    c.set8(regs.PCI_SUBORDINATE_BUS, counter.next);
  }
}
