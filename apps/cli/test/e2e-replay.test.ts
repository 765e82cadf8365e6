/**
 * Every QMP exchange recorded from QEMU 7.2 in fixtures/qemu-7.2/errors-{pc,q35}.json (a few
 * hundred requests each: malformed input, argument checks, every reachable device_add /
 * device_del error, hot-adds and unplugs, HMP) is replayed against plugboard, in order,
 * over a real socket. Replies must be identical except for the exchanges listed below,
 * each with the reason; the list must stay exact, so fixing one means deleting its entry.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { replay } from './replay.js';
import type { Running } from './harness.js';

const fixture = (name: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../../fixtures/qemu-7.2/${name}.json`, import.meta.url)), 'utf8'));

/** Known differences, by exchange index, grouped by cause. */
const KNOWN: Record<string, Record<string, number[]>> = {
  'errors-pc': {
    'QOM children Plugboard does not model (memory regions, IRQs, board devices): qom-list order is right for the rest': [93, 108],
    'device types Plugboard does not model (virtio-serial, lsi, isa-debugcon, usb, scsi...)': [123, 124, 125, 126, 128, 129, 130, 131, 132, 133, 134, 135, 136, 149, 150, 151, 180, 181, 183, 184],
    'memory and CPU hotplug on pc not modelled (pc-dimm, CPU, boot CPU)': [152, 153, 345],
    'option ROM files are not looked up on the host, so t61 exists in Plugboard (also in the /machine/peripheral listings)': [221, 259, 260, 261, 326, 365, 369],
    'HMP: info list, info version package text, info qom-tree': [320, 324, 332],
    'anonymous device numbering counts the failed pc-dimm/CPU objects in QEMU, and what follows from it': [262, 362, 363, 366, 367, 370, 371],
  },
  'errors-q35': {
    'QOM children Plugboard does not model (memory regions, IRQs, board devices): qom-list order is right for the rest': [93],
    'device types Plugboard does not model': [135, 136, 137, 138, 140, 141, 142, 143, 144, 145, 146, 147, 148, 159],
    'HMP: info qtree (board devices), info list, info version package text, info qom-tree': [216, 234, 238, 246],
  },
};

const running: Running[] = [];
afterAll(() => {
  for (const r of running) r.child.kill('SIGKILL');
});

describe('QMP transcripts recorded from QEMU 7.2 replay identically', () => {
  for (const name of Object.keys(KNOWN)) {
    it(name, async () => {
      const f = fixture(name);
      // Stop where QEMU starts running firmware: the guest side is not part of this replay.
      const r = await replay(f, { stopAt: (e) => (e.send as { execute?: string } | undefined)?.execute === 'cont' && (e as { replies?: Array<{ return?: unknown }> }).replies?.[0]?.return !== undefined });
      running.push(r.pb);
      const known = Object.values(KNOWN[name]!).flat().sort((a, b) => a - b);
      const differing = r.diffs.map((d) => d.index);
      const unexpected = r.diffs.filter((d) => !known.includes(d.index));
      expect(unexpected, JSON.stringify(unexpected, null, 1).slice(0, 4000)).toEqual([]);
      expect(differing, 'a known difference no longer differs: remove it from KNOWN').toEqual(known);
      expect(r.compared).toBeGreaterThan(250);
    }, 120_000);
  }
});
