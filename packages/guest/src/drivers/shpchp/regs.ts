/**
 * The SHPC working registers as Linux 6.1's shpchp names them (drivers/pci/hotplug/
 * shpchp_hpc.c, spec/guest-shpchp.md §2). The guest keeps its own copy: it sees registers,
 * never the device model.
 */

/** Capability: DWORD SELECT / DWORD DATA. */
export const DWORD_SELECT = 0x2;
export const DWORD_DATA = 0x4;
/** Indirect dword index of the slot configuration (num slots in 4:0). */
export const SLOT_CONFIG_INDEX = 3;
/** The probe's debug dump reads dwords 0 .. 8 + num_slots. */
export const INDIRECT_CONTROLLER_DWORDS = 9;

/** struct ctrl_reg offsets. */
export const BASE_OFFSET = 0x00;
export const SLOT_AVAIL1 = 0x04;
export const SLOT_AVAIL2 = 0x08;
export const SLOT_CONFIG = 0x0c;
export const SEC_BUS_CONFIG = 0x10;
export const MSI_CTRL = 0x12;
export const PROG_INTERFACE = 0x13;
export const CMD = 0x14;
export const CMD_STATUS = 0x16;
export const INTR_LOC = 0x18;
export const SERR_LOC = 0x1c;
export const SERR_INTR_ENABLE = 0x20;
export const SLOT1 = 0x24;
export const SLOT_REG = (i: number): number => SLOT1 + 4 * i;
/** ioremap size: 0x24 + 4 × num_slots. */
export const mmioSize = (numSlots: number): number => SLOT1 + 4 * numSlots;

/** Slot configuration. */
export const SLOT_NUM = 0x0000001f;
export const FIRST_DEV_NUM = 0x00001f00;
export const FIRST_DEV_NUM_SHIFT = 8;
export const PSN = 0x07ff0000;
export const PSN_SHIFT = 16;
export const UPDOWN = 0x20000000;

/** Slots available I / II. */
export const SLOT_33MHZ = 0x0000001f;
export const SLOT_66MHZ_PCIX = 0x00001f00;
export const SLOT_100MHZ_PCIX = 0x001f0000;
export const SLOT_133MHZ_PCIX = 0x1f000000;
export const SLOT_66MHZ = 0x0000001f;

/** Interrupt locator. */
export const CMD_INTR_PENDING = 1 << 0;
export const SLOT_INTR_PENDING = (i: number): number => (1 << (i + 1)) >>> 0;

/** Controller SERR-INT. */
export const GLOBAL_INTR_MASK = 1 << 0;
export const GLOBAL_SERR_MASK = 1 << 1;
export const COMMAND_INTR_MASK = 1 << 2;
export const ARBITER_SERR_MASK = 1 << 3;
export const SERR_INTR_RSVDZ_MASK = 0xfffc0000;

/** Logical slot register. */
export const SLOT_STATE_MASK = 3 << 0;
export const SLOT_STATE_PWRONLY = 1;
export const SLOT_STATE_ENABLED = 2;
export const SLOT_STATE_DISABLED = 3;
export const ATN_LED_STATE_MASK = 3 << 4;
export const ATN_LED_STATE_SHIFT = 4;
export const ATN_LED_STATE_ON = 1;
export const ATN_LED_STATE_BLINK = 2;
export const ATN_LED_STATE_OFF = 3;
export const POWER_FAULT = 1 << 6;
export const MRL_SENSOR = 1 << 8;
export const MHZ66_CAP = 1 << 9;
export const PRSNT_SHIFT = 10;
export const PRSNT_MASK = 3 << 10;
export const PRSNT_EMPTY = 0x3;
export const PCIX_CAP_SHIFT = 12;
export const PCIX_CAP_MASK_PI1 = 3 << 12;
export const PCIX_CAP_MASK_PI2 = 7 << 12;
export const PRSNT_CHANGE_DETECTED = 1 << 16;
export const ISO_PFAULT_DETECTED = 1 << 17;
export const BUTTON_PRESS_DETECTED = 1 << 18;
export const MRL_CHANGE_DETECTED = 1 << 19;
export const CON_PFAULT_DETECTED = 1 << 20;
export const PRSNT_CHANGE_INTR_MASK = 1 << 24;
export const ISO_PFAULT_INTR_MASK = 1 << 25;
export const BUTTON_PRESS_INTR_MASK = 1 << 26;
export const MRL_CHANGE_INTR_MASK = 1 << 27;
export const CON_PFAULT_INTR_MASK = 1 << 28;
export const MRL_CHANGE_SERR_MASK = 1 << 29;
export const CON_PFAULT_SERR_MASK = 1 << 30;
export const SLOT_REG_RSVDZ_MASK = (1 << 15) | (7 << 21);
export const SLOT_INTR_MASKS = PRSNT_CHANGE_INTR_MASK | ISO_PFAULT_INTR_MASK | BUTTON_PRESS_INTR_MASK | MRL_CHANGE_INTR_MASK | CON_PFAULT_INTR_MASK;
export const SLOT_ALL_MASKS = SLOT_INTR_MASKS | MRL_CHANGE_SERR_MASK | CON_PFAULT_SERR_MASK;

