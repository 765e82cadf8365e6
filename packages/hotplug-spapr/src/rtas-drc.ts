/**
 * The RTAS calls of dynamic reconfiguration (hw/ppc/spapr_drc.c, hw/ppc/spapr_rtas.c;
 * spec/spapr-drc.md §3): set-indicator, get-sensor-state, ibm,configure-connector,
 * set-power-level and get-power-level. Each returns the return words QEMU stores (rets[0] is
 * the status); argument counts are checked exactly as QEMU checks them.
 */
import * as K from './constants.js';
import type { DrcContainer } from './container.js';
import { concat, strings } from './fdt.js';
import { ld32, st32, type GuestMemory } from './memory.js';

const int32 = (v: number): number => v | 0;

/** set-indicator(type, index, state). */
export function rtasSetIndicator(c: DrcContainer, args: readonly number[], nret: number): number[] {
  if (args.length !== 3 || nret !== 1) return [K.RTAS_OUT_PARAM_ERROR];
  const [type, idx, state] = args as [number, number, number];
  switch (type) {
    case K.RTAS_SENSOR_TYPE_ISOLATION_STATE: {
      const drc = c.byIndex(idx);
      if (!drc) return [K.RTAS_OUT_NO_SUCH_INDICATOR];
      if (state === K.SPAPR_DR_ISOLATION_STATE_ISOLATED) return [drc.isolate()];
      if (state === K.SPAPR_DR_ISOLATION_STATE_UNISOLATED) return [drc.unisolate()];
      return [K.RTAS_OUT_PARAM_ERROR];
    }
    case K.RTAS_SENSOR_TYPE_DR: {
      const drc = c.byIndex(idx);
      if (!drc || drc.logical) return [K.RTAS_OUT_NO_SUCH_INDICATOR];
      if (state < K.SPAPR_DR_INDICATOR_INACTIVE || state > K.SPAPR_DR_INDICATOR_ACTION) return [K.RTAS_OUT_PARAM_ERROR];
      drc.drIndicator = state;
      return [K.RTAS_OUT_SUCCESS];
    }
    case K.RTAS_SENSOR_TYPE_ALLOCATION_STATE: {
      const drc = c.byIndex(idx);
      if (!drc || !drc.logical) return [K.RTAS_OUT_NO_SUCH_INDICATOR];
      if (state === K.SPAPR_DR_ALLOCATION_STATE_USABLE) return [drc.setUsable()];
      if (state === K.SPAPR_DR_ALLOCATION_STATE_UNUSABLE) return [drc.setUnusable()];
      return [K.RTAS_OUT_PARAM_ERROR];
    }
    default:
      return [K.RTAS_OUT_NOT_SUPPORTED];
  }
}

/** get-sensor-state(type, index): only dr-entity-sense (9003) exists. */
export function rtasGetSensorState(c: DrcContainer, args: readonly number[], nret: number): number[] {
  if (args.length !== 2 || nret !== 2) return [K.RTAS_OUT_PARAM_ERROR, 0];
  const [type, idx] = args as [number, number];
  if (type !== K.RTAS_SENSOR_TYPE_ENTITY_SENSE) return [K.RTAS_OUT_NOT_SUPPORTED, 0];
  const drc = c.byIndex(idx);
  if (!drc) return [K.RTAS_OUT_PARAM_ERROR, 0];
  return [K.RTAS_OUT_SUCCESS, drc.entitySense()];
}

/** set-power-level(domain, level): only the live-insertion domain (-1), always at 100. */
export function rtasSetPowerLevel(args: readonly number[], nret: number): number[] {
  if (args.length !== 2 || nret !== 2) return [K.RTAS_OUT_PARAM_ERROR];
  if (int32(args[0]!) !== K.SPAPR_LIVE_INSERTION_POWER_DOMAIN) return [K.RTAS_OUT_NOT_SUPPORTED];
  return [K.RTAS_OUT_SUCCESS, K.SPAPR_POWER_LEVEL_ON];
}

