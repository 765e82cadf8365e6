/**
 * The Standard Hot-Plug Controller's registers as QEMU 7.2 lays them out (hw/pci/shpc.c,
 * spec/shpc.md §2–§4), named after the SHPC 1.0 specification's register names in the
 * SHPC_* style QEMU uses. Offsets are from the start of the working register set (BAR0 +
 * base offset, which is 0 on QEMU's bridges).
 */

// ---- capability in config space (spec §2) ----------------------------------------------------

/** Capability length: ID, next, DWORD SELECT, CSP/CIP, DWORD DATA. */
export const SHPC_CAP_LENGTH = 0x08;
export const SHPC_CAP_DWORD_SELECT = 0x02;
/** CSP/CIP bits: always 0 on QEMU. */
export const SHPC_CAP_CXP = 0x03;
export const SHPC_CAP_DWORD_DATA = 0x04;
export const SHPC_CAP_DWORD_DATA_LEN = 4;

// ---- controller registers (spec §3) ----------------------------------------------------------

export const SHPC_BASE_OFFSET = 0x00;
/** Slots Available I: 33 MHz conventional count in bits 4:0 (66/100/133 MHz PCI-X above). */
export const SHPC_SLOTS_33 = 0x04;
/** Slots Available II. */
export const SHPC_SLOTS_66 = 0x08;
export const SHPC_NSLOTS = 0x0c;
export const SHPC_FIRST_DEV = 0x0d;
/** Physical slot number of the first slot (bits 10:0) and the slot-configuration flags. */
export const SHPC_PHYS_SLOT = 0x0e;
export const SHPC_PHYS_NUM_MAX = 0x07ff;
export const SHPC_PHYS_NUM_UP = 0x2000;
export const SHPC_PHYS_MRL = 0x4000;
export const SHPC_PHYS_BUTTON = 0x8000;
/** Secondary bus configuration: speed/mode in bits 2:0. */
export const SHPC_SEC_BUS = 0x10;
export const SHPC_SEC_BUS_33 = 0x0;
export const SHPC_SEC_BUS_MASK = 0x7;
export const SHPC_MSI_CTL = 0x12;
/** Programming interface: SHPC 1.0. */
export const SHPC_PROG_IFC = 0x13;
export const SHPC_PROG_IFC_1_0 = 0x1;
export const SHPC_CMD_CODE = 0x14;
export const SHPC_CMD_TRGT = 0x15;
export const SHPC_CMD_TRGT_MIN = 0x01;
/** Target is masked to 5 bits (the write mask of the target byte). */
export const SHPC_CMD_TRGT_MAX = 0x1f;
/** Command register: code and target, the two bytes whose write runs a command. */
export const SHPC_CMD_LEN = 2;
export const SHPC_CMD_STATUS = 0x16;
export const SHPC_CMD_STATUS_BUSY = 0x1;
export const SHPC_CMD_STATUS_MRL_OPEN = 0x2;
export const SHPC_CMD_STATUS_INVALID_CMD = 0x4;
export const SHPC_CMD_STATUS_INVALID_MODE = 0x8;
export const SHPC_CMD_STATUS_ALL = SHPC_CMD_STATUS_BUSY | SHPC_CMD_STATUS_MRL_OPEN | SHPC_CMD_STATUS_INVALID_CMD | SHPC_CMD_STATUS_INVALID_MODE;
/** Interrupt locator: bit 0 command completion, bit N slot N (logical numbering). */
export const SHPC_INT_LOCATOR = 0x18;
export const SHPC_INT_COMMAND = 0x1;
export const SHPC_SERR_LOCATOR = 0x1c;
/** Controller SERR-INT register. */
export const SHPC_SERR_INT = 0x20;
export const SHPC_INT_DIS = 0x1;
export const SHPC_SERR_DIS = 0x2;
export const SHPC_CMD_INT_DIS = 0x4;
export const SHPC_ARB_SERR_DIS = 0x8;
export const SHPC_CMD_DETECTED = 0x10000;
export const SHPC_ARB_DETECTED = 0x20000;
export const SHPC_SERR_INT_MASKS = SHPC_INT_DIS | SHPC_SERR_DIS | SHPC_CMD_INT_DIS | SHPC_ARB_SERR_DIS;
export const SHPC_SERR_INT_W1C = SHPC_CMD_DETECTED | SHPC_ARB_DETECTED;

// ---- logical slot registers ------------------------------------------------------------------

/** QEMU's SHPC always has 31 slots (SHPC_MAX_SLOTS; not a property). */
export const SHPC_MAX_SLOTS = 31;
/** Logical slot register of slot index `i` (logical slot i + 1). */
export const SHPC_SLOT_REG = (i: number): number => 0x24 + i * 4;
/** Slot status word (16 bits). */
export const SHPC_SLOT_STATUS = (i: number): number => SHPC_SLOT_REG(i);
/** Event latch byte (W1C). */
export const SHPC_SLOT_EVENT_LATCH = (i: number): number => SHPC_SLOT_REG(i) + 2;
/** SERR/INT mask byte (RW). */
export const SHPC_SLOT_EVENT_SERR_INT_DIS = (i: number): number => SHPC_SLOT_REG(i) + 3;
/** Size of the working register set: 0x24 + 31 × 4 = 0xa0 bytes. */
export const SHPC_SIZEOF = SHPC_SLOT_REG(SHPC_MAX_SLOTS);
/** The BAR holding it: rounded up to a power of two (shpc_bar_size). */
export const SHPC_BAR_SIZE = 0x100;

