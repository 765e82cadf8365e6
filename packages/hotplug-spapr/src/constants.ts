/**
 * PAPR and QEMU 7.2 numbers for dynamic reconfiguration, with the names QEMU gives them
 * (include/hw/ppc/spapr_drc.h, include/hw/ppc/spapr.h, hw/ppc/spapr_events.c,
 * include/hw/ppc/spapr_ovec.h, include/hw/pci-host/spapr.h). spec/spapr-drc.md §1–§4.
 */

// ---- DRC types and index encoding (spapr_drc.h) ---------------------------------------------

export const SPAPR_DR_CONNECTOR_TYPE_SHIFT_CPU = 1;
export const SPAPR_DR_CONNECTOR_TYPE_SHIFT_PHB = 2;
export const SPAPR_DR_CONNECTOR_TYPE_SHIFT_VIO = 3;
export const SPAPR_DR_CONNECTOR_TYPE_SHIFT_PCI = 4;
export const SPAPR_DR_CONNECTOR_TYPE_SHIFT_LMB = 8;
export const SPAPR_DR_CONNECTOR_TYPE_SHIFT_PMEM = 9;

export const SPAPR_DR_CONNECTOR_TYPE_CPU = 1 << SPAPR_DR_CONNECTOR_TYPE_SHIFT_CPU;
export const SPAPR_DR_CONNECTOR_TYPE_PHB = 1 << SPAPR_DR_CONNECTOR_TYPE_SHIFT_PHB;
export const SPAPR_DR_CONNECTOR_TYPE_VIO = 1 << SPAPR_DR_CONNECTOR_TYPE_SHIFT_VIO;
export const SPAPR_DR_CONNECTOR_TYPE_PCI = 1 << SPAPR_DR_CONNECTOR_TYPE_SHIFT_PCI;
export const SPAPR_DR_CONNECTOR_TYPE_LMB = 1 << SPAPR_DR_CONNECTOR_TYPE_SHIFT_LMB;
export const SPAPR_DR_CONNECTOR_TYPE_PMEM = 1 << SPAPR_DR_CONNECTOR_TYPE_SHIFT_PMEM;

/** spapr_drc.c: index = typeshift << 28 | (id & 0x0fffffff). */
export const DRC_INDEX_TYPE_SHIFT = 28;
export const DRC_INDEX_ID_MASK = (1 << DRC_INDEX_TYPE_SHIFT) - 1;
/** The QOM container every DRC is aliased into, by its index in hex. */
export const DRC_CONTAINER_PATH = 'dr-connector';

/** QOM type names. */
export const TYPE_SPAPR_DR_CONNECTOR = 'spapr-dr-connector';
export const TYPE_SPAPR_DRC_PHYSICAL = 'spapr-drc-physical';
export const TYPE_SPAPR_DRC_LOGICAL = 'spapr-drc-logical';
export const TYPE_SPAPR_DRC_CPU = 'spapr-drc-cpu';
export const TYPE_SPAPR_DRC_PCI = 'spapr-drc-pci';
export const TYPE_SPAPR_DRC_LMB = 'spapr-drc-lmb';
export const TYPE_SPAPR_DRC_PHB = 'spapr-drc-phb';
export const TYPE_SPAPR_DRC_PMEM = 'spapr-drc-pmem';

// ---- DRC states (SpaprDrcState; values are migrated, so fixed) --------------------------------

export const SPAPR_DRC_STATE_INVALID = 0;
export const SPAPR_DRC_STATE_LOGICAL_UNUSABLE = 1;
export const SPAPR_DRC_STATE_LOGICAL_AVAILABLE = 2;
export const SPAPR_DRC_STATE_LOGICAL_UNISOLATE = 3;
export const SPAPR_DRC_STATE_LOGICAL_CONFIGURED = 4;
export const SPAPR_DRC_STATE_PHYSICAL_AVAILABLE = 5;
export const SPAPR_DRC_STATE_PHYSICAL_POWERON = 6;
export const SPAPR_DRC_STATE_PHYSICAL_UNISOLATE = 7;
export const SPAPR_DRC_STATE_PHYSICAL_CONFIGURED = 8;

export const SPAPR_DRC_STATE_NAMES: Record<number, string> = {
  [SPAPR_DRC_STATE_INVALID]: 'INVALID',
  [SPAPR_DRC_STATE_LOGICAL_UNUSABLE]: 'LOGICAL_UNUSABLE',
  [SPAPR_DRC_STATE_LOGICAL_AVAILABLE]: 'LOGICAL_AVAILABLE',
  [SPAPR_DRC_STATE_LOGICAL_UNISOLATE]: 'LOGICAL_UNISOLATE',
  [SPAPR_DRC_STATE_LOGICAL_CONFIGURED]: 'LOGICAL_CONFIGURED',
  [SPAPR_DRC_STATE_PHYSICAL_AVAILABLE]: 'PHYSICAL_AVAILABLE',
  [SPAPR_DRC_STATE_PHYSICAL_POWERON]: 'PHYSICAL_POWERON',
  [SPAPR_DRC_STATE_PHYSICAL_UNISOLATE]: 'PHYSICAL_UNISOLATE',
  [SPAPR_DRC_STATE_PHYSICAL_CONFIGURED]: 'PHYSICAL_CONFIGURED',
};

