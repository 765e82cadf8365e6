/**
 * RTAS event logs (hw/ppc/spapr_events.c, spec/spapr-drc.md §4): the v6 hotplug and EPOW logs,
 * their queue, the two interrupt sources and which one a log is signalled on (the dedicated
 * hot-plug source only once the guest negotiated OV5_HP_EVT at CAS), and the check-exception /
 * event-scan RTAS calls that hand them to the guest.
 */
import * as K from './constants.js';
import type { GuestMemory } from './memory.js';

export interface SpaprEventLogEntry {
  summary: number;
  /** The extended log (v6 header and sections), big endian. */
  extendedLog: Uint8Array;
}

/** What the drc identifier of a hotplug log names (union drc_identifier). */
export type DrcIdentifier =
  | { kind: typeof K.RTAS_LOG_V6_HP_ID_DRC_INDEX; index: number }
  | { kind: typeof K.RTAS_LOG_V6_HP_ID_DRC_COUNT; count: number }
  | { kind: typeof K.RTAS_LOG_V6_HP_ID_DRC_COUNT_INDEXED; count: number; index: number };

export interface SpaprEventsHost {
  /** qemu_irq_pulse on a XICS source. */
  pulse(irq: number): void;
  /** Guest RTC (spapr_rtc_read): seconds since the epoch. */
  rtcSeconds(): number;
  /** The guest negotiated OV5_HP_EVT at CAS. */
  hotplugEventsNegotiated(): boolean;
}

const V6_HEADER_SIZE = 16;
const SECTION_HEADER_SIZE = 8;
const MAINA_SIZE = 48;
const MAINB_SIZE = 24;
const HP_SECTION_SIZE = 20;
const EPOW_SECTION_SIZE = 20;
const RTAS_ERROR_LOG_HEADER_SIZE = 8;
/** spapr_init_maina: the creator is the hypervisor. */
const MAINA_CREATOR_HYPERVISOR = 'H'.charCodeAt(0);
/** spapr_events.c starts platform log ids here and counts up. */
const FIRST_PLID = 0x12345678;
/** Main-B of a hotplug log: external environment, informational. */
const MAINB_SUBSYSTEM_HOTPLUG = 0x80;
/** Main-B of an EPOW log: normal shutdown. */
const MAINB_SUBSYSTEM_EPOW = 0xa0;
const MAINB_SUBTYPE_NORMAL_SHUTDOWN = 0xd0;
const HP_SECTION_VERSION = 1;
const EPOW_SECTION_VERSION = 2;

const bcd = (v: number): number => ((Math.floor(v / 10) % 10) << 4) | (v % 10);

/** Which QEMU event source class a log type goes to (rtas_event_log_to_source). */
export type SourceClass = typeof K.EVENT_CLASS_EPOW | typeof K.EVENT_CLASS_HOT_PLUG;

export class SpaprEvents {
  readonly queue: SpaprEventLogEntry[] = [];
  private nextPlid = FIRST_PLID;

  /** useHotplugEventSource: the machine's `modern-hotplug-events` (default on). */
  constructor(
    private readonly host: SpaprEventsHost,
    readonly useHotplugEventSource = true,
  ) {}

  /** Source class of a log type: hotplug logs use the hot-plug source once negotiated, else EPOW's. */
  sourceOf(logType: number): SourceClass {
    if (logType === K.RTAS_LOG_TYPE_HOTPLUG && this.useHotplugEventSource && this.host.hotplugEventsNegotiated()) return K.EVENT_CLASS_HOT_PLUG;
    return K.EVENT_CLASS_EPOW;
  }

  irqOf(source: SourceClass): number {
    return source === K.EVENT_CLASS_HOT_PLUG ? K.SPAPR_IRQ_HOTPLUG : K.SPAPR_IRQ_EPOW;
  }

  private contains(mask: number): boolean {
    return this.queue.some((e) => (K.EVENT_CLASS_MASK(this.sourceOf(e.summary & K.RTAS_LOG_TYPE_MASK)) & mask) !== 0);
  }

  private dequeue(mask: number): SpaprEventLogEntry | undefined {
    const i = this.queue.findIndex((e) => (K.EVENT_CLASS_MASK(this.sourceOf(e.summary & K.RTAS_LOG_TYPE_MASK)) & mask) !== 0);
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }

