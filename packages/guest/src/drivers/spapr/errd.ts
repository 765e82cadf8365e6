/**
 * Pseries user space for hotplug (guest-spapr.md §3): ppc64-diag's rtas_errd turns hotplug
 * logs into drmgr command lines and runs them one at a time; powerpc-utils' drmgr does the PCI
 * and PHB sequences itself (drslot_chrp_pci.c, drslot_chrp_phb.c, common_pci.c) and hands CPU
 * and memory requests to the kernel through /sys/kernel/dlpar. Exactly the RTAS calls, in
 * the order and with the sleeps, those programs make.
 */
import type { PciDev } from '../../os/pci-dev.js';
import type { TaskBody } from '../../os/sched.js';
import {
  configureConnector, findSection, hotplugSection, parseLog, PSERIES_HP_ELOG_ACTION_ADD, PSERIES_HP_ELOG_ID_DRC_COUNT, PSERIES_HP_ELOG_ID_DRC_INDEX,
  PSERIES_HP_ELOG_RESOURCE_CPU, PSERIES_HP_ELOG_RESOURCE_MEM, PSERIES_HP_ELOG_RESOURCE_PCI, PSERIES_HP_ELOG_RESOURCE_PHB, RTAS_TYPE_HOTPLUG,
  type HotplugLog,
} from './connector.js';
import { drcTable, type DrcEntry, type OfNode } from './devtree.js';
import type { Dlpar } from './dlpar.js';
import type { PseriesPlatform } from './platform.js';
import {
  ALLOCATION_STATE, ALLOC_UNUSABLE, ALLOC_USABLE, DR_ENTITY_SENSE, DR_ENTITY_UNUSABLE, DR_INDICATOR, DR_INDICATOR_OFF, DR_INDICATOR_ON,
  ISOLATE, ISOLATION_STATE, LIBRTAS_RMO_BUF, POWER_OFF, POWER_ON, UNISOLATE,
} from './rtas.js';

/** drslot_chrp_pci.c: how often and how long drmgr waits for a card to be sensed present. */
const CARD_PRESENT_POLL_MS = 1000;
const CARD_PRESENT_TRIES = 30;
/** common_pci.c: wait for a removed device's sysfs directory to vanish. */
const QUIESCE_POLL_MS = 1000;
const QUIESCE_TRIES = 60;
/** drslot_chrp_pci.c: the fixed sleep before isolating a slot on removal. */
const PCI_REMOVE_SETTLE_MS = 3000;
/** drslot_chrp_phb.c: after each child removal, and the isolate retries. */
const PHB_CHILD_REMOVE_SLEEP_MS = 5000;
const PHB_ISOLATE_RETRIES = 20;
const PHB_ISOLATE_RETRY_MS = 1000;
/** dr-entity-sense results asking for power (and unisolation). */
const NEED_POWER_AND_UNISOLATE = -9000;
const NEED_POWER = -9001;
const ENTITY_EMPTY = 0;
const ENTITY_PRESENT = 1;

const RESOURCE_NAMES: Record<number, string> = {
  [PSERIES_HP_ELOG_RESOURCE_CPU]: 'cpu',
  [PSERIES_HP_ELOG_RESOURCE_MEM]: 'mem',
  [PSERIES_HP_ELOG_RESOURCE_PCI]: 'pci',
  [PSERIES_HP_ELOG_RESOURCE_PHB]: 'phb',
};

export class UserSpace {
  constructor(
    private readonly p: PseriesPlatform,
    private readonly dlpar: Dlpar,
  ) {}

  private get sched() {
    return this.p.guest!.sched;
  }
  private get rtas() {
    return this.p.rtas!;
  }
  private log(text: string): void {
    this.p.guest?.printk(text);
  }

  /** rtas_errd: blocks on the error log, runs drmgr for each hotplug log, synchronously. */
  *rtasErrd(): TaskBody<void> {
    for (;;) {
      while (this.p.errorLog.length) yield* this.handleLog(this.p.errorLog.shift()!);
      yield this.sched.wait(this.p.logSignal!);
    }
  }

