/**
 * The hotplug handler mapping (spec/shpc.md §6) and the series' X_DEVICE_ON / x-query-hotplug
 * (spec/pcie-slot.md §8): plug, unplug request, removal by command, reset, errors.
 */
import { describe, expect, it } from 'vitest';
import { PCIBridge } from '@plugboard/pci-core';
import * as S from '../src/regs.js';
import { ShpcController, SHPC_BRIDGE_TYPES, shpcHotplugPlugin, shpcOf } from '../src/index.js';
import { bridge, buildBoard, nic, shpcView, type ShpcView } from './board.js';

const SLOT0 = 'Unsupported PCI slot 0 for standard hotplug controller. Valid slots are between 1 and 31.';
const cmd = (v: ShpcView, code: number, target = 1) => v.w16(S.SHPC_CMD_CODE, (target << 8) | code);
/** Linux's enable: LED blink, attention off, power-only, enable+blink, LED on. */
const linuxEnable = (v: ShpcView, t = 1) => [0x08, 0x30, 0x01, 0x3a, 0x04].forEach((c) => cmd(v, c, t));

describe('plugin', () => {
  it('extends pci-bridge and pcie-pci-bridge; the controller is the secondary bus handler', () => {
    expect(shpcHotplugPlugin.extensions?.map((e) => e.type)).toEqual([...SHPC_BRIDGE_TYPES]);
    const b = buildBoard([bridge('br1', '1'), { driver: 'pcie-pci-bridge', id: 'br2', addr: '2' }, bridge('br0', '3', { chassis_nr: 3, shpc: false })]);
    for (const id of ['br1', 'br2']) {
      const c = shpcOf(b.dev(id))!;
      expect(c).toBeInstanceOf(ShpcController);
      expect((b.dev(id) as PCIBridge).secondaryBus.hotplugHandler).toBe(c);
      expect(c.cap).toBe(0x40);
    }
    expect([shpcOf(b.dev('br0')), (b.dev('br0') as PCIBridge).secondaryBus.hotpluggable]).toEqual([undefined, false]);
    expect(b.tryAdd(nic('n', 'br0', '1'))).toBe("Bus 'br0' does not support hotplugging");
  });

  it('pcie-pci-bridge serves the same registers through its 64-bit BAR0', () => {
    const b = buildBoard([{ driver: 'pcie-pci-bridge', id: 'br2', addr: '1' }, nic('n1', 'br2', '1')]);
    const v = shpcView(b, 'br2');
    expect([v.r32(S.SHPC_NSLOTS), v.slot(1), v.slot(2)]).toEqual([0xe001011f, 0x7f000006, 0x7f000d0f]);
  });
});

describe('plug', () => {
  it('slot 0 is refused with QEMU\'s text, with or without addr; nothing is left behind', () => {
    const b = buildBoard([bridge('br1', '1')]);
    const v = shpcView(b, 'br1');
    expect([b.tryAdd(nic('n0', 'br1')), b.tryAdd(nic('n0', 'br1', '0'))]).toEqual([SLOT0, SLOT0]);
    expect([b.machine.deviceById('n0'), b.events, v.r32(S.SHPC_INT_LOCATOR)]).toEqual([undefined, [], 0]);
    expect(b.tryAdd(nic('n0', 'br1', '1'))).toBe('ok'); // the id is free again
  });

  it('hot-add into an empty slot: MRL closed, present, button+MRL+presence; state stays disabled (0x7f0d000f)', () => {
    const b = buildBoard([bridge('br1', '1')]);
    const v = shpcView(b, 'br1');
    b.add(nic('n1', 'br1', '1'));
    expect(v.slot(1)).toBe(0x7f0d000f);
  });

  it('a second function (or a cancelled removal) only presses the button', () => {
    const b = buildBoard([bridge('br1', '1')]);
    const v = shpcView(b, 'br1');
    b.add(nic('f1', 'br1', '4.1'));
    v.w8(S.SHPC_SLOT_EVENT_LATCH(3), 0x1f);
    b.add(nic('f0', 'br1', '4.0', { multifunction: true }));
    expect(v.slot(4)).toBe(0x7f04000f);
  });

  it('cold plug: present and MRL closed; the first reset enables the slot with its power LED on', () => {
    const b = buildBoard([bridge('br1', '1'), nic('n1', 'br1', '1')]);
    expect(shpcView(b, 'br1').slot(1)).toBe(0x7f000006);
  });
});

