/**
 * The controller's registers and refusals, and its guest driver, on the plugin's own board.
 * Register traffic goes through the guest view, as a guest's would.
 */
import { describe, expect, it } from 'vitest';
import { QemuError, deviceAdd, qomGet } from '@plugboard/qdev';
import { PCIDevice, regs as R } from '@plugboard/pci-core';
import { HotplugHarness } from '@plugboard/testkit';
import gedHotplugPlugin, {
  GED_B0EJ, GED_DEFAULT_BASE, GED_GDAT, GED_GIRQ, GED_GSIG, GED_PCID, GED_PCIU, GED_PCI_DEVICES_CHANGED, GED_PSEG, GED_SIGNATURE, gedOf,
} from '../src/index.js';
import { GED, gedBoard } from './board.js';

const B = GED_DEFAULT_BASE;
const NIC = { driver: 'e1000e', id: 'nic1', bus: 'pcie.0' };

function harness(policy = 'linux', devices?: Array<Record<string, unknown>>) {
  return HotplugHarness.create({ createMachine: (c) => gedBoard(c, devices), guestDrivers: gedHotplugPlugin.guestDrivers, policy });
}

const addError = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof QemuError) return e.message;
    throw e;
  }
};

describe('ged-pci-hotplug registers', () => {
  it('identifies itself and reports its interrupt', () => {
    const gv = gedBoard().guestView;
    expect(gv.mmioRead(B + GED_GSIG, 4)).toBe(GED_SIGNATURE);
    expect(gv.mmioRead(B + GED_GIRQ, 4)).toBe(5);
    expect(gv.mmioRead(B + GED_GSIG, 1)).toBe(0x50); // 'P': byte reads see the dword little-endian
  });

  it('device_add: BARs programmed in the slot window, PCIU and GDAT set (read clears), one edge on the GSI', () => {
    const h = harness('none').start();
    const gv = h.machine.guestView;
    const m = h.mark();
    const dev = h.add(NIC) as PCIDevice;
    expect(dev.slot).toBe(1);
    expect(h.trace.slice(m.trace)).toEqual([{ t: h.clock.nowNs(), op: 'irq', kind: 'sci', line: 5 }]);
    const bar = (i: number) => dev.config.get32(R.PCI_BASE_ADDRESS_0 + 4 * i);
    // e1000e: BAR0/1 128 KiB, BAR2 32 bytes of I/O, BAR3 16 KiB; slot 1's windows start at +4 MiB / +0x80.
    expect([bar(0), bar(1), bar(2), bar(3)]).toEqual([0xc0400000, 0xc0420000, 0x8081, 0xc0440000]);
    expect(gv.mmioRead(B + GED_GDAT, 4)).toBe(GED_PCI_DEVICES_CHANGED);
    expect(gv.mmioRead(B + GED_GDAT, 4)).toBe(0);
    expect(gv.mmioRead(B + GED_PCIU, 4)).toBe(1 << 1);
    expect(gv.mmioRead(B + GED_PCIU, 4)).toBe(0);
  });

  it('device_del: PCID; B0EJ of the slot unplugs; other segments see nothing', () => {
    const h = harness('none').start();
    const gv = h.machine.guestView;
    h.add(NIC);
    h.del('nic1');
    gv.mmioWrite(B + GED_PSEG, 1, 4);
    expect(gv.mmioRead(B + GED_PCID, 4)).toBe(0);
    gv.mmioWrite(B + GED_B0EJ, 1 << 1, 4); // segment 1 selected: no effect
    expect(h.deleted()).toEqual([]);
    gv.mmioWrite(B + GED_PSEG, 0, 4);
    expect(gv.mmioRead(B + GED_PCID, 4)).toBe(1 << 1);
    expect(gv.mmioRead(B + GED_B0EJ, 4)).toBe(0);
    gv.mmioWrite(B + GED_B0EJ, 1 << 1, 4);
    expect(h.deleted().map((e) => e.data)).toEqual([{ device: 'nic1', path: '/machine/peripheral/nic1' }]);
  });

  it('the guest may eject a hot-pluggable device nobody asked to remove, never a board device', () => {
    const h = harness('none').start();
    h.add(NIC);
    h.machine.guestView.mmioWrite(B + GED_B0EJ, 0b11, 4); // slot 0 is the MCH
    expect(h.deleted().map((e) => e.data?.device)).toEqual(['nic1']);
    expect(h.machine.pciRoots[0]!.deviceAt(0)?.typeName).toBe('mch');
  });

  it('reset clears the registers and ejects what is pending', () => {
    const h = harness('none').start();
    const gv = h.machine.guestView;
    h.add(NIC);
    h.add({ driver: 'e1000e', id: 'nic2', bus: 'pcie.0' });
    h.del('nic2');
    h.reset();
    expect(h.deleted().map((e) => e.data?.device)).toEqual(['nic2']);
    expect([gv.mmioRead(B + GED_GDAT, 4), gv.mmioRead(B + GED_PCIU, 4), gv.mmioRead(B + GED_PCID, 4)]).toEqual([0, 0, 0]);
    expect(h.device('nic1')?.realized).toBe(true);
  });
});

