/** An independently written QMP client (node-qemu on npm) drives plugboard end to end. */
import { afterEach, describe, expect, it } from 'vitest';
import { QMPClient } from 'node-qemu';
import { startPlugboard, type Running } from './harness.js';

const running: Running[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL');
});

describe('node-qemu against plugboard', () => {
  it('connects, negotiates, device_add / device_del / query-pci; system_reset completes the ACPI unplug', async () => {
    const pb = await startPlugboard(['-M', 'pc', '-S', '-nodefaults', '-display', 'none']);
    running.push(pb);
    const client = new QMPClient({ socketPath: pb.sock });
    await client.connect();
    const events: Array<{ event: string; data?: unknown }> = [];
    (client as unknown as { on(e: string, f: (ev: { event: string; data?: unknown }) => void): void }).on('rawEvent', (ev) => events.push(ev));
    await client.execute('device_add', { driver: 'e1000', id: 'n1', addr: '5' });
    const pci = await client.execute<Array<{ devices: Array<{ slot: number; qdev_id: string }> }>>('query-pci');
    expect(pci[0]!.devices.find((d) => d.slot === 5)?.qdev_id).toBe('n1');
    await client.execute('device_del', { id: 'n1' });
    // No guest ever ejects: the device stays, pending, as in QEMU; a second request is refused.
    await expect(client.execute('device_del', { id: 'n1' })).rejects.toThrow('Device n1 is already in the process of unplug');
    await client.execute('system_reset');
    await new Promise((r) => setTimeout(r, 100));
    const after = await client.execute<Array<{ devices: Array<{ slot: number }> }>>('query-pci');
    expect(after[0]!.devices.some((d) => d.slot === 5)).toBe(false);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['RESET', 'DEVICE_DELETED']));
    expect(events.find((e) => e.event === 'DEVICE_DELETED')?.data).toEqual({ device: 'n1', path: '/machine/peripheral/n1' });
    await client.close();
  });
});
