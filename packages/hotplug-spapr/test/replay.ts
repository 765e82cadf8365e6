/**
 * Replays a recorded QEMU 7.2 transcript against a board built from the same command line and
 * collects what Plugboard answers, for comparison: replies (return value or error class and
 * text) and the events each request caused.
 */
import { QemuError, deviceAdd, deviceDel, deviceListProperties, qomGet, qomList, type MachineEvent } from '@plugboard/qdev';
import { addMemoryBackend, hotplugSpaprPlugin, spaprConstants as K } from '../src/index.js';
import { buildPseries, type Board, type BoardOptions } from './board.js';
import { devicesOf, requests, transcript, type Exchange } from './fixtures.js';

const MiB = 1024 * 1024;
const size = (s: string): number => {
  const m = /^(\d+)([MG]?)$/.exec(s)!;
  return Number(m[1]) * (m[2] === 'G' ? 1024 * MiB : m[2] === 'M' ? MiB : 1);
};

/** Board options from a QEMU argv: -m, -smp, -global, -object memory-backend-ram, -device. */
export function boardFor(argv: string[]): BoardOptions {
  const o: BoardOptions = { devices: devicesOf(argv), globals: [] };
  const objects: Array<{ id: string; size: number }> = [];
  argv.forEach((a, i) => {
    const v = argv[i + 1] ?? '';
    if (a === '-m') {
      const [ram, ...rest] = v.split(',');
      o.ramSize = size(ram!);
      for (const kv of rest) {
        const [k, x] = kv.split('=') as [string, string];
        if (k === 'maxmem') o.maxRamSize = size(x);
        if (k === 'slots') o.ramSlots = Number(x);
      }
    }
    if (a === '-smp') {
      const [cpus, ...rest] = v.split(',');
      o.smp = { cpus: Number(cpus) };
      for (const kv of rest) if (kv.startsWith('maxcpus=')) o.smp.maxCpus = Number(kv.slice(8));
    }
    if (a === '-global') {
      const [lhs, value] = v.split('=') as [string, string];
      const dot = lhs.indexOf('.');
      o.globals!.push({ driver: lhs.slice(0, dot), property: lhs.slice(dot + 1), value });
    }
    if (a === '-object' && v.startsWith('memory-backend-ram')) {
      const kv = Object.fromEntries(v.split(',').slice(1).map((x) => x.split('=') as [string, string]));
      objects.push({ id: kv.id!, size: size(kv.size!) });
    }
  });
  o.beforeDevices = (m) => objects.forEach((b) => addMemoryBackend(m, b.id, b.size));
  return o;
}

export interface Outcome {
  request: Exchange['send'];
  note?: string;
  reply: { return?: unknown; error?: { class: string; desc: string } };
  events: MachineEvent[];
}

/** What Plugboard answers to one request. */
export function execute(b: Board, send: NonNullable<Exchange['send']>): Outcome['reply'] {
  const a = (send.arguments ?? {}) as Record<string, never>;
  const m = b.machine;
  try {
    switch (send.execute) {
      case 'device_add': deviceAdd(m, a); return { return: {} };
      case 'device_del': deviceDel(m, a.id); return { return: {} };
      case 'qom-list': return { return: qomList(m, a.path) };
      case 'qom-get': return { return: qomGet(m, a.path, a.property) };
      case 'system_reset': m.systemReset({ guest: false, reason: 'host-qmp-system-reset' }); return { return: {} };
      case 'cont': m.cont(); return { return: {} };
      case 'query-status': return { return: { status: m.runState, singlestep: false, running: m.runState === 'running' } };
      case 'device-list-properties': return { return: deviceListProperties(m.registry, a.typename) };
      default: {
        const c = (hotplugSpaprPlugin.qmpCommands ?? []).find((x) => x.name === send.execute);
        if (!c) return { return: '(not replayed)' };
        return { return: c.handler(a, { machine: m }) };
      }
    }
  } catch (e) {
    if (e instanceof QemuError) return { error: { class: e.errorClass, desc: e.message } };
    throw e;
  }
}

