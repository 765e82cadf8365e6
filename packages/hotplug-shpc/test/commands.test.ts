/**
 * Every command code (spec/shpc.md §4): slot operations from every slot state, bus speed,
 * power-only all, enable all, invalid codes; when a write runs a command.
 */
import { describe, expect, it } from 'vitest';
import * as S from '../src/regs.js';
import { bridge, buildBoard, nic, shpcView, type Board, type ShpcView } from './board.js';

type SlotKind = 'empty' | 'disabled' | 'power-only' | 'enabled';

/**
 * Slot 1 of br1 in a given state: `empty` (reset), `disabled` (hot-added, never enabled),
 * `power-only` (hot-added then command 0x01), `enabled` (cold-plugged).
 */
function setup(kind: SlotKind): { b: Board; v: ShpcView } {
  const b = buildBoard([bridge('br1', '1'), ...(kind === 'enabled' ? [nic('n1', 'br1', '1')] : [])]);
  const v = shpcView(b, 'br1');
  if (kind === 'disabled' || kind === 'power-only') b.add(nic('n1', 'br1', '1'));
  if (kind === 'power-only') v.w16(S.SHPC_CMD_CODE, 0x0101);
  v.w32(S.SHPC_SLOT_REG(0), v.slot(1)); // clear latched events
  v.w32(S.SHPC_SERR_INT, v.r32(S.SHPC_SERR_INT));
  return { b, v };
}

const cmd = (v: ShpcView, code: number, target = 1) => v.w16(S.SHPC_CMD_CODE, (target << 8) | code);
const status = (v: ShpcView) => v.r16(S.SHPC_CMD_STATUS);

describe('slot operations (0x00-0x3f)', () => {
  // [from, code, expected slot status word, command status, device still there]
  const table: Array<[SlotKind, number, number, number, boolean]> = [
    ['disabled', 0x01, 0x000d, 0, true], // -> power-only
    ['disabled', 0x02, 0x000e, 0, true], // -> enabled
    ['disabled', 0x03, 0x000f, 0, true], // disabled -> disabled: nothing
    ['disabled', 0x3a, 0x003a, 0, true], // enabled, power LED blink, attention off
    ['power-only', 0x02, 0x000d, 0, true], // 7.2: power-only -> enabled keeps power-only (recorded)
    ['power-only', 0x3a, 0x0039, 0, true],
    ['power-only', 0x01, 0x000d, 0, true],
    ['power-only', 0x03, 0x0d0f, 0, false], // disable with the LED already off: removed
    ['power-only', 0x07, 0x0007, 0, true], // disable with the LED on: kept
    ['enabled', 0x01, 0x0006, S.SHPC_CMD_STATUS_INVALID_CMD, true], // refused, LEDs untouched
    ['enabled', 0x3d, 0x0006, S.SHPC_CMD_STATUS_INVALID_CMD, true],
    ['enabled', 0x02, 0x0006, 0, true],
    ['enabled', 0x1f, 0x0d1f, 0, false], // Linux's disable: power LED off, attention on
    ['enabled', 0x0b, 0x000b, 0, true], // disable, LED blinking: the device stays
    ['enabled', 0x08, 0x000a, 0, true],
    ['enabled', 0x30, 0x0036, 0, true],
    ['enabled', 0x00, 0x0006, 0, true],
  ];
  for (const [from, code, word, st, present] of table) {
    it(`${from} + 0x${code.toString(16).padStart(2, '0')}`, () => {
      const { b, v } = setup(from);
      cmd(v, code);
      expect([v.slot(1) & 0xffff, status(v), b.machine.deviceById('n1') !== undefined]).toEqual([word, st, present]);
      expect(v.r32(S.SHPC_SERR_INT) & S.SHPC_CMD_DETECTED).toBe(S.SHPC_CMD_DETECTED);
    });
  }

  it('a removal latches MRL and presence and sends DEVICE_DELETED (recorded 0x60090d1f after Linux 0x1f)', () => {
    const { b, v } = setup('enabled');
    cmd(v, 0x1f);
    expect([v.slot(1), b.deleted()]).toEqual([0x7f090d1f, ['n1']]);
  });

  it('every LED code on an empty slot: power 3:2, attention 5:4, 0 = unchanged', () => {
    for (let code = 0; code <= S.SHPC_CMD_SLOT_OP_MAX; code++) {
      const { v } = setup('empty');
      cmd(v, code);
      const pwr = (code >> 2) & 3 || S.SHPC_LED_OFF;
      const attn = (code >> 4) & 3;
      const state = (code & 3) === 1 || (code & 3) === 2 ? code & 3 : S.SHPC_STATE_DISABLED;
      expect(v.slot(1) & 0x3f, `code 0x${code.toString(16)}`).toBe(state | (pwr << 2) | (attn << 4));
      expect(status(v)).toBe(0);
    }
  });

  it('target 0 is invalid; the target is masked to 5 bits; every slot 1-31 answers', () => {
    const { v } = setup('empty');
    cmd(v, 0x04, 0);
    expect(status(v)).toBe(S.SHPC_CMD_STATUS_INVALID_CMD);
    cmd(v, 0x04, 0x21);
    expect([status(v), v.slot(1) & 0xf]).toEqual([0, 0x7]);
    for (let t = 1; t <= 31; t++) cmd(v, 0x10, t);
    expect([status(v), v.slot(31) & 0x30]).toEqual([0, 0x10]);
  });
});

