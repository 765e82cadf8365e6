/**
 * Shared by the pciehp tests: the real-guest recordings (fixtures/qemu-7.2-linux, QEMU 7.2 +
 * Debian 12's Linux 6.1 under TCG) and a q35 machine built from a recording's command line,
 * with the simulated guest attached and booted.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { caps, pciCatalogPlugin } from '@plugboard/pci-core';
import { corePlugin, createMachine, createPluginSet, machinesPlugin, pcieHotplugPlugin, type PlugboardMachine } from '@plugboard/machines';
import { attachGuest, type AttachOptions, type LinuxGuest, type PciDev } from '@plugboard/guest';
import { deviceAdd, deviceDel, type MachineEvent } from '@plugboard/qdev';

const root = fileURLToPath(new URL('../../../../fixtures/qemu-7.2-linux/', import.meta.url));

export interface PcieRegs {
  FLAGS: string;
  LNKCAP: string;
  LNKCTL: string;
  LNKSTA: string;
  SLTCAP?: string;
  SLTCTL?: string;
  SLTSTA?: string;
}

interface DumpedFunction {
  raw: string;
  command: string;
  pcie?: PcieRegs & { capOffset: string };
}

export interface Recording {
  argv: string[];
  bus: string;
  device: { driver: string; id: string };
  serial: string[];
  spacing: { device_del_to_DEVICE_DELETED_ms_by_qmp_timestamps: number; guest: { add: Record<string, number | null>; del: Record<string, number | null> } };
  timeline: { add: Array<{ line: string; guestTime: number }>; del: Array<{ line: string; guestTime: number }> };
  registers: Record<'boot' | 'added' | 'deleted', { config: Record<string, DumpedFunction>; slots: Array<Record<string, string>> }>;
}

export function recording(name: string): Recording {
  return JSON.parse(readFileSync(`${root}pciehp-${name}.json`, 'utf8')) as Recording;
}

/** Serial lines without their `[    1.234567] ` stamp. */
export const text = (line: string) => line.replace(/^\[\s*\d+\.\d+\] /, '');
/** A kernel log line's time in ms. */
export const stampMs = (line: string) => Number(/^\[\s*(\d+\.\d+)\]/.exec(line)![1]) * 1000;

/** The slot registers the recordings decode, as the guest would read them now. */
export function pcieRegs(dev: PciDev, withSlot = true): PcieRegs {
  const h = (v: number, w: number) => `0x${v.toString(16).padStart(w, '0')}`;
  const r: PcieRegs = {
    FLAGS: h(dev.pcieRead16(caps.PCI_EXP_FLAGS), 4),
    LNKCAP: h(dev.pcieRead32(caps.PCI_EXP_LNKCAP), 8),
    LNKCTL: h(dev.pcieRead16(caps.PCI_EXP_LNKCTL), 4),
    LNKSTA: h(dev.pcieRead16(caps.PCI_EXP_LNKSTA), 4),
  };
  if (!withSlot) return r;
  return { ...r, SLTCAP: h(dev.pcieRead32(caps.PCI_EXP_SLTCAP), 8), SLTCTL: h(dev.pcieRead16(caps.PCI_EXP_SLTCTL), 4), SLTSTA: h(dev.pcieRead16(caps.PCI_EXP_SLTSTA), 4) };
}

/** The same registers from a recording's dump. */
export function recordedRegs(rec: Recording, phase: 'boot' | 'added' | 'deleted', bdf: string): PcieRegs {
  const p = rec.registers[phase].config[bdf]!.pcie!;
  const r: PcieRegs = { FLAGS: p.FLAGS, LNKCAP: p.LNKCAP, LNKCTL: p.LNKCTL, LNKSTA: p.LNKSTA };
  return p.SLTCAP === undefined ? r : { ...r, SLTCAP: p.SLTCAP, SLTCTL: p.SLTCTL!, SLTSTA: p.SLTSTA! };
}

/** A recorded function's config dword at `off` (little endian, from the raw dump). */
export function recordedDword(rec: Recording, phase: 'boot' | 'added' | 'deleted', bdf: string, off: number): number {
  const raw = rec.registers[phase].config[bdf]!.raw;
  return Number.parseInt(raw.slice(off * 2, off * 2 + 8).match(/../g)!.reverse().join(''), 16);
}

export interface Run {
  m: PlugboardMachine;
  guest: LinuxGuest;
  events: Array<MachineEvent & { ms: number }>;
  /** Kernel log lines from `from` on (default: all). */
  log(from?: number): string[];
  /** device_add of the recording's device on its bus; returns the log index before it. */
  add(): number;
  del(): number;
  nowMs(): number;
}

/**
 * `-M q35 -global ... -device ...` of a recording, booted with the guest until idle (or for
 * `runForMs` of virtual time when something keeps the clock busy, e.g. pciehp's poll thread).
 */
export function boot(rec: Recording, opts: AttachOptions = {}, runForMs?: number): Run {
  const argv = rec.argv;
  const devices: Array<{ opts: Record<string, unknown> }> = [];
  const globals: Array<{ driver: string; property: string; value: string }> = [];
  argv.forEach((a, i) => {
    const v = argv[i + 1] ?? '';
    if (a === '-global') {
      const [dp, value] = v.split('=');
      const dot = dp!.indexOf('.');
      globals.push({ driver: dp!.slice(0, dot), property: dp!.slice(dot + 1), value: value! });
    }
    if (a !== '-device') return;
    const [driver, ...rest] = v.split(',');
    const o: Record<string, unknown> = { driver };
    for (const kv of rest) o[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    devices.push({ opts: o });
  });
  const plugins = createPluginSet([corePlugin, pciCatalogPlugin, machinesPlugin, pcieHotplugPlugin]);
  const m = createMachine(plugins, { type: 'q35', nodefaults: true, globals, devices });
  const events: Run['events'] = [];
  m.events.on((e) => events.push({ ...e, ms: m.clock.nowNs() / 1e6 }));
  const { guest } = attachGuest(m, opts);
  m.cont();
  if (runForMs === undefined) m.clock.runUntilIdle();
  else m.clock.advance(runForMs * 1e6);
  const mark = () => guest.klog.lines.length;
  return {
    m,
    guest,
    events,
    log: (from = 0) => guest.klog.lines.slice(from),
    add() {
      const at = mark();
      deviceAdd(m, { driver: rec.device.driver, bus: rec.bus, id: rec.device.id });
      m.clock.runUntilIdle();
      return at;
    },
    del() {
      const at = mark();
      deviceDel(m, rec.device.id);
      m.clock.runUntilIdle();
      return at;
    },
    nowMs: () => m.clock.nowNs() / 1e6,
  };
}

/** pciehp's own lines (`pcieport ...: pciehp: ...`), stamps removed. */
export const pciehpLines = (lines: string[]) => lines.map(text).filter((l) => l.includes(': pciehp: '));

/** Asserts `expected` appears in `actual` in order (other lines may sit in between). */
export function missingFromSequence(actual: string[], expected: string[]): string[] {
  let i = 0;
  const missing: string[] = [];
  for (const e of expected) {
    const j = actual.indexOf(e, i);
    if (j < 0) missing.push(e);
    else i = j + 1;
  }
  return missing;
}
