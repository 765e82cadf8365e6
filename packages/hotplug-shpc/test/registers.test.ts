/**
 * The register map (spec/shpc.md §2–§3): reset values, every read-only, write-1-to-clear
 * and read-write bit, access sizes, and the DWORD SELECT/DATA window with its quirks.
 */
import { describe, expect, it } from 'vitest';
import { regs } from '@plugboard/pci-core';
import type { PropValue } from '@plugboard/qdev';
import * as S from '../src/regs.js';
import { bridge, buildBoard, nic, shpcView } from './board.js';

const boardWith = (...extra: Array<Record<string, PropValue>>) => {
  const b = buildBoard([bridge('br1', '1'), ...extra]);
  return { b, v: shpcView(b, 'br1') };
};

describe('reset values', () => {
  it('controller registers and empty/occupied slots (recorded: e001011f, 0xf, 7f000d0f, 7f000006)', () => {
    const { v } = boardWith(nic('n3', 'br1', '3'));
    expect([0, 4, 8, 0xc, 0x10, 0x14, 0x18, 0x1c, 0x20].map((o) => v.r32(o))).toEqual([0, 0x1f, 0, 0xe001011f, 0x01000000, 0, 0, 0, 0xf]);
    expect([v.slot(1), v.slot(2), v.slot(3), v.slot(31)]).toEqual([0x7f000d0f, 0x7f000d0f, 0x7f000006, 0x7f000d0f]);
    expect(v.r32(S.SHPC_SLOT_REG(30) + 4)).toBe(0); // past the 31 slots
  });

  it('the capability: ID 0x0c, next 0 (added first), SELECT 0, CSP/CIP 0, DATA = dword 0', () => {
    const { b, v } = boardWith();
    expect(v.cap).toBe(0x40);
    expect(v.cfg32(v.cap)).toBe(0x0000000c);
    expect(v.cfg32(v.cap + 4)).toBe(0);
    expect(b.dev('br1').config.get8(regs.PCI_CAPABILITY_LIST)).toBe(0x4c); // MSI, added last
  });
});

describe('read-only registers', () => {
  it('ignore writes of all-ones at every controller dword except command and SERR-INT', () => {
    const { v } = boardWith();
    for (const off of [S.SHPC_BASE_OFFSET, S.SHPC_SLOTS_33, S.SHPC_SLOTS_66, S.SHPC_NSLOTS, S.SHPC_SEC_BUS, S.SHPC_INT_LOCATOR, S.SHPC_SERR_LOCATOR]) {
      const before = v.r32(off);
      v.w32(off, 0xffffffff);
      expect(v.r32(off), `0x${off.toString(16)}`).toBe(before);
    }
  });

  it('command status: only commands set it; writes do nothing and do not run a command', () => {
    const { v } = boardWith();
    v.w16(S.SHPC_CMD_STATUS, 0xffff);
    expect([v.r16(S.SHPC_CMD_STATUS), v.r32(S.SHPC_SERR_INT)]).toEqual([0, 0xf]);
  });

  it('slot status word is read-only at every width', () => {
    const { v } = boardWith(nic('n3', 'br1', '3'));
    v.w16(S.SHPC_SLOT_STATUS(2), 0xffff);
    v.w8(S.SHPC_SLOT_STATUS(2) + 1, 0xff);
    v.w32(S.SHPC_SLOT_STATUS(0), 0x0000ffff); // also clears slot 1's mask byte: 0x00
    expect([v.slot(3) & 0xffff, v.slot(1)]).toEqual([0x0006, 0x00000d0f]);
  });
});

describe('read-write and write-1-to-clear bits', () => {
  it('command code (8 bits) and target (5 bits)', () => {
    const { v } = boardWith();
    v.w16(S.SHPC_CMD_CODE, 0xff3f);
    expect(v.r16(S.SHPC_CMD_CODE)).toBe(0x1f3f);
  });

  it('SERR-INT: bits 0-3 read-write, 16 and 17 write-1-to-clear, 4-15 and 18-31 read 0', () => {
    const { v } = boardWith();
    v.w32(S.SHPC_SERR_INT, 0);
    expect(v.r32(S.SHPC_SERR_INT)).toBe(0);
    v.w32(S.SHPC_SERR_INT, 0xffffffff);
    expect(v.r32(S.SHPC_SERR_INT)).toBe(0xf);
    v.w8(S.SHPC_CMD_CODE, 0x40); // any command sets Command Completion Detected
    expect(v.r32(S.SHPC_SERR_INT)).toBe(0x1000f);
    v.w32(S.SHPC_SERR_INT, 0x0000000f); // 0 in bit 16 keeps it
    expect(v.r32(S.SHPC_SERR_INT)).toBe(0x1000f);
    v.w32(S.SHPC_SERR_INT, 0x0003000a); // W1C 16 (17 was clear), masks 1 and 3
    expect(v.r32(S.SHPC_SERR_INT)).toBe(0xa);
  });

  it('slot event latch: bits 0-4 write-1-to-clear, exactly those written', () => {
    const { b, v } = boardWith();
    b.add(nic('n1', 'br1', '1'));
    expect(v.slot(1)).toBe(0x7f0d000f); // presence, button, MRL latched
    v.w8(S.SHPC_SLOT_EVENT_LATCH(0), S.SHPC_SLOT_EVENT_BUTTON | 0xe0);
    expect(v.slot(1)).toBe(0x7f09000f);
    v.w32(S.SHPC_SLOT_REG(0), v.slot(1)); // Linux writes back what it read: clears what it saw
    expect(v.slot(1)).toBe(0x7f00000f);
  });

  it('slot SERR/INT mask: bits 0-6 read-write, bit 7 reads 0', () => {
    const { v } = boardWith();
    v.w8(S.SHPC_SLOT_EVENT_SERR_INT_DIS(1), 0xff);
    expect(v.r8(S.SHPC_SLOT_EVENT_SERR_INT_DIS(1))).toBe(0x7f);
    v.w8(S.SHPC_SLOT_EVENT_SERR_INT_DIS(1), 0x60);
    expect(v.slot(2)).toBe(0x60000d0f);
  });
});

