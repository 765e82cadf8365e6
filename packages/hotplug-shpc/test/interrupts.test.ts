/**
 * Interrupt generation (spec/shpc.md §5): the locator, the global and per-slot masks,
 * command completion, INTx levels and MSI on every level change (falling edges included).
 */
import { describe, expect, it } from 'vitest';
import { regs } from '@plugboard/pci-core';
import * as S from '../src/regs.js';
import { bridge, buildBoard, enableMsi, nic, shpcView } from './board.js';

/** What Linux's probe leaves: slot masks 0x60 (SERR masks only), SERR-INT 0xa. */
function linuxMasks(v: ReturnType<typeof shpcView>): void {
  for (let i = 0; i < S.SHPC_MAX_SLOTS; i++) v.w8(S.SHPC_SLOT_EVENT_SERR_INT_DIS(i), S.SHPC_SLOT_EVENT_MRL_SERR_DIS | S.SHPC_SLOT_EVENT_CONNECTED_FAULT_SERR_DIS);
  v.w32(S.SHPC_SERR_INT, S.SHPC_SERR_DIS | S.SHPC_ARB_SERR_DIS);
}

describe('interrupt locator and masks', () => {
  it('at reset everything is masked: a hot-add latches events but raises nothing (recorded on pc)', () => {
    const b = buildBoard([bridge('br1', '1')]);
    const v = shpcView(b, 'br1');
    b.add(nic('n1', 'br1', '1'));
    expect([v.slot(1), v.r32(S.SHPC_INT_LOCATOR), b.intx.length]).toEqual([0x7f0d000f, 0, 0]);
  });

  it('slot N sets locator bit N when one of its latched events is unmasked', () => {
    const b = buildBoard([bridge('br1', '1')]);
    const v = shpcView(b, 'br1');
    b.add(nic('n2', 'br1', '2'));
    v.w8(S.SHPC_SLOT_EVENT_SERR_INT_DIS(1), 0x7f & ~S.SHPC_SLOT_EVENT_BUTTON);
    expect(v.r32(S.SHPC_INT_LOCATOR)).toBe(1 << 2);
    v.w8(S.SHPC_SLOT_EVENT_LATCH(1), S.SHPC_SLOT_EVENT_BUTTON);
    expect(v.r32(S.SHPC_INT_LOCATOR)).toBe(0);
  });

  it('command completion sets bit 0 only while its interrupt is unmasked', () => {
    const b = buildBoard([bridge('br1', '1')]);
    const v = shpcView(b, 'br1');
    v.w8(S.SHPC_CMD_CODE, 0x40);
    expect(v.r32(S.SHPC_INT_LOCATOR)).toBe(0);
    v.w32(S.SHPC_SERR_INT, S.SHPC_INT_DIS | S.SHPC_SERR_DIS | S.SHPC_ARB_SERR_DIS);
    expect(v.r32(S.SHPC_INT_LOCATOR)).toBe(S.SHPC_INT_COMMAND);
  });
});

describe('INTx', () => {
  it('follows global-unmasked && locator != 0 on INTA of the bridge', () => {
    const b = buildBoard([bridge('br1', '1')]);
    const v = shpcView(b, 'br1');
    linuxMasks(v);
    b.add(nic('n1', 'br1', '1'));
    expect(b.intx).toEqual([{ dev: 'br1', pin: 0, level: 1 }]);
    expect(v.cfg8(regs.PCI_STATUS) & regs.PCI_STATUS_INTERRUPT).toBe(regs.PCI_STATUS_INTERRUPT);
    v.w32(S.SHPC_SLOT_REG(0), v.slot(1));
    expect(b.intx.at(-1)).toEqual({ dev: 'br1', pin: 0, level: 0 });
    v.w8(S.SHPC_CMD_CODE, 0x40); // command completion
    v.w32(S.SHPC_SERR_INT, S.SHPC_SERR_DIS | S.SHPC_ARB_SERR_DIS | S.SHPC_INT_DIS); // global mask drops it (bit 16 kept: 0 written)
    expect(b.intx.map((e) => e.level)).toEqual([1, 0, 1, 0]);
    v.w32(S.SHPC_SERR_INT, S.SHPC_SERR_DIS | S.SHPC_ARB_SERR_DIS); // unmasked again, still pending
    expect(b.intx.map((e) => e.level)).toEqual([1, 0, 1, 0, 1]);
  });

  it('a reset drops the line', () => {
    const b = buildBoard([bridge('br1', '1')]);
    const v = shpcView(b, 'br1');
    linuxMasks(v);
    b.add(nic('n1', 'br1', '1'));
    b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    expect(b.intx.map((e) => e.level)).toEqual([1, 0]);
  });
});

describe('MSI', () => {
  it('one message per level change, the falling edge too (the guest masking the global interrupt)', () => {
    const b = buildBoard([bridge('br1', '1')]);
    const v = shpcView(b, 'br1');
    enableMsi(b, 'br1', 0x22);
    const cmd = b.dev('br1').config.get16(regs.PCI_COMMAND);
    b.gv.configWrite({ bus: 0, devfn: 8 }, regs.PCI_COMMAND, cmd | regs.PCI_COMMAND_INTX_DISABLE, 2);
    linuxMasks(v);
    v.w16(S.SHPC_CMD_CODE, 0x0108); // shpc_write_cmd: completion -> level 1 -> message
    expect(b.msis).toEqual([{ dev: 'br1', address: 0xfee00000n, data: 0x22 }]);
    // shpc_isr: read SERR-INT, set the global mask, write back (clears bit 16 too): level 0 -> message
    v.w32(S.SHPC_SERR_INT, v.r32(S.SHPC_SERR_INT) | S.SHPC_INT_DIS);
    expect(b.msis.length).toBe(2);
    v.w32(S.SHPC_SERR_INT, v.r32(S.SHPC_SERR_INT) & ~S.SHPC_INT_DIS); // unmask, nothing pending
    expect([b.msis.length, b.intx.length]).toEqual([2, 0]);
  });
});
