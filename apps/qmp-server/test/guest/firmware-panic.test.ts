/**
 * SeaBIOS out of I/O space (src/fw/pciinit.c pci_bios_init_root_regions_io, src/output.c
 * panic): with twelve pci-bridges, each with an e1000 behind it, the bridges' 4 KiB I/O
 * windows no longer fit at the next reset. Real QEMU 7.2 on pc: the debug console ends with
 * "PCI: out of I/O address space", query-status stays running, the monitor goes on.
 */
import { describe, expect, it } from 'vitest';
import { PlugboardServer } from '../../src/index.js';
import { memoryClient } from '../reliability/helpers.js';

describe('guest firmware panic', () => {
  it('out of I/O address space halts the guest, not the process; the machine keeps serving', async () => {
    const s = PlugboardServer.create({ type: 'pc', nodefaults: true, start: true });
    const c = await memoryClient(s);
    s.machine.clock.runUntilIdle();
    expect((await c.execute('__org.plugboard_query-guest')) as Record<string, unknown>).toMatchObject({ state: 'running' });
    for (let i = 1; i <= 12; i++) {
      await c.execute('device_add', { driver: 'pci-bridge', id: `br${i}`, chassis_nr: i });
      await c.execute('device_add', { driver: 'e1000', id: `n${i}`, bus: `br${i}`, addr: '1' });
    }
    await c.execute('system_reset'); // SeaBIOS runs again from a timer
    expect(() => s.machine.clock.runUntilIdle()).not.toThrow();
    expect(await c.execute('query-status')).toMatchObject({ status: 'running', running: true });
    const g = (await c.execute('__org.plugboard_query-guest')) as Record<string, unknown>;
    expect(g['firmware-panic']).toBe('PCI: out of I/O address space');
    expect(g.state).not.toBe('running');
    // The monitor still works: removing bridges (nothing acknowledges: no OS) and a reset
    // with fewer of them boots the guest again.
    for (let i = 1; i <= 12; i++) await c.execute('device_del', { id: `br${i}` });
    s.machine.clock.runUntilIdle();
    const left = ((await c.execute('query-pci')) as Array<{ devices: unknown[] }>)[0]!.devices.length;
    expect(left).toBeGreaterThan(0);
    await c.execute('system_reset');
    s.machine.clock.runUntilIdle();
    const after = (await c.execute('__org.plugboard_query-guest')) as Record<string, unknown>;
    expect(after['firmware-panic']).toBeUndefined();
    expect(after.state).toBe('running');
  });
});
