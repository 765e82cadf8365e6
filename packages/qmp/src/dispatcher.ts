// Command registry and request dispatch (qapi/qmp-dispatch.c qmp_dispatch(),
// monitor/qmp.c monitor_qmp_dispatch(), monitor/qmp-cmds-control.c).
// Knows nothing of devices: applications register the commands.

import { QmpError, type QmpErrorClass } from './errors.js';
import type { JsonStreamItem } from './json-streamer.js';
import { qdictOrder } from './qdict-order.js';
import { checkArguments, memberOrder, qapiEnum, type QapiMembers, type UnvisitedOrder } from './qapi.js';
import type { QmpSession } from './session.js';

/** What a handler gets besides its arguments. */
export interface QmpCallContext {
  /** The connection the request came from (e.g. to close it after `quit`, or per-monitor state). */
  session: QmpSession;
  /** The request's `id` member, if it had one. */
  id: unknown;
  /** True for `exec-oob` requests. */
  oob: boolean;
  /** Run `fn` right after the reply has been written to the session (e.g. `ctx.session.close()`). */
  afterReply(fn: () => void): void;
}

export interface QmpCommandDef {
  name: string;
  /** Argument members in schema order; `'*name'` marks an optional one. Absent = no arguments. */
  args?: QapiMembers;
  /**
   * QEMU's `'gen': false` (device_add): the arguments object reaches the
   * handler unchecked — declared members are not type-checked and extra
   * members pass through; the handler reports problems itself.
   */
  allowExtraArgs?: boolean;
  /** May be run with `exec-oob`. */
  allowOob?: boolean;
  /** May run before machine initialization completes (`--preconfig`). */
  allowPreconfig?: boolean;
  /**
   * Returns the `return` value (`undefined` -> `{}`), possibly via a promise;
   * throws QmpError for an error reply. Integers outside ±2^53 arrive (and
   * should be returned) as bigint.
   */
  handler(args: Record<string, unknown>, ctx: QmpCallContext): unknown;
}

export interface QmpErrorBody {
  class: QmpErrorClass;
  desc: string;
}
/** A reply as QEMU builds it; serialize with toQmpJson(). */
export type QmpResponse = { return: unknown; id?: unknown } | { error: QmpErrorBody; id?: unknown };

export interface QmpDispatcherOptions {
  /**
   * False while the machine is not initialized (QEMU's --preconfig phase):
   * only commands with allowPreconfig may run. Default: always true.
   */
  machineReady?: () => boolean;
  /**
   * Which argument QEMU names as unexpected when a command gets several (see UnvisitedOrder).
   * Default memberOrder; pass @plugboard/qdev's ghashKeyOrder to name the same one as QEMU.
   */
  unvisitedOrder?: UnvisitedOrder;
}

export const QMP_CAPABILITIES = 'qmp_capabilities';
const NEGOTIATION_REQUIRED = "Expecting capabilities negotiation with 'qmp_capabilities'";
const NEGOTIATION_DONE = 'Capabilities negotiation is already complete, command ignored';

type Item = JsonStreamItem;

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Does this parsed request take the out-of-band path (monitor/qmp.c qmp_is_oob())? */
export function isOobRequest(item: Item): boolean {
  const v = item.value;
  return isDict(v) && hasOwn(v, 'exec-oob') && !hasOwn(v, 'execute');
}

function errorResponse(errorClass: QmpErrorClass, desc: string, id: unknown, hasId: boolean): QmpResponse {
  const rsp: QmpResponse = { error: { class: errorClass, desc } };
  if (hasId) rsp.id = id;
  return rsp;
}

/** Session internals the dispatcher needs (implemented by QmpSession). */
export interface DispatchSession {
  readonly negotiated: boolean;
  readonly oobEnabled: boolean;
  /** @internal */
  acceptCapabilities(enable: readonly string[]): void;
}

export class QmpDispatcher {
  private readonly commands = new Map<string, QmpCommandDef>();
  private readonly machineReady: () => boolean;
  private readonly unvisitedOrder: UnvisitedOrder;

  constructor(options: QmpDispatcherOptions = {}) {
    this.machineReady = options.machineReady ?? (() => true);
    this.unvisitedOrder = options.unvisitedOrder ?? memberOrder;
    this.register({
      name: QMP_CAPABILITIES,
      args: { '*enable': [qapiEnum('oob')] },
      allowPreconfig: true,
      handler: (args, ctx) => {
        const session = ctx.session as unknown as DispatchSession;
        if (session.negotiated) throw new QmpError('CommandNotFound', NEGOTIATION_DONE);
        session.acceptCapabilities((args.enable as string[] | undefined) ?? []);
        return undefined;
      },
    });
  }

  /** Adds a command; replaces one of the same name. */
  register(def: QmpCommandDef): void {
    this.commands.set(def.name, def);
  }

  unregister(name: string): boolean {
    return this.commands.delete(name);
  }

  has(name: string): boolean {
    return this.commands.has(name);
  }

  get(name: string): QmpCommandDef | undefined {
    return this.commands.get(name);
  }

