/**
 * In-kernel DLPAR (arch/powerpc/platforms/pseries/dlpar.c, hotplug-cpu.c, hotplug-memory.c;
 * guest-spapr.md §5–§6): handle_dlpar_errorlog for CPUs and LMBs, with the DRC helpers
 * (dlpar_acquire_drc, dlpar_release_drc, dlpar_unisolate_drc) and drmem's LMB table.
 */
import type { Scheduler, TaskBody } from '../../os/sched.js';
import {
  configureConnector, PSERIES_HP_ELOG_ACTION_ADD, PSERIES_HP_ELOG_ACTION_REMOVE, PSERIES_HP_ELOG_ID_DRC_COUNT, PSERIES_HP_ELOG_ID_DRC_IC,
  PSERIES_HP_ELOG_ID_DRC_INDEX, PSERIES_HP_ELOG_RESOURCE_CPU, PSERIES_HP_ELOG_RESOURCE_MEM, type HotplugLog,
} from './connector.js';
import type { OfNode } from './devtree.js';
import type { PseriesPlatform } from './platform.js';
import {
  ALLOCATION_STATE, ALLOC_UNUSABLE, ALLOC_USABLE, DR_ENTITY_PRESENT, DR_ENTITY_SENSE, DR_ENTITY_UNUSABLE, ISOLATE, ISOLATION_STATE,
  KERNEL_WORK_AREA, UNISOLATE,
} from './rtas.js';

const EINVAL = -22;
const ENODEV = -19;
const EBUSY = -16;
const QCSS_STOPPED = 0;
const QCSS_NOT_STOPPED = 2;
/** ibm,dynamic-memory-v2 flags. */
const DRCONF_MEM_ASSIGNED = 0x8;
const DRCONF_MEM_RESERVED = 0x80;
/** Where a started secondary CPU begins (generic_secondary_smp_init's physical address). */
const SECONDARY_ENTRY = 0x60;

/** One LMB as drmem keeps it. */
export interface Lmb {
  drcIndex: number;
  base: number;
  flags: number;
  /** drmem_mark_lmb_reserved: in flight in this request. */
  reserved?: boolean;
}

export class Dlpar {
  /** hwids of online CPUs (the boot CPU is 0). */
  readonly online = new Set<number>([0]);
  readonly lmbs: Lmb[] = [];

  constructor(private readonly p: PseriesPlatform) {}

  private get sched(): Scheduler {
    return this.p.guest!.sched;
  }
  private warn(prefix: string, text: string): void {
    this.p.guest?.printk(`${prefix}: ${text}`);
  }
  private mem(text: string): void {
    this.warn('pseries-hotplug-mem', text);
  }
  private cpu(text: string): void {
    this.warn('pseries-hotplug-cpu', text);
  }

  /** Guest policy `refuse-unplug`: offlining fails (CPU busy, memory pages that cannot migrate). */
  private refusing(): boolean {
    return this.p.guest?.policy.name === 'refuse-unplug';
  }

  /** drmem_init: LMBs from ibm,dynamic-memory-v2 (runs of equal flags). */
  loadDrmem(): void {
    this.lmbs.length = 0;
    const node = this.p.dt?.child('ibm,dynamic-reconfiguration-memory');
    const v2 = node?.props.get('ibm,dynamic-memory-v2');
    if (!node || !v2) return;
    const dv = new DataView(v2.buffer, v2.byteOffset, v2.byteLength);
    const lmbSize = Number((BigInt(node.cell('ibm,lmb-size', 0)!) << 32n) | BigInt(node.cell('ibm,lmb-size', 1)!));
    const n = dv.getUint32(0);
    for (let i = 0, off = 4; i < n; i++, off += 24) {
      const count = dv.getUint32(off);
      const base = Number(dv.getBigUint64(off + 4));
      const drc = dv.getUint32(off + 12);
      const flags = dv.getUint32(off + 20);
      for (let j = 0; j < count; j++) this.lmbs.push({ drcIndex: drc + j, base: base + j * lmbSize, flags });
    }
  }

  /**
   * smp_prepare_cpus / smp_startup_cpu at boot: every thread of /cpus but the boot one is
   * started with start-cpu unless the hypervisor reports it running.
   */
  startSecondaries(): void {
    for (const core of this.p.dt?.child('cpus')?.children ?? []) {
      for (const hwid of core.cells('ibm,ppc-interrupt-server#s')) {
        if (this.online.has(hwid)) continue;
        const [, state] = this.p.rtas!.call('query-cpu-stopped-state', [hwid], 2);
        if (state !== QCSS_NOT_STOPPED) this.p.rtas!.call('start-cpu', [hwid, SECONDARY_ENTRY, hwid], 1);
        this.online.add(hwid);
      }
    }
  }

