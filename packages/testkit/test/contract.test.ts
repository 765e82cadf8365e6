/**
 * The contract on a toy controller: it passes when the controller is right, and each
 * deliberate bug makes exactly the cases that check its rule fail.
 */
import { describe, expect, it } from 'vitest';
import { Clock } from '@plugboard/qdev';
import { hotplugContract, runHotplugContract, type HotplugContractTarget } from '../src/index.js';
import { describeHotplugContract } from '../src/vitest.js';
import { toyDriver, toyMachine, type Bug } from './toy.js';

const target = (bug: Bug = 'none'): HotplugContractTarget => ({
  name: `toy (${bug})`,
  createMachine: ({ clock }) => toyMachine(clock, bug),
  guestDrivers: [toyDriver],
  plug: { driver: 'e1000e', id: 'hp0', bus: 'pcie.0' },
  boundDriver: 'e1000e',
  repeatedUnplug: 'refused',
  unplugWithoutGuest: 'pending',
  resetWhilePending: 'unplugs',
  errors: [{ name: 'the toy refuses id=refused', opts: { driver: 'e1000e', id: 'refused', bus: 'pcie.0' }, message: 'toy: refused' }],
});

describeHotplugContract(target());

const failing = (bug: Bug) =>
  runHotplugContract(target(bug))
    .filter((r) => r.status === 'failed')
    .map((r) => `${r.name}: ${r.error!.message.split('\n')[0]}`);

describe('the contract catches broken controllers', () => {
  it('DEVICE_DELETED twice', () => {
    expect(failing('double-deleted')).toEqual([
      expect.stringMatching(/^device_del: .*DEVICE_DELETED \(exactly one\): expected \[\{"device":"hp0","path":"\/machine\/peripheral\/hp0"\}\], got \[.*,.*\]$/),
      expect.stringMatching(/^two plug\/unplug cycles .*exactly one/),
      expect.stringMatching(/^system_reset with an unplug pending .*exactly one/),
    ]);
  });

  it('an unplug request that does not mark the device pending', () => {
    expect(failing('no-pending')).toEqual([
      expect.stringMatching(/^device_del: .*: the unplug request marks the device pending/),
      expect.stringMatching(/^two plug\/unplug cycles .*: the unplug request marks the device pending/),
      expect.stringMatching(/^a repeated device_del .*: the unplug request marks the device pending/),
      expect.stringMatching(/^device_del with no OS running .*: the unplug request marks the device pending/),
      // The toy's reset ejects what is marked: unmarked requests survive the reset.
      expect.stringMatching(/^system_reset with an unplug pending completes it: DEVICE_DELETED at reset \(exactly one\): expected .*, got \[\]$/),
    ]);
  });

  it('device_del completing without the guest', () => {
    const f = failing('sync-unplug');
    expect(f.filter((x) => x.includes('device_del returns before DEVICE_DELETED'))).toHaveLength(2);
    expect(f.some((x) => x.includes('no DEVICE_DELETED without a guest'))).toBe(true);
  });

  it('an interrupt for a refused device_add', () => {
    expect(failing('noisy-refusal')).toEqual([expect.stringContaining('no interrupt for a refused device_add (the toy refuses id=refused)')]);
  });

  it('state shared between machines (two runs differ)', () => {
    expect(failing('shared-counter')).toEqual([expect.stringContaining('two identical runs give identical traces')]);
  });

  it('a reset rule other than the declared one', () => {
    expect(failing('reset-keeps')).toEqual([expect.stringContaining('DEVICE_DELETED at reset (exactly one): expected')]);
  });

  it('skipGuest skips only the cases that need the guest hotplug driver', () => {
    const cases = hotplugContract({ ...target(), skipGuest: 'driver not written yet' });
    expect(cases.filter((c) => c.skip).map((c) => c.name)).toEqual([
      'device_add: the guest brings the device online',
      'device_del: pending until the guest ejects, then exactly one DEVICE_DELETED',
      'two plug/unplug cycles in a row with the same id',
      'an unplug request the guest ignores leaves the device in place (policy ignore-unplug)',
      'a repeated device_del is refused while pending',
      'system_reset with an unplug pending completes it',
    ]);
    expect(cases).toHaveLength(12);
  });

  it('a factory that ignores the given clock is refused', () => {
    const [first] = runHotplugContract({ ...target(), createMachine: () => toyMachine(new Clock()) });
    expect(first!.error?.message).toBe('createMachine must build the machine on ctx.clock (MachineCreateContext.clock)');
  });
});