describe('access sizes', () => {
  it('1, 2 and 4 bytes, naturally aligned; 0 past the register set; writes there ignored', () => {
    const { v } = boardWith();
    expect([v.r8(0x0c), v.r8(0x0d), v.r16(0x0e), v.r32(0x0c), v.r8(0x9f)]).toEqual([0x1f, 0x01, 0xe001, 0xe001011f, 0x7f]);
    expect([v.r32(0xa0), v.r32(0xfc), v.r8(0xff)]).toEqual([0, 0, 0]);
    v.w32(0xa0, 0xffffffff);
    expect(v.r32(0xa0)).toBe(0);
  });

  it('unaligned accesses are refused by QEMU\'s memory API: read 0, write nothing', () => {
    const { v } = boardWith();
    expect([v.r16(0x0d), v.r32(0x0e), v.r32(0x22)]).toEqual([0, 0, 0]);
    v.w16(0x21, 0x0000); // would clear the SERR-INT masks if it landed
    v.w32(0x13, 0x40404040); // would run a command
    expect([v.r32(S.SHPC_SERR_INT), v.r32(S.SHPC_CMD_CODE)]).toEqual([0xf, 0]);
  });

  it('the window reads the registers directly: any dword, whatever the MMIO rules', () => {
    const { v } = boardWith();
    expect(v.indirect(39)).toBe(0x7f000d0f);
  });
});

describe('the DWORD SELECT/DATA window', () => {
  it('reads dword SELECT of the working registers; 0 beyond them', () => {
    const { v } = boardWith();
    expect([v.indirect(0), v.indirect(3), v.indirect(4), v.indirect(8), v.indirect(9), v.indirect(39), v.indirect(40), v.indirect(255)])
      .toEqual([0, 0xe001011f, 0x01000000, 0xf, 0x7f000d0f, 0x7f000d0f, 0, 0]);
  });

  it('DATA is refreshed only by a write to the capability (recorded stale after a hot-add)', () => {
    const { b, v } = boardWith();
    v.indirect(10);
    b.add(nic('n2', 'br1', '2'));
    expect(v.cfg32(v.cap + 4)).toBe(0x7f000d0f);
    v.cfgW8(v.cap + 3, 0xff); // CSP/CIP: read-only, but a write to the capability all the same
    expect([v.cfg8(v.cap + 3), v.cfg32(v.cap + 4)]).toEqual([0, 0x7f0d000f]);
  });

  it('a DATA write stores working register 0x44 (slot 9) into dword SELECT (recorded: command 0x0d0f)', () => {
    const { v } = boardWith();
    v.cfgW8(v.cap + 2, 5);
    v.cfgW32(v.cap + 4, 0x12345678);
    expect([v.r32(S.SHPC_CMD_CODE), v.r32(S.SHPC_SERR_INT), v.cfg32(v.cap + 4)]).toEqual([0x0d0f, 0x1000f, 0x0d0f]);
    v.cfgW8(v.cap + 2, 10); // slot 2 <- slot 9 (0x7f000d0f): its mask byte stays 0x7f, latch W1C with 0
    v.w8(S.SHPC_SLOT_EVENT_SERR_INT_DIS(1), 0);
    v.cfgW32(v.cap + 4, 0);
    expect(v.slot(2)).toBe(0x7f000d0f);
  });

  it('SELECT survives a reset; DATA keeps its stale value until the next capability write (recorded)', () => {
    const { b, v } = boardWith();
    v.indirect(3);
    b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
    expect([v.cfg8(v.cap + 2), v.cfg32(v.cap + 4)]).toEqual([3, 0xe001011f]);
  });
});
