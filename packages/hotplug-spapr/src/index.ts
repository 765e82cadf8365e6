/**
 * @plugboard/hotplug-spapr: sPAPR dynamic reconfiguration for `-M pseries` as QEMU 7.2 does it
 * (spec/spapr-drc.md): DR connectors and their state machine, the RTAS calls and hotplug event
 * logs the guest is driven by, CAS, and the flattened device tree. A pseries machine calls
 * attachSpapr() while it builds itself; its GuestView delegates RTAS calls and hypercalls to
 * the returned platform (rtasCall / rtasCallName / hcall).
 */
import { definePlugin } from '@plugboard/qdev';
import { drcTypes } from './drc.js';
import { phbTypes } from './phb.js';
import { cpuQmpCommands, cpuTypes } from './cpu.js';
import { dimmTypes, memoryQmpCommands } from './dimm.js';

export * as spaprConstants from './constants.js';
export { attachSpapr, Spapr, phbOfBus, type SpaprOptions } from './spapr.js';
export { spaprOf } from './registry.js';
export { SpaprDrc, DRC_CLASSES, drcIndex, drcTypes, type DrcClassInfo, type DrcBackend, type DrcHost } from './drc.js';
export { DrcContainer } from './container.js';
/** Kept for existing importers; the model lives in qdev. */
export { GHashOrder, gStrHash } from '@plugboard/qdev';
export { SpaprEvents, type SpaprEventLogEntry, type DrcIdentifier, type SpaprEventsHost } from './events.js';
export { SpaprRtas, type RtasDispatcher, type RtasHandler, type RtasContext } from './rtas.js';
export { SparseGuestMemory, ld32, st32, type GuestMemory } from './memory.js';
export { rtasConfigAddr, rtasPciCfgaddr } from './rtas-pci.js';
export { SpaprPhb, phbTypes, TYPE_SPAPR_PCI_HOST_BRIDGE, TYPE_SPAPR_TCE_TABLE } from './phb.js';
export { SpaprPciHandler } from './pci.js';
export { SpaprCpus, SpaprCpuCore, cpuTypes, cpuQmpCommands, hptShift, TYPE_SPAPR_CPU_CORE, TYPE_POWER9_SPAPR_CPU_CORE } from './cpu.js';
export { SpaprMemory, MemoryBackend, addMemoryBackend, dimmTypes, memoryQmpCommands, TYPE_PC_DIMM, TYPE_MEMORY_BACKEND_RAM } from './dimm.js';
export { casHypercall, machineOv5, parseOptionVector, type CasState } from './cas.js';
export { buildPseriesFdt, ovecBytes } from './fdt-pseries.js';
export { pciNodeName, pciNodeBaseName, pciDrcId, chassisOf } from './fdt-pci.js';
export {
  FdtNode, encodeDtb, decodeDtb, flatten, cells, u64s, strings, concat, readCell, readCells, readStrings,
  type FdtProp, type FdtToken,
} from './fdt.js';

/**
 * The types this backend owns: DR connectors, the sPAPR PHB, the POWER9 CPU core and its
 * threads, pc-dimm; plus object-add / object-del / query-memory-devices for memory backends
 * and query-hotpluggable-cpus.
 */
export const spaprTypes = [...drcTypes, ...phbTypes, ...cpuTypes, ...dimmTypes];

export const hotplugSpaprPlugin = definePlugin({
  name: '@plugboard/hotplug-spapr',
  types: spaprTypes,
  qmpCommands: [...memoryQmpCommands, ...cpuQmpCommands],
});
export default hotplugSpaprPlugin;
export { attachGuestPort, spaprGuestPort, type SpaprGuestPort } from './guest-port.js';