/** Slot status fields (the same encodings serve the command's slot-operation fields). */
export const SHPC_SLOT_STATE_MASK = 0x03;
export const SHPC_SLOT_STATE_SHIFT = 0;
export const SHPC_STATE_NO = 0x0;
export const SHPC_STATE_PWRONLY = 0x1;
export const SHPC_STATE_ENABLED = 0x2;
export const SHPC_STATE_DISABLED = 0x3;
export const SHPC_SLOT_PWR_LED_MASK = 0x0c;
export const SHPC_SLOT_PWR_LED_SHIFT = 2;
export const SHPC_SLOT_ATTN_LED_MASK = 0x30;
export const SHPC_SLOT_ATTN_LED_SHIFT = 4;
export const SHPC_LED_NO = 0x0;
export const SHPC_LED_ON = 0x1;
export const SHPC_LED_BLINK = 0x2;
export const SHPC_LED_OFF = 0x3;
export const SHPC_SLOT_STATUS_PWR_FAULT = 0x40;
export const SHPC_SLOT_STATUS_BUTTON = 0x80;
export const SHPC_SLOT_STATUS_MRL_OPEN = 0x100;
export const SHPC_SLOT_STATUS_66 = 0x200;
export const SHPC_SLOT_STATUS_PRSNT_MASK = 0xc00;
export const SHPC_SLOT_STATUS_PRSNT_SHIFT = 10;
export const SHPC_SLOT_STATUS_PRSNT_EMPTY = 0x3;
export const SHPC_SLOT_STATUS_PRSNT_25W = 0x1;
export const SHPC_SLOT_STATUS_PRSNT_15W = 0x2;
export const SHPC_SLOT_STATUS_PRSNT_7_5W = 0x0;
export const SHPC_SLOT_STATUS_PRSNT_PCIX = 0x3000;

/** Event latch bits; the same bits in the mask byte mask the interrupt. */
export const SHPC_SLOT_EVENT_PRESENCE = 0x01;
export const SHPC_SLOT_EVENT_ISOLATED_FAULT = 0x02;
export const SHPC_SLOT_EVENT_BUTTON = 0x04;
export const SHPC_SLOT_EVENT_MRL = 0x08;
export const SHPC_SLOT_EVENT_CONNECTED_FAULT = 0x10;
export const SHPC_SLOT_EVENTS = SHPC_SLOT_EVENT_PRESENCE | SHPC_SLOT_EVENT_ISOLATED_FAULT | SHPC_SLOT_EVENT_BUTTON | SHPC_SLOT_EVENT_MRL | SHPC_SLOT_EVENT_CONNECTED_FAULT;
/** Mask-byte-only bits: SERR masks. */
export const SHPC_SLOT_EVENT_MRL_SERR_DIS = 0x20;
export const SHPC_SLOT_EVENT_CONNECTED_FAULT_SERR_DIS = 0x40;
export const SHPC_SLOT_EVENT_MASKS = SHPC_SLOT_EVENTS | SHPC_SLOT_EVENT_MRL_SERR_DIS | SHPC_SLOT_EVENT_CONNECTED_FAULT_SERR_DIS;

// ---- commands (spec §4) ----------------------------------------------------------------------

/** 0x00–0x3f: slot operation (state bits 1:0, power LED 3:2, attention LED 5:4). */
export const SHPC_CMD_SLOT_OP_MAX = 0x3f;
/** 0x40–0x47: set bus segment speed/mode A; only 33 MHz conventional is accepted. */
export const SHPC_CMD_SET_BUS_SPEED_FIRST = 0x40;
export const SHPC_CMD_SET_BUS_SPEED_LAST = 0x47;
export const SHPC_CMD_POWER_ONLY_ALL = 0x48;
export const SHPC_CMD_ENABLE_ALL = 0x49;

// ---- numbering (hw/pci/shpc.c: slot 0 reserved, the rest numbered from 1) ----------------------

/** Logical slot number (command target, locator bit) of slot index `i`. */
export const SHPC_IDX_TO_LOGICAL = (i: number): number => i + 1;
export const SHPC_LOGICAL_TO_IDX = (target: number): number => target - 1;
/** PCI device number on the secondary bus of slot index `i`. */
export const SHPC_IDX_TO_PCI = (i: number): number => i + 1;
export const SHPC_PCI_TO_IDX = (pciSlot: number): number => pciSlot - 1;
/** Physical slot number reported for slot index 0. */
export const SHPC_FIRST_PHYSICAL = 1;
