/**
 * hotplug-shpc under the contract: q35 with ACPI bridge hotplug off, a pcie-pci-bridge behind
 * a root port (on `pc` Linux's shpchp cannot get control: the DSDT has no OSHP and no _OSC
 * grant, so a pci-bridge there is driven by nobody, as with QEMU). The backend is loaded by path while @plugboard/qmp-server neither depends on it nor
 * lists it in builtinPlugins(); the suite is skipped, saying why, until the package is built.
 */
import { describe, it } from 'vitest';
import type { Plugin } from '@plugboard/qdev';
import { describeHotplugContract } from './testkit.js';
import { builtMachine, guestDriverMissing } from './machines.js';

const shpc = (await import('../../../../packages/hotplug-shpc/dist/index.js').catch(() => undefined)) as { shpcHotplugPlugin: Plugin } | undefined;

if (!shpc) {
  describe('hotplug contract: hotplug-shpc', () => it.skip('packages/hotplug-shpc/dist is not built', () => {}));
} else {
  const board = {
    type: 'q35',
    plugins: [shpc.shpcHotplugPlugin],
    globals: [{ driver: 'ICH9-LPC', property: 'acpi-pci-hotplug-with-bridge-support', value: 'off' }],
    devices: [{ driver: 'pcie-root-port', id: 'rp1', chassis: 1, slot: 1 }, { driver: 'pcie-pci-bridge', id: 'br1', bus: 'rp1' }],
  };
  describeHotplugContract({
    name: 'hotplug-shpc (q35, pcie-pci-bridge behind a root port)',
    createMachine: ({ clock }) => builtMachine(clock, board),
    plug: { driver: 'e1000', id: 'hp0', bus: 'br1', addr: '1' },
    boundDriver: 'e1000',
    // spec/qdev-hotplug.md §5-6: SHPC never marks the device; a disabled slot with its LED off
    // frees its device at once; a reset re-derives the slots from presence (the device stays).
    repeatedUnplug: 'unmarked',
    unplugWithoutGuest: 'immediate',
    resetWhilePending: 'keeps',
    skipGuest: guestDriverMissing('shpchpDriver'),
  });
}
