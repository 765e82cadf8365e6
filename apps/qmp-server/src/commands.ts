/**
 * The QMP commands Plugboard implements, with QEMU 7.2's schemas (qapi/*.json) so the
 * dispatcher gives QEMU's argument errors.
 */
import {
  QemuError, checkUnpluggable, deviceAdd, deviceDel, deviceListProperties, findDevice, qomGet, qomList, qomListTypes, qomSet,
} from '@plugboard/qdev';
import { PCIDevice, dumpConfigSpace, queryPci } from '@plugboard/pci-core';
import { QmpError, type QmpCommandDef, type QmpDispatcher } from '@plugboard/qmp';
import { runHmp } from './hmp.js';
import { formatGuestPolicy, parseGuestPolicy } from '@plugboard/guest';
import { dsdtForController, dumpTable } from '@plugboard/hotplug-acpi';
import type { X86Machine } from '@plugboard/machines';
import type { MachineHost } from './host.js';
import { QEMU_VERSION } from './monitors.js';


/** Runs `fn`, turning qdev's errors into QMP errors with the same class and text. */
function qemu<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof QemuError) throw new QmpError(e.errorClass, e.message);
    throw e;
  }
}

export function registerCommands(d: QmpDispatcher, host: MachineHost): void {
  const m = host.machine;
  const defs: QmpCommandDef[] = [
    { name: 'query-version', handler: () => QEMU_VERSION },
    {
      name: 'query-status',
      // Members in QAPI schema order (StatusInfo): the writer reproduces QEMU's QDict order from it.
      handler: () => ({ running: m.runState === 'running', singlestep: false, status: m.runState }),
    },
    { name: 'query-commands', handler: () => d.names().map((name) => ({ name })) },
    {
      // The machine types of this binary (x86_64 or ppc64), MachineInfo members in schema order.
      name: 'query-machines',
      handler: () =>
        host.plugins.machineTypes
          .filter((t) => t.arch === host.arch)
          .map((t) => ({
            name: t.name,
            ...(t.alias ? { alias: t.alias } : {}),
            ...(t.isDefault ? { 'is-default': true } : {}),
            'cpu-max': t.cpuMax,
            'hotpluggable-cpus': true,
            'numa-mem-supported': !!t.numaMemSupported,
            deprecated: !!t.deprecated,
            'default-cpu-type': t.defaultCpuType,
            'default-ram-id': t.defaultRamId,
          })),
    },
    { name: 'query-pci', handler: () => queryPci(m.pciRoots) },
    { name: 'qom-list', args: { path: 'str' }, handler: (a) => qemu(() => qomList(m, a.path as string)) },
    { name: 'qom-get', args: { path: 'str', property: 'str' }, handler: (a) => qemu(() => qomGet(m, a.path as string, a.property as string)) },
    {
      name: 'qom-set',
      args: { path: 'str', property: 'str', value: 'any' },
      handler: (a) => {
        qemu(() => qomSet(m, a.path as string, a.property as string, a.value));
        return {};
      },
    },
    {
      // spec/pcie-slot.md §8 (the unmerged "x-query-hotplug" series): the slot's state.
      name: 'x-query-hotplug',
      args: { id: 'str' },
      handler: (a) =>
        qemu(() => {
          const dev = findDevice(m, a.id as string);
          checkUnpluggable(dev);
          const h = dev.hotplugHandler();
          if (!h?.queryHotplug) throw new QemuError(`Device '${a.id as string}' is not on a slot with a hotplug controller x-query-hotplug supports`);
          return h.queryHotplug(dev);
        }),
    },
    {
      // Plugboard's own (QAPI downstream-extension name): press the slot's attention button, like
      // the old `pcie_abp` monitor command, for the slot holding device `id` or the port `id`.
      name: '__org.plugboard_press-attention-button',
      args: { id: 'str' },
      handler: (a) =>
        qemu(() => {
          const dev = findDevice(m, a.id as string);
          // `id` names either a device in a slot or the slot's owner (a port or bridge).
          const own = dev.hotplugHandler();
          const below = dev.childBuses.map((b) => b.hotplugHandler).find((h) => h?.pressAttentionButton);
          const h = own?.pressAttentionButton ? own : below;
          if (!h?.pressAttentionButton) throw new QemuError(`Device '${a.id as string}' is not in a slot with an attention button`);
          h.pressAttentionButton(dev);
          return {};
        }),
    },
    {
      name: 'qom-list-types',
      args: { '*implements': 'str', '*abstract': 'bool' },
      handler: (a) => qomListTypes(m.registry, { ...(a.implements !== undefined ? { implements: a.implements as string } : {}), ...(a.abstract !== undefined ? { abstract: a.abstract as boolean } : {}) }),
    },
    { name: 'device-list-properties', args: { typename: 'str' }, handler: (a) => qemu(() => deviceListProperties(m.registry, a.typename as string)) },
    {
      name: 'device_add',
      allowExtraArgs: true,
      handler: (a) => {
        qemu(() => deviceAdd(m, a));
        host.afterHotplug();
        return {};
      },
    },
    {
      name: 'device_del',
      args: { id: 'str' },
      handler: (a) => {
        qemu(() => deviceDel(m, a.id as string));
        host.afterHotplug();
        return {};
      },
    },
    {
      name: 'human-monitor-command',
      args: { 'command-line': 'str', '*cpu-index': 'int' },
      handler: async (a) => {
        // qmp_human_monitor_command hands the int64 to monitor_set_cpu(int): 2^32 is CPU 0 there too.
        const cpu = a['cpu-index'] as number | bigint | undefined;
        if (cpu !== undefined && BigInt.asIntN(32, BigInt(cpu)) !== 0n) throw new QmpError('GenericError', "Parameter 'cpu-index' expects a CPU number");
        return runHmp(host, a['command-line'] as string);
      },
    },
    {
      name: 'system_reset',
      handler: (_a, ctx) => {
        host.systemReset((fn) => ctx.afterReply(fn));
        return {};
      },
    },
    {
      // The board's notifier tells the guest (pseries: the EPOW log; spapr.c spapr_powerdown_req).
      name: 'system_powerdown',
      handler: () => {
        m.powerdown();
        return {};
      },
    },
    {
      name: 'stop',
      handler: () => {
        m.stop();
        return {};
      },
    },
    {
      name: 'cont',
      handler: () => {
        qemu(() => m.cont());
        return {};
      },
    },
    {
      name: 'quit',
      handler: (_a, ctx) => {
        host.shutdown('host-qmp-quit', (fn) => ctx.afterReply(fn));
        return {};
      },
    },
  ];
  defs.push(...plugboardCommands(host));
  for (const def of defs) d.register(def);
  for (const c of host.plugins.commands) {
    d.register({
      name: c.name,
      ...(c.args ? { args: c.args as QmpCommandDef['args'] } : {}),
      ...(c.allowExtraArgs ? { allowExtraArgs: true } : {}),
      handler: (a) => qemu(() => c.handler(a, { machine: m })),
    });
  }
}

