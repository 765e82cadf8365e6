/**
 * ACPI PCI hotplug end to end: QEMU's DSDT run by the guest's acpiphp, compared with the
 * cycles recorded from real QEMU 7.2 + Linux 6.1 (scripts/record-guest/record-acpiphp.mjs).
 */
import { describe, expect, it } from 'vitest';
import { fmtIo, loadAcpiphp, rig } from './acpiphp-fixtures.js';

describe('acpiphp: recorded cycles', () => {
  for (const name of ['pc', 'q35', 'pc-bridge', 'multifunction']) {
    it(`${name}: every phase makes QEMU's ACPI port accesses, in order`, () => {
      const fx = loadAcpiphp(name);
      const r = rig(fx);
      for (const ph of fx.phases) {
        const from = r.trace.length;
        if (ph.op === 'add') r.add(ph.command.arguments);
        else r.del(ph.command.arguments.id as string);
        r.settle();
        expect([ph.tag, r.acpiIo(from).map(fmtIo)]).toEqual([ph.tag, ph.acpiIo.map(fmtIo)]);
      }
    });
  }
});

const deleted = (r: ReturnType<typeof rig>, from = 0) =>
  r.events.slice(from).filter((e) => e.name === 'DEVICE_DELETED').map((e) => (e.data?.device as string | undefined) ?? (e.data?.path as string));

/** `BAR 0: assigned [mem ...]` (6.1) and `BAR 0 [mem ...]: assigned` (Debian's 6.1.192) -> `BDF BAR RES`. */
const assigned = (lines: string[]) =>
  lines.flatMap((l) => {
    const m = /^pci (\S+): (?:BAR (\d+): assigned (\[.*\])|(BAR (\d+)|ROM) (\[.*\]): assigned)$/.exec(l);
    if (!m) return [];
    return [`${m[1]} ${m[2] ?? (m[4] === 'ROM' ? '6' : m[5])} ${m[3] ?? m[6]}`];
  });

describe('acpiphp: what the guest does around the port accesses', () => {
  for (const name of ['pc', 'q35', 'pc-bridge', 'multifunction']) {
    it(`${name}: same DEVICE_DELETED events in the same order, resources at the recorded addresses`, () => {
      const fx = loadAcpiphp(name);
      const r = rig(fx);
      for (const ph of fx.phases) {
        const evFrom = r.events.length;
        const logFrom = r.guest.klog.lines.length;
        if (ph.op === 'add') r.add(ph.command.arguments);
        else r.del(ph.command.arguments.id as string);
        r.settle();
        expect(deleted(r, evFrom)).toEqual(ph.events.map((e) => e.id));
        const ours = r.guest.klog.texts().slice(logFrom);
        // q35 included: the root port has its PCIe slot (SLTCAP HPC, as recorded: 0x7b), so the guest
        // sizes an I/O window for it at boot (pci_hotplug_io_size) and the e1000e I/O BAR gets one.
        expect(assigned(ours).sort()).toEqual(assigned(ph.timeline.map((t) => t.line)).sort());
      }
    });
  }

  it('pc: the bus re-check after Device Check reads vendor IDs like Linux (slot order, trim, empty slots twice)', () => {
    const fx = loadAcpiphp('pc');
    const r = rig(fx);
    const from = r.trace.length;
    r.add(fx.phases[0]!.command.arguments);
    r.settle();
    const vendorReads = (list: string[]) => list.filter((c) => / 0x00 4 /.test(c) && !c.includes('00:05.0')).map((c) => c.split(' ')[1]);
    const ours = r.trace.slice(from).flatMap((t) =>
      t.op === 'cfg-read' && (t as { off: number }).off === 0 && (t as { size: number }).size === 4 ? [`R ${(t as { bdf: string }).bdf.slice(5)} 0x00 4 -`] : []);
    expect(vendorReads(ours)).toEqual(vendorReads(fx.phases[0]!.config));
  });

  it('no guest delay anywhere: device_del -> _EJ0 -> DEVICE_DELETED within the same virtual millisecond', () => {
    const fx = loadAcpiphp('pc');
    const r = rig(fx);
    r.add(fx.phases[0]!.command.arguments);
    expect(r.settle()).toBeLessThan(1);
    const t0 = r.m.clock.nowNs();
    let at: number | undefined;
    r.m.events.on((e) => {
      if (e.name === 'DEVICE_DELETED') at = r.m.clock.nowNs();
    });
    r.del('nic1');
    r.settle();
    expect(at).toBeDefined();
    expect((at! - t0) / 1e6).toBeLessThan(1);
    // Real Linux: e1000 unbind takes most of the recorded 100-900 ms; QEMU adds nothing.
    expect(fx.phases[1]!.deviceDeletedAfterReplyMs[0]).toBeGreaterThan(0);
  });
});

