import { describe, expect, it } from 'vitest';
import { queryPci, type TraceRecord } from '@plugboard/pci-core';
import { attachGuest, BOOT_TIMELINE, DEFAULT_KERNEL_START_MS, type AttachOptions, type HotplugDriver } from '@plugboard/guest';
import { machineFromFixture, queryPciAfterCont } from './fixtures.js';

/** Builds the fixture's machine, attaches the guest, `cont`s and runs the clock dry. */
function boot(name: string, opts: AttachOptions = {}) {
  const m = machineFromFixture(name);
  const trace: TraceRecord[] = [];
  m.guestView.onTrace((r) => trace.push(r));
  const attached = attachGuest(m, opts);
  m.cont();
  m.clock.runUntilIdle();
  return { m, trace, guest: attached.guest, attached };
}

describe('Linux boot: enumeration', () => {
  it('finds every function and bridge of q35-switch with its bus numbers', () => {
    const { guest } = boot('q35-switch');
    expect(guest.state).toBe('running');
    expect(guest.pci.devices().map((d) => d.name)).toEqual([
      '0000:00:00.0', '0000:00:01.0', '0000:01:00.0', '0000:02:00.0', '0000:00:02.0', '0000:00:03.0', '0000:05:00.0',
      '0000:00:1f.0', '0000:00:1f.2', '0000:00:1f.3',
    ]);
    const rp2 = guest.device('0000:00:03.0')!;
    expect(rp2.isPcieDownstreamPort).toBe(true);
    expect([rp2.subordinate?.number, rp2.subordinate?.busnEnd]).toEqual([5, 6]);
    expect(rp2.subordinate?.windows[0]).toEqual({ kind: 'io', start: 0xc000, end: 0xcfff });
    expect(guest.device('0000:00:01.0')!.linkActiveReporting).toBe(true); // pcie-root-port LNKCAP DLLLARC
    expect(guest.device('0000:00:1f.0')!.multifunction).toBe(true);
  });

  it('prints the PCI scan like Linux 6.1 (pc-bridge)', () => {
    const { guest } = boot('pc-bridge');
    const t = guest.klog.texts();
    const from = t.indexOf('PCI host bridge to bus 0000:00');
    expect(t.slice(from, from + 20)).toEqual([
      'PCI host bridge to bus 0000:00',
      'pci_bus 0000:00: root bus resource [bus 00-ff]',
      'pci 0000:00:00.0: [8086:1237] type 00 class 0x060000',
      'pci 0000:00:01.0: [8086:7000] type 00 class 0x060100',
      'pci 0000:00:01.1: [8086:7010] type 00 class 0x010180',
      'pci 0000:00:01.1: reg 0x20: [io  0xd000-0xd00f]',
      'pci 0000:00:01.1: legacy IDE quirk: reg 0x10: [io  0x01f0-0x01f7]',
      'pci 0000:00:01.1: legacy IDE quirk: reg 0x14: [io  0x03f6]',
      'pci 0000:00:01.1: legacy IDE quirk: reg 0x18: [io  0x0170-0x0177]',
      'pci 0000:00:01.1: legacy IDE quirk: reg 0x1c: [io  0x0376]',
      'pci 0000:00:01.3: [8086:7113] type 00 class 0x068000',
      'pci 0000:00:02.0: [1b36:0001] type 01 class 0x060400',
      'pci 0000:00:02.0: reg 0x10: [mem 0xfe800000-0xfe8000ff 64bit]',
      'pci 0000:01:03.0: [8086:100e] type 00 class 0x020000',
      'pci 0000:01:03.0: reg 0x10: [mem 0xfe640000-0xfe65ffff]',
      'pci 0000:01:03.0: reg 0x14: [io  0xc000-0xc03f]',
      'pci 0000:01:03.0: reg 0x30: [mem 0xfe600000-0xfe63ffff pref]',
      'pci 0000:00:02.0: PCI bridge to [bus 01]',
      'pci 0000:00:02.0:   bridge window [io  0xc000-0xcfff]',
      'pci 0000:00:02.0:   bridge window [mem 0xfe600000-0xfe7fffff]',
    ]);
    expect(t).toContain('pci 0000:00:02.0:   bridge window [mem 0xfea00000-0xfebfffff 64bit pref]');
  });

  it('stamps lines with kernel time from the virtual clock', () => {
    const { guest } = boot('pc-bridge');
    expect(guest.klog.lines[0]).toMatch(/^\[    0\.000000\] Linux version 6\.1\.0/);
    expect(guest.klog.lines.find((l) => l.includes('PCI host bridge'))).toMatch(/^\[    0\.150000\] /);
    expect(guest.klog.lines.find((l) => l.includes('eth0'))).toBe('[    1.500000] e1000 0000:01:03.0 eth0: Intel(R) PRO/1000 Network Connection');
  });

  it('binds the endpoint drivers and enables bus mastering', () => {
    const { guest } = boot('q35-defaults');
    const nic = guest.device('0000:00:02.0')!;
    expect(nic.driver).toBe('e1000e');
    expect(guest.klog.texts()).toContain('e1000e: Intel(R) PRO/1000 Network Driver');
    expect(nic.read16(0x04) & 0x7).toBe(0x7); // SeaBIOS's I/O + memory, bus master from the driver
    expect(boot('q35-nodefaults').guest.device('0000:00:1f.2')!.read16(0x04) & 0x4).toBe(0); // no driver, no master
  });

  it('leaves the firmware assignment in place: BAR sizing restores every register', () => {
    for (const name of ['pc-bridge', 'q35-switch', 'q35-defaults']) {
      const { m } = boot(name);
      expect(JSON.parse(JSON.stringify(queryPci(m.pciRoots)))).toEqual(queryPciAfterCont(name));
    }
  });

  it('reads the PIRQ routing the firmware programmed', () => {
    const { guest } = boot('q35-nodefaults');
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((p) => guest.irq.intxIrq(p))).toEqual([10, 10, 11, 11, 10, 10, 11, 11]);
  });
});

