/**
 * A guest reboot (RTAS system-reboot on pseries) with and without `-no-reboot`, as recorded from
 * qemu-system-ppc64 7.2 (fixtures/qemu-7.2-ppc/system-reboot.json, system-reboot-no-reboot.json):
 * RESET {guest: true, reason: guest-reset}; with -no-reboot SHUTDOWN with the same cause and the
 * process ends (the host's shutdown handler runs).
 */
import { describe, expect, it } from 'vitest';
import { spaprConstants as K } from '../../../packages/hotplug-spapr/src/index.js';
import { PlugboardServer } from '../src/index.js';

function pseries(noReboot: boolean) {
  const s = PlugboardServer.create({ type: 'pseries', nodefaults: true, ...(noReboot ? { noReboot } : {}) });
  const events: Array<[string, unknown]> = [];
  s.host.onEvent((ev) => events.push([ev.name, ev.data]));
  const shutdowns: string[] = [];
  s.host.setShutdownHandler((reason) => shutdowns.push(reason));
  const reboot = () => s.machine.guestView.rtas(K.rtasToken('system-reboot'), [], 1);
  return { events, shutdowns, reboot };
}

describe('guest reboot and -no-reboot', () => {
  it('system-reboot resets the machine (RESET guest-reset)', () => {
    const m = pseries(false);
    expect(m.reboot()).toEqual([0]);
    expect(m.events).toEqual([['RESET', { guest: true, reason: 'guest-reset' }]]);
    expect(m.shutdowns).toEqual([]);
  });

  it('-no-reboot: SHUTDOWN {guest: true, reason: guest-reset}, then the host ends', () => {
    const m = pseries(true);
    expect(m.reboot()).toEqual([0]);
    expect(m.events).toEqual([['SHUTDOWN', { guest: true, reason: 'guest-reset' }]]);
    expect(m.shutdowns).toEqual(['guest-reset']);
  });
});