// ---- sensors and indicators (PAPR 13.5.3) ------------------------------------------------------

export const RTAS_SENSOR_TYPE_ISOLATION_STATE = 9001;
export const RTAS_SENSOR_TYPE_DR = 9002;
export const RTAS_SENSOR_TYPE_ALLOCATION_STATE = 9003;
export const RTAS_SENSOR_TYPE_ENTITY_SENSE = RTAS_SENSOR_TYPE_ALLOCATION_STATE;
/** The EPOW sensor Linux's ras.c reads (QEMU implements none but 9003). */
export const RTAS_SENSOR_TYPE_EPOW = 9;

export const SPAPR_DR_ISOLATION_STATE_ISOLATED = 0;
export const SPAPR_DR_ISOLATION_STATE_UNISOLATED = 1;
export const SPAPR_DR_ALLOCATION_STATE_UNUSABLE = 0;
export const SPAPR_DR_ALLOCATION_STATE_USABLE = 1;
export const SPAPR_DR_ALLOCATION_STATE_EXCHANGE = 2;
export const SPAPR_DR_ALLOCATION_STATE_RECOVER = 3;
export const SPAPR_DR_INDICATOR_INACTIVE = 0;
export const SPAPR_DR_INDICATOR_ACTIVE = 1;
export const SPAPR_DR_INDICATOR_IDENTIFY = 2;
export const SPAPR_DR_INDICATOR_ACTION = 3;
export const SPAPR_DR_ENTITY_SENSE_EMPTY = 0;
export const SPAPR_DR_ENTITY_SENSE_PRESENT = 1;
export const SPAPR_DR_ENTITY_SENSE_UNUSABLE = 2;
export const SPAPR_DR_ENTITY_SENSE_EXCHANGE = 3;
export const SPAPR_DR_ENTITY_SENSE_RECOVERY = 4;

// ---- RTAS return codes (spapr.h) ---------------------------------------------------------------

export const RTAS_OUT_SUCCESS = 0;
export const RTAS_OUT_NO_ERRORS_FOUND = 1;
export const RTAS_OUT_HW_ERROR = -1;
export const RTAS_OUT_BUSY = -2;
export const RTAS_OUT_PARAM_ERROR = -3;
export const RTAS_OUT_NOT_SUPPORTED = -3;
export const RTAS_OUT_NO_SUCH_INDICATOR = -3;
export const RTAS_OUT_NOT_AUTHORIZED = -9002;
export const RTAS_OUT_SYSPARM_PARAM_ERROR = -9999;

/** Power level of the live-insertion domain QEMU puts every PCI DRC in. */
export const SPAPR_LIVE_INSERTION_POWER_DOMAIN = -1;
export const SPAPR_POWER_LEVEL_ON = 100;

// ---- ibm,configure-connector (spapr_drc.c) -----------------------------------------------------

export const SPAPR_DR_CC_RESPONSE_NEXT_SIB = 1;
export const SPAPR_DR_CC_RESPONSE_NEXT_CHILD = 2;
export const SPAPR_DR_CC_RESPONSE_NEXT_PROPERTY = 3;
export const SPAPR_DR_CC_RESPONSE_PREV_PARENT = 4;
export const SPAPR_DR_CC_RESPONSE_SUCCESS = 0;
export const SPAPR_DR_CC_RESPONSE_ERROR = -1;
export const SPAPR_DR_CC_RESPONSE_CONTINUE = -2;
export const SPAPR_DR_CC_RESPONSE_NOT_CONFIGURABLE = -9003;
/** Work-area words (int32 units) and the byte offset names and values are written at. */
export const CC_IDX_NODE_NAME_OFFSET = 2;
export const CC_IDX_PROP_NAME_OFFSET = 2;
export const CC_IDX_PROP_LEN = 3;
export const CC_IDX_PROP_DATA_OFFSET = 4;
export const CC_VAL_DATA_OFFSET = (CC_IDX_PROP_DATA_OFFSET + 1) * 4;
export const CC_WA_LEN = 4096;

// ---- RTAS tokens (spapr.h: RTAS_TOKEN_BASE + n, as listed in /rtas) ------------------------------