describe('unplug request and removal', () => {
  it('enabled slot: attention button only, again on every request, the device stays (recorded 0x7f040006)', () => {
    const b = buildBoard([bridge('br1', '1'), nic('n1', 'br1', '1')]);
    const v = shpcView(b, 'br1');
    expect([b.del('n1'), v.slot(1), b.machine.deviceById('n1')?.pendingDeletion]).toEqual(['ok', 0x7f040006, false]);
    v.w8(S.SHPC_SLOT_EVENT_LATCH(0), 0x1f);
    expect([b.del('n1'), v.slot(1), b.deleted()]).toEqual(['ok', 0x7f040006, []]);
  });

  it('slot still disabled with its LED off: emptied at once, every function (recorded 0x7f0d0d0f, f0 before f1)', () => {
    const b = buildBoard([bridge('br1', '1')]);
    const v = shpcView(b, 'br1');
    b.add(nic('f1', 'br1', '4.1'));
    b.add(nic('f0', 'br1', '4.0', { multifunction: true }));
    expect([b.del('f1'), v.slot(4), b.deleted()]).toEqual(['ok', 0x7f0d0d0f, ['f0', 'f1']]);
    expect(b.del('f1')).toBe("Device 'f1' not found");
  });

  it('the guest\'s disable (0x1f) completes device_del: DEVICE_DELETED with the path', () => {
    const b = buildBoard([bridge('br1', '1')]);
    const v = shpcView(b, 'br1');
    b.add(nic('n1', 'br1', '1'));
    linuxEnable(v);
    b.del('n1');
    cmd(v, 0x08);
    cmd(v, 0x30);
    expect(b.deleted()).toEqual([]);
    cmd(v, 0x1f);
    expect(b.events.filter((e) => e.name === 'DEVICE_DELETED').map((e) => e.data)).toEqual([{ device: 'n1', path: '/machine/peripheral/n1' }]);
    cmd(v, 0x30);
    expect(v.slot(1)).toBe(0x7f0d0d3f); // nobody cleared the latches here: add, button, MRL+presence
  });

  it('system_reset re-derives the slots: a pending button press is lost, the device stays (recorded on pc)', () => {
    const b = buildBoard([bridge('br1', '1'), nic('n1', 'br1', '1')]);
    const v = shpcView(b, 'br1');
    b.del('n1');
    b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    expect([shpcView(b, 'br1').slot(1), b.deleted()]).toEqual([0x7f000006, []]);
    expect(v.cap).toBe(0x40);
  });

  it('the attention button command presses the slot of a device', () => {
    const b = buildBoard([bridge('br1', '1'), nic('n1', 'br1', '1')]);
    const v = shpcView(b, 'br1');
    b.dev('n1').hotplugHandler()!.pressAttentionButton!(b.dev('n1'));
    expect(v.slot(1)).toBe(0x7f040006);
  });
});

describe('X_DEVICE_ON and x-query-hotplug (the v8 series)', () => {
  const query = (b: ReturnType<typeof buildBoard>, id: string) => b.dev(id).hotplugHandler()!.queryHotplug!(b.dev(id));
  const ons = (b: ReturnType<typeof buildBoard>) => b.events.filter((e) => e.name === 'X_DEVICE_ON').map((e) => e.data);

  it('fires once, at the command that leaves the slot enabled + power LED on + attention off', () => {
    const b = buildBoard([bridge('br1', '1')]);
    const v = shpcView(b, 'br1');
    b.add(nic('n1', 'br1', '1'));
    expect(query(b, 'n1')).toEqual({
      type: 'shpc', bus: { device: 'br1', path: '/machine/peripheral/br1' }, addr: '1', child: { device: 'n1', path: '/machine/peripheral/n1' },
      'device-on': false, 'power-led': 'off', 'slot-state': 'disabled',
    });
    [0x08, 0x30, 0x01, 0x3a].forEach((c) => cmd(v, c));
    expect(ons(b)).toEqual([]);
    expect(query(b, 'n1')).toMatchObject({ 'power-led': 'blinking', 'attention-led': 'off', 'slot-state': 'enabled' });
    cmd(v, 0x04);
    expect(ons(b)).toEqual([{ device: 'n1', path: '/machine/peripheral/n1' }]);
    expect(v.slot(1) & 0xffff).toBe(0x0035); // the register keeps 7.2's power-only
    expect(query(b, 'n1')).toMatchObject({ 'device-on': true, 'power-led': 'on', 'attention-led': 'off', 'slot-state': 'enabled' });
    cmd(v, 0x08); // a removal cancelled by the guest: on again, no second event
    cmd(v, 0x04);
    expect(ons(b).length).toBe(1);
  });

  it('no event without function 0; none for cold-plugged devices; the anonymous device has no `device`', () => {
    const b = buildBoard([bridge('br1', '1'), nic('n3', 'br1', '3')]);
    const v = shpcView(b, 'br1');
    b.add(nic('f1', 'br1', '4.1'));
    linuxEnable(v, 4);
    b.add({ driver: 'e1000', bus: 'br1', addr: '5' });
    linuxEnable(v, 5);
    expect(ons(b)).toEqual([{ path: '/machine/peripheral-anon/device[0]' }]);
    expect(query(b, 'n3')).toMatchObject({ addr: '3', 'device-on': false, 'power-led': 'on', 'slot-state': 'enabled' });
    expect(query(b, 'n3')).not.toHaveProperty('attention-led'); // 7.2 resets it to 0: no information
  });
});
