/**
 * The pseries platform of the simulated Linux 6.1 guest (arch/powerpc/platforms/pseries:
 * prom_init's CAS, ras.c, rtasd.c, the PHB set-up, rtas_pci.c config access): what runs
 * between the machine's RTAS/interrupts and the DLPAR code (dlpar.ts) and user space
 * (errd.ts). guest-spapr.md §1–§2.
 */
import type { Bdf, GuestView, InterruptEvent } from '@plugboard/pci-core';
import type { LinuxGuest } from '../../os/linux.js';
import type { Signal, TaskBody } from '../../os/sched.js';
import { findSection, hotplugSection, parseLog, PSERIES_HP_ELOG_RESOURCE_CPU, PSERIES_HP_ELOG_RESOURCE_MEM, PSERIES_HP_ELOG_RESOURCE_PMEM, type HotplugLog } from './connector.js';
import { OfNode, unflatten } from './devtree.js';
import {
  CAS_FDT_BUF, CAS_FDT_BUF_SIZE, CAS_VECTOR, EPOW_SENSOR_INDEX, EPOW_SENSOR_TOKEN, RAS_LOG_BUF, RTASD_LOG_BUF, RTAS_EPOW_WARNING,
  RTAS_EVENT_SCAN_ALL_EVENTS, RTAS_HOTPLUG_EVENTS, RTAS_VECTOR_EXTERNAL_INTERRUPT, RtasClient, ld32, type SpaprPort,
} from './rtas.js';

/** KVMPPC_H_CAS: ibm,client-architecture-support as SLOF forwards it to QEMU. */
const KVMPPC_H_CAS = 0xf1fc;
/** PVR match record for POWER9, then the terminator ({0xfffffffe, 0x0f000001}: value outside its mask). */
const CAS_PVRS = [[0xffff0000, 0x004e0000], [0xfffffffe, 0x0f000001]];
/** Option-vector-5 bits Linux 6.1 asks for that QEMU knows (QEMU's OV_BIT(byte, bit) numbering). */
const OV5_DRCONF_MEMORY: [number, number] = [2, 2];
const OV5_FORM1_AFFINITY: [number, number] = [5, 0];
const OV5_HP_EVT: [number, number] = [6, 5];
const OV5_DRMEM_V2: [number, number] = [22, 0];
const OV5_BYTES = 23;
const OPTION_VECTORS = 6;
const EPOW_CRITICAL_STATE = 3;
/** rtasd: 1 s between the first scans (one per online CPU), then 30 s / rtas-event-scan-rate. */
const RTASD_FIRST_ROUND_MS = 1000;
const RTASD_PERIOD_MS = 30_000;
const ERROR_LOG_HEADER = 8;
/** EPOW section: action code byte, modifier byte (rtas_parse_epow_errlog). */
const EPOW_ACTION_SYSTEM_SHUTDOWN = 3;
const EPOW_ACTION_POWER_OFF = 7;
/** EPOW_SHUTDOWN_NORMAL: the event modifier (byte 9 of the EP section) of QEMU's system_powerdown log. */
const EPOW_SHUTDOWN_NORMAL = 1;
/**
 * orderly_poweroff(): user space (/sbin/poweroff: systemd stopping its units) before the kernel
 * powers off. Not from a spec: the time a small systemd guest takes; only the order matters.
 */
const ORDERLY_POWEROFF_MS = 1000;
/** kernel_power_off -> pseries_power_off: rtas_call(power-off, 2, 1, NULL, -1, -1). */
const POWER_ON_TIME_NONE = -1;

export interface PseriesOptions {
  /** Ask for the dedicated hot-plug event source at CAS (OV5_HP_EVT), as Linux does. Default on. */
  hotplugEvents?: boolean;
  /** Run rtas_errd (ppc64-diag) in user space; without it PCI/PHB events are only logged. Default on. */
  rtasErrd?: boolean;
  /** rtasd's periodic event-scan: off by default (a virtual clock would never go idle). */
  eventScan?: boolean;
  /** The guest refuses removals: CPU offline or memory offline fails (DEVICE_UNPLUG_GUEST_ERROR). */
  refuse?: { cpu?: boolean; memory?: boolean };
}

export interface GuestPhb {
  node: OfNode;
  buid: bigint;
  domain: number;
}

