/**
 * Dynamic reconfiguration connectors (hw/ppc/spapr_drc.c, spec/spapr-drc.md §1–§2): one QOM
 * device per connector, a child `dr-connector[INDEX]` of its owner (PHB, bridge or machine),
 * with the 7.2 state machine of physical (PCI) and logical (CPU, LMB, PHB, PMEM) connectors.
 * The RTAS calls that drive it are in rtas-drc.ts.
 */
import { Device, type Machine, type QObject, type TypeDef, type TypeImpl } from '@plugboard/qdev';
import * as K from './constants.js';
import { flatten, type FdtNode, type FdtToken } from './fdt.js';

/** What differs between connector types (SpaprDrcClass). */
export interface DrcClassInfo {
  typeName: string;
  typeShift: number;
  /** `ibm,drc-types` string. */
  dtTypeName: string;
  /** `ibm,drc-names` prefix. */
  namePrefix: string;
  logical: boolean;
}

export const DRC_CLASSES: Record<string, DrcClassInfo> = {
  [K.TYPE_SPAPR_DRC_CPU]: { typeName: K.TYPE_SPAPR_DRC_CPU, typeShift: K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_CPU, dtTypeName: 'CPU', namePrefix: 'CPU ', logical: true },
  [K.TYPE_SPAPR_DRC_PCI]: { typeName: K.TYPE_SPAPR_DRC_PCI, typeShift: K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_PCI, dtTypeName: '28', namePrefix: 'C', logical: false },
  [K.TYPE_SPAPR_DRC_LMB]: { typeName: K.TYPE_SPAPR_DRC_LMB, typeShift: K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_LMB, dtTypeName: 'MEM', namePrefix: 'LMB ', logical: true },
  [K.TYPE_SPAPR_DRC_PHB]: { typeName: K.TYPE_SPAPR_DRC_PHB, typeShift: K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_PHB, dtTypeName: 'PHB', namePrefix: 'PHB ', logical: true },
  [K.TYPE_SPAPR_DRC_PMEM]: { typeName: K.TYPE_SPAPR_DRC_PMEM, typeShift: K.SPAPR_DR_CONNECTOR_TYPE_SHIFT_PMEM, dtTypeName: 'PMEM', namePrefix: 'PMEM ', logical: true },
};

/** spapr_drc_index: type shift in the top nibble, the id below. */
export function drcIndex(info: DrcClassInfo, id: number): number {
  return ((info.typeShift << K.DRC_INDEX_TYPE_SHIFT) | (id & K.DRC_INDEX_ID_MASK)) >>> 0;
}

/** The owner-specific behaviour (SpaprDrcClass.release / dt_populate), set by whoever creates the DRC. */
export interface DrcBackend {
  /** The guest let go of the device: unplug and unparent it. */
  release(dev: Device, drc: SpaprDrc): void;
  /** Builds the device-tree fragment configure-connector hands out (throws on failure). */
  dtPopulate(drc: SpaprDrc): FdtNode;
  /** LMB only: the guest refused a removal (spapr_memory_unplug_rollback). */
  unplugRollback?(dev: Device, drc: SpaprDrc): void;
}

/** The platform side a DRC needs: its alias in `/dr-connector` and QMP events. */
export interface DrcHost {
  aliasAdd(drc: SpaprDrc): void;
  aliasRemove(drc: SpaprDrc): void;
  /** error_report on QEMU's stderr. */
  errorReport(text: string): void;
}

export class SpaprDrc extends Device {
  readonly info: DrcClassInfo;
  drcId = 0;
  ownerObject: QObject | undefined;
  backend: DrcBackend | undefined;
  host: DrcHost | undefined;
  state: number;
  unplugRequested = false;
  dev: Device | undefined;
  /** The fragment built by the first configure-connector call, and its cursor. */
  fdt: FdtNode | undefined;
  private tokens: FdtToken[] = [];
  ccsOffset = -1;
  ccsDepth = -1;
  /** Physical DRCs: the DR indicator (stored only). */
  drIndicator = K.SPAPR_DR_INDICATOR_INACTIVE;