/** Replays every request of a fixture: QEMU's exchange beside Plugboard's outcome. */
export function replay(name: string): Array<{ qemu: Exchange; ours: Outcome }> {
  const b = buildPseries(boardFor(transcript(name).argv));
  return requests(name).map((ex) => {
    const before = b.events.length;
    const reply = execute(b, ex.send!);
    return { qemu: ex, ours: { request: ex.send, ...(ex.note ? { note: ex.note } : {}), reply, events: b.events.slice(before) } };
  });
}

/** Events as [name, data] without timestamps. */
export const eventList = (evs: Array<{ event?: string; name?: string; data?: Record<string, unknown> }>) =>
  evs.map((e) => [e.event ?? e.name, e.data ?? {}]);

/** A qtest recording's step: a QMP request or an RTAS call, with what followed it until the next. */
export interface QtestStep {
  what: string;
  qemu: { reply?: unknown; rets?: number[]; events: Array<{ event?: string; data?: Record<string, unknown> }> };
  ours: { reply?: unknown; rets?: number[]; events: MachineEvent[] };
}

interface RawExchange extends Omit<Exchange, 'send'> {
  action?: string;
  send?: Exchange['send'] | string;
  rtas?: { name: string; args: number[]; nret: number };
  rets?: string[];
}

/**
 * Replays a recording made through QEMU's qtest socket (scripts/record-qemu-ppc.mjs qtestScenarios):
 * QMP requests as replay() does, RTAS calls through the guest port. QEMU's events of the `wait`
 * exchanges after a step belong to that step (QEMU acts on a guest request from its main loop).
 * Without -no-shutdown QEMU exits at a shutdown: the host's part (exit) is not replayed.
 */
export function replayQtest(name: string): QtestStep[] {
  const t = transcript(name);
  const b = buildPseries(boardFor(t.argv));
  if (t.argv.includes('-no-reboot')) b.machine.rebootAction = 'shutdown';
  if (!t.argv.includes('-no-shutdown')) b.machine.onShutdownRequest((c) => b.machine.events.emit('SHUTDOWN', { guest: c.guest, reason: c.reason }));
  const steps: QtestStep[] = [];
  for (const ex of t.exchanges as RawExchange[]) {
    if (ex.action === 'wait') {
      steps.at(-1)?.qemu.events.push(...(ex.events ?? []));
      continue;
    }
    if (ex.action === 'exit' || ex.action === 'reconnect') continue;
    const before = b.events.length;
    if (ex.action === 'qtest') {
      const { name: call, args, nret } = ex.rtas!;
      // The recorder fills the return words with 0xdeadbeef first: those a call does not store keep it.
      const stored = b.gv.rtas(K.rtasToken(call as K.RtasCallName), args.map((a) => a >>> 0), nret).map((v) => v >>> 0);
      const rets = Array.from({ length: nret }, (_, i) => stored[i] ?? 0xdeadbeef);
      const qrets = (ex.rets ?? []).map((r) => Number(BigInt(r.replace(/^OK /, ''))) >>> 0);
      steps.push({
        what: `${ex.send as string}${ex.note ? ` (${ex.note})` : ''}`,
        qemu: { rets: qrets, events: [] },
        // Linux does not read the return of a call that does not come back: nor does the recording.
        ours: { rets: rets.slice(0, qrets.length), events: b.events.slice(before) },
      });
      continue;
    }
    const send = ex.send as NonNullable<Exchange['send']>;
    if (send.execute === 'qmp_capabilities') continue;
    const reply = execute(b, send);
    steps.push({
      what: `${JSON.stringify(send)}${ex.note ? ` (${ex.note})` : ''}`,
      qemu: { reply: ex.replies[0], events: [...(ex.events ?? [])] },
      ours: { reply, events: b.events.slice(before) },
    });
  }
  return steps;
}
