/**
 * `plugboard-qmp`: a fleet of machines in one process, each with its own QMP socket.
 *
 *     plugboard-qmp --machines N --socket-dir DIR [--machine QEMU-OPTIONS...]
 *     plugboard-qmp --config FLEET.json
 *
 * Everything after `--machine` describes every machine, in the subset of QEMU's options that
 * shapes a board (`-M`, `-device`, `-global`, `-nodefaults`, `-S`, `-m`) plus Plugboard's
 * `--guest` and `--clock`; the full `plugboard` command line is apps/cli's. A config file
 * describes groups of differing machines. SIGTERM/SIGINT/SIGHUP send SHUTDOWN to every client
 * of every machine and exit 0, as QEMU does; the process also exits once its last machine quit.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { QemuError } from '@plugboard/qdev';
import { Fleet, type FleetMachine, type FleetOptions } from './fleet.js';
import { parseOptsString } from './hmp.js';
import type { PlugboardServerOptions } from './server.js';

export const DAEMON_NAME = 'plugboard-qmp';

export const DAEMON_USAGE = `usage: ${DAEMON_NAME} [--machines N] (--socket-dir DIR | --tcp [HOST:]PORT) [--machine OPTION...]
       ${DAEMON_NAME} --config FILE [--socket-dir DIR | --tcp [HOST:]PORT]

Hosts N machines, machine i answering QMP on DIR/vmNNNN.sock (mode 0600) or on TCP port
PORT+i (PORT 0: any free port; HOST defaults to 127.0.0.1).
Machine options (after --machine, to the end of the line):
  -M|-machine TYPE[,prop=value...]   -device DRIVER[,prop=value...] | -device JSON
  -global DRIVER.PROP=VALUE          -nodefaults     -S (do not start)     -m MEGABYTES
  --guest POLICY                     --clock virtual|realtime[,scale=N]
Config file (JSON): {"socketDir": DIR | "tcp": {"host": H, "basePort": P},
  "machines": [{"count": N, "type": "q35", "nodefaults": true, "start": true,
                "devices": [{"driver": "pcie-root-port", "id": "rp1", "chassis": 1}], "guest": "linux"}]}
One JSON line on stdout lists the machines once ready. On SIGTERM every client gets SHUTDOWN;
the process exits 0 then, or once its last machine quit. A machine whose emulation fails dies
alone (its clients see the connection close), with a line on stderr.
`;

/** One group of identical machines. */
export interface FleetGroup {
  count: number;
  machine: PlugboardServerOptions;
}

export interface DaemonPlan {
  fleet: FleetOptions;
  groups: FleetGroup[];
}

export class DaemonUsageError extends Error {}

const MIB = 1024 * 1024;
const fail = (msg: string): never => {
  throw new DaemonUsageError(msg);
};

/** `--tcp [HOST:]PORT` (an IPv6 host in brackets: `[::1]:4444`). */
function parseTcp(text: string): { host: string; basePort: number } {
  const m = /^(?:\[([^\]]+)\]:|([^:]+):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return fail(`--tcp: expected [HOST:]PORT, got '${text}'`);
  return { host: m[1] ?? m[2] ?? '127.0.0.1', basePort: port };
}