export class PseriesPlatform {
  rtas: RtasClient | undefined;
  dt: OfNode | undefined;
  guest: LinuxGuest | undefined;
  readonly phbs: GuestPhb[] = [];
  /** rtasd's log buffer (/proc/powerpc/rtas/error_log): what rtas_errd reads. */
  readonly errorLog: Uint8Array[] = [];
  /** The hotplug work queue (pseries_hp_wq). */
  readonly hotplugQueue: HotplugLog[] = [];
  /** Commands user space ran (`drmgr -c pci -a -s 0x40000020 -n -d4 -V`...), in order. */
  readonly commands: string[] = [];
  /** CAS negotiated the hot-plug source. */
  casDone = false;
  logSignal: Signal | undefined;
  hotplugSignal: Signal | undefined;
  private unrequest: Array<() => void> = [];

  constructor(
    readonly port: SpaprPort,
    readonly opts: PseriesOptions = {},
  ) {}

  // ---- firmware / prom_init ----------------------------------------------------------------

  /** prom_init's ibm,client-architecture-support: negotiate, then take the tree QEMU returns. */
  cas(): void {
    const vec: number[] = [];
    const be32 = (v: number) => vec.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    for (const [mask, val] of CAS_PVRS) {
      be32(mask!);
      be32(val!);
    }
    vec.push(OPTION_VECTORS - 1);
    for (let v = 1; v <= OPTION_VECTORS; v++) {
      if (v !== 5) {
        vec.push(0, 0);
        continue;
      }
      const ov5 = new Array<number>(OV5_BYTES).fill(0);
      const bits = [OV5_DRCONF_MEMORY, OV5_FORM1_AFFINITY, OV5_DRMEM_V2, ...(this.opts.hotplugEvents === false ? [] : [OV5_HP_EVT])];
      for (const [byte, bit] of bits) ov5[byte]! |= 0x80 >> bit;
      vec.push(OV5_BYTES - 1, ...ov5);
    }
    this.port.memWrite(CAS_VECTOR, Uint8Array.from(vec));
    this.port.hcall(KVMPPC_H_CAS, [CAS_VECTOR, CAS_FDT_BUF, CAS_FDT_BUF_SIZE]);
    const total = ld32(this.port, CAS_FDT_BUF + 4, 1);
    this.dt = unflatten(this.port.memRead(CAS_FDT_BUF + 4, total));
    this.rtas = new RtasClient(this.port, this.dt.child('rtas')!);
    this.phbs.length = 0;
    for (const n of this.dt.children.filter((c) => c.strings('device_type')[0] === 'pci')) this.addPhb(n);
    this.casDone = true;
  }

  addPhb(node: OfNode): GuestPhb {
    const reg = node.cells('reg');
    const used = new Set(this.phbs.map((p) => p.domain));
    let domain = 0;
    while (used.has(domain)) domain++;
    const phb = { node, buid: (BigInt(reg[0] ?? 0) << 32n) | BigInt(reg[1] ?? 0), domain };
    this.phbs.push(phb);
    return phb;
  }

  // ---- PCI config access through RTAS (rtas_pci.c) --------------------------------------------

  /** pci_get_pdn_by_devfn: the device-tree node of (bus, devfn) below the PHB, if any. */
  pciDn(domain: number, bus: number, devfn: number): OfNode | undefined {
    const phb = this.phbs.find((p) => p.domain === domain);
    if (!phb) return undefined;
    const want = ((bus << 16) | (devfn << 8)) >>> 0;
    for (const n of phb.node.walk()) if (n !== phb.node && ((n.cell('reg') ?? 0xffffffff) & 0x00ffff00) === want) return n;
    return undefined;
  }

  private configAddr(bdf: Bdf, off: number): number {
    return (((off & 0xf00) << 20) | (bdf.bus << 16) | (bdf.devfn << 8) | (off & 0xff)) >>> 0;
  }

  /** rtas_pci_read_config: no pci_dn, no RTAS call (all ones). */
  configRead(bdf: Bdf, off: number, size: 1 | 2 | 4): number {
    const ones = size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    const phb = this.phbs.find((p) => p.domain === (bdf.domain ?? 0));
    if (!phb || !this.rtas || !this.pciDn(phb.domain, bdf.bus, bdf.devfn)) return ones;
    const [rc, val] = this.rtas.call('ibm,read-pci-config', [this.configAddr(bdf, off), Number(phb.buid >> 32n), Number(phb.buid & 0xffffffffn), size], 2);
    return rc === 0 ? val! : ones;
  }

  configWrite(bdf: Bdf, off: number, val: number, size: 1 | 2 | 4): void {
    const phb = this.phbs.find((p) => p.domain === (bdf.domain ?? 0));
    if (!phb || !this.rtas || !this.pciDn(phb.domain, bdf.bus, bdf.devfn)) return;
    this.rtas.call('ibm,write-pci-config', [this.configAddr(bdf, off), Number(phb.buid >> 32n), Number(phb.buid & 0xffffffffn), size, val], 1);
  }