  constructor(type: TypeImpl, machine: Machine) {
    super(type, machine);
    const info = DRC_CLASSES[type.name];
    if (!info) throw new Error(`'${type.name}' is not a concrete DRC type`);
    this.info = info;
    this.state = this.emptyState;
    this.defineIdentityProps();
  }

  /** QOM order of QEMU's instance properties: `device` (while attached) comes before these. */
  private defineIdentityProps(): void {
    for (const n of ['id', 'index', 'fdt']) this.deleteProperty(n);
    this.defineProperty({ name: 'id', type: 'uint32', get: () => this.drcId });
    this.defineProperty({ name: 'index', type: 'uint32', get: () => this.index });
    this.defineProperty({ name: 'fdt', type: 'struct', get: () => (this.fdt ? fdtToQapi(this.fdt) : null) });
  }

  get logical(): boolean {
    return this.info.logical;
  }
  get index(): number {
    return drcIndex(this.info, this.drcId);
  }
  /** spapr_drc_type: 1 << typeshift. */
  get drcType(): number {
    return 1 << this.info.typeShift;
  }
  /** spapr_drc_name: prefix + decimal id. */
  get drcName(): string {
    return `${this.info.namePrefix}${this.drcId}`;
  }
  get readyState(): number {
    return this.logical ? K.SPAPR_DRC_STATE_LOGICAL_CONFIGURED : K.SPAPR_DRC_STATE_PHYSICAL_CONFIGURED;
  }
  get emptyState(): number {
    return this.logical ? K.SPAPR_DRC_STATE_LOGICAL_UNUSABLE : K.SPAPR_DRC_STATE_PHYSICAL_POWERON;
  }

  protected override onRealize(): void {
    this.host?.aliasAdd(this);
  }

  protected override onUnrealize(): void {
    this.host?.aliasRemove(this);
  }

  /** Physical DRCs: qemu_register_reset(drc_physical_reset). */
  override reset(): void {
    if (!this.logical) this.drIndicator = this.dev ? K.SPAPR_DR_INDICATOR_ACTIVE : K.SPAPR_DR_INDICATOR_INACTIVE;
  }

  // ---- attach / unplug / reset (spapr_drc_attach, _unplug_request, _reset, _release) -------------

  attach(dev: Device): void {
    if (this.dev) throw new Error(`DRC ${this.index.toString(16)} already has a device`);
    this.dev = dev;
    this.defineProperty({ name: 'device', type: `link<${dev.typeName}>`, get: () => this.dev?.canonicalPath() ?? '' });
    this.defineIdentityProps();
  }

  /** The device is released at once while the connector is in its empty state. */
  unplugRequest(): void {
    if (!this.dev) throw new Error(`DRC ${this.index.toString(16)}: unplug request without a device`);
    this.unplugRequested = true;
    if (this.state !== this.emptyState) return;
    this.release();
  }

  /** Completes a pending unplug (if any), then ready state with a device, empty without. Returns whether a device went. */
  resetState(): boolean {
    let completed = false;
    if (this.unplugRequested) {
      this.release();
      completed = true;
    }
    if (this.dev) {
      this.state = this.readyState;
      this.rewind();
    } else {
      this.state = this.emptyState;
      this.ccsOffset = -1;
      this.ccsDepth = -1;
    }
    return completed;
  }

  release(): void {
    const dev = this.dev;
    if (dev) this.backend?.release(dev, this);
    this.unplugRequested = false;
    this.fdt = undefined;
    this.tokens = [];
    this.ccsOffset = 0;
    this.deleteProperty('device');
    this.dev = undefined;
  }

  // ---- RTAS state changes (drc_isolate_*, drc_unisolate_*, drc_set_usable/unusable) ----------------