  /** spapr_clear_pending_events (machine reset, and CAS). */
  clear(): void {
    this.queue.length = 0;
  }

  private queueAndPulse(entry: SpaprEventLogEntry): void {
    this.queue.push(entry);
    this.host.pulse(this.irqOf(this.sourceOf(entry.summary & K.RTAS_LOG_TYPE_MASK)));
  }

  /** Re-pulses every source that still has logs queued (PAPR: the IRQ stays asserted). */
  private repulse(): void {
    for (const source of [K.EVENT_CLASS_EPOW, K.EVENT_CLASS_HOT_PLUG] as const) {
      if (this.contains(K.EVENT_CLASS_MASK(source))) this.host.pulse(this.irqOf(source));
    }
  }

  // ---- logs -----------------------------------------------------------------------------------

  /** v6 header, Main-A and Main-B (spapr_init_v6hdr, spapr_init_maina). */
  private writeCommon(dv: DataView, subsystem: number, subtype: number): void {
    dv.setUint8(0, K.RTAS_LOG_V6_B0_VALID | K.RTAS_LOG_V6_B0_NEW_LOG | K.RTAS_LOG_V6_B0_BIGENDIAN);
    dv.setUint8(2, K.RTAS_LOG_V6_B2_POWERPC_FORMAT | K.RTAS_LOG_V6_B2_LOG_FORMAT_PLATFORM_EVENT);
    dv.setUint32(12, K.RTAS_LOG_V6_COMPANY_IBM);
    const a = V6_HEADER_SIZE;
    dv.setUint16(a, K.RTAS_LOG_V6_SECTION_ID_MAINA);
    dv.setUint16(a + 2, MAINA_SIZE);
    const tm = new Date(this.host.rtcSeconds() * 1000);
    const year = tm.getUTCFullYear();
    dv.setUint32(a + 8, ((bcd(Math.floor(year / 100)) << 24) | (bcd(year % 100) << 16) | (bcd(tm.getUTCMonth() + 1) << 8) | bcd(tm.getUTCDate())) >>> 0);
    dv.setUint32(a + 12, ((bcd(tm.getUTCHours()) << 24) | (bcd(tm.getUTCMinutes()) << 16) | (bcd(tm.getUTCSeconds()) << 8)) >>> 0);
    dv.setUint8(a + 24, MAINA_CREATOR_HYPERVISOR);
    dv.setUint8(a + 27, 3); // sections: Main-A, Main-B and one more
    dv.setUint32(a + 40, this.nextPlid++ >>> 0);
    const b = a + MAINA_SIZE;
    dv.setUint16(b, K.RTAS_LOG_V6_SECTION_ID_MAINB);
    dv.setUint16(b + 2, MAINB_SIZE);
    dv.setUint8(b + SECTION_HEADER_SIZE, subsystem);
    dv.setUint8(b + SECTION_HEADER_SIZE + 2, 0); // event severity: informational
    dv.setUint8(b + SECTION_HEADER_SIZE + 3, subtype);
  }

  /** spapr_hotplug_req_event: queue a hotplug log and pulse its source. */
  hotplugRequest(hpType: number, action: number, id: DrcIdentifier): SpaprEventLogEntry {
    const log = new Uint8Array(V6_HEADER_SIZE + MAINA_SIZE + MAINB_SIZE + HP_SECTION_SIZE);
    const dv = new DataView(log.buffer);
    this.writeCommon(dv, MAINB_SUBSYSTEM_HOTPLUG, 0);
    const h = V6_HEADER_SIZE + MAINA_SIZE + MAINB_SIZE;
    dv.setUint16(h, K.RTAS_LOG_V6_SECTION_ID_HOTPLUG);
    dv.setUint16(h + 2, HP_SECTION_SIZE);
    dv.setUint8(h + 4, HP_SECTION_VERSION);
    dv.setUint8(h + 8, hpType);
    dv.setUint8(h + 9, action);
    dv.setUint8(h + 10, id.kind);
    if (id.kind === K.RTAS_LOG_V6_HP_ID_DRC_INDEX) dv.setUint32(h + 12, id.index >>> 0);
    else if (id.kind === K.RTAS_LOG_V6_HP_ID_DRC_COUNT) dv.setUint32(h + 12, id.count >>> 0);
    else {
      dv.setUint32(h + 12, id.count >>> 0);
      dv.setUint32(h + 16, id.index >>> 0);
    }
    const entry = {
      summary: (K.RTAS_LOG_VERSION_6 | K.RTAS_LOG_SEVERITY_EVENT | K.RTAS_LOG_DISPOSITION_NOT_RECOVERED | K.RTAS_LOG_OPTIONAL_PART_PRESENT | K.RTAS_LOG_INITIATOR_HOTPLUG | K.RTAS_LOG_TYPE_HOTPLUG) >>> 0,
      extendedLog: log,
    };
    this.queueAndPulse(entry);
    return entry;
  }

