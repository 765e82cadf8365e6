/**
 * The ibm,configure-connector loop (arch/powerpc/platforms/pseries/dlpar.c
 * dlpar_configure_connector; powerpc-utils drmgr's configure_connector does the same,
 * guest-spapr.md §4) and the RTAS error-log parsing both the RAS handlers and rtas_errd need
 * (arch/powerpc/include/asm/rtas.h get_pseries_errorlog, pseries_hp_errorlog).
 */
import type { Scheduler, TaskBody } from '../../os/sched.js';
import { OfNode } from './devtree.js';
import { RTAS_BUSY, RTAS_EXTENDED_DELAY_MAX, RTAS_EXTENDED_DELAY_MIN, cstring, ld32, st32, type RtasClient } from './rtas.js';

const COMPLETE = 0;
const NEXT_SIBLING = 1;
const NEXT_CHILD = 2;
const NEXT_PROPERTY = 3;
const PREV_PARENT = 4;
const MORE_MEMORY = 5;
/** Work-area words: DRC index, zero, name offset, property length, value offset. */
const CC_NAME_OFFSET = 2;
const CC_PROP_LENGTH = 3;
const CC_PROP_OFFSET = 4;

/**
 * Runs configure-connector on `index` with the work area at `wa` until it completes.
 * Returns the new subtree's root, or undefined (printing what the kernel prints) on error.
 */
export function* configureConnector(rtas: RtasClient, sched: Scheduler, wa: number, index: number, log: (line: string) => void): TaskBody<OfNode | undefined> {
  const port = rtas.port;
  st32(port, wa, 0, index);
  st32(port, wa, 1, 0);
  let first: OfNode | undefined;
  let last: OfNode | undefined;
  for (;;) {
    const rc = rtas.call('ibm,configure-connector', [wa, 0], 1)[0]!;
    if (rc === RTAS_BUSY) continue;
    if (rc >= RTAS_EXTENDED_DELAY_MIN && rc <= RTAS_EXTENDED_DELAY_MAX) {
      yield sched.sleep(Math.min(10 ** (rc - RTAS_EXTENDED_DELAY_MIN), 1000));
      continue;
    }
    switch (rc) {
      case COMPLETE:
        return first;
      case NEXT_SIBLING:
      case NEXT_CHILD: {
        const n = new OfNode(cstring(port, wa + ld32(port, wa, CC_NAME_OFFSET)));
        if (rc === NEXT_SIBLING && last?.parent) last.parent.attach(n);
        else if (!first) first = n;
        else last?.attach(n);
        last = n;
        break;
      }
      case NEXT_PROPERTY: {
        const name = cstring(port, wa + ld32(port, wa, CC_NAME_OFFSET));
        const len = ld32(port, wa, CC_PROP_LENGTH);
        last?.props.set(name, port.memRead(wa + ld32(port, wa, CC_PROP_OFFSET), len));
        break;
      }
      case PREV_PARENT:
        last = last?.parent;
        break;
      case MORE_MEMORY:
      default:
        log(`Unexpected Error (${rc}) returned from configure-connector`);
        return undefined;
    }
  }
}

/** What a v6 hotplug section says (struct pseries_hp_errorlog). */
export interface HotplugLog {
  resource: number;
  action: number;
  idType: number;
  index?: number;
  count?: number;
}

export const PSERIES_HP_ELOG_RESOURCE_CPU = 1;
export const PSERIES_HP_ELOG_RESOURCE_MEM = 2;
export const PSERIES_HP_ELOG_RESOURCE_SLOT = 3;
export const PSERIES_HP_ELOG_RESOURCE_PHB = 4;
/** QEMU's "PCI" resource (unnamed in Linux). */
export const PSERIES_HP_ELOG_RESOURCE_PCI = 5;
export const PSERIES_HP_ELOG_RESOURCE_PMEM = 6;
export const PSERIES_HP_ELOG_ACTION_ADD = 1;
export const PSERIES_HP_ELOG_ACTION_REMOVE = 2;
export const PSERIES_HP_ELOG_ID_DRC_NAME = 1;
export const PSERIES_HP_ELOG_ID_DRC_INDEX = 2;
export const PSERIES_HP_ELOG_ID_DRC_COUNT = 3;
export const PSERIES_HP_ELOG_ID_DRC_IC = 4;
export const RTAS_TYPE_HOTPLUG = 0xe5;
export const RTAS_TYPE_EPOW = 0x40;
const RTAS_ERROR_LOG_HEADER = 8;
const V6EXT_HEADER = 16;
const RTAS_V6EXT_LOG_FORMAT_EVENT_LOG = 14;
const RTAS_V6EXT_COMPANY_ID_IBM = 0x49424d00;

/** An RTAS error log as read from a buffer: type, version, and its sections by id. */
export interface ErrorLog {
  version: number;
  type: number;
  severity: number;
  raw: Uint8Array;
}

export function parseLog(raw: Uint8Array): ErrorLog {
  return { version: raw[0]!, type: raw[3]!, severity: raw[1]! >> 5, raw };
}

/** get_pseries_errorlog: the section with this two-letter id, or undefined. */
export function findSection(log: ErrorLog, id: string): Uint8Array | undefined {
  const raw = log.raw;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const extLen = dv.getUint32(4);
  const ext = RTAS_ERROR_LOG_HEADER;
  if (extLen < V6EXT_HEADER || (raw[ext + 2]! & 0x0f) !== RTAS_V6EXT_LOG_FORMAT_EVENT_LOG || dv.getUint32(ext + 12) !== RTAS_V6EXT_COMPANY_ID_IBM) return undefined;
  const end = Math.min(raw.length, ext + extLen);
  for (let p = ext + V6EXT_HEADER; p + 4 <= end; ) {
    const len = dv.getUint16(p + 2);
    if (String.fromCharCode(raw[p]!, raw[p + 1]!) === id) return raw.subarray(p, p + len);
    if (!len) break;
    p += len;
  }
  return undefined;
}

/** pseries_hp_errorlog: resource, action, id type, then the big-endian identifier. */
export function hotplugSection(sect: Uint8Array): HotplugLog {
  const dv = new DataView(sect.buffer, sect.byteOffset, sect.byteLength);
  const hp: HotplugLog = { resource: sect[8]!, action: sect[9]!, idType: sect[10]! };
  if (hp.idType === PSERIES_HP_ELOG_ID_DRC_INDEX) hp.index = dv.getUint32(12);
  else if (hp.idType === PSERIES_HP_ELOG_ID_DRC_COUNT) hp.count = dv.getUint32(12);
  else if (hp.idType === PSERIES_HP_ELOG_ID_DRC_IC) {
    hp.count = dv.getUint32(12);
    hp.index = dv.getUint32(16);
  }
  return hp;
}