  /** set-indicator(9001, 0). */
  isolate(): number {
    return this.logical ? this.isolateLogical() : this.isolatePhysical();
  }

  /** set-indicator(9001, 1). */
  unisolate(): number {
    return this.logical ? this.unisolateLogical() : this.unisolatePhysical();
  }

  private isolatePhysical(): number {
    switch (this.state) {
      case K.SPAPR_DRC_STATE_PHYSICAL_POWERON:
        return K.RTAS_OUT_SUCCESS;
      case K.SPAPR_DRC_STATE_PHYSICAL_UNISOLATE:
        return K.RTAS_OUT_PARAM_ERROR;
    }
    this.state = K.SPAPR_DRC_STATE_PHYSICAL_POWERON;
    if (this.unplugRequested) this.release();
    return K.RTAS_OUT_SUCCESS;
  }

  private unisolatePhysical(): number {
    if (this.state === K.SPAPR_DRC_STATE_PHYSICAL_UNISOLATE || this.state === K.SPAPR_DRC_STATE_PHYSICAL_CONFIGURED) return K.RTAS_OUT_SUCCESS;
    // PAPR 2.7 13.5.3.5: an empty connector cannot be unisolated.
    if (!this.dev) return K.RTAS_OUT_NO_SUCH_INDICATOR;
    this.state = K.SPAPR_DRC_STATE_PHYSICAL_UNISOLATE;
    this.rewind();
    return K.RTAS_OUT_SUCCESS;
  }

  private isolateLogical(): number {
    switch (this.state) {
      case K.SPAPR_DRC_STATE_LOGICAL_AVAILABLE:
      case K.SPAPR_DRC_STATE_LOGICAL_UNUSABLE:
        return K.RTAS_OUT_SUCCESS;
      case K.SPAPR_DRC_STATE_LOGICAL_UNISOLATE:
        return K.RTAS_OUT_PARAM_ERROR;
    }
    // drmgr may try any removable LMB for a count-based request: refuse LMBs not being unplugged.
    if (this.drcType === K.SPAPR_DR_CONNECTOR_TYPE_LMB && !this.unplugRequested) return K.RTAS_OUT_HW_ERROR;
    this.state = K.SPAPR_DRC_STATE_LOGICAL_AVAILABLE;
    return K.RTAS_OUT_SUCCESS;
  }

  private unisolateLogical(): number {
    switch (this.state) {
      case K.SPAPR_DRC_STATE_LOGICAL_UNISOLATE:
      case K.SPAPR_DRC_STATE_LOGICAL_CONFIGURED:
        // Unisolating a connector marked for unplug: the guest refuses the removal.
        if (this.unplugRequested && this.dev) this.guestRejectedUnplug(this.dev);
        return K.RTAS_OUT_SUCCESS;
      case K.SPAPR_DRC_STATE_LOGICAL_UNUSABLE:
        return K.RTAS_OUT_NO_SUCH_INDICATOR;
    }
    this.state = K.SPAPR_DRC_STATE_LOGICAL_UNISOLATE;
    this.rewind();
    return K.RTAS_OUT_SUCCESS;
  }

  private guestRejectedUnplug(dev: Device): void {
    if (this.drcType === K.SPAPR_DR_CONNECTOR_TYPE_LMB) this.backend?.unplugRollback?.(dev, this);
    this.unplugRequested = false;
    if (dev.id !== undefined) this.host?.errorReport(`Device hotunplug rejected by the guest for device ${dev.id}`);
    const path = dev.realizedPath ?? dev.canonicalPath();
    this.machine.events.emit('DEVICE_UNPLUG_GUEST_ERROR', dev.id !== undefined ? { device: dev.id, path } : { path });
  }

  /** set-indicator(9003, 1). */
  setUsable(): number {
    if (this.state !== K.SPAPR_DRC_STATE_LOGICAL_UNUSABLE) return K.RTAS_OUT_SUCCESS;
    // PAPR 2.7 13.5.3.4: no resource, or one being removed, is "no such indicator".
    if (!this.dev || this.unplugRequested) return K.RTAS_OUT_NO_SUCH_INDICATOR;
    this.state = K.SPAPR_DRC_STATE_LOGICAL_AVAILABLE;
    return K.RTAS_OUT_SUCCESS;
  }