  // ---- DRC helpers (dlpar.c) ------------------------------------------------------------------

  /** dlpar.c's first check: the connector's dr-entity-sense reads `state`. */
  private *senses(index: number, state: number): TaskBody<boolean> {
    const [rc, status] = yield* this.p.rtas!.getSensor(this.sched, DR_ENTITY_SENSE, index);
    return !rc && status === state;
  }

  /** Sets two indicators in turn; when the second fails, the first goes back to `undo`. */
  private *setBoth(index: number, [first, value, undo]: [number, number, number], [second, value2]: [number, number]): TaskBody<number> {
    const rtas = this.p.rtas!;
    const r = yield* rtas.setIndicator(this.sched, first, index, value);
    if (r) return r;
    const r2 = yield* rtas.setIndicator(this.sched, second, index, value2);
    if (r2) yield* rtas.setIndicator(this.sched, first, index, undo);
    return r2;
  }

  *acquireDrc(index: number): TaskBody<number> {
    if (!(yield* this.senses(index, DR_ENTITY_UNUSABLE))) return -1;
    return yield* this.setBoth(index, [ALLOCATION_STATE, ALLOC_USABLE, ALLOC_UNUSABLE], [ISOLATION_STATE, UNISOLATE]);
  }

  *releaseDrc(index: number): TaskBody<number> {
    if (!(yield* this.senses(index, DR_ENTITY_PRESENT))) return -1;
    return yield* this.setBoth(index, [ISOLATION_STATE, ISOLATE, UNISOLATE], [ALLOCATION_STATE, ALLOC_UNUSABLE]);
  }

  /** A no-op for the DRC, but the hypervisor's hint that a removal failed. */
  *unisolateDrc(index: number): TaskBody<number> {
    if (!(yield* this.senses(index, DR_ENTITY_PRESENT))) return -1;
    yield* this.p.rtas!.setIndicator(this.sched, ISOLATION_STATE, index, UNISOLATE);
    return 0;
  }

  // ---- handle_dlpar_errorlog ------------------------------------------------------------------

  *handle(hp: HotplugLog): TaskBody<number> {
    if (this.p.guest?.policy.name === 'ignore-unplug' && hp.action === PSERIES_HP_ELOG_ACTION_REMOVE) return 0;
    switch (hp.resource) {
      case PSERIES_HP_ELOG_RESOURCE_MEM:
        return yield* this.memory(hp);
      case PSERIES_HP_ELOG_RESOURCE_CPU:
        return yield* this.cpus(hp);
      default:
        this.warn('dlpar', `Invalid resource (${hp.resource}) specified`);
        return EINVAL;
    }
  }

  // ---- CPUs (hotplug-cpu.c) -------------------------------------------------------------------

  private *cpus(hp: HotplugLog): TaskBody<number> {
    if (hp.idType !== PSERIES_HP_ELOG_ID_DRC_INDEX) return EINVAL;
    const index = hp.index!;
    if (hp.action === PSERIES_HP_ELOG_ACTION_ADD) return yield* this.cpuAdd(index);
    if (hp.action !== PSERIES_HP_ELOG_ACTION_REMOVE) return EINVAL;
    const rc = yield* this.cpuRemove(index);
    if (rc) yield* this.unisolateDrc(index);
    return rc;
  }

  private cpuNode(index: number): OfNode | undefined {
    return this.p.dt?.child('cpus')?.children.find((c) => c.cell('ibm,my-drc-index') === index);
  }

