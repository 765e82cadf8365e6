// QMP server: listeners (unix, TCP), streams (stdio), greeting, events.
// Unlike a QEMU monitor chardev, which serves one client at a time, every
// listener here serves any number of concurrent clients.

import { EventEmitter } from 'node:events';
import { lstatSync, promises as fsp, unlinkSync, type BigIntStats, type Stats } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { QmpDispatcher } from './dispatcher.js';
import type { JsonLimits } from './json-streamer.js';
import { toQmpJson } from './json-writer.js';
import { DEFAULT_MAX_OUTPUT_BACKLOG, QmpSession, type QmpTransport } from './session.js';

export interface QmpVersion {
  qemu: { micro: number; minor: number; major: number };
  package: string;
}

export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

export interface QmpServerOptions {
  /**
   * Runs the requests. Absent: the server greets and reads, but requests wait (in order, with the
   * usual flow control) until attachDispatcher() — QEMU's monitors exist before the machine
   * (softmmu/vl.c creates them before the board), their commands run once the main loop does.
   */
  dispatcher?: QmpDispatcher;
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

/** Default mode of a unix socket we create: owner only. */
export const DEFAULT_UNIX_SOCKET_MODE = 0o600;
const USEC_PER_MSEC = 1000;
const MSEC_PER_SEC = 1000;
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const UNIX_PATH_MAX = 107;
/** fs.mkdtemp() appends six characters. */
const MKDTEMP_SUFFIX = 6;
const STAGED_NAME = 's';

/** Wall clock with microseconds. */
export function wallClock(): QmpTimestamp {
  const ms = performance.timeOrigin + performance.now();
  const seconds = Math.floor(ms / MSEC_PER_SEC);
  const microseconds = Math.min(Math.floor((ms - seconds * MSEC_PER_SEC) * USEC_PER_MSEC), MSEC_PER_SEC * USEC_PER_MSEC - 1);
  return { seconds, microseconds };
}

interface UnixListener {
  server: net.Server;
  path: string;
  /** The socket file we created, to remove it on close only if it is still ours. */
  ino: number | null;
}

/** QEMU's server=on,wait=on: a listen call that returns only once a first client connected. */
export interface ListenWait {
  wait?: boolean;
  /** Runs when the socket listens and the wait for its first client begins (QEMU prints a line). */
  onWaiting?: () => void;
}

type StreamPair = Duplex | { input: Readable; output: Writable };

export class QmpServer extends EventEmitter {
  readonly version: QmpVersion;
  private now: () => QmpTimestamp;
  private attached: QmpDispatcher | undefined;
  /** Requests that arrived before a dispatcher was attached, released in arrival order. */
  private waiting: Array<() => void> = [];
  /** What sessions call: the dispatcher, or a wait for it. */
  private readonly handler: Pick<QmpDispatcher, 'handle'> = {
    handle: (item, session) => {
      const d = this.attached;
      if (d) return d.handle(item, session);
      return new Promise<void>((release) => this.waiting.push(release)).then(() => this.attached!.handle(item, session));
    },
  };
  private readonly limits: Partial<JsonLimits> | undefined;
  private readonly maxOutputBacklog: number;
  private readonly live = new Set<QmpSession>();
  /** Sessions closed gracefully whose transport is still flushing output to the client. */
  private readonly flushing = new Set<QmpSession>();
  private readonly unix: UnixListener[] = [];
  private readonly tcp: net.Server[] = [];
  private nextId = 1;

  constructor(opts: QmpServerOptions) {
    super();
    this.attached = opts.dispatcher;
    this.version = opts.version;
    this.now = opts.now ?? wallClock;
    this.limits = opts.limits;
    this.maxOutputBacklog = opts.maxOutputBacklog ?? DEFAULT_MAX_OUTPUT_BACKLOG;
  }

  get dispatcher(): QmpDispatcher {
    if (!this.attached) throw new Error('QmpServer: no dispatcher attached yet');
    return this.attached;
  }

  /**
   * Gives a server created without a dispatcher its dispatcher (and event clock); requests
   * that were waiting run now, each session's in arrival order.
   */
  attachDispatcher(dispatcher: QmpDispatcher, opts: { now?: () => QmpTimestamp } = {}): void {
    if (this.attached) throw new Error('QmpServer: a dispatcher is already attached');
    this.attached = dispatcher;
    if (opts.now) this.now = opts.now;
    const waiting = this.waiting;
    this.waiting = [];
    for (const release of waiting) release();
  }

  /** The greeting line (without CRLF). */
  greeting(oob = true): string {
    const { qemu, package: pkg } = this.version;
    return toQmpJson({
      QMP: {
        version: { qemu: { major: qemu.major, minor: qemu.minor, micro: qemu.micro }, package: pkg },
        capabilities: oob ? ['oob'] : [],
      },
    });
  }

  private eventLine = (name: string, data?: object): string => {
    const msg: Record<string, unknown> = { event: name, data, timestamp: this.now() };
    return toQmpJson(msg);
  };

