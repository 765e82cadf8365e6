/**
 * Minimal reproductions of the bugs in known-bugs.ts. Each is `it.fails`: it passes while the
 * bug is there, and fails once it is fixed — then delete it and its entry in known-bugs.ts.
 */
import { describe, expect, it } from 'vitest';
import { PlugboardServer } from '../../src/index.js';
import { memoryClient, RawClient, tempDir, within } from './helpers.js';

describe('known bugs (outside apps/qmp-server/src/fleet.ts and daemon.ts)', () => {
  it.fails('hotplug-pcie: a pcie-root-port on pc\'s pci.0 makes the firmware run throw (RangeError in PcieAer.afterConfigWrite)', () => {
    const s = PlugboardServer.create({ type: 'pc', nodefaults: true, devices: [{ opts: { driver: 'pcie-root-port', id: 'rp', chassis: '1' } }] });
    s.machine.cont(); // as `plugboard -M pc -nodefaults -device pcie-root-port,id=rp,chassis=1` does
    expect(() => s.machine.clock.runUntilIdle()).not.toThrow();
  });

  it.fails('guest firmware: I/O space exhausted by bridge windows throws from a clock timer instead of a firmware panic', async () => {
    const s = PlugboardServer.create({ type: 'pc', nodefaults: true, start: true });
    const c = await memoryClient(s);
    for (let i = 1; i <= 12; i++) {
      await c.execute('device_add', { driver: 'pci-bridge', id: `br${i}`, chassis_nr: i });
      await c.execute('device_add', { driver: 'e1000', id: `n${i}`, bus: `br${i}`, addr: '1' });
    }
    await c.execute('system_reset'); // SeaBIOS runs again from a timer
    expect(() => s.machine.clock.runUntilIdle()).not.toThrow();
  });

  it.fails('qmp-server commands: int arguments beyond 2^53 (bigint) leak a TypeError text', async () => {
    const s = PlugboardServer.create({ type: 'pc', nodefaults: true, devices: [{ opts: { driver: 'e1000', id: 'n' } }] });
    const c = await memoryClient(s);
    const step = await c.request({ execute: '__org.plugboard_clock-step', arguments: { ns: 2n ** 53n + 1n } });
    const read = await c.request({ execute: '__org.plugboard_config-read', arguments: { id: 'n', offset: 2n ** 60n, size: 4 } });
    // Whatever the right answer is (QEMU has neither command), it is not a JavaScript error.
    expect(JSON.stringify([step, read])).not.toMatch(/BigInt/);
  });

  it.fails('qmp-server HMP: a quoted argument goes to JSON.parse (unterminated quote, bad escape)', async () => {
    const s = PlugboardServer.create({ type: 'pc', nodefaults: true });
    const c = await memoryClient(s);
    const r = await c.request({ execute: 'human-monitor-command', arguments: { 'command-line': 'device_del "abc' } });
    // QEMU answers in the returned text ("unterminated string literal"...), not with a JSON error.
    expect(JSON.stringify(r)).not.toMatch(/in JSON at position/);
  });

  it.fails('qdev deviceAdd and HMP parseOptsString drop a `__proto__` option silently (QEMU: Property not found)', async () => {
    const s = PlugboardServer.create({ type: 'pc', nodefaults: true });
    const c = await memoryClient(s);
    // JSON gives an own "__proto__" member (like JSON.parse); `opts[k] = v` on a plain object then
    // sets the prototype instead, which a string cannot: the option vanishes and the add succeeds.
    const qmp = await c.request(JSON.parse('{"execute": "device_add", "arguments": {"driver": "e1000", "id": "a", "__proto__": "1"}}') as Record<string, unknown>);
    const hmp = await c.request({ execute: 'human-monitor-command', arguments: { 'command-line': 'device_add e1000,id=b,__proto__=1' } });
    expect([qmp, hmp]).toEqual([
      { error: { class: 'GenericError', desc: "Property 'e1000.__proto__' not found" } },
      { return: "Error: Property 'e1000.__proto__' not found\r\n" },
    ]);
  });

  it.fails('qmp: server close() never finishes while a client that stopped reading has output pending', async () => {
    const t = tempDir('bug');
    const s = PlugboardServer.create({ type: 'pc', nodefaults: true });
    await s.listen({ kind: 'unix', path: `${t.dir}/s` });
    const stuck = await RawClient.connect(`${t.dir}/s`);
    await stuck.negotiate();
    stuck.socket.pause();
    for (let i = 0; i < 200; i++) stuck.write(`{"execute": "human-monitor-command", "arguments": {"command-line": "info qtree"}, "id": ${i}}\n`);
    await new Promise((r) => setTimeout(r, 200));
    try {
      // `plugboard` awaits this on SIGTERM, so it never exits.
      await within(2000, 'PlugboardServer.close()', s.close());
    } finally {
      stuck.destroy();
      t.remove();
    }
  });
});
