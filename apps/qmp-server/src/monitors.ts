/**
 * QMP monitors without a machine yet. QEMU creates its monitors before the board
 * (softmmu/vl.c: monitors are set up before qemu_init_board), and a QMP monitor on a socket
 * accepts and greets from its own I/O thread: a client connecting while the machine is still
 * being built gets the greeting at once, and its commands run when the main loop starts.
 * EarlyMonitors does that part with nothing but sockets and the greeting loaded (the rest of
 * QMP and the machine load afterwards); PlugboardServer.create({ monitors }) takes them over,
 * and the requests that waited in the sockets are read then, in order.
 */
import net from 'node:net';
import { getSystemErrorMap } from 'node:util';
import { bindTcp, bindUnix, firstConnection, greetingLine, unlinkOwnSocket, type BoundUnix } from '@plugboard/qmp/listen';
import type { OpenedMonitors, QmpServer } from '@plugboard/qmp';

/** QAPI VersionInfo, members in schema order (the QMP writer gives QEMU's output order). */
export const QEMU_VERSION = { qemu: { major: 7, minor: 2, micro: 22 }, package: 'Plugboard 0.1.0' };

/**
 * `wait`: QEMU's server=on,wait=on — opening the monitor returns only once a client is connected.
 * `connect`: QEMU's socket chardev without server=on — the monitor connects out to a listener
 * and greets it (QEMU's own python test harness runs its machines that way).
 */
export type MonitorSpec =
  | { kind: 'unix'; path: string; wait?: boolean; connect?: boolean }
  | { kind: 'tcp'; host: string; port: number; wait?: boolean; connect?: boolean }
  | { kind: 'stdio' };

/** A monitor that could not connect out; the message is QEMU's ("Failed to connect to ..."). */
export class MonitorConnectError extends Error {}

/** Connects a client-mode monitor (chardev/char-socket.c): resolves with the connected socket. */
export function connectMonitor(spec: Extract<MonitorSpec, { kind: 'unix' | 'tcp' }>): Promise<net.Socket> {
  const target = spec.kind === 'unix' ? spec.path : `${spec.host}:${spec.port}`;
  return new Promise((resolve, reject) => {
    const socket = spec.kind === 'unix' ? net.connect(spec.path) : net.connect(spec.port, spec.host);
    socket.once('error', (e: NodeJS.ErrnoException) => reject(new MonitorConnectError(`Failed to connect to '${target}': ${strerror(e)}`)));
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/** glibc's strerror() text for a system error (libuv's text, capitalized as glibc's is). */
function strerror(e: NodeJS.ErrnoException): string {
  const text = typeof e.errno === 'number' ? getSystemErrorMap().get(e.errno)?.[1] : undefined;
  return text ? text[0]!.toUpperCase() + text.slice(1) : e.message;
}

/**
 * Opens one monitor on `qmp`: a unix socket (mode 0600), a TCP port, or this process's stdio.
 * With `wait`, `onWaiting` runs once the socket listens, before the wait for a first client.
 */
export async function listenMonitor(qmp: QmpServer, spec: MonitorSpec, onWaiting?: () => void): Promise<{ port?: number }> {
  if (spec.kind === 'stdio') {
    qmp.attachStream({ input: process.stdin, output: process.stdout });
    return {};
  }
  if (spec.connect) {
    qmp.attachStream(await connectMonitor(spec));
    return {};
  }
  const wait = { wait: spec.wait === true, ...(onWaiting ? { onWaiting } : {}) };
  if (spec.kind === 'unix') {
    await qmp.listenUnix(spec.path, wait);
    return {};
  }
  return qmp.listenTcp(spec.host, spec.port, wait);
}

const ignore = (): void => undefined;

/** Socket monitors opened before the machine: they greet, and keep each client's requests unread. */
export class EarlyMonitors implements OpenedMonitors {
  readonly unix: BoundUnix[] = [];
  readonly tcp: net.Server[] = [];
  readonly greeted: Array<{ socket: net.Socket; transport: 'unix' | 'tcp' }> = [];
  /** `-qmp stdio` monitors: attached (and greeted) when the server takes these over. */
  stdio = 0;
  private readonly greeting = greetingLine(QEMU_VERSION) + '\r\n';

  /** Opens `spec` as QEMU's chardev would: bound now, and with `wait`, only after a first client. */
  async open(spec: MonitorSpec, onWaiting?: () => void): Promise<void> {
    if (spec.kind === 'stdio') {
      this.stdio++;
      return;
    }
    const transport = spec.kind;
    const greet = (socket: net.Socket): void => {
      // A client that resets before the machine exists must not take the process down.
      socket.on('error', ignore);
      socket.write(this.greeting);
      this.greeted.push({ socket, transport });
    };
    if (spec.connect) {
      greet(await connectMonitor(spec));
      return;
    }
    const server = net.createServer(greet);
    server.on('error', ignore);
    const first = spec.wait ? firstConnection(server) : undefined;
    if (spec.kind === 'unix') this.unix.push(await bindUnix(server, spec.path));
    else {
      await bindTcp(server, spec.host, spec.port);
      this.tcp.push(server);
    }
    if (first) {
      onWaiting?.();
      await first;
    }
  }

  /** Start-up failed: disconnect the clients, stop listening, remove our socket files. */
  async close(): Promise<void> {
    for (const { socket } of this.greeted) socket.destroy();
    const servers = [...this.unix.map((u) => u.server), ...this.tcp];
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const u of this.unix) await unlinkOwnSocket(u);
  }
}
