/**
 * Shared by the fleet, reliability and CLI suites: clean-ups after each test, temporary
 * directories, polling, an in-memory QMP stream,
 * a raw socket client that keeps the server's bytes, and a watch on the dispatcher that tells
 * QEMU's errors (QmpError) from JavaScript exceptions leaking out as GenericError.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { QMP_ERROR_CLASSES, QmpClient, QmpError, type QmpDispatcher } from '@plugboard/qmp';
import { afterEach } from 'vitest';
import type { PlugboardServer } from '../../src/index.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A private directory under the system tmpdir, removed by the returned function. */
export function tempDir(tag: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `pb-${tag}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What to undo after each test of the calling file: push to it; it runs last first. */
export function afterEachCleanups(): Array<() => unknown> {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return cleanups;
}

/** Polls `f` every 20 ms until it returns something other than undefined; fails after `ms`. */
export async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A QmpClient talking to `server` through memory: no socket, same session code. */
export async function memoryClient(server: PlugboardServer): Promise<QmpClient> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  server.qmp.attachStream({ input: toServer, output: toClient });
  return QmpClient.connect(Duplex.from({ readable: toClient, writable: toServer }), { negotiate: true });
}

/** Runs `p` but fails (instead of hanging the suite) after `ms`. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, rej) => (t = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

/** Texts a JavaScript runtime error has; a QEMU error text never looks like these. */
const JS_ERROR_TEXT = /Cannot (read|set|convert|mix)|is not (a function|iterable|defined|a constructor)|of undefined|of null|BigInt|Maximum call stack|Invalid (array|string) length|Unexpected token|internal error/;

export interface Leak {
  command: string;
  error: string;
}

/**
 * Wraps every registered command so a handler that throws anything but a QmpError (a bug: the
 * dispatcher would turn its message into a GenericError) is recorded. Returns the record.
 */
export function watchLeaks(d: QmpDispatcher): Leak[] {
  const leaks: Leak[] = [];
  for (const name of d.names()) {
    const def = d.get(name)!;
    d.register({
      ...def,
      handler: (args, ctx) => {
        const note = (e: unknown): never => {
          if (!(e instanceof QmpError)) leaks.push({ command: name, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
          throw e;
        };
        try {
          const r = def.handler(args, ctx);
          return r instanceof Promise ? r.catch(note) : r;
        } catch (e) {
          return note(e);
        }
      },
    });
  }
  return leaks;
}

/** What is wrong with a server message (reply or event), or null if it is a QEMU-shaped one. */
export function badMessage(m: Record<string, unknown>): string | null {
  if ('QMP' in m) return null; // the greeting
  if ('event' in m) return typeof m.event === 'string' && typeof m.timestamp === 'object' ? null : 'malformed event';
  if ('return' in m) return null;
  const e = m.error as { class?: unknown; desc?: unknown } | undefined;
  if (!e || typeof e !== 'object') return 'neither return, error nor event';
  if (!(QMP_ERROR_CLASSES as readonly unknown[]).includes(e.class)) return `unknown error class ${String(e.class)}`;
  if (typeof e.desc !== 'string' || e.desc === '') return 'empty error desc';
  if (JS_ERROR_TEXT.test(e.desc)) return `JavaScript error text: ${e.desc}`;
  return null;
}

/**
 * A raw socket client: writes bytes as given, keeps every message the server sends. Messages
 * are CRLF-terminated lines (QEMU escapes CR and LF inside strings). QEMU prints a non-finite
 * double as `inf`/`-inf`/`nan` (printf "%.17g"), which is not JSON: such members are read as null.
 */
export class RawClient {
  readonly messages: Record<string, unknown>[] = [];
  /** Lines that are not a JSON object even so. */
  readonly garbage: string[] = [];
  /** Messages that carried a non-finite number. */
  nonFinite = 0;
  closed = false;
  private pending: Buffer[] = [];
  private readonly waiters = new Set<() => void>();

  private onLine(line: string): void {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      try {
        v = JSON.parse(line.replace(/(?<=[:,] |\[)-?(inf|nan)(?=[,}\]])/g, 'null'));
        this.nonFinite++;
      } catch {
        v = undefined;
      }
    }
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) this.messages.push(v as Record<string, unknown>);
    else this.garbage.push(line.slice(0, 200));
    this.wake();
  }

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      // Chunks are joined only when a line ends, so a reply of many MiB costs one copy.
      const prev = this.pending.length ? this.pending[this.pending.length - 1]! : undefined;
      const edge = prev && prev[prev.length - 1] === 0x0d && d[0] === 0x0a;
      if (d.indexOf('\r\n') < 0 && !edge) return void this.pending.push(d);
      const buf = Buffer.concat([...this.pending, d]);
      this.pending = [];
      let at = 0;
      let i: number;
      while ((i = buf.indexOf('\r\n', at)) >= 0) {
        this.onLine(buf.toString('utf8', at, i));
        at = i + 2;
      }
      if (at < buf.length) this.pending.push(buf.subarray(at));
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(target: string | { host: string; port: number }): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = typeof target === 'string' ? net.connect(target) : net.connect(target.port, target.host);
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once `pred` holds for the messages received (checked on every arrival). */
  async until(pred: (msgs: Record<string, unknown>[]) => boolean, timeoutMs = 5000, what = 'messages'): Promise<void> {
    if (pred(this.messages)) return;
    await within(
      timeoutMs,
      `${what} (have ${this.messages.length}, closed=${this.closed})`,
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (pred(this.messages)) {
            this.waiters.delete(check);
            resolve();
          } else if (this.closed) {
            this.waiters.delete(check);
            reject(new Error(`connection closed while waiting for ${what}`));
          }
        };
        this.waiters.add(check);
      }),
    );
  }

  /** Waits for the reply carrying `id`. */
  async reply(id: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
    await this.until((m) => m.some((x) => x.id === id), timeoutMs, `reply ${id}`);
    return this.messages.find((x) => x.id === id)!;
  }

  write(data: string | Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  async negotiate(): Promise<void> {
    this.write('{"execute": "qmp_capabilities", "id": "neg"}\n');
    const r = await this.reply('neg');
    if (!('return' in r)) throw new Error(`negotiation failed: ${JSON.stringify(r)}`);
  }

  events(): Record<string, unknown>[] {
    return this.messages.filter((m) => 'event' in m);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** An event as a comparable string (name, data and timestamp). */
export const eventKey = (e: Record<string, unknown>): string => JSON.stringify([e.event, e.data ?? null, e.timestamp]);
