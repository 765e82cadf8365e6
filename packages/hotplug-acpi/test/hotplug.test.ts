/**
 * device_add / device_del round trips through the ACPI controller on a pc board, with the
 * replies, events and register values QEMU 7.2.22 gave for the same sequences.
 */
import { describe, expect, it } from 'vitest';
import { QemuError, deviceDel, type Device } from '@plugboard/qdev';
import { PIIX4_GPE_BASE } from '../src/index.js';
import { buildPc, deletedIds, runFor, pcihpPorts } from './boards.js';

const G = PIIX4_GPE_BASE;
const { UP, DOWN, EJ, RMV, SEL } = pcihpPorts(0xae00);

function error(fn: () => unknown): { class: string; desc: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof QemuError) return { class: e.errorClass, desc: e.message };
    throw e;
  }
  throw new Error('expected a QemuError');
}

describe('device_del and guest eject', () => {
  it('completes when the guest writes the slot to EJ: DEVICE_DELETED, device gone', () => {
    const b = buildPc();
    b.add({ driver: 'e1000', id: 'n1', addr: '5' });
    deviceDel(b.machine, 'n1');
    expect(b.machine.deviceById('n1')).toBeDefined();
    expect(b.inl(DOWN)).toBe(0x20);
    b.outl(EJ, 1 << 5);
    expect(b.events.filter((e) => e.name === 'DEVICE_DELETED')).toEqual([{ name: 'DEVICE_DELETED', data: { device: 'n1', path: '/machine/peripheral/n1' } }]);
    expect(b.inl(DOWN)).toBe(0);
    expect(b.root.deviceAt(5 << 3)).toBeUndefined();
    expect(error(() => deviceDel(b.machine, 'n1'))).toEqual({ class: 'DeviceNotFound', desc: "Device 'n1' not found" });
  });

  it('refuses a repeat in prelaunch (clock at 0 = never expires)', () => {
    const b = buildPc();
    b.add({ driver: 'e1000', id: 'n1', addr: '5' });
    deviceDel(b.machine, 'n1');
    const dev = b.machine.deviceById('n1')!;
    expect([dev.pendingDeletion, dev.pendingDeletionExpiresMs]).toEqual([true, 0]);
    expect(error(() => deviceDel(b.machine, 'n1')).desc).toBe('Device n1 is already in the process of unplug');
    expect(error(() => deviceDel(b.machine, '/machine/peripheral/n1')).desc).toBe('Device /machine/peripheral/n1 is already in the process of unplug');
    // Even once the VM has run, the prelaunch request never expires (observed after `cont`).
    runFor(b, 500);
    expect(error(() => deviceDel(b.machine, 'n1')).desc).toBe('Device n1 is already in the process of unplug');
  });

  it('accepts and re-signals a repeat once guest time is past 0 (expiry = now)', () => {
    const b = buildPc();
    runFor(b, 10);
    b.add({ driver: 'e1000', id: 'r1', addr: '0xc' });
    deviceDel(b.machine, 'r1');
    expect(b.machine.deviceById('r1')!.pendingDeletionExpiresMs).toBe(10);
    b.outl(G, 0x2);
    runFor(b, 300);
    deviceDel(b.machine, 'r1');
    expect(b.inl(G)).toBe(0x2);
    expect(b.inl(DOWN)).toBe(0x1000);
    // Same millisecond, VM paused: expiry == now is not "in the future", accepted again.
    b.machine.stop();
    deviceDel(b.machine, 'r1');
    deviceDel(b.machine, 'r1');
  });

  it('system_reset ejects every pending slot, bus by bus', () => {
    const b = buildPc({ devices: [{ driver: 'pci-bridge', id: 'br1', chassis_nr: 1 }] });
    b.add({ driver: 'e1000', id: 'b1', bus: 'br1', addr: '3' });
    b.add({ driver: 'e1000', id: 'n1', addr: '5' });
    deviceDel(b.machine, 'b1');
    deviceDel(b.machine, 'n1');
    b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    expect(deletedIds(b)).toEqual(['n1', 'b1']);
    // QEMU showed RESET before these DEVICE_DELETED (RCU-delayed finalize); clients may not
    // rely on that order (spec/qdev-hotplug.md §6), here they come as the slots are ejected.
    expect(b.events.filter((e) => e.name === 'RESET')).toHaveLength(1);
    expect(b.inl(DOWN)).toBe(0);
  });

  it('lets the guest eject a removable device without device_del, and nothing else', () => {
    const b = buildPc({ devices: [{ driver: 'pci-bridge', id: 'br1', chassis_nr: 1, addr: '3' }] });
    b.add({ driver: 'e1000', id: 'n9', addr: '9' });
    b.outl(EJ, 1 << 9);
    expect(deletedIds(b)).toEqual(['n9']);
    b.outl(EJ, 0); // no slot
    b.outl(EJ, 1 << 3); // cold-plugged bridge
    b.outl(EJ, 1 << 1); // PIIX3/PIIX4: class not hotpluggable
    expect(deletedIds(b)).toEqual(['n9']);
    expect(b.inl(RMV)).toBe(0xfffffff4);
  });

  it('ejects only the lowest slot of a mask', () => {
    const b = buildPc();
    b.add({ driver: 'e1000', id: 'n5', addr: '5' });
    b.add({ driver: 'e1000', id: 'n6', addr: '6' });
    b.outl(EJ, (1 << 5) | (1 << 6));
    expect(deletedIds(b)).toEqual(['n5']);
  });
});

