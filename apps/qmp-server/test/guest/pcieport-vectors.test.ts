/**
 * x86 interrupt vectors run out (arch/x86/kernel/apic/vector.c, kernel/irq/matrix.c): with one
 * vCPU and 240 pcie-root-ports, Linux 6.1 gives 199 ports their MSI-X vector; from the 200th
 * on, request_irq fails with -ENOSPC and each service says so (PME, AER, pciehp). Compared
 * line by line with the same command line under real QEMU 7.2 + Linux 6.1
 * (fixtures/qemu-7.2-linux/pcieport-vectors-240.json, scripts/record-guest/record-vectors.mjs).
 * With two vCPUs every port gets one, and a port whose vector sits on CPU 1 hotplugs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AttachedGuest } from '@plugboard/guest';
import { PlugboardServer } from '../../src/index.js';
import { memoryClient } from '../reliability/helpers.js';

const fixture = JSON.parse(readFileSync(new URL('../../../../fixtures/qemu-7.2-linux/pcieport-vectors-240.json', import.meta.url), 'utf8')) as { lines: string[] };
const SERVICE_LINE = /^(pcieport |pcie_pme: |aer: )/;

function ports(n: number) {
  const devices: Array<{ opts: Record<string, unknown> }> = [];
  for (let i = 0; i < n; i++) {
    const slot = 1 + (i >> 3);
    const fn = i & 7;
    devices.push({ opts: { driver: 'pcie-root-port', id: `p${i}`, bus: 'pcie.0', addr: `${slot.toString(16)}.${fn}`, chassis: String(i + 1), slot: '1', ...(fn === 0 ? { multifunction: 'on' } : {}) } });
  }
  return devices;
}

function boot(cpus: number) {
  const s = PlugboardServer.create({
    type: 'q35', nodefaults: true, cpus,
    globals: [{ driver: 'ICH9-LPC', property: 'acpi-pci-hotplug-with-bridge-support', value: 'off' }],
    devices: ports(240),
  });
  s.machine.cont();
  s.machine.clock.runUntilIdle();
  const { guest } = s.host.guest as AttachedGuest;
  const lines = guest.klog.texts().filter((l) => SERVICE_LINE.test(l));
  return { s, lines };
}

describe('PCIe port services when interrupt vectors run out', () => {
  it('one vCPU: 199 ports get a vector, the rest print what Linux 6.1 prints', () => {
    const { lines } = boot(1);
    // "Interrupt reservation exceeds available resources" (a matrix accounting warning) is not modelled.
    const real = fixture.lines.filter((l) => SERVICE_LINE.test(l));
    expect(lines).toEqual(real);
    expect(lines.filter((l) => l.includes('PME: Signaling')).length).toBe(199);
  });

  it('two vCPUs: all 240 ports get a vector; hotplug works on a port whose vector is on CPU 1', async () => {
    const { s, lines } = boot(2);
    expect(lines.filter((l) => l.includes('PME: Signaling')).length).toBe(240);
    expect(lines.some((l) => l.includes('Cannot get irq'))).toBe(false);
    const c = await memoryClient(s);
    const events: string[] = [];
    s.host.onEvent((ev) => events.push(ev.name));
    await c.execute('device_add', { driver: 'e1000e', id: 'nic', bus: 'p239' });
    s.machine.clock.runUntilIdle();
    expect(events).toContain('X_DEVICE_ON');
    await c.execute('device_del', { id: 'nic' });
    s.machine.clock.runUntilIdle();
    expect(events.filter((e) => e === 'DEVICE_DELETED')).toHaveLength(1);
  });
});
