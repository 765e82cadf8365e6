/**
 * Register names and values of the ACPI PCI hotplug interface and the GPE0 block, as
 * QEMU 7.2 names them (include/hw/acpi/pcihp.h, hw/acpi/pcihp.c, hw/acpi/piix4.c,
 * include/hw/acpi/ich9.h, include/hw/acpi/acpi_dev_interface.h). spec/acpi-pcihp.md §3–§4.
 */

// ---- pcihp I/O block (spec §3) --------------------------------------------------------------

/** PIIX4_PM block base on `-M pc`. */
export const ACPI_PCIHP_ADDR_PIIX4 = 0xae00;
/** ICH9-LPC block base on `-M q35`. */
export const ACPI_PCIHP_ADDR_ICH9 = 0x0cc0;
/** Length of the block QEMU maps (the AML declares only 0x14 of it). */
export const ACPI_PCIHP_SIZE = 0x18;
/** The only valid access size (MemoryRegionOps valid.min = valid.max = 4). */
export const ACPI_PCIHP_ACCESS_SIZE = 4;

/** UP (AML `PCIU`): slots with a pending hot-add on the selected bus. */
export const PCI_UP_BASE = 0x00;
/** DOWN (AML `PCID`): slots with a pending removal request. */
export const PCI_DOWN_BASE = 0x04;
/** EJ (AML `B0EJ`): write a slot mask to eject; reads 0. */
export const PCI_EJ_BASE = 0x08;
/** RMV (AML `PCIR`): hotplug_enable mask of the selected bus. */
export const PCI_RMV_BASE = 0x0c;
/** SEL (AML `BNUM`): bus selector. */
export const PCI_SEL_BASE = 0x10;
/** AIDX (AML `PIDX`): acpi-index latch. */
export const PCI_AIDX_BASE = 0x14;

/** Selectors 0..255; anything else selects nothing. */
export const ACPI_PCIHP_MAX_HOTPLUG_BUS = 256;
/** Legacy PIIX mode forces SEL to this; also the first BSEL handed out. */
export const ACPI_PCIHP_BSEL_DEFAULT = 0;
/** QOM property put on every ACPI-hotpluggable bus at the first reset. */
export const ACPI_PCIHP_PROP_BSEL = 'acpi-pcihp-bsel';
/** QOM properties put on the owner (PIIX4_PM / ICH9-LPC) by acpi_pcihp_init. */
export const ACPI_PCIHP_IO_BASE_PROP = 'acpi-pcihp-io-base';
export const ACPI_PCIHP_IO_LEN_PROP = 'acpi-pcihp-io-len';

/** acpi-index cap (systemd's udev-builtin-net_id limit), hw/acpi/pcihp.c ONBOARD_INDEX_MAX. */
export const ONBOARD_INDEX_MAX = 16 * 1024 - 1;

/** Number of slots on a PCI bus (one bit each in UP/DOWN/RMV). */
export const PCIHP_SLOTS = 32;

// ---- GPE0 (spec §4) -------------------------------------------------------------------------

/** GPE0_STS bits (include/hw/acpi/acpi_dev_interface.h AcpiEventStatusBits). */
export const ACPI_PCI_HOTPLUG_STATUS = 0x02;
export const ACPI_CPU_HOTPLUG_STATUS = 0x04;
export const ACPI_MEMORY_HOTPLUG_STATUS = 0x08;
export const ACPI_NVDIMM_HOTPLUG_STATUS = 0x10;
export const ACPI_VMGENID_CHANGE_STATUS = 0x20;
export const ACPI_POWER_DOWN_STATUS = 0x40;

/** PIIX4: fixed GPE0 block (hw/acpi/piix4.c GPE_BASE / GPE_LEN). */
export const PIIX4_GPE_BASE = 0xafe0;
export const PIIX4_GPE_LEN = 4;
/** ICH9: GPE0 at PMBASE + 0x20, 16 bytes (include/hw/acpi/ich9.h ICH9_PMIO_GPE0_*). */
export const ICH9_PMIO_GPE0_STS = 0x20;
export const ICH9_PMIO_GPE0_LEN = 16;
/** SCI: ISA IRQ 9 on both chipsets by default. */
export const ACPI_SCI_IRQ = 9;

// ---- PCIe slot bits used for the q35 power-on fixup (Linux pci_regs.h names) ------------------

/** Slot Capabilities PCP (Power Controller Present), Slot Control PCC (1 = off): pci-core's. */
export { PCI_EXP_SLTCAP_PCP, PCI_EXP_SLTCTL_PCC } from '@plugboard/pci-core';
