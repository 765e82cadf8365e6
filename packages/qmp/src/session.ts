// One QMP connection (monitor/qmp.c): greeting, request queue, flow control,
// capability state, ordered replies, events.

import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { QmpError } from './errors.js';
import { isOobRequest, takeAfterReply, type QmpDispatcher, type QmpResponse } from './dispatcher.js';
import { toQmpJson } from './json-writer.js';
import { JsonStreamer, type JsonLimits, type JsonStreamItem } from './json-streamer.js';

/** Every message QEMU sends ends with CRLF. */
export const QMP_LINE_END = '\r\n';
/** QMP_REQ_QUEUE_LEN_MAX (include/monitor/monitor.h): queued requests before an OOB-capable monitor stops reading. */
export const QMP_REQ_QUEUE_LEN_MAX = 8;
/**
 * Output a session may leave unsent before we give up on it. QEMU buffers
 * without limit; we disconnect a client that stops reading once more than
 * this much is waiting (checked before each message, so one large reply
 * still goes out whole). Big enough for any sane backlog of events.
 */
export const DEFAULT_MAX_OUTPUT_BACKLOG = 256 * 1024 * 1024;

export type QmpTransport = 'unix' | 'tcp' | 'stream';
export type QmpSessionCloseReason = 'eof' | 'closed' | 'error' | 'overflow' | 'server';

/** @internal construction data, provided by QmpServer. */
export interface QmpSessionInit {
  id: number;
  input: Readable;
  output: Writable;
  dispatcher: QmpDispatcher;
  /** The greeting went out already (a connection accepted before the server existed). */
  greeted?: boolean;
  greeting: (oobOffered: boolean) => string;
  eventLine: (name: string, data?: object) => string;
  oobOffered: boolean;
  limits?: Partial<JsonLimits>;
  maxOutputBacklog: number;
  transport: QmpTransport;
  remoteAddress?: string;
}

/**
 * A client connection. Requests run one at a time in arrival order (the
 * connection is not read while one runs, as in QEMU); `exec-oob` requests run
 * as soon as they are parsed. Emits 'close' (reason) once.
 */
export class QmpSession extends EventEmitter {
  readonly id: number;
  readonly transport: QmpTransport;
  readonly remoteAddress: string | undefined;
  /** Whether the greeting offered "oob". */
  readonly oobOffered: boolean;
  /** Free per-connection state for command implementations (e.g. HMP's current CPU). */
  readonly data = new Map<unknown, unknown>();

  private readonly input: Readable;
  private readonly output: Writable;
  private readonly dispatcher: QmpDispatcher;
  private readonly streamer: JsonStreamer;
  private readonly maxOutputBacklog: number;
  private readonly eventLine: QmpSessionInit['eventLine'];
  private readonly queue: JsonStreamItem[] = [];
  private busy = false;
  private pumpScheduled = false;
  private paused = false;
  private negotiatedFlag = false;
  private oobFlag = false;
  private closedReason: QmpSessionCloseReason | null = null;
  private readonly onData = (chunk: Buffer | string): void => this.receive(chunk);
  private readonly onEnd = (): void => this.shutdown('eof');
  private readonly onError = (): void => this.shutdown('error');
  private readonly onClose = (): void => this.shutdown('closed');

  /** @internal use QmpServer.attachStream() */
  constructor(init: QmpSessionInit) {
    super();
    this.id = init.id;
    this.transport = init.transport;
    this.remoteAddress = init.remoteAddress;
    this.oobOffered = init.oobOffered;
    this.input = init.input;
    this.output = init.output;
    this.dispatcher = init.dispatcher;
    this.maxOutputBacklog = init.maxOutputBacklog;
    this.eventLine = init.eventLine;
    this.streamer = new JsonStreamer((item) => this.onItem(item), { limits: init.limits });
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('error', this.onError);
    this.input.on('close', this.onClose);
    if (this.output !== (this.input as unknown)) {
      this.output.on('error', this.onError);
      this.output.on('close', this.onClose);
    }
    if (!init.greeted) this.writeLine(init.greeting(this.oobOffered));
  }

  /** qmp_capabilities has succeeded: events flow and all commands are available. */
  get negotiated(): boolean {
    return this.negotiatedFlag;
  }