/** The per-machine options after `--machine`. */
export function parseMachineArgs(args: string[]): PlugboardServerOptions {
  const o: PlugboardServerOptions & { devices: NonNullable<PlugboardServerOptions['devices']>; globals: NonNullable<PlugboardServerOptions['globals']> } = {
    devices: [],
    globals: [],
    start: true,
  };
  for (let i = 0; i < args.length; i++) {
    const opt = args[i]!;
    const takesArg = ['-M', '-machine', '-device', '-global', '-m', '--guest', '--clock'].includes(opt);
    const val = takesArg ? (args[++i] ?? fail(`${opt}: requires an argument`)) : '';
    switch (opt) {
      case '-M':
      case '-machine': {
        const { type, ...props } = parseOptsString(val, 'type');
        if (type !== undefined) o.type = type;
        o.props = { ...o.props, ...props };
        break;
      }
      case '-device':
        if (val.trimStart().startsWith('{')) {
          let opts: unknown;
          try {
            opts = JSON.parse(val);
          } catch (e) {
            return fail(`-device: ${(e as Error).message}`);
          }
          if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) return fail('-device: JSON must be an object');
          o.devices.push({ opts: opts as Record<string, unknown>, json: true });
        } else o.devices.push({ opts: parseOptsString(val, 'driver') });
        break;
      case '-global': {
        const m = /^([^.=]+)\.([^=]+)=(.*)$/s.exec(val);
        if (!m) return fail(`-global: expected DRIVER.PROP=VALUE, got '${val}'`);
        o.globals.push({ driver: m[1]!, property: m[2]!, value: m[3]! });
        break;
      }
      case '-nodefaults':
        o.nodefaults = true;
        break;
      case '-S':
        o.start = false;
        break;
      case '-m': {
        const m = /^(\d+)([MG]?)$/i.exec(val);
        if (!m) return fail(`-m: expected a size in MiB (or with an M/G suffix), got '${val}'`);
        o.ramSize = Number(m[1]) * MIB * (m[2]?.toUpperCase() === 'G' ? 1024 : 1);
        break;
      }
      case '--guest':
        o.guest = val;
        break;
      case '--clock': {
        const { mode, scale } = parseOptsString(val, 'mode');
        if (mode !== 'virtual' && mode !== 'realtime') return fail(`--clock: expected virtual or realtime, got '${mode ?? ''}'`);
        o.clock = { mode, ...(scale !== undefined ? { scale: Number(scale) } : {}) };
        break;
      }
      default:
        return fail(`${opt}: not a machine option here (see --help; --config describes anything else)`);
    }
  }
  return o;
}

/** A group from the config file: PlugboardServerOptions in JSON, `devices` as -device JSON objects. */
function groupFromConfig(g: unknown, at: string): FleetGroup {
  if (typeof g !== 'object' || g === null || Array.isArray(g)) return fail(`${at}: expected an object`);
  const { count = 1, devices = [], ...rest } = g as Record<string, unknown>;
  if (!Number.isSafeInteger(count) || (count as number) < 0) return fail(`${at}.count: expected a non-negative integer`);
  if (!Array.isArray(devices)) return fail(`${at}.devices: expected an array`);
  const allowed = ['type', 'nodefaults', 'start', 'guest', 'clock', 'props', 'globals', 'ramSize', 'cpus'];
  for (const k of Object.keys(rest)) if (!allowed.includes(k)) fail(`${at}.${k}: unknown member (expected ${allowed.join(', ')})`);
  return {
    count: count as number,
    machine: { start: true, ...(rest as PlugboardServerOptions), devices: devices.map((d) => ({ opts: d as Record<string, unknown>, json: true })) },
  };
}

