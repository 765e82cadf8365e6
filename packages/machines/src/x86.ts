/**
 * pc (i440FX + PIIX3/PIIX4) and q35 (MCH + ICH9) with QEMU 7.2's topology
 * (hw/i386/pc_piix.c, hw/i386/pc_q35.c, spec/devices.md §3–§4).
 */
import { Bus, Machine, QemuError, type MachineCreateContext, type MachineTypeDef } from '@plugboard/qdev';
import { GuestView, PCIHostBridge, PCIBus, type PCIDevice } from '@plugboard/pci-core';
import { AcpiPciHotplug } from '@plugboard/hotplug-acpi';
import { slotPowerOn } from '@plugboard/hotplug-pcie';
import { addBoardDevices } from './board-types.js';

/** I/O addresses QEMU gives the ACPI blocks (spec/acpi-pcihp.md). */
const PIIX4_PCIHP_IO_BASE = 0xae00;
const PIIX4_GPE0_BASE = 0xafe0;
const PIIX4_GPE0_LEN = 4;
const ICH9_PCIHP_IO_BASE = 0x0cc0;
const ICH9_GPE0_LEN = 16;

/** ICH9-LPC power-management registers (hw/isa/lpc_ich9.c, include/hw/southbridge/ich9.h). */
const ICH9_LPC_PMBASE = 0x40;
const ICH9_LPC_PMBASE_MASK = 0xff80;
const ICH9_LPC_ACPI_CTRL = 0x44;
const ICH9_LPC_ACPI_CTRL_ACPI_EN = 0x80;
const ICH9_PMIO_GPE0_STS = 0x20;

/** ICH9 Dxx interrupt route registers' reset value maps INTA-D to PIRQ A-D. */
const ICH9_DEFAULT_PIRQ = [0, 1, 2, 3];

/** What a built machine offers to the server and to the guest. */
export interface PlugboardMachine extends Machine {
  readonly pciRoots: PCIBus[];
  readonly guestView: GuestView;
}

export class X86Machine extends Machine implements PlugboardMachine {
  readonly pciRoots: PCIBus[] = [];
  readonly guestView: GuestView;
  host!: PCIHostBridge;
  /** The ACPI PCI hotplug controller (pc always; q35 unless bridge support is off). */
  acpiHotplug: AcpiPciHotplug | undefined;

  /**
   * The chipset PIRQ an INTx reaches (the guest maps PIRQs to IRQs as its firmware set
   * them up). `dev` is the root-bus device, `pin` already swizzled up to it. pc: PIIX3 pci_slot_get_pirq,
   * (pin + slot - 1) & 3. q35: ICH9's default routing (hw/isa/lpc_ich9.c): slots 0-24 use
   * PIRQ A-D swizzled like PIIX, the chipset functions use their D2xIR defaults.
   */
  pirqOf(dev: PCIDevice, pin: number): number {
    const slot = dev.slot;
    if (this.host.rootBus.isExpress && slot >= 25) return ICH9_DEFAULT_PIRQ[pin] ?? pin;
    return (pin + slot - 1) & 3;
  }

  constructor(ctx: MachineCreateContext, typeName: string) {
    super({ registry: ctx.registry, typeName, ...(ctx.clock ? { clock: ctx.clock } : {}) });
    this.guestView = new GuestView(() => [this.host], () => this.clock.nowNs());
    this.globals.push(...ctx.options.globals);
  }
}

function addHost(m: X86Machine, hostType: string, name: string, busName: string, express: boolean): PCIHostBridge {
  const host = m.newDevice(hostType) as PCIHostBridge;
  m.addChild(name, host);
  host.createRootBus(busName, express);
  // Interrupt fabric: MSI writes and INTx pins reach the guest through its view (the
  // LAPIC/IOAPIC are not modelled; the guest sees the vector / the PIRQ pin).
  host.rootBus.msiSink = { msi: (_dev, address, data) => m.guestView.raise({ kind: 'msi', line: data & 0xff, data: { address, data } }) };
  host.rootBus.intxSink = { intx: (dev, pin, level) => m.guestView.raise({ kind: 'intx', line: m.pirqOf(dev, pin), level }) };
  host.realize(m.sysbus);
  host.rootBus.realized = true;
  m.host = host;
  m.pciRoots.push(host.rootBus);
  m.addBoardDevice('fw_cfg_io', m.sysbus, { name: 'fw_cfg' });
  const ioapic = m.newDevice('ioapic');
  host.addChild('ioapic', ioapic);
  ioapic.realize(m.sysbus);
  return host;
}