  private *handleLog(raw: Uint8Array): TaskBody<void> {
    const log = parseLog(raw);
    if (log.type !== RTAS_TYPE_HOTPLUG || log.version < 6) return;
    const sect = findSection(log, 'HP');
    if (!sect) return;
    const hp = hotplugSection(sect);
    const kind = RESOURCE_NAMES[hp.resource];
    if (!kind) return;
    const action = hp.action === PSERIES_HP_ELOG_ACTION_ADD ? '-a' : '-r';
    let id: string;
    if (hp.idType === PSERIES_HP_ELOG_ID_DRC_INDEX) id = `-s 0x${hp.index!.toString(16)}`;
    else if (hp.idType === PSERIES_HP_ELOG_ID_DRC_COUNT) id = `-q ${hp.count}`;
    else return; // names and indexed counts are not handled
    const cmd = `drmgr -c ${kind} ${action} ${id}${kind === 'pci' ? ' -n -d4 -V' : ''}`;
    this.p.commands.push(cmd);
    if (this.p.guest?.policy.name === 'ignore-unplug' && action === '-r') return;
    yield* this.drmgr(kind, hp);
  }

  private *drmgr(kind: string, hp: HotplugLog): TaskBody<void> {
    const add = hp.action === PSERIES_HP_ELOG_ACTION_ADD;
    if (kind === 'pci') return add ? yield* this.pciAdd(hp.index!) : yield* this.pciRemove(hp.index!);
    if (kind === 'phb') return add ? yield* this.phbAdd(hp.index!) : yield* this.phbRemove(hp.index!);
    // cpu / mem: the kernel does the work ("cpu add index 0x...", "memory add count N").
    yield* this.dlpar.handle(hp);
  }

  // ---- slots in the device tree (common_pci.c) ------------------------------------------------

  /** The DRC entry for `index` among the PHB / bridge nodes, and the node listing it. */
  private findSlot(index: number): { entry: DrcEntry; owner: OfNode } | undefined {
    for (const n of this.p.dt?.walk() ?? []) {
      if (!n.props.has('ibm,drc-indexes')) continue;
      const entry = drcTable(n).find((e) => e.index === index);
      if (entry) return { entry, owner: n };
    }
    return undefined;
  }

  /** Child nodes of a slot: the nodes carrying its ibm,my-drc-index. */
  private slotChildren(owner: OfNode, index: number): OfNode[] {
    return owner.children.filter((c) => c.cell('ibm,my-drc-index') === index);
  }

  private *powerLevel(domain: number, level: number): TaskBody<number> {
    return (yield* this.rtas.callRetry(this.sched, 'set-power-level', [domain, level], 2))[0]!;
  }

  private *setIndicator(indicator: number, index: number, value: number): TaskBody<number> {
    return yield* this.rtas.setIndicator(this.sched, indicator, index, value);
  }

  // ---- drmgr -c pci (drslot_chrp_pci.c) -------------------------------------------------------

  private *pciAdd(index: number): TaskBody<void> {
    const slot = this.findSlot(index);
    if (!slot) return;
    const { entry, owner } = slot;
    if (this.slotChildren(owner, index).length) {
      yield* this.setIndicator(DR_INDICATOR, index, DR_INDICATOR_ON);
      return;
    }
    // "Insert card" preparation: isolate and power off (no LED prompt with -n).
    yield* this.setIndicator(ISOLATION_STATE, index, ISOLATE);
    yield* this.powerLevel(entry.powerDomain, POWER_OFF);
    yield* this.setIndicator(DR_INDICATOR, index, DR_INDICATOR_ON);
    let sense = ENTITY_EMPTY;
    for (let tries = 0; ; tries++) {
      [, sense] = yield* this.rtas.getSensor(this.sched, DR_ENTITY_SENSE, index);
      if (sense === NEED_POWER_AND_UNISOLATE || sense === NEED_POWER) {
        yield* this.powerLevel(entry.powerDomain, POWER_ON);
        if (sense === NEED_POWER_AND_UNISOLATE) yield* this.setIndicator(ISOLATION_STATE, index, UNISOLATE);
        continue;
      }
      if (sense !== ENTITY_EMPTY || tries + 1 >= CARD_PRESENT_TRIES) break;
      yield this.sched.sleep(CARD_PRESENT_POLL_MS);
    }
    if (sense !== ENTITY_PRESENT) return yield* this.pciAddFailed(index, entry.powerDomain);
    yield* this.powerLevel(entry.powerDomain, POWER_ON);
    if (yield* this.setIndicator(ISOLATION_STATE, index, UNISOLATE)) return yield* this.pciAddFailed(index, entry.powerDomain);
    const dn = yield* configureConnector(this.rtas, this.sched, LIBRTAS_RMO_BUF, index, () => {});
    if (!dn) return yield* this.pciAddFailed(index, entry.powerDomain);
    owner.attach(dn); // /proc/ppc64/ofdt add_node: the kernel gets pci_dns for the new nodes
    yield* this.pciRescan();
  }