  private *cpuAdd(index: number): TaskBody<number> {
    const parent = this.p.dt?.child('cpus');
    if (!parent) {
      this.cpu('Failed to find CPU root node "/cpus"');
      return ENODEV;
    }
    if (this.cpuNode(index)) {
      this.cpu(`CPU with drc index ${index.toString(16)} already exists`);
      return EINVAL;
    }
    if (!parent.cells('ibm,drc-indexes').slice(1).includes(index)) {
      this.cpu(`Cannot find CPU (drc index ${index.toString(16)}) to add.`);
      return EINVAL;
    }
    const rc = yield* this.acquireDrc(index);
    if (rc) {
      this.cpu(`Failed to acquire DRC, rc: ${rc}, drc index: ${index.toString(16)}`);
      return EINVAL;
    }
    const dn = yield* configureConnector(this.p.rtas!, this.sched, KERNEL_WORK_AREA, index, (l) => this.p.guest?.printk(l));
    if (!dn) {
      this.cpu(`Failed call to configure-connector, drc index: ${index.toString(16)}`);
      yield* this.releaseDrc(index);
      return EINVAL;
    }
    parent.attach(dn);
    // dlpar_online_cpu -> smp_startup_cpu for every thread of the core.
    for (const hwid of dn.cells('ibm,ppc-interrupt-server#s')) {
      const [, state] = this.p.rtas!.call('query-cpu-stopped-state', [hwid], 2);
      if (state !== QCSS_NOT_STOPPED) {
        const [st] = this.p.rtas!.call('start-cpu', [hwid, SECONDARY_ENTRY, hwid], 1);
        if (st) this.p.guest?.printk(`start-cpu failed: ${st}`);
      }
      this.online.add(hwid);
    }
    return 0;
  }

  private *cpuRemove(index: number): TaskBody<number> {
    const dn = this.cpuNode(index);
    if (!dn) {
      this.cpu(`Cannot find CPU (drc index ${index.toString(16)}) to remove`);
      return ENODEV;
    }
    const name = dn.name.split('@')[0];
    for (const hwid of dn.cells('ibm,ppc-interrupt-server#s')) {
      if (!this.online.has(hwid)) continue;
      if (this.online.size === 1) {
        this.cpu(`Unable to remove last online CPU ${name}`);
        this.cpu(`Failed to offline CPU ${name}, rc: ${EBUSY}`);
        return EINVAL;
      }
      if (this.p.opts.refuse?.cpu || this.refusing()) {
        this.cpu(`Failed to offline CPU ${name}, rc: ${EBUSY}`);
        return EINVAL;
      }
      // The dying CPU stops itself; this CPU polls until the hypervisor reports it stopped.
      this.p.rtas!.call('stop-self', [], 1, { cpu: hwid });
      while (this.p.rtas!.call('query-cpu-stopped-state', [hwid], 2)[1] !== QCSS_STOPPED) yield this.sched.sleep(0);
      this.online.delete(hwid);
    }
    const rc = yield* this.releaseDrc(index);
    if (rc) {
      this.cpu(`Failed to release drc (${index.toString(16)}) for CPU ${name}, rc: ${rc}`);
      for (const hwid of dn.cells('ibm,ppc-interrupt-server#s')) this.online.add(hwid);
      return rc;
    }
    dn.detach();
    return 0;
  }

  // ---- memory (hotplug-memory.c) ----------------------------------------------------------------

  private *memory(hp: HotplugLog): TaskBody<number> {
    const add = hp.action === PSERIES_HP_ELOG_ACTION_ADD;
    if (hp.idType === PSERIES_HP_ELOG_ID_DRC_IC) return add ? yield* this.memAddByIc(hp.count!, hp.index!) : yield* this.memRemoveByIc(hp.count!, hp.index!);
    if (hp.idType === PSERIES_HP_ELOG_ID_DRC_COUNT && add) return yield* this.memAddByCount(hp.count!);
    if (hp.idType === PSERIES_HP_ELOG_ID_DRC_INDEX) return add ? yield* this.memAddByIc(1, hp.index!) : yield* this.memRemoveByIc(1, hp.index!);
    return EINVAL;
  }

  private range(index: number, n: number): Lmb[] | undefined {
    const start = this.lmbs.findIndex((l) => l.drcIndex === index);
    if (start < 0 || start + n > this.lmbs.length) return undefined;
    return this.lmbs.slice(start, start + n);
  }

  /** dlpar_add_lmb: the LMB's associativity comes from configure-connector (nodes discarded). */
  private *addLmb(lmb: Lmb): TaskBody<number> {
    if (lmb.flags & DRCONF_MEM_ASSIGNED) return EINVAL;
    const dn = yield* configureConnector(this.p.rtas!, this.sched, KERNEL_WORK_AREA, lmb.drcIndex, (l) => this.p.guest?.printk(l));
    if (!dn) return EINVAL;
    if (!dn.props.has('ibm,associativity')) {
      this.mem('Could not find LMB associativity');
      return -1;
    }
    lmb.flags |= DRCONF_MEM_ASSIGNED;
    return 0;
  }