/** Command codes. */
export const SET_SLOT_PWR = 0x01;
export const SET_SLOT_ENABLE = 0x02;
export const SET_SLOT_DISABLE = 0x03;
export const SET_PWR_ON = 0x04;
export const SET_PWR_BLINK = 0x08;
export const SET_PWR_OFF = 0x0c;
export const SET_ATTN_ON = 0x10;
export const SET_ATTN_BLINK = 0x20;
export const SET_ATTN_OFF = 0x30;
export const SETA_PCI_33MHZ = 0x40;
export const SETA_PCI_66MHZ = 0x41;
export const SETA_PCIX_66MHZ = 0x42;
export const SETA_PCIX_100MHZ = 0x43;
export const SETA_PCIX_133MHZ = 0x44;

/** Command status error codes (status >> 1). */
export const SWITCH_OPEN = 0x1;
export const INVALID_CMD = 0x2;
export const INVALID_SPEED_MODE = 0x4;
export const CMD_STATUS_BUSY = 0x1;
export const CMD_STATUS_ERRORS = 0xf;

/** enum pci_bus_speed values shpchp prints. */
export const PCI_SPEED_33MHz = 0x00;
export const PCI_SPEED_66MHz = 0x01;
export const PCI_SPEED_66MHz_PCIX = 0x02;
export const PCI_SPEED_100MHz_PCIX = 0x03;
export const PCI_SPEED_133MHz_PCIX = 0x04;
export const PCI_SPEED_133MHz_PCIX_266 = 0x0b;
export const PCI_SPEED_133MHz_PCIX_533 = 0x13;
export const PCI_SPEED_UNKNOWN = 0xff;

/** Slot work states (shpchp.h). */
export const STATIC_STATE = 0;
export const BLINKINGON_STATE = 1;
export const BLINKINGOFF_STATE = 2;
export const POWERON_STATE = 3;
export const POWEROFF_STATE = 4;

/** Interrupt events queued to a slot's work queue. */
export const INT_PRESENCE_ON = 1;
export const INT_PRESENCE_OFF = 2;
export const INT_SWITCH_CLOSE = 3;
export const INT_SWITCH_OPEN = 4;
export const INT_POWER_FAULT = 5;
export const INT_POWER_FAULT_CLEAR = 6;
export const INT_BUTTON_PRESS = 7;

/** board_added's error for a speed problem. */
export const WRONG_BUS_FREQUENCY = 0x0000000d;

/** Delays (spec/guest-timing.md #10–#14). */
export const BUTTON_WAIT_MS = 5000;
export const SLOT_ENABLE_SETTLE_MS = 1000;
export const CMD_TIMEOUT_MS = 1000;
export const BUSY_POLL_MS = 100;
export const BUSY_POLL_TRIES = 10;
export const POLL_FIRST_S = 10;
export const POLL_DEFAULT_S = 2;
export const POLL_MAX_S = 60;