export const RTAS_TOKEN_BASE = 0x2000;
/** Every RTAS call QEMU 7.2 defines, in token order (RTAS_DISPLAY_CHARACTER = base + 0 ...). */
export const RTAS_CALL_NAMES = [
  'display-character', 'get-time-of-day', 'set-time-of-day', 'power-off', 'system-reboot', 'query-cpu-stopped-state',
  'start-cpu', 'stop-self', 'ibm,get-system-parameter', 'ibm,set-system-parameter', 'ibm,set-xive', 'ibm,get-xive',
  'ibm,int-off', 'ibm,int-on', 'check-exception', 'event-scan', 'ibm,set-tce-bypass', 'quiesce', 'nvram-fetch',
  'nvram-store', 'read-pci-config', 'write-pci-config', 'ibm,read-pci-config', 'ibm,write-pci-config',
  'ibm,query-interrupt-source-number', 'ibm,change-msi', 'set-indicator', 'set-power-level', 'get-power-level',
  'get-sensor-state', 'ibm,configure-connector', 'ibm,os-term', 'ibm,set-eeh-option', 'ibm,get-config-addr-info2',
  'ibm,read-slot-reset-state2', 'ibm,set-slot-reset', 'ibm,configure-pe', 'ibm,slot-error-detail',
  'ibm,query-pe-dma-window', 'ibm,create-pe-dma-window', 'ibm,remove-pe-dma-window', 'ibm,reset-pe-dma-window',
  'ibm,suspend-me', 'ibm,nmi-register', 'ibm,nmi-interlock',
] as const;
export type RtasCallName = (typeof RTAS_CALL_NAMES)[number];
export const rtasToken = (name: RtasCallName): number => RTAS_TOKEN_BASE + RTAS_CALL_NAMES.indexOf(name);
export const RTAS_CHECK_EXCEPTION = rtasToken('check-exception');
export const RTAS_EVENT_SCAN = rtasToken('event-scan');
export const RTAS_SET_INDICATOR = rtasToken('set-indicator');
export const RTAS_SET_POWER_LEVEL = rtasToken('set-power-level');
export const RTAS_GET_POWER_LEVEL = rtasToken('get-power-level');
export const RTAS_GET_SENSOR_STATE = rtasToken('get-sensor-state');
export const RTAS_IBM_CONFIGURE_CONNECTOR = rtasToken('ibm,configure-connector');
export const RTAS_IBM_READ_PCI_CONFIG = rtasToken('ibm,read-pci-config');
export const RTAS_IBM_WRITE_PCI_CONFIG = rtasToken('ibm,write-pci-config');
export const RTAS_QUERY_CPU_STOPPED_STATE = rtasToken('query-cpu-stopped-state');
export const RTAS_START_CPU = rtasToken('start-cpu');
export const RTAS_STOP_SELF = rtasToken('stop-self');
/** rtas-error-log-max in /rtas. */
export const RTAS_ERROR_LOG_MAX = 2048;
/** rtas-event-scan-rate in /rtas. */
export const RTAS_EVENT_SCAN_RATE = 1;

/** query-cpu-stopped-state results. */
export const QCSS_STOPPED = 0;
export const QCSS_STOPPING = 1;
export const QCSS_RUNNING = 2;

// ---- hypercalls ------------------------------------------------------------------------------

/** KVMPPC_H_CAS: ibm,client-architecture-support as SLOF forwards it (spapr_hcall.c). */
export const KVMPPC_H_CAS = 0xf1fc;
export const H_SUCCESS = 0;
export const H_PARAMETER = -4;
/** SpaprDeviceTreeUpdateHeader.version_id written before the post-CAS DTB. */
export const SPAPR_DT_UPDATE_VERSION = 1;

/** Option vector 5 bits as OV_BIT(byte, bit), MSB-first (spapr_ovec.h). */
export const OV_BIT = (byte: number, bit: number): number => byte * 8 + bit;
export const OV5_DRCONF_MEMORY = OV_BIT(2, 2);
export const OV5_FORM1_AFFINITY = OV_BIT(5, 0);
export const OV5_HP_EVT = OV_BIT(6, 5);
export const OV5_DRMEM_V2 = OV_BIT(22, 0);

// ---- event sources and RTAS event logs (spapr_events.c) -----------------------------------------

export const EVENT_CLASS_INTERNAL_ERRORS = 0;
export const EVENT_CLASS_EPOW = 1;
export const EVENT_CLASS_RESERVED = 2;
export const EVENT_CLASS_HOT_PLUG = 3;
export const EVENT_CLASS_IO = 4;
export const EVENT_CLASS_MAX = 5;
/** check-exception / event-scan masks: class N is bit 31 - N. */
export const EVENT_CLASS_MASK = (index: number): number => (1 << (31 - index)) >>> 0;
/** XICS numbers of the two sources (spapr_irq.h SPAPR_IRQ_EPOW / SPAPR_IRQ_HOTPLUG). */
export const SPAPR_IRQ_EPOW = 0x1000;
export const SPAPR_IRQ_HOTPLUG = 0x1001;
/** First LSI of PHB N's four INTx pins: SPAPR_IRQ_PCI_LSI + N * PCI_NUM_PINS. */
export const SPAPR_IRQ_PCI_LSI = 0x1200;
/** PCI INTx pins per PHB. */
export const PCI_NUM_PINS = 4;