  private *pciAddFailed(index: number, domain: number): TaskBody<void> {
    yield* this.setIndicator(ISOLATION_STATE, index, ISOLATE);
    yield* this.powerLevel(domain, POWER_OFF);
  }

  /** echo 1 > /sys/bus/pci/rescan: every root bus again, new functions bound. */
  private *pciRescan(): TaskBody<void> {
    const g = this.p.guest!;
    for (const root of g.pci.roots) yield* g.pci.scanChildBus(root);
    for (const dev of g.pci.devices()) g.bindDriver(dev);
  }

  private pciDevOf(domain: number, node: OfNode): PciDev | undefined {
    const reg = node.cell('reg') ?? 0;
    return this.p.guest!.pci.devices().find((d) => d.bus.domain === domain && d.bus.number === ((reg >> 16) & 0xff) && d.devfn === ((reg >> 8) & 0xff));
  }

  private domainOf(node: OfNode): number {
    for (let n: OfNode | undefined = node; n; n = n.parent) {
      const phb = this.p.phbs.find((x) => x.node === n);
      if (phb) return phb.domain;
    }
    return -1;
  }

  private *pciRemove(index: number): TaskBody<void> {
    const slot = this.findSlot(index);
    if (!slot) return;
    const { entry, owner } = slot;
    yield* this.setIndicator(DR_INDICATOR, index, DR_INDICATOR_ON);
    const children = this.slotChildren(owner, index);
    if (!children.length) {
      yield* this.setIndicator(DR_INDICATOR, index, DR_INDICATOR_OFF);
      return;
    }
    const domain = this.domainOf(owner);
    for (const child of children) {
      const dev = this.pciDevOf(domain, child);
      if (dev) this.p.guest!.removeDevice(dev); // echo 1 > .../remove (synchronous)
      for (let i = 0; i < QUIESCE_TRIES && dev && this.p.guest!.pci.devices().includes(dev); i++) yield this.sched.sleep(QUIESCE_POLL_MS);
    }
    yield this.sched.sleep(PCI_REMOVE_SETTLE_MS);
    for (const child of children) child.detach(); // remove_node
    yield* this.setIndicator(ISOLATION_STATE, index, ISOLATE);
    yield* this.powerLevel(entry.powerDomain, POWER_OFF);
  }

  // ---- drmgr -c phb (drslot_chrp_phb.c, rpadlpar_io) -------------------------------------------

  private *phbAdd(index: number): TaskBody<void> {
    const [, sense] = yield* this.rtas.getSensor(this.sched, DR_ENTITY_SENSE, index);
    if (sense !== DR_ENTITY_UNUSABLE) return;
    if (yield* this.setIndicator(ALLOCATION_STATE, index, ALLOC_USABLE)) return;
    if (yield* this.setIndicator(ISOLATION_STATE, index, UNISOLATE)) return;
    const dn = yield* configureConnector(this.rtas, this.sched, LIBRTAS_RMO_BUF, index, () => {});
    if (!dn) return;
    this.p.dt!.attach(dn);
    // echo "PHB N" > /sys/bus/pci/slots/control/add_slot: rpadlpar creates and scans the PHB.
    const phb = this.p.addPhb(dn);
    yield* this.p.guest!.pci.scanRootBus(phb.domain);
    for (const dev of this.p.guest!.pci.devices()) this.p.guest!.bindDriver(dev);
  }

  private *phbRemove(index: number): TaskBody<void> {
    const phb = this.p.phbs.find((x) => x.node.cell('ibm,my-drc-index') === index);
    if (phb) {
      const g = this.p.guest!;
      const root = g.pci.roots.find((r) => r.domain === phb.domain);
      for (const dev of root ? [...root.devices] : []) {
        g.removeDevice(dev);
        yield this.sched.sleep(PHB_CHILD_REMOVE_SLEEP_MS);
      }
      // remove_slot: the PHB goes, then its node.
      if (root) g.pci.roots.splice(g.pci.roots.indexOf(root), 1);
      this.p.phbs.splice(this.p.phbs.indexOf(phb), 1);
      phb.node.detach();
    }
    yield* this.rtas.getSensor(this.sched, DR_ENTITY_SENSE, index);
    for (let i = 0; i < PHB_ISOLATE_RETRIES; i++) {
      if (!(yield* this.setIndicator(ISOLATION_STATE, index, ISOLATE))) break;
      yield this.sched.sleep(PHB_ISOLATE_RETRY_MS);
    }
    yield* this.setIndicator(ALLOCATION_STATE, index, ALLOC_UNUSABLE);
    yield* this.rtas.getSensor(this.sched, DR_ENTITY_SENSE, index);
  }
}
