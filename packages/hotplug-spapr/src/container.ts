/**
 * The `/dr-connector` QOM container (hw/ppc/spapr_drc.c drc_realize/drc_unrealize): every
 * realized DRC is aliased there as a `link<TYPE>` property named by its index in lower-case
 * hex. RTAS finds connectors by index through it, spapr_dt_drc() lists them in its hash-table
 * order, and spapr_drc_reset_all() walks it in that order.
 */
import { Container, GHashOrder, type QObject } from '@plugboard/qdev';
import * as K from './constants.js';
import type { DrcHost, SpaprDrc } from './drc.js';

const aliasName = (index: number): string => index.toString(16);

/**
 * qdev's path resolution walks child<> objects only, where QEMU's also follows links and
 * aliases (`qom-get /dr-connector/40000020 index` works there): the container's child map
 * answers lookups of alias names with the linked DRC while iterating over no children.
 */
class AliasChildren extends Map<string, QObject> {
  constructor(private readonly aliases: Map<string, SpaprDrc>) {
    super();
  }
  override get(key: string): QObject | undefined {
    return super.get(key) ?? this.aliases.get(key);
  }
  override has(key: string): boolean {
    return super.has(key) || this.aliases.has(key);
  }
}

export class DrcContainer extends Container implements DrcHost {
  private readonly byName = new Map<string, SpaprDrc>();
  private readonly order = new GHashOrder();
  /** error_report lines (QEMU's stderr), newest last. */
  readonly errorLog: string[] = [];

  constructor() {
    super();
    Object.defineProperty(this, 'childObjects', { value: new AliasChildren(this.byName) });
  }

  aliasAdd(drc: SpaprDrc): void {
    const name = aliasName(drc.index);
    this.byName.set(name, drc);
    this.order.insert(name);
    this.defineProperty({ name, type: `link<${drc.typeName}>`, get: () => drc.canonicalPath() });
  }

  aliasRemove(drc: SpaprDrc): void {
    const name = aliasName(drc.index);
    if (this.byName.get(name) !== drc) return;
    this.byName.delete(name);
    this.order.remove(name);
    this.deleteProperty(name);
  }

  /** Where error_report lines also go (Spapr.attach: the machine's error_report channel). */
  onErrorReport: ((text: string) => void) | undefined;

  errorReport(text: string): void {
    this.errorLog.push(text);
    this.onErrorReport?.(text);
  }

  /** spapr_drc_by_index. */
  byIndex(index: number): SpaprDrc | undefined {
    return this.byName.get(aliasName(index >>> 0));
  }

  /** spapr_drc_by_id. */
  byId(typeShift: number, id: number): SpaprDrc | undefined {
    return this.byIndex((typeShift << K.DRC_INDEX_TYPE_SHIFT) | (id & K.DRC_INDEX_ID_MASK));
  }

  /** Every DRC in QEMU's iteration order of the container. */
  all(): SpaprDrc[] {
    return this.order.keysInOrder().map((k) => this.byName.get(k)!);
  }

  /** spapr_dt_drc's selection: optionally one owner, types in `typeMask`. */
  select(owner: QObject | undefined, typeMask: number): SpaprDrc[] {
    return this.all().filter((d) => (!owner || d.ownerObject === owner) && (d.drcType & typeMask) !== 0);
  }

  /**
   * qom-list: qmp_qom_list prepends each property it iterates, so the links come in reverse
   * hash order, after the class property `type` (iterated last, listed first).
   */
  override listProperties(): Array<{ name: string; type: string }> {
    return [{ name: 'type', type: 'string' }, ...this.all().reverse().map((d) => ({ name: aliasName(d.index), type: `link<${d.typeName}>` }))];
  }
}