describe('multifunction slots', () => {
  it('signals a function > 0 at once and ejects every function, newest first', () => {
    const b = buildPc();
    b.add({ driver: 'e1000', id: 'f1', addr: '6.1' });
    expect(b.inl(UP)).toBe(0x40);
    expect(b.inl(G)).toBe(0x2);
    b.outl(G, 0x2);
    b.add({ driver: 'e1000', id: 'f0', addr: '6.0', multifunction: true });
    expect(b.inl(UP)).toBe(0x40);
    deviceDel(b.machine, 'f1');
    b.outl(EJ, 1 << 6);
    expect(deletedIds(b)).toEqual(['f0', 'f1']);
  });
});

describe('acpi-index', () => {
  it('refuses values above 16383 and duplicates, with QEMU texts', () => {
    const b = buildPc({ devices: [{ driver: 'pci-bridge', id: 'br1', chassis_nr: 1 }] });
    expect(error(() => b.add({ driver: 'e1000', id: 'a3', addr: '0xa', 'acpi-index': 16384 })).desc).toBe('acpi-index should be less or equal to 16383');
    b.add({ driver: 'e1000', id: 'a4', addr: '0xa', 'acpi-index': 16383 });
    expect(error(() => b.add({ driver: 'e1000', id: 'a5', bus: 'br1', addr: '1', 'acpi-index': 16383 })).desc).toBe(
      'a PCI device with acpi-index = 16383 already exist',
    );
    expect(b.machine.deviceById('a5')).toBeUndefined();
  });

  it('applies to cold-plugged devices too', () => {
    expect(() => buildPc({ devices: [{ driver: 'e1000', id: 'c1', 'acpi-index': 3 }, { driver: 'e1000', id: 'c2', 'acpi-index': 3 }] })).toThrow(
      'a PCI device with acpi-index = 3 already exist',
    );
  });

  it('keeps an index claimed by a device whose realize failed (QEMU 7.2 leak)', () => {
    const b = buildPc({ devices: [{ driver: 'e1000', id: 'c1', addr: '4' }] });
    expect(error(() => b.add({ driver: 'e1000', id: 'a1', addr: '4', 'acpi-index': 7 })).desc).toBe(
      'PCI: slot 4 function 0 not available for e1000, in use by e1000,id=c1',
    );
    expect(error(() => b.add({ driver: 'e1000', id: 'a2', addr: '0xa', 'acpi-index': 7 })).desc).toBe('a PCI device with acpi-index = 7 already exist');
  });

  it('frees the index when the device is ejected', () => {
    const b = buildPc();
    b.add({ driver: 'e1000', id: 'a4', addr: '0xa', 'acpi-index': 16383 });
    b.outl(EJ, 1 << 10);
    expect(deletedIds(b)).toEqual(['a4']);
    b.add({ driver: 'e1000', id: 'a6', addr: '0xb', 'acpi-index': 16383 });
  });
});