  /** set-indicator(9003, 0). */
  setUnusable(): number {
    switch (this.state) {
      case K.SPAPR_DRC_STATE_LOGICAL_UNUSABLE:
        return K.RTAS_OUT_SUCCESS;
      case K.SPAPR_DRC_STATE_LOGICAL_UNISOLATE:
      case K.SPAPR_DRC_STATE_LOGICAL_CONFIGURED:
        return K.RTAS_OUT_NO_SUCH_INDICATOR;
    }
    this.state = K.SPAPR_DRC_STATE_LOGICAL_UNUSABLE;
    if (this.unplugRequested) this.release();
    return K.RTAS_OUT_SUCCESS;
  }

  /** get-sensor-state(9003): physical_entity_sense / logical_entity_sense. */
  entitySense(): number {
    if (!this.logical) return this.dev ? K.SPAPR_DR_ENTITY_SENSE_PRESENT : K.SPAPR_DR_ENTITY_SENSE_EMPTY;
    return this.state === K.SPAPR_DRC_STATE_LOGICAL_UNUSABLE ? K.SPAPR_DR_ENTITY_SENSE_UNUSABLE : K.SPAPR_DR_ENTITY_SENSE_PRESENT;
  }

  // ---- configure-connector cursor ---------------------------------------------------------

  /** Builds the fragment on first use (dt_populate); false when the backend fails. */
  ensureFdt(): boolean {
    if (this.fdt) return true;
    try {
      this.fdt = this.backend!.dtPopulate(this);
    } catch {
      return false;
    }
    this.tokens = flatten(this.fdt);
    this.rewind();
    return true;
  }

  rewind(): void {
    this.ccsOffset = 0;
    this.ccsDepth = 0;
  }

  /** fdt_next_tag at the cursor; advances it. Undefined past the fragment (FDT_END). */
  nextToken(): FdtToken | undefined {
    const t = this.ccsOffset >= 0 ? this.tokens[this.ccsOffset] : undefined;
    if (this.ccsOffset >= 0) this.ccsOffset++;
    return t;
  }
}

/** The QOM `fdt` property: nodes as structs, properties as lists of bytes (prop_get_fdt). */
function fdtToQapi(node: FdtNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of node.props) out[p.name] = Array.from(p.value);
  for (const c of node.children) out[c.name] = fdtToQapi(c);
  return out;
}

/** The QOM types, as `qom-list-types implements=spapr-dr-connector` lists them. */
export const drcTypes: TypeDef[] = [
  { name: K.TYPE_SPAPR_DR_CONNECTOR, parent: 'device', abstract: true, userCreatable: false, instantiate: (t, m) => new SpaprDrc(t, m) },
  { name: K.TYPE_SPAPR_DRC_PHYSICAL, parent: K.TYPE_SPAPR_DR_CONNECTOR, abstract: true },
  { name: K.TYPE_SPAPR_DRC_LOGICAL, parent: K.TYPE_SPAPR_DR_CONNECTOR, abstract: true },
  { name: K.TYPE_SPAPR_DRC_CPU, parent: K.TYPE_SPAPR_DRC_LOGICAL },
  { name: K.TYPE_SPAPR_DRC_PCI, parent: K.TYPE_SPAPR_DRC_PHYSICAL },
  { name: K.TYPE_SPAPR_DRC_LMB, parent: K.TYPE_SPAPR_DRC_LOGICAL },
  { name: K.TYPE_SPAPR_DRC_PHB, parent: K.TYPE_SPAPR_DRC_LOGICAL },
  { name: K.TYPE_SPAPR_DRC_PMEM, parent: K.TYPE_SPAPR_DRC_LOGICAL },
];
