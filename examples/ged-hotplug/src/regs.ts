/**
 * The GED PCI hotplug register window (one MMIO block, little-endian, 32-bit registers).
 *
 * Offsets 0x10-0x1f are cloud-hypervisor's PCI hotplug block (vmm/src/device_manager.rs:
 * PCIU, PCID, B0EJ, PSEG) and GDAT is its ACPI GED notification register
 * (devices/src/acpi.rs). cloud-hypervisor tells the guest where they are through the DSDT
 * (`_SB_.GEC_`, `_SB_.PHPR`); the simulated guest reads no ACPI tables, so the window also
 * carries a signature and the GED's interrupt number (GSIG, GIRQ) where a real guest would
 * find `_HID` and `_CRS`.
 */

/** Default MMIO base: above SeaBIOS's 32-bit PCI window (which ends at 0xfec00000), clear of
 * the IOAPIC (0xfec00000), HPET (0xfed00000), ICH9 RCRB (0xfed1c000), TPM (0xfed40000) and
 * LAPIC (0xfee00000). */
export const GED_DEFAULT_BASE = 0xfed30000;
export const GED_MMIO_SIZE = 0x20;

/** GED event flags (read; reading clears them). */
export const GED_GDAT = 0x00;
/** Signature (read-only): "PBGD" as a little-endian dword. */
export const GED_GSIG = 0x04;
export const GED_SIGNATURE = 0x44474250;
/** The GED interrupt's GSI (read-only). */
export const GED_GIRQ = 0x08;
/** Slots added since the last read, bit per slot (read; reading clears). */
export const GED_PCIU = 0x10;
/** Slots whose removal is requested since the last read, bit per slot (read; reading clears). */
export const GED_PCID = 0x14;
/** Eject: writing a bitmap removes the devices of those slots (reads 0). */
export const GED_B0EJ = 0x18;
/** PCI segment the three registers above refer to (read/write). */
export const GED_PSEG = 0x1c;

/** cloud-hypervisor's AcpiNotificationFlags, the bits of GDAT. */
export const GED_CPU_DEVICES_CHANGED = 1 << 0;
export const GED_MEMORY_DEVICES_CHANGED = 1 << 1;
export const GED_PCI_DEVICES_CHANGED = 1 << 2;
export const GED_POWER_BUTTON_CHANGED = 1 << 3;

/** Default GSI of the GED interrupt (unused by QEMU's pc and q35 boards and their PIRQ routing). */
export const GED_DEFAULT_IRQ = 5;

/**
 * Hot-plugged functions get their BARs from the controller, as cloud-hypervisor's VMM
 * allocates them (the guest finds them programmed): each slot owns a fixed sub-window, so an
 * allocation never depends on history. The defaults sit at the bottom of SeaBIOS's 32-bit
 * window on q35 (SeaBIOS allocates top-down from 0xfec00000) and in I/O space it leaves free.
 */
export const GED_DEFAULT_MEM_WINDOW = 0xc0000000;
export const GED_MEM_PER_SLOT = 0x400000; // 4 MiB
export const GED_DEFAULT_IO_WINDOW = 0x8000;
export const GED_IO_PER_SLOT = 0x80;

export const PCI_SLOTS = 32;
export const slotBit = (slot: number): number => (1 << slot) >>> 0;
