/**
 * Replays fixtures/qemu-7.2/errors-q35-native.json (recorded from QEMU 7.2.22 with
 * ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off): every device_add / device_del reply
 * and the DEVICE_DELETED events each one caused, system_reset, the prelaunch / running clock
 * and the 5 s pending expiry. Commands of other packages (qom-*, query-pci) are skipped.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NS_PER_MS, type PropValue } from '@plugboard/qdev';
import { buildBoard, tryAdd } from './board.js';

interface Exchange {
  send?: { execute: string; arguments?: Record<string, unknown> };
  replies?: Array<{ return?: unknown; error?: { class: string; desc: string } }>;
  events?: Array<{ event: string; data?: Record<string, unknown> }>;
  action?: string;
  ms?: number;
  note?: string;
}

const fixture = JSON.parse(readFileSync(new URL('../../../fixtures/qemu-7.2/errors-q35-native.json', import.meta.url), 'utf8')) as {
  argv: string[];
  exchanges: Exchange[];
};

/** `-device driver,k=v,...` as device_add options (QemuOpts strings). */
function deviceOpts(arg: string): Record<string, PropValue> {
  const [driver, ...rest] = arg.split(',');
  const opts: Record<string, PropValue> = { driver: driver! };
  for (const kv of rest) {
    const i = kv.indexOf('=');
    opts[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return opts;
}

describe('fixture errors-q35-native.json', () => {
  it('replies and DEVICE_DELETED events match QEMU', () => {
    const devices = fixture.argv.flatMap((a, i) => (a === '-device' ? [deviceOpts(fixture.argv[i + 1]!)] : []));
    const b = buildBoard(devices);
    let checked = 0;
    for (const ex of fixture.exchanges) {
      if (ex.action === 'wait') {
        if (b.machine.runState === 'running') b.machine.clock.advance(ex.ms! * NS_PER_MS);
        continue;
      }
      const cmd = ex.send?.execute;
      const before = b.events.length;
      let reply: string | undefined;
      if (cmd === 'device_add') reply = tryAdd(b, ex.send!.arguments as Record<string, PropValue>);
      else if (cmd === 'device_del') reply = b.del(String(ex.send!.arguments!.id));
      else if (cmd === 'system_reset') b.machine.systemReset({ guest: false, reason: 'host-qmp-system-reset' });
      else if (cmd === 'cont') b.machine.cont();
      else continue;
      if (reply !== undefined) {
        const want = ex.replies![0]!;
        expect([cmd, ex.note, reply]).toEqual([cmd, ex.note, want.error ? want.error.desc : 'ok']);
        checked++;
      }
      const deleted = b.events.slice(before).filter((e) => e.name === 'DEVICE_DELETED').map((e) => e.data);
      expect(deleted).toEqual((ex.events ?? []).filter((e) => e.event === 'DEVICE_DELETED').map((e) => e.data));
    }
    b.machine.stop();
    expect(checked).toBe(19);
    // The last system_reset found r1 in rp1's slot and powered it (query-pci shows its BARs).
    expect(b.dev('r1').powered).toBe(true);
    expect(b.dev('ne0').pendingDeletion).toBe(true);
  });
});