  /** The client enabled out-of-band execution. */
  get oobEnabled(): boolean {
    return this.oobFlag;
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** @internal qmp_capabilities (monitor/qmp-cmds-control.c qmp_caps_accept()). */
  acceptCapabilities(enable: readonly string[]): void {
    const unavailable = enable.filter((cap) => !(cap === 'oob' && this.oobOffered));
    if (unavailable.length) throw QmpError.generic(`Capability ${unavailable.join(', ')} not available`);
    this.oobFlag = enable.includes('oob');
    this.negotiatedFlag = true;
  }

  /** Send any message to this client (serialized like QEMU). */
  send(message: object): void {
    this.writeLine(toQmpJson(message));
  }

  /** Send an event to this client only, if it has negotiated. */
  sendEvent(name: string, data?: object): void {
    if (this.negotiatedFlag) this.writeLine(this.eventLine(name, data));
  }

  /** @internal an already-serialized event line from the server. */
  deliverEvent(line: string): void {
    if (this.negotiatedFlag) this.writeLine(line);
  }

  /**
   * Stop taking requests, flush what was written, then disconnect. With `graceMs`, a client
   * that has not taken its output by then (it stopped reading) is cut off and the rest is
   * discarded, as when QEMU's process exits; without it, this waits for the client.
   */
  close(graceMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const out = this.output;
      if (this.closedReason === null) this.shutdown('server', true);
      if (out.writableFinished || out.destroyed) return resolve();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      out.once('finish', done);
      out.once('close', done);
      if (graceMs !== undefined) {
        timer = setTimeout(() => {
          this.destroyOutput();
          done();
        }, graceMs);
      }
    });
  }

  /** Disconnect at once, discarding unsent output (also what a graceful close() still holds). */
  destroy(): void {
    this.shutdown('server');
    this.destroyOutput();
  }

  /** Whether the transport still holds output for the client (closed or not). */
  get flushing(): boolean {
    const out = this.output;
    return !out.destroyed && !out.writableFinished && out !== process.stdout && out !== process.stderr;
  }

  private destroyOutput(): void {
    const out = this.output;
    if (out === process.stdout || out === process.stderr || out.destroyed) return;
    out.destroy();
  }

  private receive(chunk: Buffer | string): void {
    if (this.closedReason !== null) return;
    this.streamer.feed(chunk);
  }

  private onItem(item: JsonStreamItem): void {
    if (this.closedReason !== null) return;
    // handle_qmp_command(): out-of-band requests bypass the queue, even when
    // the client has not enabled OOB (they then fail, but immediately).
    if (isOobRequest(item)) {
      void this.run(item);
      return;
    }
    this.queue.push(item);
    this.updateFlow();
    // In-band requests start once the current chunk is parsed, so that an
    // exec-oob later in the same chunk overtakes them, as OOB is meant to.
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      queueMicrotask(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    }
  }

  private pump(): void {
    while (!this.busy && this.queue.length && this.closedReason === null) {
      const item = this.queue.shift()!;
      this.busy = true;
      const done = this.run(item);
      if (done) {
        this.updateFlow();
        const next = (): void => {
          this.busy = false;
          this.updateFlow();
          this.pump();
        };
        void done.then(next);
        return;
      }
      this.busy = false;
    }
    this.updateFlow();
  }

  /** Dispatch one item; returns a promise only if the reply is not ready yet. */
  private run(item: JsonStreamItem): Promise<void> | null {
    const rsp = this.dispatcher.handle(item, this);
    if (rsp instanceof Promise) return rsp.then((r) => this.reply(r)).catch((e: unknown) => this.report(e));
    this.reply(rsp);
    return null;
  }

  private reply(rsp: QmpResponse): void {
    // A client that went away mid-command: the command still completed, its reply goes nowhere.
    if (this.closedReason === null) {
      let line: string;
      try {
        line = toQmpJson(rsp);
      } catch (e) {
        // A handler returned something unserializable (a cycle): a bug, but not the client's.
        line = toQmpJson({ error: { class: 'GenericError', desc: `internal error: ${(e as Error).message}` }, id: (rsp as { id?: unknown }).id });
        this.report(e);
      }
      this.writeLine(line);
    }
    for (const fn of takeAfterReply(rsp)) {
      try {
        fn();
      } catch (e) {
        this.report(e);
      }
    }
  }

  /** Programming errors surface as 'error' events when someone listens; they never kill the server. */
  private report(e: unknown): void {
    if (this.listenerCount('error')) this.emit('error', e);
  }

  /**
   * Without OOB, stop reading while anything is queued or running (QEMU
   * suspends the monitor); with OOB, only when the queue is full.
   */
  private updateFlow(): void {
    if (this.closedReason !== null) return;
    const pending = this.queue.length + (this.busy ? 1 : 0);
    const stop = this.oobFlag ? this.queue.length >= QMP_REQ_QUEUE_LEN_MAX : pending > 0;
    if (stop && !this.paused) {
      this.paused = true;
      this.input.pause();
    } else if (!stop && this.paused) {
      this.paused = false;
      this.input.resume();
    }
  }

  private writeLine(line: string): void {
    const out = this.output;
    if (this.closedReason !== null || out.destroyed || out.writableEnded) return;
    if (out.writableLength > this.maxOutputBacklog) return this.shutdown('overflow');
    out.write(line + QMP_LINE_END);
  }

  private shutdown(reason: QmpSessionCloseReason, graceful = false): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.queue.length = 0; // queued requests are dropped, as QEMU does on disconnect
    this.input.off('data', this.onData);
    const out = this.output;
    const isStdio = out === process.stdout || out === process.stderr;
    if (graceful || reason === 'eof') {
      if (!isStdio && !out.writableEnded && !out.destroyed) {
        out.end(() => (out as Writable & { destroy(): void }).destroy());
      }
    } else if (!isStdio) {
      out.destroy();
    }
    if ((this.input as unknown) !== out) this.input.destroy();
    this.emit('close', reason);
  }
}