export function parseDaemonArgs(argv: string[]): DaemonPlan | 'help' {
  let count: number | undefined;
  let socketDir: string | undefined;
  let tcp: FleetOptions['tcp'];
  let config: string | undefined;
  let machine: PlugboardServerOptions | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => argv[++i] ?? fail(`${a}: requires an argument`);
    if (a === '-h' || a === '--help') return 'help';
    else if (a === '--machines') {
      const v = next();
      count = /^\d+$/.test(v) ? Number(v) : fail(`--machines: expected a number, got '${v}'`);
    } else if (a === '--socket-dir') socketDir = next();
    else if (a === '--tcp') tcp = parseTcp(next());
    else if (a === '--config') config = next();
    else if (a === '--machine') {
      machine = parseMachineArgs(argv.slice(i + 1));
      break;
    } else fail(`${a}: unknown option (see --help)`);
  }
  let groups: FleetGroup[];
  const fleet: FleetOptions = {};
  if (config !== undefined) {
    if (machine || count !== undefined) fail('--config describes the machines: --machines and --machine do not go with it');
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      return fail(`--config ${config}: ${(e as Error).message}`);
    }
    if (!Array.isArray(j.machines)) fail(`--config ${config}: "machines" must be an array`);
    groups = (j.machines as unknown[]).map((g, k) => groupFromConfig(g, `machines[${k}]`));
    if (typeof j.socketDir === 'string') fleet.socketDir = j.socketDir;
    if (typeof j.tcp === 'object' && j.tcp !== null) fleet.tcp = j.tcp as FleetOptions['tcp'];
  } else {
    groups = [{ count: count ?? 1, machine: machine ?? { start: true } }];
  }
  // The command line wins over the file for where sockets go.
  if (socketDir !== undefined) [fleet.socketDir, fleet.tcp] = [socketDir, undefined];
  if (tcp !== undefined) [fleet.tcp, fleet.socketDir] = [tcp, undefined];
  if (!fleet.socketDir && !fleet.tcp) fail('give --socket-dir DIR or --tcp [HOST:]PORT');
  return { fleet, groups };
}

function describe(m: FleetMachine): Record<string, unknown> {
  const a = m.address;
  return a.kind === 'unix' ? { name: m.name, unix: a.path } : { name: m.name, host: a.host, port: a.port };
}

export interface DaemonIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const processIo: DaemonIo = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

/**
 * Builds the fleet. Returns an exit code for an early exit, or the running fleet. `stopped`
 * is polled between machines so a signal during a long start-up is honoured promptly.
 */
export async function runDaemon(argv: string[], io: DaemonIo = processIo, stopped: () => boolean = () => false): Promise<number | Fleet> {
  let plan: DaemonPlan | 'help';
  try {
    plan = parseDaemonArgs(argv);
  } catch (e) {
    if (!(e instanceof DaemonUsageError)) throw e;
    io.stderr(`${DAEMON_NAME}: ${e.message}\n`);
    return 1;
  }
  if (plan === 'help') {
    io.stdout(DAEMON_USAGE);
    return 0;
  }
  const fleet = new Fleet(plan.fleet);
  try {
    for (const g of plan.groups) await fleet.createMany(g.count, g.machine, { stop: stopped });
  } catch (e) {
    const name = (e as { fleetMachine?: string }).fleetMachine;
    io.stderr(`${DAEMON_NAME}: ${name ?? (e instanceof QemuError ? 'machine' : 'socket')}: ${(e as Error).message}\n`);
    await fleet.shutdown();
    return 1;
  }
  // Stopped by a signal: no ready line for a fleet about to go.
  if (!stopped()) io.stdout(JSON.stringify({ ready: fleet.size, machines: fleet.machines().map(describe) }) + '\n');
  return fleet;
}

/** Process entry: signals are owned from the start, so one during start-up is not fatal. */
export async function main(argv = process.argv.slice(2)): Promise<void> {
  let fleet: Fleet | undefined;
  let signalled = false;
  const finish = async (): Promise<never> => {
    await fleet?.shutdown('host-signal');
    process.exit(0);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => {
      signalled = true;
      if (fleet) void finish();
    });
  }
  const r = await runDaemon(argv, processIo, () => signalled);
  if (typeof r === 'number') process.exit(r);
  fleet = r;
  if (signalled || fleet.size === 0) return void finish();
  // A crashed machine says why on stderr, as a dying QEMU does; the others go on.
  fleet.on('crash', (m: FleetMachine, e: unknown) => processIo.stderr(`${DAEMON_NAME}: ${m.name}: internal error: ${e instanceof Error ? e.message : String(e)}\n`));
  // QEMU exits after `quit`; a fleet exits when its last machine has.
  fleet.on('exit', () => fleet!.size === 0 && process.exit(0));
}

/** True when this module is the process entry (the bin), not a library import. */
function isEntry(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) void main();