  /** dlpar_remove_lmb: offline and remove the block (no RTAS); a refusing guest fails the last one. */
  private removeLmb(lmb: Lmb, last: boolean): number {
    if (!(lmb.flags & DRCONF_MEM_ASSIGNED)) return EINVAL;
    if ((this.p.opts.refuse?.memory || this.refusing()) && last) return EBUSY;
    lmb.flags &= ~DRCONF_MEM_ASSIGNED;
    return 0;
  }

  /** The `n` LMBs from `index` (dlpar_memory_*_by_ic), unless the range is invalid or one is reserved. */
  private unreservedRange(n: number, index: number): Lmb[] | undefined {
    const lmbs = n ? this.range(index, n) : undefined;
    const reserved = lmbs?.find((l) => l.flags & DRCONF_MEM_RESERVED);
    if (reserved) this.mem(`Memory at ${reserved.base.toString(16)} (drc index ${reserved.drcIndex.toString(16)}) is reserved`);
    return reserved ? undefined : lmbs;
  }

  private *memAddByIc(n: number, index: number): TaskBody<number> {
    this.mem(`Attempting to hot-add ${n} LMB(s) at index ${index.toString(16)}`);
    const lmbs = this.unreservedRange(n, index);
    if (!lmbs) return EINVAL;
    let rc = 0;
    for (const l of lmbs) {
      if (l.flags & DRCONF_MEM_ASSIGNED) continue;
      rc = yield* this.acquireDrc(l.drcIndex);
      if (rc) break;
      rc = yield* this.addLmb(l);
      if (rc) {
        yield* this.releaseDrc(l.drcIndex);
        break;
      }
      l.reserved = true;
    }
    if (rc) {
      this.mem('Memory indexed-count-add failed, removing any added LMBs');
      for (const l of lmbs.filter((x) => x.reserved)) {
        if (!this.removeLmb(l, false)) yield* this.releaseDrc(l.drcIndex);
        l.reserved = false;
      }
      return EINVAL;
    }
    for (const l of lmbs.filter((x) => x.reserved)) {
      this.mem(`Memory at ${l.base.toString(16)} (drc index ${l.drcIndex.toString(16)}) was hot-added`);
      l.reserved = false;
    }
    return 0;
  }

  /** By count: free LMBs in order; connectors without memory refuse to become usable. */
  private *memAddByCount(n: number): TaskBody<number> {
    this.mem(`Attempting to hot-add ${n} LMB(s)`);
    if (!n || this.lmbs.filter((l) => !(l.flags & (DRCONF_MEM_RESERVED | DRCONF_MEM_ASSIGNED))).length < n) return EINVAL;
    let added = 0;
    for (const l of this.lmbs) {
      if (l.flags & (DRCONF_MEM_ASSIGNED | DRCONF_MEM_RESERVED)) continue;
      if (yield* this.acquireDrc(l.drcIndex)) continue;
      if (yield* this.addLmb(l)) {
        yield* this.releaseDrc(l.drcIndex);
        continue;
      }
      l.reserved = true;
      if (++added === n) break;
    }
    if (added !== n) {
      this.mem('Memory hot-add failed, removing any added LMBs');
      for (const l of this.lmbs.filter((x) => x.reserved)) {
        if (!this.removeLmb(l, false)) yield* this.releaseDrc(l.drcIndex);
        l.reserved = false;
      }
      return EINVAL;
    }
    for (const l of this.lmbs) l.reserved = false;
    return 0;
  }

  private *memRemoveByIc(n: number, index: number): TaskBody<number> {
    this.mem(`Attempting to hot-remove ${n} LMB(s) at ${index.toString(16)}`);
    const lmbs = this.unreservedRange(n, index);
    if (!lmbs) return EINVAL;
    let rc = 0;
    lmbs.forEach((l, i) => {
      if (rc || !(l.flags & DRCONF_MEM_ASSIGNED)) return;
      rc = this.removeLmb(l, i === lmbs.length - 1);
      if (!rc) l.reserved = true;
    });
    if (rc) {
      this.mem('Memory indexed-count-remove failed, adding any removed LMBs');
      for (const l of lmbs.filter((x) => x.reserved)) {
        yield* this.unisolateDrc(l.drcIndex);
        if (yield* this.addLmb(l)) this.mem(`Failed to add LMB, drc index ${l.drcIndex.toString(16)}`);
        l.reserved = false;
      }
      return EINVAL;
    }
    for (const l of lmbs.filter((x) => x.reserved)) {
      yield* this.releaseDrc(l.drcIndex);
      this.mem(`Memory at ${l.base.toString(16)} (drc index ${l.drcIndex.toString(16)}) was hot-removed`);
      l.reserved = false;
    }
    return 0;
  }
}
