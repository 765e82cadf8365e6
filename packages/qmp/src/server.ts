// QMP server: listeners (unix, TCP), streams (stdio), greeting, events.
// Unlike a QEMU monitor chardev, which serves one client at a time, every
// listener here serves any number of concurrent clients.

import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { QmpDispatcher } from './dispatcher.js';
import type { JsonLimits } from './json-streamer.js';
import { toQmpJson } from './json-writer.js';
import {
  DEFAULT_UNIX_SOCKET_MODE, bindTcp, bindUnix, firstConnection, greetingLine, unlinkOwnSocket, type BoundUnix, type ListenWait, type QmpVersion,
} from './listen.js';
import { DEFAULT_MAX_OUTPUT_BACKLOG, QmpSession, type QmpTransport } from './session.js';

export type { QmpVersion };

export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

export interface QmpServerOptions {
  dispatcher: QmpDispatcher;
  /** Reported in the greeting (and usable for query-version). */
  version: QmpVersion;
  /** Event timestamps; default: wall clock, like QEMU's g_get_real_time(). */
  now?: () => QmpTimestamp;
  /** JSON input limits per message (default QEMU's: 64 MiB, 2 Mi tokens, depth 1024). */
  limits?: Partial<JsonLimits>;
  /** See DEFAULT_MAX_OUTPUT_BACKLOG. */
  maxOutputBacklog?: number;
}

export interface QmpStreamOptions {
  /** Offer "oob" in the greeting (QEMU does for monitors that can run commands out of band). Default true. */
  oob?: boolean;
}

/**
 * How long closing a server lets a client take its last output (SHUTDOWN, a last reply)
 * before the connection is cut. QEMU's process just exits; a local client that reads gets
 * its output within milliseconds.
 */
export const DEFAULT_CLOSE_GRACE_MS = 1000;

const USEC_PER_MSEC = 1000;
const MSEC_PER_SEC = 1000;

/** Wall clock with microseconds. */
export function wallClock(): QmpTimestamp {
  const ms = performance.timeOrigin + performance.now();
  const seconds = Math.floor(ms / MSEC_PER_SEC);
  const microseconds = Math.min(Math.floor((ms - seconds * MSEC_PER_SEC) * USEC_PER_MSEC), MSEC_PER_SEC * USEC_PER_MSEC - 1);
  return { seconds, microseconds };
}

/**
 * Monitors opened before this server existed (a command line opens them before it loads the
 * machine, as QEMU does): bound listeners, and connections already greeted whose requests wait
 * unread in their sockets.
 */
export interface OpenedMonitors {
  unix: BoundUnix[];
  tcp: net.Server[];
  greeted: Array<{ socket: net.Socket; transport: 'unix' | 'tcp' }>;
}

type StreamPair = Duplex | { input: Readable; output: Writable };

export class QmpServer extends EventEmitter {
  readonly dispatcher: QmpDispatcher;
  readonly version: QmpVersion;
  private readonly now: () => QmpTimestamp;
  private readonly limits: Partial<JsonLimits> | undefined;
  private readonly maxOutputBacklog: number;
  private readonly live = new Set<QmpSession>();
  /** Sessions closed gracefully whose transport is still flushing output to the client. */
  private readonly flushing = new Set<QmpSession>();
  private readonly unix: BoundUnix[] = [];
  private readonly tcp: net.Server[] = [];
  private nextId = 1;

  constructor(opts: QmpServerOptions) {
    super();
    this.dispatcher = opts.dispatcher;
    this.version = opts.version;
    this.now = opts.now ?? wallClock;
    this.limits = opts.limits;
    this.maxOutputBacklog = opts.maxOutputBacklog ?? DEFAULT_MAX_OUTPUT_BACKLOG;
  }

  /** The greeting line (without CRLF). */
  greeting(oob = true): string {
    return greetingLine(this.version, oob);
  }

  private eventLine = (name: string, data?: object): string => {
    const msg: Record<string, unknown> = { event: name, data, timestamp: this.now() };
    return toQmpJson(msg);
  };

  /**
   * Listen on a unix socket with mode `mode` (default 0600), replacing a stale socket file
   * (listen.ts bindUnix). `wait`: resolve only once a first client has connected (QEMU's
   * server=on,wait=on); `onWaiting` runs when the socket listens and the wait begins.
   */
  async listenUnix(socketPath: string, opts: { mode?: number } & ListenWait = {}): Promise<void> {
    const server = this.makeListener('unix');
    const first = opts.wait ? firstConnection(server) : undefined;
    this.unix.push(await bindUnix(server, socketPath, opts.mode ?? DEFAULT_UNIX_SOCKET_MODE));
    await waitFor(first, opts.onWaiting);
  }

