/**
 * The issue-3 cycle end to end over a real QMP socket: q35 with native PCIe hotplug, the
 * simulated Linux guest booted, device_add e1000e -> the guest powers the slot (X_DEVICE_ON)
 * -> device_del -> attention button, 5 s wait, power off, 1 s, indicator off -> DEVICE_DELETED.
 * Compared with fixtures/qemu-7.2-linux/pciehp-root-port.json (QEMU 7.2 + Linux 6.1, TCG).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RawQmp, startPlugboard, type Running } from './harness.js';

const rec = JSON.parse(readFileSync(fileURLToPath(new URL('../../../fixtures/qemu-7.2-linux/pciehp-root-port.json', import.meta.url)), 'utf8'));
const running: Running[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL');
});

const EXP = 0x54; // pcie-root-port's PCI Express capability
const reg = async (q: RawQmp, off: number, size: number) =>
  JSON.parse(await q.cmd({ execute: '__org.plugboard_config-read', arguments: { id: 'rp1', offset: EXP + off, size } })).return as number;
const slot = async (q: RawQmp) => ({ sltcap: await reg(q, 0x14, 4), sltctl: await reg(q, 0x18, 2), sltsta: await reg(q, 0x1a, 2), lnksta: await reg(q, 0x12, 2) });
const hex = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, `0x${v.toString(16)}`]));

async function nextEvent(q: RawQmp, name: string): Promise<{ timestamp: { seconds: number; microseconds: number }; data?: Record<string, unknown> }> {
  for (;;) {
    const msg = JSON.parse(await q.line(10_000));
    if (msg.event === name) return msg;
  }
}

describe('PCIe native hotplug cycle with the simulated guest, over QMP', () => {
  it('matches QEMU 7.2 + Linux 6.1: replies, events, spacing, slot registers', async () => {
    const pb = await startPlugboard([
      '-M', 'q35', '-nodefaults', '-display', 'none',
      '-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off',
      '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1',
    ]);
    running.push(pb);
    const q = await RawQmp.connect(pb.sock);
    await q.line();
    await q.cmd({ execute: 'qmp_capabilities' });
    // Boot runs on the virtual clock: wait until no guest timer is left.
    for (let i = 0; i < 200; i++) {
      const c = JSON.parse(await q.cmd({ execute: '__org.plugboard_query-clock' })).return;
      if (c['pending-timers'].length === 0 && c['virtual-ns'] > 1e9) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    // The root port's registers as the real guest read them from sysfs config at each phase.
    const want = (phase: string) => {
      const e = rec.registers[phase].config['0000:00:01.0'].pcie as Record<string, string>;
      return Object.fromEntries(Object.entries({ sltcap: e.SLTCAP, sltctl: e.SLTCTL, sltsta: e.SLTSTA, lnksta: e.LNKSTA }).map(([k, v]) => [k, `0x${Number(v).toString(16)}`]));
    };
    expect(hex(await slot(q))).toEqual(want('boot'));

    expect(await q.cmd({ execute: 'device_add', arguments: { driver: 'e1000e', bus: 'rp1', id: 'nic1' } })).toBe('{"return": {}}');
    const on = await nextEvent(q, 'X_DEVICE_ON');
    expect(on.data).toEqual({ device: 'nic1', path: '/machine/peripheral/nic1' });
    expect(hex(await slot(q))).toEqual(want('added'));

    expect(await q.cmd({ execute: 'device_del', arguments: { id: 'nic1' } })).toBe('{"return": {}}');
    const del = await nextEvent(q, 'DEVICE_DELETED');
    expect(del.data).toEqual({ device: 'nic1', path: '/machine/peripheral/nic1' });
    expect(hex(await slot(q))).toEqual(want('deleted'));

    // Guest-time spacing device_del -> DEVICE_DELETED: 5 s button wait (HZ=250 timer wheel),
    // unbind, power off, 1 s, indicator off. QEMU + Linux: 6.16-6.38 s over several runs.
    const ts = (e: { timestamp: { seconds: number; microseconds: number } }) => e.timestamp.seconds + e.timestamp.microseconds / 1e6;
    const spacing = ts(del) - ts(on);
    expect(spacing).toBeGreaterThan(6.0);
    expect(spacing).toBeLessThan(6.5);
    expect(rec.spacing.device_del_to_DEVICE_DELETED_ms_by_qmp_timestamps / 1000).toBeGreaterThan(6.0);
  });
});
