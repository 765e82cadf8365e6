/**
 * A reboot starts a new kernel: what the old one allocated and logged is gone. Found by the
 * 1M-message fuzz soak: every system_reset kept the previous kernel's MSI IRQs and vectors
 * (PCI drivers are not unbound at a reset) and its log lines, so memory grew per reboot and the
 * MSI messages written after a reboot drifted from the first boot's.
 */
import { describe, expect, it } from 'vitest';
import { KernelLog } from '@plugboard/guest';
import { PCIDevice } from '@plugboard/pci-core';
import { Clock } from '@plugboard/qdev';
import { PlugboardServer } from '../../src/index.js';

/** Every PCI function's config space and MSI-X table (the messages the guest wrote), in tree order. */
function configs(s: PlugboardServer): string[] {
  const out: string[] = [];
  const walk = (d: unknown): void => {
    if (!(d instanceof PCIDevice)) return;
    out.push(`${d.id ?? d.typeName}: ${Buffer.from(d.config.data).toString('hex')} ${d.msixTable ? Buffer.from(d.msixTable).toString('hex') : ''}`);
  };
  for (const d of s.machine.devices()) walk(d);
  return out;
}

describe('a reboot is a new kernel', () => {
  it('after 5 system_resets the MSI IRQs, messages and dmesg are the first boot\'s', () => {
    const s = PlugboardServer.create({
      type: 'q35', nodefaults: true, start: true,
      devices: [
        { opts: { driver: 'pcie-root-port', id: 'rp1', chassis: '1', slot: '1' } },
        { opts: { driver: 'e1000e', id: 'nic', bus: 'rp1' } },
        { opts: { driver: 'pcie-root-port', id: 'rp2', chassis: '2', slot: '2' } },
        { opts: { driver: 'virtio-net-pci', id: 'vnet', bus: 'rp2' } },
      ],
    });
    s.machine.clock.runUntilIdle();
    const first = configs(s);
    const guest = s.host.guest!.guest;
    const lines = guest.klog.lines;
    // Two port services, then e1000e's three reserved MSI-X IRQs (a module: bound after them).
    const irqs = guest.irq.msiIrqNumbers();
    expect(irqs).toEqual([24, 25, 26, 27, 28]);
    for (let i = 0; i < 5; i++) {
      s.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
      s.machine.clock.runUntilIdle();
    }
    expect(configs(s)).toEqual(first);
    expect(guest.irq.msiIrqNumbers()).toEqual(irqs);
    expect(guest.klog.lines).toEqual(lines);
    s.machine.clock.stop();
  });

  it('dmesg keeps what fits Linux 6.1\'s 128 KiB printk buffer; the console gets every line', () => {
    const log = new KernelLog(new Clock());
    const seen: string[] = [];
    log.onLine((l) => seen.push(l));
    log.start();
    // 100 characters of text: 112 bytes a record (text + 8-byte block ID, rounded to 8).
    for (let i = 0; i < 5000; i++) log.printk(`line ${String(i).padStart(5, '0')} ${'x'.repeat(89)}`);
    expect(seen.length).toBe(5000);
    const kept = Math.floor((1 << 17) / 112);
    expect(log.count).toBe(kept);
    expect(log.texts()[0]).toBe(`line ${String(5000 - kept).padStart(5, '0')} ${'x'.repeat(89)}`);
    expect(log.texts().at(-1)).toBe(`line 04999 ${'x'.repeat(89)}`);
    // Short records run out of descriptors first: one per 32 bytes of buffer.
    log.restart();
    for (let i = 0; i < 5000; i++) log.printk('x');
    expect(log.count).toBe(4096);
  });
});
