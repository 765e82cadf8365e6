/**
 * Boots a recording of scripts/record-aer/record-linux.mjs (real QEMU 7.2 + Debian 12's
 * Linux 6.1) with the default simulated guest (the PCI core's pci_aer_init on every
 * function, the port driver's AER service on root ports, sharing the port's interrupt with
 * PME and pciehp), to inject the same errors through HMP and compare the kernel log and the
 * AER registers.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pciCatalogPlugin } from '@plugboard/pci-core';
import { corePlugin, createMachine, createPluginSet, machinesPlugin, pcieHotplugPlugin, type PlugboardMachine } from '@plugboard/machines';
import { BUILTIN_PCI_DRIVERS, attachGuest, type LinuxGuest } from '@plugboard/guest';
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
  const { guest } = attachGuest(m, { pciDrivers });
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