  /** Listen on TCP (default 127.0.0.1; port 0 picks a free port); `wait` as for listenUnix. */
  async listenTcp(host = '127.0.0.1', port = 0, opts: ListenWait = {}): Promise<{ host: string; port: number }> {
    const server = this.makeListener('tcp');
    const first = opts.wait ? firstConnection(server) : undefined;
    const addr = await bindTcp(server, host, port);
    this.tcp.push(server);
    await waitFor(first, opts.onWaiting);
    return addr;
  }

  /**
   * Takes over monitors opened before this server (OpenedMonitors): their listeners serve here
   * from now on, and each connection already greeted becomes a session, its waiting requests
   * read in order. A connection that went away meanwhile is dropped.
   */
  adopt(m: OpenedMonitors): void {
    const take = (server: net.Server, transport: QmpTransport): void => {
      server.removeAllListeners('connection');
      server.on('connection', (socket: net.Socket) => this.acceptSocket(socket, transport));
      server.on('error', (e) => this.listenerCount('error') && this.emit('error', e));
    };
    for (const u of m.unix) {
      take(u.server, 'unix');
      this.unix.push(u);
    }
    for (const t of m.tcp) {
      take(t, 'tcp');
      this.tcp.push(t);
    }
    for (const { socket, transport } of m.greeted) {
      if (socket.destroyed || socket.readableEnded) continue;
      this.startSession(socket, socket, { oob: true }, transport, remoteOf(socket, transport), true);
    }
  }

  private makeListener(transport: QmpTransport): net.Server {
    const server = net.createServer((socket) => this.acceptSocket(socket, transport));
    // A listener error after listen() (e.g. EMFILE) must not crash the process.
    server.on('error', (e) => this.listenerCount('error') && this.emit('error', e));
    return server;
  }

  private acceptSocket(socket: net.Socket, transport: QmpTransport): void {
    this.startSession(socket, socket, { oob: true }, transport, remoteOf(socket, transport));
  }

  /** Serve QMP on an existing stream: a duplex (socket) or an input/output pair (stdio). */
  attachStream(stream: StreamPair, opts: QmpStreamOptions = {}): QmpSession {
    const [input, output] = 'input' in stream && 'output' in stream ? [stream.input, stream.output] : [stream as Duplex, stream as Duplex];
    return this.startSession(input, output, opts, 'stream', undefined);
  }

  private startSession(input: Readable, output: Writable, opts: QmpStreamOptions, transport: QmpTransport, remote: string | undefined, greeted = false): QmpSession {
    const session = new QmpSession({
      greeted,
      id: this.nextId++,
      input,
      output,
      dispatcher: this.dispatcher,
      greeting: (oob) => this.greeting(oob),
      eventLine: this.eventLine,
      oobOffered: opts.oob ?? true,
      limits: this.limits,
      maxOutputBacklog: this.maxOutputBacklog,
      transport,
      remoteAddress: remote,
    });
    this.live.add(session);
    session.once('close', () => {
      this.live.delete(session);
      if (!session.flushing) return;
      this.flushing.add(session);
      const gone = (): void => void this.flushing.delete(session);
      output.once('close', gone);
      output.once('finish', gone);
    });
    this.emit('session', session);
    return session;
  }

  /**
   * Send an event to every client that has finished negotiation, in QEMU's
   * format: {"timestamp": {...}, "event": NAME, "data": {...}} (no "data"
   * member when `data` is undefined).
   */
  emitEvent(name: string, data?: object): void {
    let line: string | null = null;
    for (const s of this.live) {
      if (!s.negotiated) continue;
      line ??= this.eventLine(name, data);
      s.deliverEvent(line);
    }
  }

  /** Connected clients, in connection order. */
  sessions(): QmpSession[] {
    return [...this.live];
  }

  /**
   * Stop listening, remove our socket files and disconnect every client. A session still
   * flushing after a graceful close (QmpSession.close()) gets `graceMs` more to deliver its
   * output, then is cut off: a client that stopped reading cannot hold the server open.
   */
  async close(opts: { graceMs?: number } = {}): Promise<void> {
    const servers = [...this.unix.map((u) => u.server), ...this.tcp];
    const closing = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const s of [...this.live]) s.destroy();
    const flushing = [...this.flushing];
    this.flushing.clear();
    await Promise.all(flushing.map((s) => s.close(opts.graceMs ?? DEFAULT_CLOSE_GRACE_MS)));
    await Promise.all(closing);
    for (const u of this.unix) await unlinkOwnSocket(u);
    this.unix.length = 0;
    this.tcp.length = 0;
  }
}

/** With a wait, tells `onWaiting` it begins and waits for the first client. */
async function waitFor(first: Promise<void> | undefined, onWaiting: (() => void) | undefined): Promise<void> {
  if (!first) return;
  onWaiting?.();
  await first;
}

function remoteOf(socket: net.Socket, transport: QmpTransport): string | undefined {
  return transport === 'tcp' ? `${socket.remoteAddress}:${socket.remotePort}` : undefined;
}