/**
 * Plugboard's own commands, named with QAPI's downstream-extension prefix (`__RFQDN_name`)
 * so they can never collide with a QEMU command.
 */
function plugboardCommands(host: MachineHost): QmpCommandDef[] {
  const m = host.machine;
  return [
    {
      name: '__org.plugboard_query-clock',
      handler: () => ({
        mode: m.clock.mode,
        scale: m.clock.scale,
        running: m.clock.isRunning,
        'virtual-ns': m.clock.nowNs(),
        'pending-timers': m.clock.listTimers().map((t) => ({ deadline: t.deadline, label: t.label })),
      }),
    },
    {
      // Reads a function's config space as the guest would see it (all ones when unpowered),
      // without a guest access being traced: for users and tests following registers.
      name: '__org.plugboard_config-read',
      args: { id: 'str', offset: 'int', size: 'int' },
      handler: (a) =>
        qemu(() => {
          const dev = findDevice(m, a.id as string);
          if (!(dev instanceof PCIDevice)) throw new QemuError(`Device '${a.id as string}' is not a PCI device`);
          // 'int' members beyond 2^53 arrive as bigint: compare before any arithmetic.
          const off = a.offset as number | bigint;
          const size = Number(a.size as number | bigint);
          if (![1, 2, 4].includes(size)) throw new QemuError("Parameter 'size' expects 1, 2 or 4");
          if (off < 0 || off > dev.config.size - size) throw new QemuError(`Parameter 'offset' expects a value below ${dev.config.size - size + 1}`);
          return dev.configRead(Number(off), size);
        }),
    },
    {
      // The config space of one function, or of all, in the `lspci -xxxx` text `lspci -F` reads.
      name: '__org.plugboard_dump-config',
      args: { '*id': 'str' },
      handler: (a) =>
        qemu(() => {
          if (a.id !== undefined) {
            const dev = findDevice(m, a.id as string);
            if (!(dev instanceof PCIDevice)) throw new QemuError(`Device '${a.id as string}' is not a PCI device`);
            return dumpConfigSpace(dev);
          }
          return [...m.devices()].filter((d): d is PCIDevice => d instanceof PCIDevice && !!d.config).map((d) => dumpConfigSpace(d)).join('');
        }),
    },
    {
      // The DSDT part that describes ACPI PCI hotplug, as table bytes `iasl -d` reads.
      name: '__org.plugboard_dump-acpi-dsdt',
      args: { '*format': 'str' },
      handler: (a) => {
        const acpi = (m as X86Machine).acpiHotplug;
        if (!acpi) throw new QmpError('GenericError', 'This machine has no ACPI PCI hotplug controller');
        const format = (a.format as string | undefined) ?? 'base64';
        if (format !== 'base64' && format !== 'hex') throw new QmpError('GenericError', "Parameter 'format' does not accept value '" + format + "'");
        return { format, data: dumpTable(dsdtForController(acpi), format) };
      },
    },
    {
      name: '__org.plugboard_query-guest',
      handler: () => {
        const g = host.guest;
        if (!g) return { present: false };
        const panic = (g as { firmwarePanic?: string }).firmwarePanic;
        return {
          present: true, policy: formatGuestPolicy(g.guest.policy), state: g.guest.state, 'log-lines': g.guest.klog.count,
          // The firmware halted (SeaBIOS panic): the VM runs but no OS ever boots.
          ...(panic ? { 'firmware-panic': panic } : {}),
        };
      },
    },
    {
      // Changes the guest's behaviour at run time (`--guest` sets it at start); the slow
      // factor is fixed at start because running timers were scaled with it.
      name: '__org.plugboard_guest-policy',
      args: { policy: 'str' },
      handler: (a) => {
        const g = host.guest;
        if (!g) throw new QmpError('GenericError', 'This machine has no simulated guest');
        let p;
        try {
          p = parseGuestPolicy(a.policy as string);
        } catch (e) {
          throw new QmpError('GenericError', (e as Error).message);
        }
        if (p.slow !== g.guest.policy.slow) throw new QmpError('GenericError', "The guest's slow factor can only be chosen at start (--guest)");
        g.guest.policy.name = p.name;
        return {};
      },
    },
    {
      // Moves guest time by hand (also while stopped): timers due in the interval fire in order.
      name: '__org.plugboard_clock-step',
      args: { ns: 'int' },
      handler: (a) => {
        const ns = a.ns as number | bigint;
        if (ns < 0) throw new QmpError('GenericError', "Parameter 'ns' expects a non-negative number");
        // Virtual time is an exact integer of nanoseconds up to 2^53 - 1 (104 days).
        const room = Number.MAX_SAFE_INTEGER - m.clock.nowNs();
        if (ns > room) throw new QmpError('GenericError', `Parameter 'ns' expects an integer in the range of 0 to ${room}`);
        m.clock.advance(Number(ns));
        return { 'virtual-ns': m.clock.nowNs() };
      },
    },
  ];
}