describe('Linux boot: determinism and wiring', () => {
  it('two runs give the same trace, timestamps included', () => {
    const a = boot('q35-switch').trace;
    const b = boot('q35-switch').trace;
    expect(a.length).toBeGreaterThan(1000);
    expect(b).toEqual(a);
  });

  it('runs nothing before the first cont, the firmware at it, the kernel after kernelStartMs', () => {
    const m = machineFromFixture('q35-ports');
    const attached = attachGuest(m);
    const ops: TraceRecord[] = [];
    m.guestView.onTrace((r) => ops.push(r));
    m.clock.runUntilIdle();
    expect(ops).toEqual([]);
    m.cont();
    expect(attached.firmware?.platform).toBe('q35');
    expect(attached.guest.state).toBe('off');
    m.clock.advance((DEFAULT_KERNEL_START_MS + BOOT_TIMELINE.pciScanMs) * 1e6);
    expect(attached.guest.pci.devices().length).toBe(6);
    m.clock.runUntilIdle();
    expect(attached.guest.booted).toBe(true);
  });

  it('reboots on system_reset: firmware and kernel run again; dmesg shows the new boot, the console both', () => {
    const { m, guest } = boot('pc-bridge');
    const before = guest.klog.lines;
    const console: string[] = [];
    guest.klog.onLine((l) => console.push(l));
    m.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    expect(guest.state).toBe('off');
    m.clock.runUntilIdle();
    expect(guest.booted).toBe(true);
    expect(guest.klog.lines).toEqual(before);
    expect(console).toEqual(before);
    expect(JSON.parse(JSON.stringify(queryPci(m.pciRoots)))).toEqual(queryPciAfterCont('pc-bridge'));
  });
});

describe('guest policies', () => {
  const recorder = () => {
    const seen: string[] = [];
    const driver: HotplugDriver = {
      name: 'test-hp',
      init: () => seen.push('init'),
      probe: (port) => {
        seen.push(port.name);
        return port.name === '0000:00:01.0';
      },
    };
    return { seen, driver };
  };

  it('linux: hotplug drivers are offered every bridge at the hotplug stage; a claim sticks', () => {
    const { seen, driver } = recorder();
    const other: HotplugDriver = { name: 'second', probe: () => true };
    const { guest } = boot('q35-switch', { hotplugDrivers: [driver, other] });
    expect(seen).toEqual(['init', '0000:00:01.0', '0000:01:00.0', '0000:02:00.0', '0000:00:02.0', '0000:00:03.0', '0000:05:00.0']);
    expect(guest.ports().map((p) => p.hotplugDriver)).toEqual(['test-hp', 'second', 'second', 'second', 'second', 'second']);
  });

  it('none: no kernel runs (the firmware still does, as on a VM without an OS)', () => {
    const { guest, m, attached } = boot('q35-ports', { policy: 'none' });
    expect(guest.klog.lines).toEqual([]);
    expect(attached.firmware?.platform).toBe('q35');
    expect(JSON.parse(JSON.stringify(queryPci(m.pciRoots)))).toEqual(queryPciAfterCont('q35-ports'));
  });

  it('no-hotplug-driver: enumeration and endpoint drivers, but no hotplug driver', () => {
    const { seen, driver } = recorder();
    const { guest } = boot('pc-bridge', { policy: 'no-hotplug-driver', hotplugDrivers: [driver] });
    expect(seen).toEqual([]);
    expect(guest.device('0000:01:03.0')?.driver).toBe('e1000');
  });

  it('slow=FACTOR stretches every guest delay', () => {
    const { guest, m } = boot('pc-bridge', { policy: 'slow=3' });
    expect(guest.klog.lines.find((l) => l.includes('eth0'))).toMatch(/^\[    4\.500000\] /);
    expect(m.clock.nowNs()).toBe(3 * (DEFAULT_KERNEL_START_MS + BOOT_TIMELINE.driversMs) * 1e6);
  });

  it('ignore-unplug is carried for the hotplug drivers', () => {
    expect(boot('pc-nodefaults', { policy: 'ignore-unplug,slow=2' }).guest.policy).toEqual({ name: 'ignore-unplug', slow: 2 });
  });
});