  /** Names of all registered commands, qmp_capabilities included (for query-commands). */
  names(): string[] {
    return [...this.commands.keys()];
  }

  /**
   * One request (or stream error) -> its reply, as QEMU's monitor produces it.
   * Returns a promise only when the handler is asynchronous.
   */
  handle(item: Item, session: QmpSession): QmpResponse | Promise<QmpResponse> {
    const s = session as unknown as DispatchSession;
    const rsp = this.dispatch(item, session, s);
    if (rsp instanceof Promise) return rsp.then((r) => this.negotiationFixup(r, s));
    return this.negotiationFixup(rsp, s);
  }

  /** Before negotiation every "command not found" gets one friendlier text (monitor_qmp_dispatch()). */
  private negotiationFixup(rsp: QmpResponse, s: DispatchSession): QmpResponse {
    if (!s.negotiated && 'error' in rsp && rsp.error.class === 'CommandNotFound') rsp.error.desc = NEGOTIATION_REQUIRED;
    return rsp;
  }

  private dispatch(item: Item, session: QmpSession, s: DispatchSession): QmpResponse | Promise<QmpResponse> {
    if (item.error !== undefined) return errorResponse('GenericError', item.error, undefined, false);
    const req = item.value;
    if (!isDict(req)) return errorResponse('GenericError', 'QMP input must be a JSON object', undefined, false);
    const hasId = hasOwn(req, 'id');
    const id = req.id;
    const fail = (desc: string, errorClass: QmpErrorClass = 'GenericError'): QmpResponse =>
      errorResponse(errorClass, desc, id, hasId);

    // Members are checked in the request's QDict order, so the first complaint matches QEMU's.
    const allowOob = s.oobEnabled;
    let execKey: string | null = null;
    for (const key of qdictOrder(req)) {
      const value = req[key];
      if (key === 'execute' || (key === 'exec-oob' && allowOob)) {
        if (typeof value !== 'string') return fail(`QMP input member '${key}' must be a string`);
        if (execKey) return fail(`QMP input member '${key}' clashes with '${execKey}'`);
        execKey = key;
      } else if (key === 'arguments') {
        if (!isDict(value)) return fail("QMP input member 'arguments' must be an object");
      } else if (key !== 'id') {
        return fail(`QMP input member '${key}' is unexpected`);
      }
    }
    if (!execKey) return fail("QMP input lacks member 'execute'");

    const oob = !hasOwn(req, 'execute');
    const name = req[execKey] as string;
    const cmd = s.negotiated || name === QMP_CAPABILITIES ? this.commands.get(name) : undefined;
    if (!cmd) return fail(`The command ${name} has not been found`, 'CommandNotFound');
    if (oob && !cmd.allowOob) return fail(`The command ${name} does not support OOB`);
    if (!cmd.allowPreconfig && !this.machineReady()) {
      return fail(`The command '${name}' is permitted only after machine initialization has completed`);
    }
    const args = hasOwn(req, 'arguments') ? (req.arguments as Record<string, unknown>) : {};
    if (!cmd.allowExtraArgs) {
      const bad = checkArguments(args, cmd.args, this.unvisitedOrder);
      if (bad !== null) return fail(bad);
    }
    return this.invoke(cmd, args, session, id, hasId, oob);
  }

  private invoke(
    cmd: QmpCommandDef,
    args: Record<string, unknown>,
    session: QmpSession,
    id: unknown,
    hasId: boolean,
    oob: boolean,
  ): QmpResponse | Promise<QmpResponse> {
    const after: (() => void)[] = [];
    const ctx: QmpCallContext = { session, id: hasId ? id : undefined, oob, afterReply: (fn) => void after.push(fn) };
    const ok = (ret: unknown): QmpResponse => {
      const rsp: QmpResponse = { return: ret === undefined ? {} : ret };
      if (hasId) rsp.id = id;
      return withAfterReply(rsp, after);
    };
    const bad = (e: unknown): QmpResponse => {
      const rsp =
        e instanceof QmpError
          ? errorResponse(e.errorClass, e.desc, id, hasId)
          : errorResponse('GenericError', e instanceof Error ? e.message : String(e), id, hasId);
      return withAfterReply(rsp, after);
    };
    let ret: unknown;
    try {
      ret = cmd.handler(args, ctx);
    } catch (e) {
      return bad(e);
    }
    if (isThenable(ret)) return Promise.resolve(ret).then(ok, bad);
    return ok(ret);
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}

/** Callbacks to run after the reply is written travel with the reply (not serialized). */
const AFTER_REPLY = new WeakMap<QmpResponse, (() => void)[]>();

function withAfterReply(rsp: QmpResponse, after: (() => void)[]): QmpResponse {
  if (after.length) AFTER_REPLY.set(rsp, after);
  return rsp;
}

/** @internal used by the session once the reply is out. */
export function takeAfterReply(rsp: QmpResponse): (() => void)[] {
  const fns = AFTER_REPLY.get(rsp) ?? [];
  AFTER_REPLY.delete(rsp);
  return fns;
}