  /**
   * Listen on a unix socket. A stale socket file at `path` is replaced (QEMU
   * unlinks it too); any other kind of file makes this fail (EADDRINUSE).
   * The socket never exists with more than `mode` (default 0600; QEMU just
   * leaves the umask's mode): it is bound under a umask that takes away what
   * `mode` lacks (bind(2) is synchronous inside listen()), and only missing
   * bits are added afterwards. Where the umask cannot be changed (a worker
   * thread) it is bound in a private directory instead and moved into place.
   * `wait`: resolve only once a first client has connected (QEMU's server=on,wait=on);
   * `onWaiting` runs when the socket listens and the wait begins.
   */
  async listenUnix(socketPath: string, opts: { mode?: number } & ListenWait = {}): Promise<void> {
    const mode = opts.mode ?? DEFAULT_UNIX_SOCKET_MODE;
    const target = path.resolve(socketPath);
    removeStaleSocket(target);
    const server = this.makeListener('unix');
    const old = currentUmask();
    if (old !== undefined) {
      // Only ever more restrictive than the process's umask, for anything created meanwhile too.
      let created: number;
      try {
        process.umask(old | (0o777 & ~mode));
        created = mode & ~old;
        server.listen(target);
      } finally {
        process.umask(old);
      }
      await listening(server);
      if (created !== mode) await fsp.chmod(target, mode);
    } else {
      await listenStaged(server, target, mode);
    }
    const ino = inode(target);
    this.unix.push({ server, path: target, ino });
    if (opts.wait) await firstConnection(server, opts.onWaiting);
  }

  /** Listen on TCP (default 127.0.0.1; port 0 picks a free port); `wait` as for listenUnix. */
  async listenTcp(host = '127.0.0.1', port = 0, opts: ListenWait = {}): Promise<{ host: string; port: number }> {
    const server = this.makeListener('tcp');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.tcp.push(server);
    const addr = server.address() as net.AddressInfo;
    if (opts.wait) await firstConnection(server, opts.onWaiting);
    return { host: addr.address, port: addr.port };
  }

  private makeListener(transport: QmpTransport): net.Server {
    const server = net.createServer((socket) => {
      const remote = transport === 'tcp' ? `${socket.remoteAddress}:${socket.remotePort}` : undefined;
      this.startSession(socket, socket, { oob: true }, transport, remote);
    });
    // A listener error after listen() (e.g. EMFILE) must not crash the process.
    server.on('error', (e) => this.listenerCount('error') && this.emit('error', e));
    return server;
  }

  /** Serve QMP on an existing stream: a duplex (socket) or an input/output pair (stdio). */
  attachStream(stream: StreamPair, opts: QmpStreamOptions = {}): QmpSession {
    const [input, output] = 'input' in stream && 'output' in stream ? [stream.input, stream.output] : [stream as Duplex, stream as Duplex];
    return this.startSession(input, output, opts, 'stream', undefined);
  }

  private startSession(input: Readable, output: Writable, opts: QmpStreamOptions, transport: QmpTransport, remote: string | undefined): QmpSession {
    const session = new QmpSession({
      id: this.nextId++,
      input,
      output,
      dispatcher: this.handler,
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
    for (const u of this.unix) {
      const st = await fsp.lstat(u.path).catch(() => null);
      if (st && st.isSocket() && st.ino === u.ino) await fsp.unlink(u.path).catch(() => undefined);
    }
    this.unix.length = 0;
    this.tcp.length = 0;
  }
}

/** The process's umask (leaving it at 0077 for the caller to set), or undefined in a worker thread. */
function currentUmask(): number | undefined {
  try {
    // process.umask() without an argument is deprecated (DEP0139): read it by setting one.
    return process.umask(0o077);
  } catch {
    return undefined;
  }
}

/** Resolves at the listener's first client, or when it is closed before one came. */
function firstConnection(server: net.Server, onWaiting?: () => void): Promise<void> {
  onWaiting?.();
  return new Promise((resolve) => {
    const done = (): void => {
      server.off('connection', done);
      server.off('close', done);
      resolve();
    };
    server.once('connection', done);
    server.once('close', done);
  });
}

/** Resolves once `server` listens (its bind already happened), rejects on its error. */
function listening(server: net.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (server.listening) return resolve();
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Binds in a fresh 0700 directory (nobody can connect meanwhile), sets the mode, moves it into place. */
async function listenStaged(server: net.Server, target: string, mode: number): Promise<void> {
  const stagingPrefix = path.join(path.dirname(target), '.qmp-');
  if (Buffer.byteLength(stagingPrefix) + MKDTEMP_SUFFIX + STAGED_NAME.length + 1 > UNIX_PATH_MAX) {
    // Too long a path to stage: bind in place and set the mode right after.
    server.listen(target);
    await listening(server);
    await fsp.chmod(target, mode);
    return;
  }
  const dir = await fsp.mkdtemp(stagingPrefix);
  const temp = path.join(dir, STAGED_NAME);
  try {
    server.listen(temp);
    await listening(server);
    await fsp.chmod(temp, mode);
    await fsp.rename(temp, target);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/**
 * lstat with BigInt results, on purpose: Node 20's realpathSync (lib/fs.js) reads the shared
 * result array of the last plain stat call when a path is in its cache, and if that last call saw
 * a socket it stops resolving symlinks — module resolution afterwards (the ESM loader's realpath)
 * then yields a second copy of every linked package. The BigInt variant has its own array.
 */
function lstatQuiet(target: string): Stats | BigIntStats | null {
  try {
    return lstatSync(target, { bigint: true });
  } catch {
    return null;
  }
}

function inode(target: string): number | null {
  const st = lstatQuiet(target);
  return st ? Number(st.ino) : null;
}

/**
 * Remove a leftover socket file; refuse to replace anything else. Synchronous, as QEMU's
 * unlink before bind: a local metadata call, and nothing can slip in between.
 */
function removeStaleSocket(target: string): void {
  const st = lstatQuiet(target);
  if (!st) return;
  // QEMU unlinks whatever is there; we only replace sockets, not files someone may want.
  if (!st.isSocket()) throw Object.assign(new Error(`listen EADDRINUSE: ${target} exists and is not a socket`), { code: 'EADDRINUSE' });
  try {
    unlinkSync(target);
  } catch {
    // gone already
  }
}
