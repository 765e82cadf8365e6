/**
 * Tiny pc-like and q35-like boards for the tests: just the host bridge, the chipset
 * functions the controller cares about, and a GuestView. Board construction order follows
 * QEMU: host + root bus, chipset devices, the PM device and its hotplug controller, then
 * the `-device` options (cold plug), then machine init done (first reset).
 */
import { Machine, TypeRegistry, coreTypes, deviceAdd, type MachineEvent, type PropValue } from '@plugboard/qdev';
import { GuestView, pciCatalogPlugin, type InterruptEvent, type PCIDevice, type PCIHostBridge, type PCIBus } from '@plugboard/pci-core';
import {
  AcpiPciHotplug, ACPI_PCIHP_ADDR_ICH9, ACPI_PCIHP_ADDR_PIIX4, ICH9_PMIO_GPE0_LEN, PCI_AIDX_BASE, PCI_DOWN_BASE, PCI_EJ_BASE,
  PCI_RMV_BASE, PCI_SEL_BASE, PCI_UP_BASE, PIIX4_GPE_BASE, PIIX4_GPE_LEN,
} from '../src/index.js';

export interface Board {
  machine: Machine;
  gv: GuestView;
  acpi: AcpiPciHotplug;
  root: PCIBus;
  pm: PCIDevice;
  /** QMP-visible events (DEVICE_DELETED, RESET), in order. */
  events: MachineEvent[];
  /** SCI changes raised through the GuestView. */
  irqs: InterruptEvent[];
  /** Register block base (0xae00 / 0x0cc0). */
  base: number;
  inl(port: number): number;
  outl(port: number, value: number): void;
  add(opts: Record<string, PropValue>): PCIDevice;
}

export interface BoardOptions {
  bridgeSupport?: boolean;
  rootHotplug?: boolean;
  /** `-device` options, cold-plugged before machine init completes. */
  devices?: Array<Record<string, PropValue>>;
  /** Runs after cold plug, before the first reset (e.g. to stand in for another backend). */
  beforeReady?: (b: Board) => void;
}

function registry(): TypeRegistry {
  const r = new TypeRegistry();
  r.register(...coreTypes, ...(pciCatalogPlugin.types ?? []));
  return r;
}

function makeHost(machine: Machine, type: string, name: string, busName: string, express: boolean): PCIBus {
  const host = machine.newDevice(type) as PCIHostBridge;
  machine.addChild(name, host);
  const root = host.createRootBus(busName, express);
  host.realize(machine.sysbus);
  return root;
}

function finish(machine: Machine, root: PCIBus, pm: PCIDevice, acpi: AcpiPciHotplug, base: number, opts: BoardOptions): Board {
  const gv = new GuestView(() => [root.parentDevice as PCIHostBridge], () => machine.clock.nowNs());
  acpi.connectGuestView(gv);
  const board: Board = {
    machine, gv, acpi, root, pm, base, events: [], irqs: [],
    inl: (port) => gv.ioRead(port, 4),
    outl: (port, value) => gv.ioWrite(port, value, 4),
    add: (o) => deviceAdd(machine, o) as PCIDevice,
  };
  machine.events.on((ev) => board.events.push(ev));
  gv.onInterrupt((ev) => board.irqs.push(ev));
  for (const d of opts.devices ?? []) deviceAdd(machine, d);
  opts.beforeReady?.(board);
  machine.finishInit();
  return board;
}

/** `-M pc -nodefaults`: i440FX 00.0, PIIX3 01.0, PIIX4_PM 01.3 with the pcihp block at 0xae00. */
export function buildPc(opts: BoardOptions = {}): Board {
  const machine = new Machine({ registry: registry(), typeName: 'pc-i440fx-7.2-machine' });
  const root = makeHost(machine, 'i440FX-pcihost', 'i440fx', 'pci.0', false);
  machine.addBoardDevice('i440FX', root, { props: { addr: '0' } });
  machine.addBoardDevice('PIIX3', root, { props: { addr: '1', multifunction: true } });
  const pm = machine.addBoardDevice('PIIX4_PM', root, { props: { addr: '1.3' } }) as PCIDevice;
  const acpi = new AcpiPciHotplug({
    machine, owner: pm, rootBus: root, ioBase: ACPI_PCIHP_ADDR_PIIX4,
    bridgeSupport: opts.bridgeSupport ?? true, rootHotplug: opts.rootHotplug ?? true,
    gpe: { base: PIIX4_GPE_BASE, len: PIIX4_GPE_LEN },
  });
  acpi.attach();
  return finish(machine, root, pm, acpi, ACPI_PCIHP_ADDR_PIIX4, opts);
}

/** `-M q35 -nodefaults`: mch 00.0, ICH9-LPC 1f.0 (pcihp at 0x0cc0, GPE0 not decoded until PMBASE is set). */
export function buildQ35(opts: BoardOptions = {}): Board {
  const machine = new Machine({ registry: registry(), typeName: 'pc-q35-7.2-machine' });
  const root = makeHost(machine, 'q35-pcihost', 'q35', 'pcie.0', true);
  machine.addBoardDevice('mch', root, { props: { addr: '0' } });
  const pm = machine.addBoardDevice('ICH9-LPC', root, { props: { addr: '1f.0' } }) as PCIDevice;
  const acpi = new AcpiPciHotplug({
    machine, owner: pm, rootBus: root, ioBase: ACPI_PCIHP_ADDR_ICH9,
    bridgeSupport: opts.bridgeSupport ?? true, rootHotplug: false,
    gpe: { base: undefined, len: ICH9_PMIO_GPE0_LEN },
  });
  acpi.attach();
  return finish(machine, root, pm, acpi, ACPI_PCIHP_ADDR_ICH9, opts);
}

/** DEVICE_DELETED ids in order. */
export function deletedIds(b: Board): Array<string | undefined> {
  return b.events.filter((e) => e.name === 'DEVICE_DELETED').map((e) => e.data?.device as string | undefined);
}

/** Starts the VM and lets `ms` of guest time pass. */
export function runFor(b: Board, ms: number): void {
  if (b.machine.runState !== 'running') b.machine.cont();
  b.machine.clock.advance(ms * 1_000_000);
}

/** I/O ports of the pcihp registers of a block at `base` (pc 0xae00, q35 0x0cc0). */
export function pcihpPorts(base: number): { UP: number; DOWN: number; EJ: number; RMV: number; SEL: number; AIDX: number } {
  return { UP: base + PCI_UP_BASE, DOWN: base + PCI_DOWN_BASE, EJ: base + PCI_EJ_BASE, RMV: base + PCI_RMV_BASE, SEL: base + PCI_SEL_BASE, AIDX: base + PCI_AIDX_BASE };
}