export const RTAS_LOG_VERSION_6 = 0x06000000;
export const RTAS_LOG_SEVERITY_EVENT = 0x00200000;
export const RTAS_LOG_DISPOSITION_NOT_RECOVERED = 0x00100000;
export const RTAS_LOG_OPTIONAL_PART_PRESENT = 0x00040000;
export const RTAS_LOG_INITIATOR_HOTPLUG = 0x00006000;
export const RTAS_LOG_TYPE_MASK = 0x000000ff;
export const RTAS_LOG_TYPE_EPOW = 0x00000040;
export const RTAS_LOG_TYPE_HOTPLUG = 0x000000e5;

export const RTAS_LOG_V6_B0_VALID = 0x80;
export const RTAS_LOG_V6_B0_NEW_LOG = 0x04;
export const RTAS_LOG_V6_B0_BIGENDIAN = 0x02;
export const RTAS_LOG_V6_B2_POWERPC_FORMAT = 0x80;
export const RTAS_LOG_V6_B2_LOG_FORMAT_PLATFORM_EVENT = 0x0e;
export const RTAS_LOG_V6_COMPANY_IBM = 0x49424d00;

export const RTAS_LOG_V6_SECTION_ID_MAINA = 0x5048; // "PH"
export const RTAS_LOG_V6_SECTION_ID_MAINB = 0x5548; // "UH"
export const RTAS_LOG_V6_SECTION_ID_HOTPLUG = 0x4850; // "HP"
export const RTAS_LOG_V6_SECTION_ID_EPOW = 0x4550; // "EP"

export const RTAS_LOG_V6_HP_TYPE_CPU = 1;
export const RTAS_LOG_V6_HP_TYPE_MEMORY = 2;
export const RTAS_LOG_V6_HP_TYPE_SLOT = 3;
export const RTAS_LOG_V6_HP_TYPE_PHB = 4;
export const RTAS_LOG_V6_HP_TYPE_PCI = 5;
export const RTAS_LOG_V6_HP_TYPE_PMEM = 6;
export const RTAS_LOG_V6_HP_ACTION_ADD = 1;
export const RTAS_LOG_V6_HP_ACTION_REMOVE = 2;
export const RTAS_LOG_V6_HP_ID_DRC_NAME = 1;
export const RTAS_LOG_V6_HP_ID_DRC_INDEX = 2;
export const RTAS_LOG_V6_HP_ID_DRC_COUNT = 3;
export const RTAS_LOG_V6_HP_ID_DRC_COUNT_INDEXED = 4;

export const RTAS_LOG_V6_EPOW_ACTION_SYSTEM_SHUTDOWN = 3;
export const RTAS_LOG_V6_EPOW_MODIFIER_NORMAL = 1;
export const RTAS_LOG_V6_EPOW_XMODIFIER_PARTITION_SPECIFIC = 1;

// ---- machine layout (spapr.h, spapr_pci.h) ---------------------------------------------------

/** Hot-pluggable PHB indexes 0..SPAPR_MAX_PHBS-1 (default layout, 7.2: 31). */
export const SPAPR_MAX_PHBS = 31;
export const SPAPR_PCI_BASE_BUID = 0x800000020000000n;
export const SPAPR_PCI_LIOBN_BASE = 0x80000000;
export const SPAPR_PCI_BASE = 1n << 45n;
export const SPAPR_PCI_MEM32_WIN_SIZE = 0x80000000n;
export const SPAPR_PCI_MEM64_WIN_SIZE = 0x10000000000n;
export const SPAPR_PCI_IO_WIN_SIZE = 0x10000n;
export const SPAPR_PCI_MEM_WIN_BUS_OFFSET = 0x80000000n;
export const SPAPR_PCI_DMA32_SIZE = 0x40000000;
/** Logical memory block (ibm,lmb-size). */
export const SPAPR_MEMORY_BLOCK_SIZE = 256 * 1024 * 1024;
/** Hot-plug memory starts at RAM rounded up to this (SPAPR_DEVICE_MEM_ALIGN). */
export const SPAPR_DEVICE_MEM_ALIGN = 1024 * 1024 * 1024;
/** phandle of the interrupt controller node (PHANDLE_INTC). */
export const PHANDLE_INTC = 0x1111;
