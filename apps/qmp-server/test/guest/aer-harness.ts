/**
 * Boots a recording of scripts/record-aer/record-linux.mjs (real QEMU 7.2 + Debian 12's
 * Linux 6.1) with the simulated guest and its AER service, to inject the same errors
 * through HMP and compare the kernel log and the AER registers.
 *
 * The port driver that will hand its shared interrupt to the AER service (portdrv) still
 * installs its own placeholder AER handler, so these tests use a minimal port driver of
 * their own: the port's interrupt (MSI-X vector 0 of pcie-root-port, MSI of ioh3420, else
 * INTx) programmed through config space and MMIO, then aerServiceProbe, as portdrv does.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pciCatalogPlugin, regs as R } from '@plugboard/pci-core';
import { corePlugin, createMachine, createPluginSet, machinesPlugin, pcieHotplugPlugin, type PlugboardMachine } from '@plugboard/machines';
import { BUILTIN_PCI_DRIVERS, attachGuest, aerServiceProbe, pciAerInit, type AerIrq, type HotplugDriver, type LinuxGuest, type PciDev } from '@plugboard/guest';
import { MachineHost, runHmp } from '../../src/index.js';

export interface LinuxAerStep {
  state?: string;
  cmd?: string;
  out?: string;
  lines?: Array<{ dt: number | null; text: string }>;
  registers: Record<string, Record<string, string>>;
}

export interface LinuxAerFixture {
  scenario: string;
  devices: string[];
  bootLines: string[];
  steps: LinuxAerStep[];
}

export function loadLinuxAer(name: string): LinuxAerFixture {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`../../../../fixtures/qemu-7.2-aer/linux-${name}.json`, import.meta.url)), 'utf8'));
}

const PCI_EXT_CAP_ID_ERR = 0x0001;
const MSIX_ENTRY_SIZE = 16;

/** The port's interrupt as portdrv would set it up (single vector: message number 0). */
function portIrq(guest: LinuxGuest, port: PciDev): AerIrq {
  const actions: Array<() => boolean> = [];
  const run = () => actions.reduce((handled, h) => h() || handled, false);
  const request = (_name: string, h: () => boolean) => {
    actions.push(h);
    return () => void actions.splice(actions.indexOf(h), 1);
  };
  const msix = port.findCapability(R.PCI_CAP_ID_MSIX);
  const msi = port.findCapability(R.PCI_CAP_ID_MSI);
  if (msix) {
    const table = port.read32(msix + R.PCI_MSIX_TABLE);
    const base = port.resources[table & 7]!.start + (table & ~7);
    const m = guest.irq.allocMsi(`aer-test:${port.name}`, run);
    port.write16(msix + R.PCI_MSIX_FLAGS, R.PCI_MSIX_FLAGS_ENABLE | R.PCI_MSIX_FLAGS_MASKALL);
    port.view.mmioWrite(base, m.address, 4);
    port.view.mmioWrite(base + 4, 0, 4);
    port.view.mmioWrite(base + 8, m.data, 4);
    port.view.mmioWrite(base + MSIX_ENTRY_SIZE - 4, 0, 4);
    port.write16(R.PCI_COMMAND, port.read16(R.PCI_COMMAND) | R.PCI_COMMAND_INTX_DISABLE);
    port.write16(msix + R.PCI_MSIX_FLAGS, R.PCI_MSIX_FLAGS_ENABLE);
    return { irq: m.irq, request };
  }
  if (msi) {
    const m = guest.irq.allocMsi(`aer-test:${port.name}`, run);
    const is64 = (port.read16(msi + R.PCI_MSI_FLAGS) & R.PCI_MSI_FLAGS_64BIT) !== 0;
    port.write32(msi + R.PCI_MSI_ADDRESS_LO, m.address);
    if (is64) port.write32(msi + R.PCI_MSI_ADDRESS_HI, 0);
    port.write16(msi + (is64 ? R.PCI_MSI_DATA_64 : R.PCI_MSI_DATA_32), m.data);
    port.write16(R.PCI_COMMAND, port.read16(R.PCI_COMMAND) | R.PCI_COMMAND_INTX_DISABLE);
    port.write16(msi + R.PCI_MSI_FLAGS, port.read16(msi + R.PCI_MSI_FLAGS) | R.PCI_MSI_FLAGS_ENABLE);
    return { irq: m.irq, request };
  }
  guest.irq.requestIrq(port.irq, `aer-test:${port.name}`, () => run());
  return { irq: port.irq, request };
}

/** The test's port driver: pci_aer_init on every function, then the AER service on root ports. */
export const aerTestPortDriver: HotplugDriver = {
  name: 'aer-test-portdrv',
  init(guest) {
    for (const d of guest.pci.devices()) pciAerInit(d);
  },
  probe(port, guest) {
    if (!port.isPcie || port.pcieType !== 4) return false;
    const aer = port.findExtCapability(PCI_EXT_CAP_ID_ERR);
    port.write16(R.PCI_COMMAND, port.read16(R.PCI_COMMAND) | R.PCI_COMMAND_MASTER);
    port.enableCount++;
    aerServiceProbe(guest, port, aer, portIrq(guest, port));
    return false;
  },
};

export interface AerRun {
  m: PlugboardMachine;
  guest: LinuxGuest;
  host: MachineHost;
  /** Runs an HMP line, then the guest until idle; returns the output and the new log lines. */
  inject(line: string): Promise<{ out: string; lines: string[]; stamps: number[] }>;
}

export function bootAer(f: Pick<LinuxAerFixture, 'devices'>, opts: { allDrivers?: boolean } = {}): AerRun {
  const devices = f.devices.map((d) => {
    const [driver, ...rest] = d.split(',');
    const o: Record<string, unknown> = { driver };
    for (const kv of rest) o[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    return { opts: o };
  });
  const plugins = createPluginSet([corePlugin, pciCatalogPlugin, pcieHotplugPlugin, machinesPlugin]);
  const m = createMachine(plugins, {
    type: 'q35', nodefaults: true, devices,
    globals: [{ driver: 'ICH9-LPC', property: 'acpi-pci-hotplug-with-bridge-support', value: 'off' }],
  });
  // The recorded initramfs loads e1000e only: the virtio function stays without a driver.
  const pciDrivers = opts.allDrivers ? [...BUILTIN_PCI_DRIVERS] : BUILTIN_PCI_DRIVERS.filter((d) => d.name === 'e1000e');
  const { guest } = attachGuest(m, { hotplugDrivers: [aerTestPortDriver], pciDrivers });
  m.cont();
  m.clock.runUntilIdle();
  const host = new MachineHost(m, plugins);
  const text = (l: string) => l.slice(l.indexOf('] ') + 2);
  return {
    m, guest, host,
    async inject(line) {
      const from = guest.klog.lines.length;
      const out = await runHmp(host, line);
      // A stopped VM runs nothing (the server's clock is stopped; runUntilIdle would not care).
      if (m.runState === 'running') m.clock.runUntilIdle();
      const lines = guest.klog.lines.slice(from);
      return { out, lines: lines.map(text), stamps: lines.map((l) => Number(/^\[\s*([\d.]+)\]/.exec(l)![1])) };
    },
  };
}

/** A register read as the recorder did (ECAM dword), by BDF of the guest's numbering. */
export function readReg(m: PlugboardMachine, bus: number, devfn: number, off: number): number {
  return m.guestView.configRead({ bus, devfn }, off, 4) >>> 0;
}
