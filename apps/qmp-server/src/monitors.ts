/**
 * QMP monitors without a machine yet. QEMU creates its monitors before the board
 * (softmmu/vl.c: monitors are set up before qemu_init_board), and a QMP monitor on a socket
 * accepts and greets from its own I/O thread: a client connecting while the machine is still
 * being built gets the greeting at once, and its commands run when the main loop starts.
 * This module imports nothing of the machine, so a command line opens its monitors before it
 * loads the device models (the CLI's start-up); PlugboardServer adopts them later.
 */
import { QmpServer } from '@plugboard/qmp';

export type { QmpServer };

/** QAPI VersionInfo, members in schema order (the QMP writer gives QEMU's output order). */
export const QEMU_VERSION = { qemu: { major: 7, minor: 2, micro: 22 }, package: 'Plugboard 0.1.0' };

/** `wait`: QEMU's server=on,wait=on — opening the monitor returns only once a client is connected. */
export type MonitorSpec =
  | { kind: 'unix'; path: string; wait?: boolean }
  | { kind: 'tcp'; host: string; port: number; wait?: boolean }
  | { kind: 'stdio' };

/**
 * Opens one monitor on `qmp`: a unix socket (mode 0600), a TCP port, or this process's stdio.
 * With `wait`, `onWaiting` runs once the socket listens, before the wait for a first client.
 */
export async function listenMonitor(qmp: QmpServer, spec: MonitorSpec, onWaiting?: () => void): Promise<{ port?: number }> {
  if (spec.kind === 'stdio') {
    qmp.attachStream({ input: process.stdin, output: process.stdout });
    return {};
  }
  const wait = { wait: spec.wait === true, ...(onWaiting ? { onWaiting } : {}) };
  if (spec.kind === 'unix') {
    await qmp.listenUnix(spec.path, wait);
    return {};
  }
  return qmp.listenTcp(spec.host, spec.port, wait);
}

/**
 * A QMP server with no dispatcher yet: clients are greeted, their requests wait for
 * PlugboardServer.create({ monitors }) to attach the machine's dispatcher.
 */
export function createMonitors(): QmpServer {
  return new QmpServer({ version: QEMU_VERSION });
}
