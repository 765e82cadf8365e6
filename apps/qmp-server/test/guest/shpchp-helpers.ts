/**
 * Shared by the shpchp end-to-end tests: the recorded transcripts of
 * scripts/record-guest/record-shpchp.mjs and machines built like their QEMU command lines,
 * with the simulated Linux guest attached (shpchp with shpchp_debug on, as recorded).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MachineEvent } from '@plugboard/qdev';
import { pciCatalogPlugin, type PCIDevice } from '@plugboard/pci-core';
import { corePlugin, createMachine, createPluginSet, machinesPlugin, pcieHotplugPlugin, type PlugboardMachine } from '@plugboard/machines';
import { acpiphpDriver, attachGuest, createShpchpDriver, pciehpDriver, type AttachedGuest } from '@plugboard/guest';
import { shpcHotplugPlugin } from '../../../../packages/hotplug-shpc/src/index.js';

const dir = fileURLToPath(new URL('../../../../fixtures/qemu-7.2-linux/', import.meta.url));

export interface TimelineEntry {
  guestTime: number;
  line: string;
  sinceFirstShpchpMs: number | null;
}

export interface ShpchpFixture {
  argv: string[];
  qmp: Array<{ dir: string; raw: string; hostMs: number }>;
  serial: string[];
  timeline: Record<string, TimelineEntry[]>;
  steps: Record<string, Record<string, unknown>>;
  shpc: Record<string, Record<string, { words: string[] }>>;
}

export const loadShpchpFixture = (name: string): ShpchpFixture => JSON.parse(readFileSync(`${dir}shpchp-${name}.json`, 'utf8'));

/** `-M`, `-global` and `-device` of a recorded command line as createMachine options. */
export function machineFor(f: ShpchpFixture): PlugboardMachine {
  const at = (i: number) => f.argv[i + 1]!;
  const type = at(f.argv.indexOf('-M'));
  const globals = f.argv.flatMap((a, i) => (a === '-global' ? [at(i)] : [])).map((g) => {
    const [dp, value] = g.split('=') as [string, string];
    const [driver, property] = dp.split('.') as [string, string];
    return { driver, property, value };
  });
  const devices = f.argv.flatMap((a, i) => (a === '-device' ? [at(i)] : [])).map((d) => {
    const [driver, ...kv] = d.split(',');
    return { opts: { driver, ...Object.fromEntries(kv.map((x) => x.split('='))) } };
  });
  const plugins = createPluginSet([corePlugin, pciCatalogPlugin, pcieHotplugPlugin, shpcHotplugPlugin, machinesPlugin]);
  return createMachine(plugins, { type, nodefaults: true, globals, devices });
}

export interface Run {
  m: PlugboardMachine;
  g: AttachedGuest;
  events: Array<MachineEvent & { ns: number }>;
}

/** Machine + guest (shpchp_debug on), started and booted. */
export function boot(f: ShpchpFixture): Run {
  const m = machineFor(f);
  const g = attachGuest(m, { firmware: { resetControl: true }, hotplugDrivers: [acpiphpDriver, pciehpDriver, createShpchpDriver({ debug: true })] });
  const events: Run['events'] = [];
  m.events.on((e) => events.push({ ...e, ns: m.clock.nowNs() }));
  m.cont();
  m.clock.runUntilIdle();
  return { m, g, events };
}

const stripStamp = (l: string) => l.replace(/^\[\s*\d+\.\d+\]\s?/, '');
const stamp = (l: string) => Number(/^\[\s*(\d+\.\d+)\]/.exec(l)![1]);

/** shpchp's lines of the guest log in [from, to): text and kernel time. */
export function shpchpLines(g: AttachedGuest, from = 0, to?: number): Array<{ t: number; line: string }> {
  return g.guest.klog.lines.slice(from, to).filter((l) => /\] shpchp[ :]/.test(l)).map((l) => ({ t: stamp(l), line: stripStamp(l) }));
}

/** The recorded shpchp lines of a phase (other drivers' lines and markers left out). */
export const recordedShpchp = (f: ShpchpFixture, phase: string): TimelineEntry[] => f.timeline[phase]!.filter((e) => /^shpchp[ :]/.test(e.line));

/** The 40 SHPC working-register dwords of bridge `id`, read by the guest through its BAR0. */
export function shpcWords(m: PlugboardMachine, id: string): string[] {
  const br = m.deviceById(id) as PCIDevice;
  const bar = Number(br.config.get64(0x10) & ~0xfn);
  return Array.from({ length: 40 }, (_, i) => '0x' + m.guestView.mmioRead(bar + 4 * i, 4).toString(16).padStart(8, '0'));
}

/** Gap in ms between the first lines matching `a` and `b`. */
export function gapMs(lines: Array<{ t?: number; guestTime?: number; line: string }>, a: RegExp, b: RegExp): number {
  const ta = lines.find((l) => a.test(l.line));
  const tb = lines.find((l) => b.test(l.line));
  if (!ta || !tb) throw new Error(`no line for ${a} or ${b}`);
  return Math.round(((tb.t ?? tb.guestTime!) - (ta.t ?? ta.guestTime!)) * 1000);
}

/** The probe-time shpchp lines of the recorded boot (Hotplug Controller: ... banner). */
export function recordedProbe(f: ShpchpFixture): string[] {
  const lines = f.serial.map(stripStamp);
  const first = lines.findIndex((l) => /^shpchp /.test(l));
  const banner = lines.findIndex((l) => /^shpchp: Standard Hot Plug/.test(l));
  return lines.slice(first, banner + 1).filter((l) => /^shpchp[ :]/.test(l));
}