describe('bridges on pc', () => {
  it('takes over cold-plugged bridges and numbers buses at the first reset', () => {
    const b = buildPc({ devices: [{ driver: 'pci-bridge', id: 'br1', chassis_nr: 1 }] });
    expect(b.root.getProperty('acpi-pcihp-bsel')).toBe(0);
    const sec = b.machine.deviceById('br1')!.childBuses[0]!;
    expect(sec.getProperty('acpi-pcihp-bsel')).toBe(1);
    expect(sec.getProperty('hotplug-handler')).toBe(b.pm.canonicalPath());
    expect(b.root.getProperty('hotplug-handler')).toBe(b.pm.canonicalPath());
    expect(b.pm.getProperty('acpi-pcihp-io-base')).toBe(0xae00);
    expect(b.pm.getProperty('acpi-pcihp-io-len')).toBe(0x18);
    b.add({ driver: 'e1000', id: 'b1', bus: 'br1', addr: '3' });
    expect(b.inl(UP)).toBe(0);
    b.outl(SEL, 1);
    expect([b.inl(UP), b.inl(RMV)]).toEqual([0x8, 0xffffffff]);
    deviceDel(b.machine, 'b1');
    expect(b.inl(DOWN)).toBe(0x8);
  });

  it('leaves hot-plugged bridges to their own controller, and ejects them with their children', () => {
    const b = buildPc();
    const hb = b.add({ driver: 'pci-bridge', id: 'hb', chassis_nr: 2, addr: '9' });
    expect(b.inl(UP)).toBe(0x200);
    const sec = hb.childBuses[0]!;
    expect(() => sec.getProperty('acpi-pcihp-bsel')).toThrow("Property 'PCI.acpi-pcihp-bsel' not found");
    expect(sec.hotplugHandler).not.toBe(b.acpi);
    sec.setHotplugHandler({}, hb); // stands in for the bridge's SHPC
    b.add({ driver: 'e1000', id: 'hbn', bus: 'hb', addr: '1' });
    deviceDel(b.machine, 'hb');
    expect(b.inl(DOWN)).toBe(0x200);
    b.outl(EJ, 1 << 9);
    expect(deletedIds(b)).toEqual(['hbn', 'hb']);
  });

  it('refuses hotplug on a bus it handles that has no BSEL', () => {
    const b = buildPc();
    const hb = b.add({ driver: 'pci-bridge', id: 'hb', chassis_nr: 2, addr: '9' });
    // A bus handed to the controller after the first reset never gets a BSEL.
    hb.childBuses[0]!.setHotplugHandler(b.acpi, b.pm);
    const msg = "Unsupported bus. Bus doesn't have property 'acpi-pcihp-bsel' set";
    expect(error(() => b.add({ driver: 'e1000', id: 'x1', bus: 'hb', addr: '1' })).desc).toBe(msg);
    expect(b.machine.deviceById('x1')).toBeUndefined();
    hb.childBuses[0]!.setHotplugHandler({}, hb);
    b.add({ driver: 'e1000', id: 'x2', bus: 'hb', addr: '1' });
    hb.childBuses[0]!.setHotplugHandler(b.acpi, b.pm);
    expect(error(() => deviceDel(b.machine, 'x2')).desc).toBe(msg);
  });
});

describe('PIIX4 property combinations', () => {
  const shpcStandIn = (b: { machine: { deviceById(id: string): Device | undefined } }) => {
    const br = b.machine.deviceById('br1')!;
    if (!br.childBuses[0]!.hotpluggable) br.childBuses[0]!.setHotplugHandler({}, br);
  };

  it('legacy (bridge support off): no takeover, SEL forced to 0, UP not cleared', () => {
    const b = buildPc({ bridgeSupport: false, devices: [{ driver: 'pci-bridge', id: 'br1', chassis_nr: 1 }], beforeReady: shpcStandIn });
    const sec = b.machine.deviceById('br1')!.childBuses[0]!;
    expect(sec.hotplugHandler).not.toBe(b.acpi);
    expect(sec.getProperty('acpi-pcihp-bsel')).toBe(1); // hotpluggable (SHPC) at first reset
    b.add({ driver: 'e1000', id: 'n1', addr: '5' });
    expect([b.inl(UP), b.inl(UP)]).toEqual([0x20, 0x20]);
    b.outl(SEL, 1);
    expect(b.inl(SEL)).toBe(0);
    expect(b.inl(RMV)).toBe(0xfffffff8);
  });

  it('root hotplug off: pci.0 loses its handler, the bridge bus becomes BSEL 0', () => {
    const b = buildPc({ rootHotplug: false, devices: [{ driver: 'pci-bridge', id: 'br1', chassis_nr: 1 }, { driver: 'e1000', id: 'c1', addr: '5' }] });
    expect(() => b.root.getProperty('acpi-pcihp-bsel')).toThrow("Property 'PCI.acpi-pcihp-bsel' not found");
    expect(b.root.getProperty('hotplug-handler')).toBe('');
    expect(error(() => b.add({ driver: 'e1000', id: 'n1', addr: '6' })).desc).toBe("Bus 'pci.0' does not support hotplugging");
    expect(error(() => deviceDel(b.machine, 'c1')).desc).toBe("Bus 'pci.0' does not support hotplugging");
    expect(b.machine.deviceById('br1')!.childBuses[0]!.getProperty('acpi-pcihp-bsel')).toBe(0);
    b.add({ driver: 'e1000', id: 'b1', bus: 'br1', addr: '1' });
    expect([b.inl(SEL), b.inl(UP)]).toEqual([0, 0x2]);
    b.outl(EJ, 1 << 5); // selector 0 is the bridge bus now: slot 5 there is empty
    expect(deletedIds(b)).toEqual([]);
  });

  it('both off (7.2 quirk): no register block, bridges still ACPI-managed', () => {
    const b = buildPc({ rootHotplug: false, bridgeSupport: false, devices: [{ driver: 'pci-bridge', id: 'br1', chassis_nr: 1 }] });
    expect(b.inl(0xae00)).toBe(0xffffffff);
    expect(b.machine.deviceById('br1')!.childBuses[0]!.getProperty('acpi-pcihp-bsel')).toBe(0);
    b.add({ driver: 'e1000', id: 'b1', bus: 'br1', addr: '1' });
    deviceDel(b.machine, 'b1');
    expect(b.inl(G)).toBe(0x2);
  });
});
