// Shared test helpers: a dispatcher with a few QEMU commands (schemas as in
// QEMU 7.2's qapi/*.json), temporary socket paths, and a raw line-based
// connection for byte-exact checks.

import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
// qmp depends on nothing: QEMU's choice among several unexpected arguments is GLib's hash-table
// order, which the server injects from qdev. The transcripts come from QEMU, so the tests inject it too.
import { ghashKeyOrder } from '../../qdev/src/ghash.js';
import { QmpDispatcher, QmpError, qapiEnum, type QmpVersion } from '../src/index.js';

export { ghashKeyOrder };

export const QEMU_VERSION: QmpVersion = {
  qemu: { micro: 22, minor: 2, major: 7 },
  package: 'Debian 1:7.2+dfsg-7+deb12u18+b3',
};

export const GREETING =
  '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}';

/** Commands the recorded QEMU transcripts use; the handlers answer as that QEMU did. */
export function makeDispatcher(): QmpDispatcher {
  const d = new QmpDispatcher({ unvisitedOrder: ghashKeyOrder });
  // StatusInfo members in schema order: running, singlestep, status.
  d.register({ name: 'query-status', handler: () => ({ running: false, singlestep: false, status: 'prelaunch' }) });
  d.register({
    name: 'device_del',
    args: { id: 'str' },
    handler: (a) => {
      throw new QmpError('DeviceNotFound', `Device '${String(a.id)}' not found`);
    },
  });
  d.register({
    name: 'device_add',
    args: { driver: 'str', '*bus': 'str', '*id': 'str' },
    allowExtraArgs: true,
    handler: (a) => {
      throw QmpError.generic(`'${String(a.driver)}' is not a valid device model name`);
    },
  });
  d.register({
    name: 'human-monitor-command',
    args: { 'command-line': 'str', '*cpu-index': 'int' },
    handler: (a) => {
      if (a['cpu-index'] !== undefined) throw QmpError.generic("Parameter 'cpu-index' expects a CPU number");
      return '';
    },
  });
  d.register({ name: 'qom-list', args: { path: 'str' }, handler: () => [] });
  d.register({ name: 'qom-set', args: { path: 'str', property: 'str', value: 'any' }, handler: () => undefined });
  d.register({
    name: 'query-cpu-model-expansion',
    args: { type: qapiEnum('static', 'full'), model: { name: 'str', '*props': 'any' } },
    handler: () => ({ model: { name: 'base' } }),
  });
  d.register({
    name: 'migrate-pause',
    allowOob: true,
    handler: () => {
      throw QmpError.generic('migrate-pause is currently only supported during postcopy-active state');
    },
  });
  return d;
}

let seq = 0;
export function tmpSocketPath(tag = 'qmp'): string {
  return path.join(os.tmpdir(), `pb-${tag}-${process.pid}-${Date.now().toString(36)}-${seq++}.sock`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A client that sees the server's bytes as CRLF-terminated lines. */
export class RawConn {
  readonly lines: string[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      let i: number;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        this.lines.push(this.buf.subarray(0, i).toString('utf8'));
        this.buf = this.buf.subarray(i + 2);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(target: string | number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = typeof target === 'string' ? net.connect(target) : net.connect(target, '127.0.0.1');
      s.once('connect', () => resolve(new RawConn(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(data: string | Buffer, encoding: BufferEncoding = 'utf8'): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, encoding) : data);
  }

  /** Wait until `n` lines are available (or the connection closed), then take them. */
  async take(n: number, timeoutMs = 5000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < n && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout: have ${this.lines.length} of ${n} lines: ${this.lines.join(' | ').slice(0, 500)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.lines.splice(0, n);
  }

  async takeJson(n = 1): Promise<Record<string, unknown>[]> {
    return (await this.take(n)).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async negotiate(): Promise<void> {
    await this.take(1); // greeting
    this.send('{"execute":"qmp_capabilities"}\n');
    const [r] = await this.take(1);
    if (r !== '{"return": {}}') throw new Error(`negotiation failed: ${r}`);
  }

  close(): void {
    this.socket.destroy();
  }
}