/** The reset control register's port (PIIX3 RCR, ICH9 RST_CNT). */
export const RESET_CONTROL_PORT = 0xcf9;
const RESET_CONTROL_RST_CPU = 0x04;

/**
 * I/O port 0xcf9 (hw/isa/piix3.c rcr_write, hw/isa/lpc_ich9.c ich9_rst_cnt_write): a write with
 * RST_CPU (bit 2) requests a reset (SHUTDOWN_CAUSE_GUEST_RESET: RESET {guest: true, reason:
 * guest-reset}, or a shutdown with -no-reboot); other writes keep the bits in `keep`, which
 * read back and clear at a system reset. SeaBIOS reboots QEMU through it.
 */
function addResetControl(m: X86Machine, keep: number): void {
  let value = 0;
  m.guestView.addIoRegion({
    base: RESET_CONTROL_PORT, size: 1, name: 'reset-control',
    read: () => value,
    write: (_off, v) => {
      if (v & RESET_CONTROL_RST_CPU) return m.requestReset({ guest: true, reason: 'guest-reset' });
      value = v & keep;
    },
  });
  m.onReset(() => {
    value = 0;
  });
}

/** Adds a named child bus (isa.0, i2c, ide.N) to a board device. */
function childBus(m: Machine, dev: PCIDevice, type: string, name?: string): Bus {
  const bus = new Bus(m.busName(type, dev, name), [type, 'bus']);
  bus.realized = true;
  dev.addChildBus(bus);
  return bus;
}

function isaDevices(m: Machine, isa: Bus, withFdc: boolean): void {
  addBoardDevices(m, 'i8257', isa, 2);
  addBoardDevices(m, 'isa-i8259', isa, 2);
  m.addBoardDevice('hpet', m.sysbus);
  for (const t of ['mc146818rtc', 'isa-pit', 'isa-pcspk']) m.addBoardDevice(t, isa);
  if (withFdc) m.addBoardDevice('isa-fdc', isa);
  for (const t of ['i8042', 'vmport', 'vmmouse', 'port92']) m.addBoardDevice(t, isa);
}

/** Devices `-nodefaults` leaves out that show on PCI: the VGA and the default NIC. */
function defaultPciDevices(m: Machine, root: PCIBus, nic: string, nicProps: Record<string, string>): void {
  m.addBoardDevice('VGA', root);
  m.addBoardDevice(nic, root, { props: nicProps });
}

export function buildPc(ctx: MachineCreateContext): X86Machine {
  const m = new X86Machine(ctx, 'pc-i440fx-7.2-machine');
  m.addBoardDevice('qemu64-x86_64-cpu', undefined);
  m.addBoardDevice('kvmvapic', m.sysbus);
  const host = addHost(m, 'i440FX-pcihost', 'i440fx', 'pci.0', false);
  const root = host.rootBus;
  m.addBoardDevice('i440FX', root, { props: { addr: '0' } });
  const piix3 = m.addBoardDevice('PIIX3', root, { props: { addr: '1.0', multifunction: 'on' } }) as PCIDevice;
  const isa = childBus(m, piix3, 'ISA', 'isa.0');
  isaDevices(m, isa, true);
  addResetControl(m, 0x02);
  if (!ctx.options.nodefaults) defaultPciDevices(m, root, 'e1000', {});
  const ide = m.addBoardDevice('piix3-ide', root, { props: { addr: '1.1' } }) as PCIDevice;
  childBus(m, ide, 'IDE');
  childBus(m, ide, 'IDE');
  const pm = m.addBoardDevice('PIIX4_PM', root, { props: { addr: '1.3' } }) as PCIDevice;
  // PIIX4_PM is the ACPI PCI hotplug controller of pci.0 (hw/acpi/piix4.c); it must own the
  // buses before the -device options are cold-plugged.
  m.acpiHotplug = new AcpiPciHotplug({
    machine: m, owner: pm, rootBus: root, ioBase: PIIX4_PCIHP_IO_BASE, guestView: m.guestView,
    bridgeSupport: pm.prop<boolean>('acpi-pci-hotplug-with-bridge-support'),
    rootHotplug: pm.prop<boolean>('acpi-root-pci-hotplug'),
    gpe: { base: PIIX4_GPE0_BASE, len: PIIX4_GPE0_LEN },
  });
  m.acpiHotplug.attach();
  const i2c = childBus(m, pm, 'i2c-bus', 'i2c');
  addBoardDevices(m, 'smbus-eeprom', i2c, 8);
  return m;
}