/** get-power-level(domain). */
export function rtasGetPowerLevel(args: readonly number[], nret: number): number[] {
  if (args.length !== 1 || nret !== 2) return [K.RTAS_OUT_PARAM_ERROR];
  if (int32(args[0]!) !== K.SPAPR_LIVE_INSERTION_POWER_DOMAIN) return [K.RTAS_OUT_NOT_SUPPORTED];
  return [K.RTAS_OUT_SUCCESS, K.SPAPR_POWER_LEVEL_ON];
}

/** configure_connector_st: writes are cut at the end of the 4 KiB work area. */
function waStore(mem: GuestMemory, wa: number, offset: number, data: Uint8Array): void {
  mem.write(wa + offset, data.subarray(0, Math.max(0, Math.min(data.length, K.CC_WA_LEN - offset))));
}

/**
 * ibm,configure-connector(wa_lo, wa_hi): walks the DRC's device-tree fragment one step per
 * call (next child / next property / previous parent), writing names and values into the
 * work area; the closing of the top node returns success and makes the DRC ready.
 */
export function rtasConfigureConnector(c: DrcContainer, args: readonly number[], nret: number, mem: GuestMemory): number[] {
  if (args.length !== 2 || nret !== 1) return [K.RTAS_OUT_PARAM_ERROR];
  const wa = args[1]! * 2 ** 32 + (args[0]! >>> 0);
  const drc = c.byIndex(ld32(mem, wa, 0));
  if (!drc) return [K.RTAS_OUT_PARAM_ERROR];
  const s = drc.state;
  if (
    s !== K.SPAPR_DRC_STATE_LOGICAL_UNISOLATE && s !== K.SPAPR_DRC_STATE_PHYSICAL_UNISOLATE &&
    s !== K.SPAPR_DRC_STATE_LOGICAL_CONFIGURED && s !== K.SPAPR_DRC_STATE_PHYSICAL_CONFIGURED
  ) {
    return [K.SPAPR_DR_CC_RESPONSE_NOT_CONFIGURABLE];
  }
  // The kernel reconfiguring an LMB whose removal it gave up on: roll the DIMM unplug back.
  if (drc.drcType === K.SPAPR_DR_CONNECTOR_TYPE_LMB && drc.unplugRequested && drc.dev) drc.backend?.unplugRollback?.(drc.dev, drc);
  if (!drc.ensureFdt()) return [K.SPAPR_DR_CC_RESPONSE_ERROR];
  for (;;) {
    const t = drc.nextToken();
    if (!t) return [K.SPAPR_DR_CC_RESPONSE_ERROR];
    if (t.tag === 'begin') {
      drc.ccsDepth++;
      st32(mem, wa, K.CC_IDX_NODE_NAME_OFFSET, K.CC_VAL_DATA_OFFSET);
      waStore(mem, wa, K.CC_VAL_DATA_OFFSET, strings(t.node.name));
      return [K.SPAPR_DR_CC_RESPONSE_NEXT_CHILD];
    }
    if (t.tag === 'prop') {
      const name = strings(t.prop.name);
      st32(mem, wa, K.CC_IDX_PROP_NAME_OFFSET, K.CC_VAL_DATA_OFFSET);
      waStore(mem, wa, K.CC_VAL_DATA_OFFSET, name);
      const dataOffset = K.CC_VAL_DATA_OFFSET + name.length;
      st32(mem, wa, K.CC_IDX_PROP_LEN, t.prop.value.length);
      st32(mem, wa, K.CC_IDX_PROP_DATA_OFFSET, dataOffset);
      waStore(mem, wa, dataOffset, concat(t.prop.value));
      return [K.SPAPR_DR_CC_RESPONSE_NEXT_PROPERTY];
    }
    drc.ccsDepth--;
    if (drc.ccsDepth > 0) return [K.SPAPR_DR_CC_RESPONSE_PREV_PARENT];
    // Done: ready state, cursor back at the start so the guest may replay the sequence.
    drc.state = drc.readyState;
    drc.rewind();
    return [K.SPAPR_DR_CC_RESPONSE_SUCCESS];
  }
}
