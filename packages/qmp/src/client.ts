// A small promise-based QMP client, for tests and the CLI's client
// subcommands. Works against Plugboard and against real QEMU.

import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { QmpError, type QmpErrorClass } from './errors.js';
import { JsonStreamer, type JsonLimits } from './json-streamer.js';
import { toQmpJson } from './json-writer.js';

export interface QmpGreeting {
  QMP: { version: { qemu: { micro: number; minor: number; major: number }; package: string }; capabilities: string[] };
}

export interface QmpEventMessage {
  event: string;
  data?: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

/** Where to connect: a unix socket path, a TCP address, or an already connected stream. */
export type QmpTarget = string | { host?: string; port: number } | Duplex;

export interface QmpConnectOptions {
  /** Give up connecting / waiting for the greeting after this long (default 10 s). */
  timeoutMs?: number;
  /** Run qmp_capabilities right away, optionally enabling these capabilities. */
  negotiate?: boolean | string[];
  /** Limits for parsing what the server sends (default: CLIENT_JSON_LIMITS). */
  limits?: Partial<JsonLimits>;
}

/**
 * A server's replies are trusted to be well-formed but may be far larger than
 * QEMU accepts as input (a reply echoing a 64 MiB string grows with escaping).
 */
export const CLIENT_JSON_LIMITS: Readonly<JsonLimits> = Object.freeze({
  maxTokenSize: 1024 * 1024 * 1024,
  maxTokenCount: 64 * 1024 * 1024,
  maxNesting: 64 * 1024,
});

interface Pending {
  id: unknown;
  hasId: boolean;
  resolve(rsp: Record<string, unknown>): void;
  reject(err: Error): void;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Events: 'event' (QmpEventMessage), 'message' (every message received, after
 * the greeting), 'close'. Replies are matched to requests by `id` when the
 * reply carries one, else in order (QEMU answers in-band requests in order).
 */
export class QmpClient extends EventEmitter {
  greeting: QmpGreeting | null = null;
  private readonly pending: Pending[] = [];
  private readonly streamer: JsonStreamer;
  private nextId = 1;
  private closed = false;
  private greetingWaiter: { resolve(g: QmpGreeting): void; reject(e: Error): void } | null = null;

  private constructor(
    private readonly stream: Duplex,
    limits: Partial<JsonLimits> = {},
  ) {
    super();
    // A server never sends malformed JSON; if one did, the bad message is skipped.
    this.streamer = new JsonStreamer((item) => item.error === undefined && this.onItem(item.value), {
      limits: { ...CLIENT_JSON_LIMITS, ...limits },
    });
    stream.on('data', (chunk: Buffer) => this.streamer.feed(chunk));
    stream.on('error', () => this.onClose());
    stream.on('close', () => this.onClose());
    stream.on('end', () => this.onClose());
  }

  /** Connect, wait for the greeting and (if asked) negotiate capabilities. */
  static async connect(target: QmpTarget, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const stream = typeof target === 'string' || !('pipe' in target) ? await openSocket(target as string | { host?: string; port: number }, timeoutMs) : target;
    const client = new QmpClient(stream, opts.limits);
    await client.waitGreeting(timeoutMs);
    if (opts.negotiate) await client.negotiate(Array.isArray(opts.negotiate) ? opts.negotiate : []);
    return client;
  }

  private waitGreeting(timeoutMs: number): Promise<QmpGreeting> {
    if (this.greeting) return Promise.resolve(this.greeting);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.stream.destroy();
        reject(new Error('QMP: no greeting'));
      }, timeoutMs);
      this.greetingWaiter = {
        resolve: (g) => {
          clearTimeout(timer);
          resolve(g);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  private onItem(msg: unknown): void {
    if (!isDict(msg)) return;
    if (!this.greeting && isDict(msg.QMP)) {
      this.greeting = msg as unknown as QmpGreeting;
      this.greetingWaiter?.resolve(this.greeting);
      this.greetingWaiter = null;
      return;
    }
    this.emit('message', msg);
    if (typeof msg.event === 'string' && !('return' in msg) && !('error' in msg)) {
      this.emit('event', msg as unknown as QmpEventMessage);
      return;
    }
    let at = -1;
    if ('id' in msg) {
      const key = toQmpJson(msg.id);
      at = this.pending.findIndex((p) => p.hasId && toQmpJson(p.id) === key);
    }
    if (at < 0) at = this.pending.findIndex((p) => !p.hasId);
    if (at < 0) at = 0;
    const p = this.pending.splice(at, 1)[0];
    p?.resolve(msg);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.splice(0)) p.reject(new Error('QMP: connection closed'));
    this.greetingWaiter?.reject(new Error('QMP: connection closed before the greeting'));
    this.greetingWaiter = null;
    this.emit('close');
  }

  /** qmp_capabilities, optionally enabling capabilities such as 'oob'. */
  async negotiate(enable: string[] = []): Promise<void> {
    await this.execute('qmp_capabilities', enable.length ? { enable } : undefined);
  }

  /**
   * Send a raw request object and resolve with the whole reply, error or not.
   * Its `id`, if any, is used to match the reply.
   */
  request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new Error('QMP: connection closed'));
    return new Promise((resolve, reject) => {
      const hasId = Object.prototype.hasOwnProperty.call(message, 'id');
      this.pending.push({ id: message.id, hasId, resolve, reject });
      this.stream.write(toQmpJson(message) + '\n');
    });
  }

  /** Run a command; resolves with its `return` value, rejects with QmpError. */
  async execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { oob?: boolean } = {}): Promise<T> {
    const msg: Record<string, unknown> = { [opts.oob ? 'exec-oob' : 'execute']: command };
    if (args !== undefined) msg.arguments = args;
    msg.id = `pb-${this.nextId++}`;
    const rsp = await this.request(msg);
    if (isDict(rsp.error)) throw new QmpError(rsp.error.class as QmpErrorClass, String(rsp.error.desc));
    return rsp.return as T;
  }

  /** Write bytes as they are (for testing error handling); replies arrive as 'message' events. */
  sendRaw(data: string | Uint8Array): void {
    this.stream.write(data);
  }

  /** Wait for the next event, optionally of one name. */
  nextEvent(name?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<QmpEventMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('event', onEvent);
        reject(new Error(`QMP: no ${name ?? ''} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const onEvent = (e: QmpEventMessage): void => {
        if (name !== undefined && e.event !== name) return;
        clearTimeout(timer);
        this.off('event', onEvent);
        resolve(e);
      };
      this.on('event', onEvent);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Close the connection; resolves once it is closed. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.once('close', () => resolve());
      this.stream.end();
      setImmediate(() => this.stream.destroy());
    });
  }
}

function openSocket(target: string | { host?: string; port: number }, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      typeof target === 'string' ? net.connect(target) : net.connect({ host: target.host ?? '127.0.0.1', port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('QMP: connect timed out'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (e: Error): void => {
      clearTimeout(timer);
      reject(e);
    };
    socket.once('error', onError);
  });
}