describe('ged-pci-hotplug refusals', () => {
  it('one per machine; a root PCI bus only; an existing bus', () => {
    expect(addError(() => gedBoard({}, [GED, { driver: 'ged-pci-hotplug', id: 'ged1', 'mmio-base': 0xfed31000 }]))).toBe('ged-pci-hotplug: only one per machine');
    expect(addError(() => gedBoard({}, [{ ...GED, 'pci-bus': 'nope' }]))).toBe("Bus 'nope' not found");
    const bridged = [{ driver: 'pci-bridge', id: 'br0', bus: 'pcie.0', chassis_nr: 1 }, { ...GED, 'pci-bus': 'br0' }];
    expect(addError(() => gedBoard({}, bridged))).toBe("ged-pci-hotplug: 'br0' is not a root bus: the controller serves the root bus of a PCI segment");
  });

  it('is part of the board: not hot-pluggable, and its bus refuses device_add without it', () => {
    const m = gedBoard();
    expect(addError(() => deviceAdd(m, { driver: 'ged-pci-hotplug', id: 'ged9' }))).toBe("Parameter 'driver' expects a pluggable device type");
    expect(addError(() => deviceAdd(gedBoard({}, []), NIC))).toBe("Bus 'pcie.0' does not support hotplugging");
  });
});

describe('ged-pci-hotplug guest driver', () => {
  it('binds at boot, scans a hot-added slot and binds its driver, removes and ejects on request', () => {
    const h = harness().start();
    const klog = h.guest!.klog;
    expect(klog.texts()).toContain('ACPI: GED: PCI hotplug controller [mem 0xfed30000-0xfed3001f] irq 5');
    const n = klog.lines.length;
    h.add(NIC);
    h.waitFor(() => h.isOnline('nic1', 'e1000e'), 1000, 'online');
    expect(klog.texts().slice(n)).toContain('e1000e 0000:00:01.0 eth0: Intel(R) PRO/1000 Network Connection');
    h.del('nic1');
    h.waitFor(() => h.deleted('nic1').length === 1, 1000, 'ejected');
    expect(h.guest!.device('0000:00:01.0')).toBeUndefined();
  });

  it('ignore-unplug: the guest reads the request and drops it', () => {
    const h = harness('ignore-unplug').start();
    h.add(NIC);
    h.waitFor(() => h.isOnline('nic1', 'e1000e'), 1000, 'online');
    h.del('nic1');
    h.run(60_000);
    expect(h.deleted()).toEqual([]);
    expect(h.isOnline('nic1', 'e1000e')).toBe(true);
  });

  it('a reboot does not leave a second interrupt handler behind', () => {
    const h = harness().start();
    h.reset();
    h.waitFor(() => !!h.guest?.booted, 10_000, 'reboot');
    const m = h.mark();
    h.add(NIC);
    h.run(100);
    const gdatReads = h.trace.slice(m.trace).filter((r) => r.op === 'mmio-read' && r.addr === B + GED_GDAT);
    expect(gdatReads).toHaveLength(1);
  });
});

describe('ged-pci-hotplug monitor commands', () => {
  it('QMP __org.example_query-ged-hotplug and HMP info_ged report without side effects', () => {
    const h = harness('none').start();
    h.add(NIC);
    h.del('nic1');
    const qmp = gedHotplugPlugin.qmpCommands[0]!;
    expect(qmp.handler({}, { machine: h.machine })).toEqual({
      base: B, irq: 5, bus: 'pcie.0', segment: 0, gdat: GED_PCI_DEVICES_CHANGED, up: 2, down: 2, slots: [{ slot: 1, device: 'nic1', pending: true }],
    });
    const hmp = gedHotplugPlugin.hmpCommands[0]!;
    expect(hmp.run([], { machine: h.machine })).toBe(
      'ged-pci-hotplug at 0xfed30000 irq 5, bus pcie.0 (segment 0)\r\n  GDAT 0x4 PCIU 0x2 PCID 0x2\r\n  slot 1: nic1 (unplug pending)\r\n',
    );
    expect(gedOf(h.machine)?.down).toBe(2);
    expect(qomGet(h.machine, '/machine/unattached/sysbus', 'hotplug-handler')).toBe('');
    expect(qomGet(h.machine, '/machine/q35/pcie.0', 'hotplug-handler')).toBe('/machine/peripheral/ged0');
  });
});
