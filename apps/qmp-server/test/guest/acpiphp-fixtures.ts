/**
 * ACPI hotplug e2e support: machines from the recorded QEMU 7.2 + Linux 6.1 transcripts
 * (fixtures/qemu-7.2-linux/acpiphp-*.json), the DSDT the guest finds, the guest, and the
 * guest's ACPI port accesses in the recorder's format.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type TraceRecord } from '@plugboard/pci-core';
import { createMachine, createPluginSet, type PlugboardMachine } from '@plugboard/machines';
import { builtinPlugins } from '../../src/plugins.js';
import { deviceAdd, deviceDel, type MachineEvent, type PropValue } from '@plugboard/qdev';
import { attachGuest, createAcpiphpDriver, provideAcpiTables, type AttachOptions, type LinuxGuest } from '@plugboard/guest';
import { buildPciHotplugDsdt } from '../../../../packages/hotplug-acpi/src/aml/index.js';

const root = fileURLToPath(new URL('../../../../fixtures/qemu-7.2-linux/', import.meta.url));

export interface AcpiIo {
  op: 'read' | 'write';
  region: string;
  addr: number;
  val: number;
  size: number;
}

export interface Phase {
  tag: string;
  op: 'add' | 'del';
  command: { execute: string; arguments: Record<string, PropValue> };
  events: Array<{ id: string; qmpMs: number }>;
  deviceDeletedAfterReplyMs: number[];
  timeline: Array<{ guestTime: number; line: string }>;
  acpiIo: AcpiIo[];
  config: string[];
}

export interface AcpiphpFixture {
  scenario: string;
  argv: string[];
  phases: Phase[];
  serial: string[];
}

export function loadAcpiphp(name: string): AcpiphpFixture {
  return JSON.parse(readFileSync(`${root}acpiphp-${name}.json`, 'utf8'));
}

/** The recording's `-M`, `-m` and `-device` options. */
export function machineFrom(fx: AcpiphpFixture): { m: PlugboardMachine; ramSize: number } {
  const argv = fx.argv;
  const devices: Array<{ opts: Record<string, unknown> }> = [];
  let type: string | undefined;
  let ramSize = 128 * 1024 * 1024;
  argv.forEach((a, i) => {
    if (a === '-M') type = argv[i + 1]!.split(',')[0];
    if (a === '-m') ramSize = Number(argv[i + 1]) * 1024 * 1024;
    if (a !== '-device') return;
    const [driver, ...rest] = argv[i + 1]!.split(',');
    const opts: Record<string, unknown> = { driver };
    for (const kv of rest) opts[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    devices.push({ opts });
  });
  // The built-ins the server loads (PCIe slots on root ports, SHPC, ...), as a real QEMU has them.
  const plugins = createPluginSet(builtinPlugins());
  return { m: createMachine(plugins, { type, nodefaults: argv.includes('-nodefaults'), devices }), ramSize };
}

/** ACPI blocks as the recorder names QEMU's memory regions. */
export function acpiRegion(port: number, q35: boolean): string | undefined {
  const pcihp = q35 ? 0x0cc0 : 0xae00;
  const gpe = q35 ? 0x0620 : 0xafe0;
  if (port >= pcihp && port < pcihp + 0x18) return 'acpi-pci-hotplug';
  if (port >= gpe && port < gpe + (q35 ? 16 : 4)) return 'acpi-gpe0';
  if (port >= 0x600 && port < 0x604) return 'acpi-evt';
  return undefined;
}

export interface Rig {
  m: PlugboardMachine;
  guest: LinuxGuest;
  trace: TraceRecord[];
  events: MachineEvent[];
  q35: boolean;
  /** The guest's accesses to the ACPI blocks from trace index `from` on. */
  acpiIo(from?: number): AcpiIo[];
  add(opts: Record<string, PropValue>): void;
  del(id: string): void;
  /** Runs the clock dry and returns the virtual ms it took. */
  settle(): number;
}

/** Boots the recording's machine with the guest, the DSDT provided, acpiphp as the hotplug driver. */
export function rig(fx: AcpiphpFixture, opts: AttachOptions = {}): Rig {
  const { m, ramSize } = machineFrom(fx);
  const q35 = m.pciRoots[0]!.isExpress;
  provideAcpiTables(m.guestView, () => ({
    dsdt: buildPciHotplugDsdt({ rootBus: m.pciRoots[0]!, ioBase: q35 ? 0x0cc0 : 0xae00, bridgeSupport: true, express: q35 }),
  }));
  const trace: TraceRecord[] = [];
  const events: MachineEvent[] = [];
  m.guestView.onTrace((r) => trace.push(r));
  m.events.on((e) => events.push(e));
  const attached = attachGuest(m, { firmware: { ramSize }, hotplugDrivers: [createAcpiphpDriver({ ramSize })], ...opts });
  m.cont();
  m.clock.runUntilIdle();
  const r: Rig = {
    m, guest: attached.guest, trace, events, q35,
    acpiIo(from = 0) {
      const out: AcpiIo[] = [];
      for (const t of trace.slice(from)) {
        if (t.op !== 'io-read' && t.op !== 'io-write') continue;
        const rec = t as { op: string; port: number; size: number; val: number };
        const region = acpiRegion(rec.port, q35);
        if (region) out.push({ op: t.op === 'io-read' ? 'read' : 'write', region, addr: rec.port, val: rec.val, size: rec.size });
      }
      return out;
    },
    add: (o) => void deviceAdd(m, o),
    del: (id) => deviceDel(m, id),
    settle() {
      const t0 = m.clock.nowNs();
      m.clock.runUntilIdle();
      return (m.clock.nowNs() - t0) / 1e6;
    },
  };
  return r;
}

/**
 * Recorder-format lines for diffs: `read acpi-gpe0 0xafe2 0x6 1`. PM1 (`acpi-evt`) values are
 * left out: the machines do not model the PM1 event block yet (reads give 0xffff where QEMU
 * has TMR_STS / PWRBTN_EN); its port, size and place in the sequence are compared.
 */
export const fmtIo = (a: AcpiIo) => `${a.op} ${a.region} 0x${a.addr.toString(16)} ${a.region === 'acpi-evt' ? '-' : `0x${a.val.toString(16)}`} ${a.size}`;