  /** The view the kernel uses: config cycles become RTAS calls, everything else is the machine's. */
  kernelView(view: GuestView): GuestView {
    return new Proxy(view, {
      get: (target, prop) => {
        if (prop === 'configRead') return (bdf: Bdf, off: number, size: 1 | 2 | 4) => this.configRead(bdf, off, size);
        if (prop === 'configWrite') return (bdf: Bdf, off: number, val: number, size: 1 | 2 | 4) => this.configWrite(bdf, off, val, size);
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  // ---- kernel start-up ----------------------------------------------------------------------

  /** The boot-time work of the platform: RAS interrupts, PHB scans, rtasd, the hotplug queue. */
  kernelInit(guest: LinuxGuest, onHotplug: (hp: HotplugLog) => TaskBody<void>, userSpace: () => void): void {
    if (!this.casDone || !this.dt || !this.rtas) return;
    this.guest = guest;
    this.logSignal = guest.sched.signal('rtas_log');
    this.hotplugSignal = guest.sched.signal('pseries_hp_wq');
    const sources = this.dt.child('event-sources');
    const hp = sources?.child('hot-plug-events');
    const epow = sources?.child('epow-events');
    // init_ras_IRQ: the hot-plug source (if present) and EPOW, each with its own handler.
    if (hp) this.requestEdge(guest, hp.cell('interrupts')!, 'RAS_HOTPLUG', (ev) => this.rasHotplug(ev));
    if (epow) this.requestEdge(guest, epow.cell('interrupts')!, 'RAS_EPOW', (ev) => this.rasEpow(ev));
    const phbs = [...this.phbs];
    guest.sched.spawn('pcibios_scan_phb', (function* () {
      for (const p of phbs) yield* guest.pci.scanRootBus(p.domain);
    })());
    guest.sched.spawn('pseries_hp_wq', this.hotplugWorker(onHotplug));
    if (this.opts.eventScan) guest.sched.spawn('rtasd', this.rtasd());
    guest.onBooted(userSpace);
  }

  /**
   * An edge source behind the interrupt controller's ESB P/Q bits (XIVE; XICS resends the
   * same way): a pulse while one is pending or being handled only sets Q, and Q re-delivers
   * once at EOI. So QEMU's re-pulses during check-exception do not each run the handler.
   */
  private requestEdge(guest: LinuxGuest, line: number, name: string, handler: (ev: InterruptEvent) => boolean): void {
    let p = false;
    let q = false;
    const coalesced: boolean[] = [];
    const view = guest.view;
    this.unrequest.push(view.onInterrupt((ev) => {
      if (ev.kind !== 'spapr' || ev.line !== line) return;
      coalesced.push(p);
      if (p) q = true;
      p = true;
    }));
    const run = (ev: InterruptEvent): boolean => {
      const r = handler(ev);
      // EOI: a pulse seen meanwhile is delivered once more, else the source is idle.
      if (q) {
        q = false;
        guest.sched.defer(`irq:spapr:${line}:resend`, () => run(ev));
      } else p = false;
      return r;
    };
    this.unrequest.push(guest.irq.requestSpapr(line, name, (ev) => (coalesced.shift() ? true : run(ev))));
  }

  /** Guest reset or power-off: interrupts released, state forgotten (the next boot redoes CAS). */
  reset(): void {
    this.poweringOff = false;
    for (const u of this.unrequest.splice(0)) u();
    this.errorLog.length = 0;
    this.hotplugQueue.length = 0;
    this.phbs.length = 0;
    this.dt = undefined;
    this.casDone = false;
    this.guest = undefined;
  }

  private printk(line: string): void {
    this.guest?.printk(line);
  }

  // ---- RAS interrupts (ras.c) ---------------------------------------------------------------

  /** Reads the RTAS error log a call left at `buf` (8-byte header, then its extended part). */
  readLog(buf: number): Uint8Array {
    const len = Math.min(ERROR_LOG_HEADER + ld32(this.port, buf, 1), this.rtas!.errorLogMax);
    return this.port.memRead(buf, len);
  }

  /** log_error: into rtasd's buffer, where rtas_errd reads it. */
  logError(raw: Uint8Array): void {
    this.errorLog.push(raw);
    this.logSignal?.wake();
  }

  /** ras_hotplug_interrupt: check-exception (rc unchecked), then the HP section decides. */
  private rasHotplug(ev: InterruptEvent): boolean {
    const rtas = this.rtas!;
    rtas.call('check-exception', [RTAS_VECTOR_EXTERNAL_INTERRUPT, ev.line, RTAS_HOTPLUG_EVENTS, 0, RAS_LOG_BUF, rtas.errorLogMax], 1);
    const raw = this.readLog(RAS_LOG_BUF);
    const sect = findSection(parseLog(raw), 'HP');
    if (!sect) {
      // 6.1 dereferences the missing section.
      this.printk('BUG: Kernel NULL pointer dereference in ras_hotplug_interrupt');
      return true;
    }
    const hp = hotplugSection(sect);
    if (hp.resource === PSERIES_HP_ELOG_RESOURCE_MEM || hp.resource === PSERIES_HP_ELOG_RESOURCE_CPU || hp.resource === PSERIES_HP_ELOG_RESOURCE_PMEM) {
      this.hotplugQueue.push(hp);
      this.hotplugSignal?.wake();
    } else {
      this.logError(raw);
    }
    return true;
  }

  /** ras_epow_interrupt: EPOW sensor, check-exception for EPOW, log it, act on an EP section. */
  private rasEpow(ev: InterruptEvent): boolean {
    const rtas = this.rtas!;
    const [, state] = rtas.call('get-sensor-state', [EPOW_SENSOR_TOKEN, EPOW_SENSOR_INDEX], 2);
    const critical = state! > EPOW_CRITICAL_STATE ? 1 : 0;
    rtas.call('check-exception', [RTAS_VECTOR_EXTERNAL_INTERRUPT, ev.line, RTAS_EPOW_WARNING, critical, RAS_LOG_BUF, rtas.errorLogMax], 1);
    const raw = this.readLog(RAS_LOG_BUF);
    this.logError(raw);
    const ep = findSection(parseLog(raw), 'EP');
    if (ep) {
      const action = ep[8]! & 0x0f;
      if (action === EPOW_ACTION_SYSTEM_SHUTDOWN && ep[9] === EPOW_SHUTDOWN_NORMAL) {
        // handle_system_shutdown(EPOW_SHUTDOWN_NORMAL)
        this.printk('Power off requested');
        this.orderlyPoweroff();
      } else if (action === EPOW_ACTION_SYSTEM_SHUTDOWN || action === EPOW_ACTION_POWER_OFF) this.printk('Power off requested');
    }
    return true;
  }

  private poweringOff = false;

  /**
   * orderly_poweroff(true): user space shuts down, then kernel_power_off prints `reboot: Power
   * down` and pseries_power_off calls RTAS power-off(-1, -1). QEMU stops the vCPU in the call
   * (rtas_power_off): the kernel never returns from it, so the task stays there until a reset.
   */
  private orderlyPoweroff(): void {
    const guest = this.guest;
    if (!guest || this.poweringOff) return;
    this.poweringOff = true;
    const sched = guest.sched;
    const rtas = this.rtas!;
    const printk = (l: string) => this.printk(l);
    sched.spawn('poweroff', (function* () {
      yield sched.sleep(ORDERLY_POWEROFF_MS);
      printk('reboot: Power down');
      const [rc] = rtas.call('power-off', [POWER_ON_TIME_NONE, POWER_ON_TIME_NONE], 1);
      if (rc !== 0) printk(`RTAS power-off returned ${rc}`);
      yield sched.wait(sched.signal('machine_halt')); // for (;;);
    })());
  }

  private *hotplugWorker(onHotplug: (hp: HotplugLog) => TaskBody<void>): TaskBody<void> {
    const sched = this.guest!.sched;
    for (;;) {
      while (this.hotplugQueue.length) yield* onHotplug(this.hotplugQueue.shift()!);
      yield sched.wait(this.hotplugSignal!);
    }
  }

  /** rtasd: event-scan on each CPU 1 s apart, then every 30 s; a returned event is logged. */
  private *rtasd(): TaskBody<void> {
    const sched = this.guest!.sched;
    const rtas = this.rtas!;
    let first = true;
    for (;;) {
      const [rc] = rtas.call('event-scan', [RTAS_EVENT_SCAN_ALL_EVENTS, 0, RTASD_LOG_BUF, rtas.errorLogMax], 1);
      if (rc === 0) this.logError(this.readLog(RTASD_LOG_BUF));
      else if (rc === -1) this.printk('rtasd: event-scan failed');
      yield sched.sleep(first ? RTASD_FIRST_ROUND_MS : RTASD_PERIOD_MS / rtas.eventScanRate);
      first = false;
    }
  }
}