export function buildQ35(ctx: MachineCreateContext): X86Machine {
  const m = new X86Machine(ctx, 'pc-q35-7.2-machine');
  m.addBoardDevice('qemu64-x86_64-cpu', undefined);
  m.addBoardDevice('kvmvapic', m.sysbus);
  const host = addHost(m, 'q35-pcihost', 'q35', 'pcie.0', true);
  const root = host.rootBus;
  const mch = m.newDevice('mch');
  host.addChild('mch', mch);
  mch.realize(root);
  const lpc = m.addBoardDevice('ICH9-LPC', root, { props: { addr: '1f.0', multifunction: 'on' } }) as PCIDevice;
  const isa = childBus(m, lpc, 'ISA', 'isa.0');
  isaDevices(m, isa, false);
  addResetControl(m, 0x0a);
  // ICH9-LPC owns cold-plugged ports' buses in ACPI mode, QEMU's q35 default since 6.1
  // (hw/isa/lpc_ich9.c); with bridge support off the ports use native hotplug.
  if (lpc.prop<boolean>('acpi-pci-hotplug-with-bridge-support')) {
    const acpi = new AcpiPciHotplug({
      machine: m, owner: lpc, rootBus: root, ioBase: ICH9_PCIHP_IO_BASE, guestView: m.guestView,
      bridgeSupport: true, rootHotplug: false, gpe: { base: undefined, len: ICH9_GPE0_LEN },
      // ACPI mode still powers the PCIe slot through the port's Slot Control (pcie_cap_slot_enable_power).
      slotPowerOn,
    });
    acpi.attach();
    m.acpiHotplug = acpi;
    // GPE0 sits at PMBASE + 0x20 once firmware programs PMBASE and sets ACPI_EN
    // (hw/isa/lpc_ich9.c ich9_lpc_pmbase_sci_update).
    const updateGpe = (dev: PCIDevice) => {
      const enabled = (dev.config.get8(ICH9_LPC_ACPI_CTRL) & ICH9_LPC_ACPI_CTRL_ACPI_EN) !== 0;
      acpi.setGpeBase(enabled ? (dev.config.get32(ICH9_LPC_PMBASE) & ICH9_LPC_PMBASE_MASK) + ICH9_PMIO_GPE0_STS : undefined);
    };
    lpc.attachModel({
      afterConfigWrite: (dev, off, _v, len) => {
        if (off < ICH9_LPC_ACPI_CTRL + 1 && off + len > ICH9_LPC_PMBASE) updateGpe(dev);
      },
      reset: updateGpe,
    });
  }
  if (!ctx.options.nodefaults) defaultPciDevices(m, root, 'e1000e', {});
  const ahci = m.addBoardDevice('ich9-ahci', root, { props: { addr: '1f.2', multifunction: 'on' } }) as PCIDevice;
  for (let i = 0; i < 6; i++) childBus(m, ahci, 'IDE');
  const smb = m.addBoardDevice('ICH9-SMB', root, { props: { addr: '1f.3', multifunction: 'on' } }) as PCIDevice;
  const i2c = childBus(m, smb, 'i2c-bus', 'i2c');
  addBoardDevices(m, 'smbus-eeprom', i2c, 8);
  return m;
}

export const x86MachineTypes: MachineTypeDef[] = [
  { name: 'pc-i440fx-7.2', alias: 'pc', description: 'Standard PC (i440FX + PIIX, 1996)', isDefault: true, arch: 'x86_64', cpuMax: 255, defaultCpuType: 'qemu64-x86_64-cpu', defaultRamId: 'pc.ram', create: buildPc },
  { name: 'pc-q35-7.2', alias: 'q35', description: 'Standard PC (Q35 + ICH9, 2009)', arch: 'x86_64', cpuMax: 288, defaultCpuType: 'qemu64-x86_64-cpu', defaultRamId: 'pc.ram', create: buildQ35 },
];

export function unsupported(what: string): never {
  throw new QemuError(what);
}