  /** spapr_powerdown_req: the EPOW "system shutdown" log (system_powerdown). */
  powerdownRequest(): SpaprEventLogEntry {
    const log = new Uint8Array(V6_HEADER_SIZE + MAINA_SIZE + MAINB_SIZE + EPOW_SECTION_SIZE);
    const dv = new DataView(log.buffer);
    this.writeCommon(dv, MAINB_SUBSYSTEM_EPOW, MAINB_SUBTYPE_NORMAL_SHUTDOWN);
    const e = V6_HEADER_SIZE + MAINA_SIZE + MAINB_SIZE;
    dv.setUint16(e, K.RTAS_LOG_V6_SECTION_ID_EPOW);
    dv.setUint16(e + 2, EPOW_SECTION_SIZE);
    dv.setUint8(e + 4, EPOW_SECTION_VERSION);
    dv.setUint8(e + 8, K.RTAS_LOG_V6_EPOW_ACTION_SYSTEM_SHUTDOWN);
    dv.setUint8(e + 9, K.RTAS_LOG_V6_EPOW_MODIFIER_NORMAL);
    dv.setUint8(e + 10, K.RTAS_LOG_V6_EPOW_XMODIFIER_PARTITION_SPECIFIC);
    const entry = {
      summary: (K.RTAS_LOG_VERSION_6 | K.RTAS_LOG_SEVERITY_EVENT | K.RTAS_LOG_DISPOSITION_NOT_RECOVERED | K.RTAS_LOG_OPTIONAL_PART_PRESENT | K.RTAS_LOG_TYPE_EPOW) >>> 0,
      extendedLog: log,
    };
    this.queueAndPulse(entry);
    return entry;
  }

  // ---- RTAS ------------------------------------------------------------------------------------

  /**
   * check-exception(vector, info, mask, critical, buf, len[, extended]): the first queued log
   * of a class in `mask` is copied to `buf` (8-byte header, then the extended log), else
   * "no errors found". Sources with logs left are pulsed again.
   */
  checkException(args: readonly number[], nret: number, mem: GuestMemory): number[] {
    if (args.length < 6 || args.length > 7 || nret !== 1) return [K.RTAS_OUT_PARAM_ERROR];
    const mask = args[2]! >>> 0;
    const buf = args[4]! >>> 0;
    const entry = this.dequeue(mask);
    if (!entry) return [K.RTAS_OUT_NO_ERRORS_FOUND];
    const header = new Uint8Array(RTAS_ERROR_LOG_HEADER_SIZE);
    const dv = new DataView(header.buffer);
    dv.setUint32(0, entry.summary);
    dv.setUint32(4, entry.extendedLog.length);
    // QEMU writes the whole log whatever `len` says (the computed length is not used).
    mem.write(buf, header);
    mem.write(buf + RTAS_ERROR_LOG_HEADER_SIZE, entry.extendedLog);
    this.repulse();
    return [K.RTAS_OUT_SUCCESS];
  }

  /** event-scan(mask, critical, buf, len): never returns a log, re-pulses pending sources. */
  eventScan(args: readonly number[], nret: number): number[] {
    if (args.length !== 4 || nret !== 1) return [K.RTAS_OUT_PARAM_ERROR];
    this.repulse();
    return [K.RTAS_OUT_NO_ERRORS_FOUND];
  }
}