describe('acpiphp: the port sequence of guest-acpiphp.md §8 (pc, BSEL 0, slot 5)', () => {
  const gpeDetect = (stsAfter: number) => [
    'read acpi-gpe0 0xafe2 0x6 1', 'read acpi-gpe0 0xafe0 0x2 1', // GPE 0
    'read acpi-gpe0 0xafe2 0x6 1', 'read acpi-gpe0 0xafe0 0x2 1', // GPE 1: set and enabled
    'read acpi-gpe0 0xafe2 0x6 1', 'write acpi-gpe0 0xafe2 0x4 1', // dispatch: disable
    'write acpi-gpe0 0xafe0 0x2 1', // edge: clear
    ...Array.from({ length: 6 }, () => ['read acpi-gpe0 0xafe2 0x4 1', `read acpi-gpe0 0xafe0 0x${stsAfter.toString(16)} 1`]).flat(), // GPE 2-7
  ];
  const prologue = ['read acpi-evt 0x600 - 2', 'read acpi-evt 0x602 - 2'];
  const reenable = ['read acpi-gpe0 0xafe2 0x4 1', 'write acpi-gpe0 0xafe2 0x6 1'];
  const aidx = ['write acpi-pci-hotplug 0xae10 0x0 4', 'write acpi-pci-hotplug 0xae14 0x20 4', 'read acpi-pci-hotplug 0xae14 0x0 4'];

  it('hot-add: SCI, GPE detect/dispatch, _E01 -> PCNT (BNUM, PCIU, PCID), re-enable, _DSM AIDX per add', () => {
    const r = rig(loadAcpiphp('pc'));
    const from = r.trace.length;
    r.add({ driver: 'e1000', bus: 'pci.0', addr: '5', id: 'nic1' });
    r.settle();
    expect(r.acpiIo(from).map(fmtIo)).toEqual([
      ...prologue, ...gpeDetect(0),
      'write acpi-pci-hotplug 0xae10 0x0 4', 'read acpi-pci-hotplug 0xae00 0x20 4', 'read acpi-pci-hotplug 0xae04 0x0 4',
      ...reenable, ...aidx, ...aidx, ...aidx, ...aidx,
    ]);
    const irq = r.trace.slice(from).filter((t) => t.op === 'irq').map((t) => `${t.kind}:${t.line}:${t.level}`);
    expect(irq.slice(0, 2)).toEqual(['sci:9:1', 'sci:9:0']);
  });

  it('hot-remove: same prologue, PCID has the slot, re-enable, driver unbind, then _EJ0 = BNUM + B0EJ', () => {
    const r = rig(loadAcpiphp('pc'));
    r.add({ driver: 'e1000', bus: 'pci.0', addr: '5', id: 'nic1' });
    r.settle();
    const from = r.trace.length;
    r.del('nic1');
    r.settle();
    const io = r.acpiIo(from).map(fmtIo);
    expect(io).toEqual([
      ...prologue, ...gpeDetect(0),
      'write acpi-pci-hotplug 0xae10 0x0 4', 'read acpi-pci-hotplug 0xae00 0x0 4', 'read acpi-pci-hotplug 0xae04 0x20 4',
      ...reenable,
      'write acpi-pci-hotplug 0xae10 0x0 4', 'write acpi-pci-hotplug 0xae08 0x20 4',
    ]);
    // The unbind (bus master off) comes between the GPE re-enable and _EJ0.
    const t = r.trace.slice(from);
    const ej = t.findIndex((x) => x.op === 'io-write' && (x as { port: number }).port === 0xae08);
    const cmd = t.findIndex((x) => x.op === 'cfg-write' && (x as { bdf: string }).bdf === '0000:00:05.0' && (x as { off: number }).off === 4);
    expect(cmd).toBeGreaterThan(0);
    expect(cmd).toBeLessThan(ej);
  });
});

describe('acpiphp: pending removal', () => {
  it('a guest that ignores Eject Request leaves the device pending; system_reset completes it', () => {
    const r = rig(loadAcpiphp('pc'), { policy: 'ignore-unplug' });
    r.add({ driver: 'e1000', bus: 'pci.0', addr: '5', id: 'nic1' });
    r.settle();
    expect(r.guest.device('0000:00:05.0')?.driver).toBe('e1000');
    r.del('nic1');
    r.settle();
    expect(deleted(r)).toEqual([]);
    const from = r.events.length;
    r.m.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    r.settle();
    expect(deleted(r, from)).toEqual(['nic1']);
    expect(r.guest.booted).toBe(true);
    expect(r.guest.device('0000:00:05.0')).toBeUndefined();
  });

  it('Eject Request is re-delivered at the next GPE until the guest ejects (PCID stays set)', () => {
    const r = rig(loadAcpiphp('pc'), { policy: 'ignore-unplug' });
    r.add({ driver: 'e1000', bus: 'pci.0', addr: '5', id: 'nic1' });
    r.settle();
    r.del('nic1');
    r.settle();
    const from = r.trace.length;
    r.add({ driver: 'e1000', bus: 'pci.0', addr: '6', id: 'nic2' });
    r.settle();
    const pcnt = r.acpiIo(from).map(fmtIo).filter((l) => / 0xae0[04] /.test(l));
    expect(pcnt).toEqual(['read acpi-pci-hotplug 0xae00 0x40 4', 'read acpi-pci-hotplug 0xae04 0x20 4']);
  });
});

describe('acpiphp: virtio backend', () => {
  it('virtio-net-pci: the backend child is deleted before the proxy after _EJ0', () => {
    const r = rig(loadAcpiphp('pc'));
    r.add({ driver: 'virtio-net-pci', bus: 'pci.0', addr: '5', id: 'vnet0' });
    r.settle();
    r.del('vnet0');
    r.settle();
    const evs = r.events.filter((e) => e.name === 'DEVICE_DELETED').map((e) => e.data);
    expect(evs).toEqual([{ path: '/machine/peripheral/vnet0/virtio-backend' }, { device: 'vnet0', path: '/machine/peripheral/vnet0' }]);
  });
});
