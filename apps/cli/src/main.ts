/**
 * `plugboard`: QEMU's command line in front of a Plugboard machine. Order of work follows
 * softmmu/vl.c: parse all options, answer the informational ones (-version, -h, help),
 * build the board, apply -device in order, open the monitors, then run (unless -S).
 */
import { openSync, writeFileSync, writeSync } from 'node:fs';
import { spaprOf } from '@plugboard/hotplug-spapr';
import { QemuError, type Plugin } from '@plugboard/qdev';
import { PlugboardServer } from '@plugboard/qmp-server';
import type { EarlyMonitors } from '@plugboard/qmp-server/monitors';
import { StartupSignals, openMonitors } from './early.js';
import { CliError, planFromArgv, type CliPlan } from './plan.js';
import { answerInformational, machineList, runPluginSet, useExtraPlugins } from './informational.js';
import { loadPlugins } from './plugins.js';
import { formatDiagnostic, terminationMessage } from './options/errors.js';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const defaultIo: Io = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

/**
 * Returns the exit code for an early exit, or a running server. `monitors`: the command line's
 * monitors, already open (early.ts); they are closed on an early exit.
 */
export async function run(argv: string[], io: Io = defaultIo, monitors?: EarlyMonitors): Promise<number | PlugboardServer> {
  const r = await build(argv, io, monitors);
  if (typeof r === 'number') await monitors?.close();
  return r;
}

async function build(argv: string[], io: Io, monitors: EarlyMonitors | undefined): Promise<number | PlugboardServer> {
  let plan: CliPlan;
  try {
    plan = planFromArgv(argv, machineList());
  } catch (e) {
    if (e instanceof CliError) {
      if (e.stdout) io.stdout(e.stdout);
      io.stderr(e.format());
      return e.exitCode;
    }
    throw e;
  }
  let extra: Plugin[];
  try {
    extra = await loadPlugins(plan.plugins);
  } catch (e) {
    if (e instanceof CliError) {
      // `-plugin PATH,help` ends here too: the option list on stdout, exit code 0.
      if (e.stdout) io.stdout(e.stdout);
      io.stderr(e.format());
      return e.exitCode;
    }
    throw e;
  }
  useExtraPlugins(extra);
  const info = answerInformational(plan);
  if (info) {
    if (info.stdout) io.stdout(info.stdout);
    if (info.stderr) io.stderr(info.stderr);
    return info.code;
  }
  let server: PlugboardServer;
  const serial = serialSink(plan, io);
  try {
    // The plugin set the option checks built (built-ins + -plugin) serves the machine too.
    server = PlugboardServer.create({ ...plan.machine, ...(serial ? { serial } : {}), ...(monitors ? { monitors } : {}) }, runPluginSet());
  } catch (e) {
    if (e instanceof QemuError) {
      const idx = (e as QemuError & { deviceIndex?: number }).deviceIndex;
      const loc = idx === undefined ? undefined : plan.machine.deviceLocations[idx];
      io.stderr(formatDiagnostic({ ...(loc !== undefined ? { location: loc } : {}), message: e.message }));
      return 1;
    }
    throw e;
  }
  // error_report from the device models (sPAPR: a guest refusing an unplug) on stderr.
  server.machine.onErrorReport((text) => io.stderr(formatDiagnostic({ message: text })));
  // -machine dumpdtb=FILE: write the flattened device tree and exit, as QEMU's pseries does.
  const dtbFile = plan.machine.props?.dumpdtb;
  if (dtbFile !== undefined) {
    const dtb = spaprOf(server.machine)?.dumpDtb();
    if (!dtb) {
      io.stderr(formatDiagnostic({ message: 'this machine has no device tree to dump' }));
      return 1;
    }
    writeFileSync(dtbFile, dtb);
    io.stderr(formatDiagnostic({ message: `dtb dumped to ${dtbFile}. Exiting.` }, 'info'));
    await server.close();
    return 0;
  }
  if (!monitors) {
    const qmp = server.qmp;
    const code = await openMonitors((spec, onWaiting) => server.listen(spec, onWaiting), () => qmp.close(), plan.monitors, io.stderr);
    if (code !== undefined) {
      await server.close();
      return code;
    }
  }
  if (!plan.startPaused) server.machine.cont();
  return server;
}

/**
 * Process entry: QEMU exits 0 after SHUTDOWN on SIGTERM/SIGINT (reason host-signal). `startup`:
 * what bin.ts did before loading this module (signals owned, monitors opened).
 */
export async function main(argv = process.argv.slice(2), startup: { signals?: StartupSignals; monitors?: EarlyMonitors } = {}): Promise<void> {
  const signals = startup.signals ?? new StartupSignals();
  const r = await run(argv, defaultIo, startup.monitors);
  if (typeof r === 'number') {
    process.exit(r);
  }
  let exiting = false;
  const finish = async () => {
    if (exiting) return;
    exiting = true;
    await r.close();
    process.exit(0);
  };
  r.host.setShutdownHandler(() => void finish());
  // QEMU's qemu_kill_report(): "terminating on signal N" (QEMU adds "from pid P (name)" when
  // the kernel names the sender; Node does not tell), once, then the host-signal shutdown.
  let reported = false;
  signals.onSignal((signo) => {
    if (!reported) defaultIo.stderr(formatDiagnostic(terminationMessage(signo)));
    reported = true;
    r.host.shutdown('host-signal');
  });
}

/** The guest console: `-serial stdio` writes to stdout, `-serial file:PATH` to a file (CRLF, as a UART shows it). */
function serialSink(plan: CliPlan, io: Io): ((line: string) => void) | undefined {
  const b = plan.serial;
  if (!b) return undefined;
  if (b.kind === 'stdio') return (line) => io.stdout(line + '\r\n');
  if (b.kind === 'file') {
    const fd = openSync(b.path, b.append ? 'a' : 'w');
    return (line) => writeSync(fd, line + '\r\n');
  }
  return undefined;
}
