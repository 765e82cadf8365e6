// Listening sockets and the greeting, without the rest of the protocol: what a command line
// needs to open its monitors before it loads anything else (QEMU creates its monitors before
// the board, softmmu/vl.c), and what QmpServer listens with. Subpath `@plugboard/qmp/listen`.

import { lstatSync, promises as fsp, unlinkSync, type BigIntStats, type Stats } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { toQmpJson } from './json-writer.js';

export interface QmpVersion {
  qemu: { micro: number; minor: number; major: number };
  package: string;
}

/** Default mode of a unix socket we create: owner only. */
export const DEFAULT_UNIX_SOCKET_MODE = 0o600;
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const UNIX_PATH_MAX = 107;
/** fs.mkdtemp() appends six characters. */
const MKDTEMP_SUFFIX = 6;
const STAGED_NAME = 's';

/** QEMU's server=on,wait=on: a listen call that returns only once a first client connected. */
export interface ListenWait {
  wait?: boolean;
  /** Runs when the socket listens and the wait for its first client begins (QEMU prints a line). */
  onWaiting?: () => void;
}

/** A unix socket we bound; `ino` identifies our file, so that close removes only ours. */
export interface BoundUnix {
  server: net.Server;
  path: string;
  ino: number | null;
}

/** The greeting line (without CRLF), monitor/qmp.c qmp_greeting(). */
export function greetingLine(version: QmpVersion, oob = true): string {
  const { qemu, package: pkg } = version;
  return toQmpJson({
    QMP: {
      version: { qemu: { major: qemu.major, minor: qemu.minor, micro: qemu.micro }, package: pkg },
      capabilities: oob ? ['oob'] : [],
    },
  });
}

/**
 * Binds `server` to a unix socket. A stale socket file at the path is replaced (QEMU unlinks it
 * too); any other kind of file makes this fail (EADDRINUSE). The socket never exists with more
 * than `mode` (QEMU just leaves the umask's mode): it is bound under a umask that takes away what
 * `mode` lacks (bind(2) is synchronous inside listen()), and only missing bits are added
 * afterwards. Where the umask cannot be changed (a worker thread) it is bound in a private
 * directory instead and moved into place.
 */
export async function bindUnix(server: net.Server, socketPath: string, mode = DEFAULT_UNIX_SOCKET_MODE): Promise<BoundUnix> {
  const target = path.resolve(socketPath);
  removeStaleSocket(target);
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
  return { server, path: target, ino: inode(target) };
}

/** Binds `server` to TCP (port 0 picks a free port). */
export async function bindTcp(server: net.Server, host: string, port: number): Promise<{ host: string; port: number }> {
  server.listen(port, host);
  await listening(server);
  const addr = server.address() as net.AddressInfo;
  return { host: addr.address, port: addr.port };
}

/**
 * Resolves at the listener's first client, or when it is closed before one came. Call it before
 * binding: a client may connect while the bind's own awaits run.
 */
export function firstConnection(server: net.Server): Promise<void> {
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

/** Removes the socket file of `u` if it is still the one we bound. */
export async function unlinkOwnSocket(u: BoundUnix): Promise<void> {
  const st = await fsp.lstat(u.path).catch(() => null);
  if (st && st.isSocket() && st.ino === u.ino) await fsp.unlink(u.path).catch(() => undefined);
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
