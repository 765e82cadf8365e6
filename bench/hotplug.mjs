#!/usr/bin/env node
// The full PCIe native hotplug cycle over QMP with the simulated Linux guest:
// device_add -> X_DEVICE_ON (guest powered the slot, driver bound) -> device_del ->
// DEVICE_DELETED, on the default virtual clock. Printed next to the same cycle recorded
// from QEMU 7.2 + Linux 6.1 under TCG (fixtures/qemu-7.2-linux/pciehp-root-port.json).
// Then the most ports q35 takes (253), each plugged and unplugged. Figures only, never assertions.
import { readFileSync } from 'node:fs';
import { median, startPlugboard } from './lib.mjs';

const CYCLES = Number(process.env.BENCH_CYCLES ?? 50);
const ACPI_OFF = ['-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off'];

function recordedCycleMs() {
  const f = JSON.parse(readFileSync(new URL('../fixtures/qemu-7.2-linux/pciehp-root-port.json', import.meta.url), 'utf8'));
  const sent = (cmd) => f.qmp.find((q) => q.dir === 'send' && q.raw.includes(`"${cmd}"`)).hostMs;
  const bound = f.timeline.add.find((l) => l.line.includes('BOUND')).hostMs;
  const deleted = f.qmp.find((q) => q.dir === 'recv' && q.raw.includes('"DEVICE_DELETED"')).hostMs;
  return { add: bound - sent('device_add'), del: deleted - sent('device_del') };
}

async function bootedMachine(extra) {
  const pb = await startPlugboard(['-M', 'q35', '-nodefaults', '-display', 'none', ...ACPI_OFF, ...extra]);
  // The guest boots on the virtual clock right after start; wait until its drivers run.
  for (;;) {
    const r = await pb.q.cmd('__org.plugboard_query-guest');
    if (r.return.state === 'running' && r.return['log-lines'] > 0) {
      const clock = await pb.q.cmd('__org.plugboard_query-clock');
      if (clock.return['pending-timers'].length === 0) break;
    }
    await new Promise((res) => setTimeout(res, 5));
  }
  return pb;
}

async function fullCycle() {
  const pb = await bootedMachine(['-device', 'pcie-root-port,id=rp1,chassis=1,slot=1']);
  const { q } = pb;
  const wall = [];
  const virt = [];
  for (let i = 0; i < CYCLES; i++) {
    const t0 = performance.now();
    await q.cmd('device_add', { driver: 'e1000e', bus: 'rp1', id: `nic${i}` });
    const on = (await q.events_('X_DEVICE_ON', i + 1))[i];
    await q.cmd('device_del', { id: `nic${i}` });
    const del = (await q.events_('DEVICE_DELETED', i + 1))[i];
    wall.push(performance.now() - t0);
    const ts = (e) => e.timestamp.seconds * 1000 + e.timestamp.microseconds / 1000;
    virt.push(ts(del) - ts(on));
  }
  pb.child.kill('SIGKILL');
  return { wall: median(wall), virtSpacing: median(virt) };
}

/**
 * The most hot-pluggable ports QEMU 7.2 accepts on q35 (-nodefaults), checked against it: bus
 * numbers stop at 255, so 244 root ports (slots 1-30 and 1f.1, 1f.4-7, all eight functions)
 * plus a switch with 9 downstream ports behind the 245th: 253 slots. Two vCPUs: one has
 * vectors for only 199 port interrupts (Linux 6.1 then prints "Cannot get irq").
 */
function maxPortsArgs(n) {
  const args = ['-smp', '2'];
  const ports = [];
  let made = 0;
  const rootPort = (addr) => {
    args.push('-device', `pcie-root-port,id=p${made},bus=pcie.0,addr=${addr},chassis=${made + 1},slot=1${addr.endsWith('.0') ? ',multifunction=on' : ''}`);
    return `p${made++}`;
  };
  const addrs = [];
  for (let slot = 1; slot <= 30; slot++) for (let fn = 0; fn < 8; fn++) addrs.push(`${slot.toString(16)}.${fn}`);
  addrs.push('1f.1', '1f.4', '1f.5', '1f.6', '1f.7');
  for (const a of addrs.slice(0, -1)) if (ports.length < n) ports.push(rootPort(a));
  if (ports.length < n) {
    const up = rootPort(addrs.at(-1));
    args.push('-device', `x3130-upstream,id=up,bus=${up}`);
    for (let i = 0; i < 9 && ports.length < n; i++) {
      args.push('-device', `xio3130-downstream,id=p${made},bus=up,chassis=${made + 1},slot=1`);
      ports.push(`p${made++}`);
    }
  }
  return { args, ports };
}

async function manyPorts(n) {
  const { args, ports } = maxPortsArgs(n);
  const made = ports.length;
  const pb = await bootedMachine(args);
  const { q } = pb;
  const t0 = performance.now();
  for (let i = 0; i < made; i++) await q.cmd('device_add', { driver: 'e1000e', bus: ports[i], id: `d${i}` });
  await q.events_('X_DEVICE_ON', made);
  const tAdd = performance.now() - t0;
  for (let i = 0; i < made; i++) await q.cmd('device_del', { id: `d${i}` });
  await q.events_('DEVICE_DELETED', made);
  const total = performance.now() - t0;
  pb.child.kill('SIGKILL');
  return { ports: made, addMs: tAdd, totalMs: total };
}

const rec = recordedCycleMs();
const cyc = await fullCycle();
console.log('== full PCIe hotplug cycle (add -> guest bound -> del -> DEVICE_DELETED), q35 root port, e1000e');
console.log(`  plugboard (virtual clock), median of ${CYCLES}: ${cyc.wall.toFixed(2)} ms wall; guest-time spacing X_DEVICE_ON -> DEVICE_DELETED ${(cyc.virtSpacing / 1000).toFixed(3)} s`);
console.log(`  qemu 7.2 + linux 6.1 (TCG, recorded): ${(rec.add + rec.del).toFixed(0)} ms wall (add ${rec.add} ms, del ${rec.del} ms)`);
console.log(`  ratio: plugboard is ${((rec.add + rec.del) / cyc.wall).toFixed(0)}x faster   (target >= 1000x)`);
const many = await manyPorts(Number(process.env.BENCH_PORTS ?? 253));
console.log(`\n== ${many.ports} hotplug ports (the most q35 takes), each plugged (guest online) then unplugged: ${many.totalMs.toFixed(0)} ms wall (plug phase ${many.addMs.toFixed(0)} ms)`);
