/**
 * Start-up before any device model is loaded. QEMU parses its options and sets up its monitors
 * before it builds the board (softmmu/vl.c), and a QMP monitor on a socket greets from its own
 * I/O thread: a client connecting during machine construction is greeted at once and its
 * commands run when the main loop starts. So does this command: signals are owned, options
 * parsed and the monitors opened here, with nothing of the machine loaded; main.ts then loads
 * the device models, builds the machine and hands it the monitors (their waiting commands run).
 */
import { constants } from 'node:os';
import { EarlyMonitors, MonitorConnectError, type MonitorSpec } from '@plugboard/qmp-server/monitors';
import { planFromArgv, type CliPlan } from './plan.js';
import { formatDiagnostic } from './options/errors.js';

/** SIGTERM/SIGINT/SIGHUP from the first instruction: QEMU exits 0 after SHUTDOWN (reason host-signal). */
export class StartupSignals {
  /** The first signal's number, once one came. */
  private received: number | undefined;
  private handler: ((signo: number) => void) | undefined;

  constructor() {
    // A signal arriving while the machine is still being built must not kill the process with
    // the default action: it is remembered and acted on once the machine exists.
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.on(sig, () => {
        const signo = constants.signals[sig];
        this.received ??= signo;
        this.handler?.(signo);
      });
    }
  }

  /** `fn` runs on every later signal, and now if one came already. */
  onSignal(fn: (signo: number) => void): void {
    this.handler = fn;
    if (this.received !== undefined) fn(this.received);
  }
}

/**
 * The command line's plan without the machine checks (they need the device models), or
 * undefined when it has an error: main.ts parses it again with them and reports it.
 */
export function startupPlan(argv: string[]): CliPlan | undefined {
  try {
    return planFromArgv(argv);
  } catch {
    return undefined;
  }
}

/**
 * Opens the QMP monitors the command line names, before the machine exists: they greet, and
 * their clients' requests wait unread for the machine (PlugboardServer.create({ monitors })).
 * Returns undefined when the command line asks for no monitor, is informational or has an error
 * (main.ts reports it, as before), or an exit code after a monitor could not be opened (the
 * message is on stderr).
 */
export async function openMonitorsEarly(plan: CliPlan | undefined, stderr: (s: string) => void): Promise<EarlyMonitors | number | undefined> {
  if (!plan || plan.informational || plan.monitors.length === 0) return undefined;
  const early = new EarlyMonitors();
  const code = await openMonitors((spec, onWaiting) => early.open(spec, onWaiting), () => early.close(), plan.monitors, stderr);
  return code ?? early;
}

/**
 * Opens `monitors` in command-line order with `open`. A server=on,wait=on socket prints QEMU's
 * "waiting for connection" line and holds start-up until its first client, as QEMU's chardev
 * does before the next one is created. On a failure: the message, `close`, exit code 1.
 */
export async function openMonitors(
  open: (spec: MonitorSpec, onWaiting?: () => void) => Promise<unknown>,
  close: () => Promise<void>,
  monitors: CliPlan['monitors'],
  stderr: (s: string) => void,
): Promise<number | undefined> {
  for (const mon of monitors) {
    const waiting = mon.waiting;
    try {
      await open(mon.spec, waiting && (() => stderr(formatDiagnostic({ ...waiting, location: mon.location }, 'info'))));
    } catch (e) {
      const message = e instanceof MonitorConnectError ? e.message : `Failed to bind socket: ${(e as Error).message}`;
      stderr(formatDiagnostic({ location: mon.location, message }));
      await close();
      return 1;
    }
  }
  return undefined;
}