describe('other codes', () => {
  it('0x40 sets 33 MHz; 0x41-0x47 are invalid speed/modes', () => {
    const { v } = setup('empty');
    cmd(v, 0x40);
    expect([status(v), v.r16(S.SHPC_SEC_BUS)]).toEqual([0, 0]);
    for (let code = 0x41; code <= 0x47; code++) {
      cmd(v, code);
      expect([status(v), v.r16(S.SHPC_SEC_BUS)]).toEqual([S.SHPC_CMD_STATUS_INVALID_MODE, 0]);
    }
  });

  it('0x48 power-only all / 0x49 enable all: MRL-closed slots on with power LED on, others LED off', () => {
    for (const [code, state] of [[0x48, 1], [0x49, 2]] as const) {
      const { v } = setup('disabled');
      cmd(v, code);
      expect([status(v), v.slot(1) & 0xffff, v.slot(2) & 0xffff]).toEqual([0, 0x0004 | state, 0x0d0f]);
    }
  });

  it('0x48 / 0x49 are refused while any slot is enabled', () => {
    for (const code of [0x48, 0x49]) {
      const { v } = setup('enabled');
      cmd(v, code);
      expect([status(v), v.slot(1) & 0xffff]).toEqual([S.SHPC_CMD_STATUS_INVALID_CMD, 0x0006]);
    }
  });

  it('0x4a-0xff are invalid commands; the status is cleared by the next command', () => {
    const { v } = setup('empty');
    for (let code = 0x4a; code <= 0xff; code++) {
      cmd(v, code);
      expect(status(v), `0x${code.toString(16)}`).toBe(S.SHPC_CMD_STATUS_INVALID_CMD);
    }
    cmd(v, 0x40);
    expect(status(v)).toBe(0);
  });
});

describe('which writes run a command', () => {
  it('a write touching the code or target byte, at any width; not the status word or 0x10-0x13', () => {
    const { v } = setup('empty');
    const detected = () => {
      const d = v.r32(S.SHPC_SERR_INT) & S.SHPC_CMD_DETECTED;
      v.w32(S.SHPC_SERR_INT, v.r32(S.SHPC_SERR_INT));
      return d !== 0;
    };
    v.w8(S.SHPC_CMD_CODE, 0x40);
    const a = detected();
    v.w8(S.SHPC_CMD_TRGT, 0x01); // re-runs the code already there
    const b = detected();
    v.w32(S.SHPC_CMD_CODE, 0x00000140); // code, target and the (read-only) status
    const c = detected();
    v.w16(S.SHPC_CMD_STATUS, 0);
    const d = detected();
    v.w32(0x10, 0);
    const e = detected();
    expect([a, b, c, d, e]).toEqual([true, true, true, false, false]);
  });
});
