/**
 * Character devices and monitors: -chardev, -mon, -qmp, -qmp-pretty, -monitor,
 * -serial. The legacy `unix:PATH,...` / `tcp:HOST:PORT,...` spellings follow
 * chardev/char.c (qemu_chr_parse_compat), the socket checks chardev/char-socket.c,
 * monitor options monitor/monitor.c, all as QEMU 7.2 words its errors.
 * Plugboard serves unix and TCP sockets, stdio, null and (for -serial) files;
 * other backends QEMU knows are refused with a clear message.
 */
import { CliError, type Diagnostic } from './errors.js';
import { lastOpt, parseQemuOpts, type OptDesc, type QemuOptsList } from './keyval.js';
import { parseQemuBool } from './numbers.js';

export type ChardevBackend =
  | { kind: 'unix'; path: string; server: boolean; wait: boolean }
  | { kind: 'tcp'; host: string; port: string; server: boolean; wait: boolean; ipv4?: boolean; ipv6?: boolean }
  | { kind: 'stdio'; signal: boolean }
  | { kind: 'null' }
  | { kind: 'file'; path: string; append: boolean };

export interface ChardevSpec {
  id: string;
  backend: ChardevBackend;
  /** Where it came from, for errors reported when it is opened. */
  location?: string;
}

export interface MonitorSpec {
  /** Id of the chardev the monitor runs on. */
  chardev: string;
  mode: 'readline' | 'control';
  pretty: boolean;
  location?: string;
}

const B = (name: string): OptDesc => ({ name, type: 'bool' });
const S = (name: string): OptDesc => ({ name, type: 'string' });
const N = (name: string): OptDesc => ({ name, type: 'number' });

/** qemu_chardev_opts of QEMU 7.2 (as `-chardev socket,help` lists them). */
export const CHARDEV_OPTS: QemuOptsList = {
  name: 'chardev',
  implied: 'backend',
  desc: [
    B('abstract'), B('append'), S('backend'), S('chardev'), B('clipboard'), N('cols'), N('debug'),
    B('delay'), S('fd'), N('height'), S('host'), B('ipv4'), B('ipv6'), S('localaddr'), S('localport'),
    B('logappend'), S('logfile'), B('mouse'), B('mux'), S('name'), B('nodelay'), S('path'), S('port'),
    N('reconnect'), N('rows'), B('server'), B('signal'), { name: 'size', type: 'size' }, B('telnet'),
    B('tight'), S('tls-authz'), S('tls-creds'), B('tn3270'), N('to'), B('wait'), B('websocket'), N('width'),
  ],
};

export const MON_OPTS: QemuOptsList = {
  name: 'mon',
  implied: 'chardev',
  desc: [S('chardev'), S('mode'), B('pretty')],
};

/** Backends QEMU 7.2 knows (`-chardev help`); only some are Plugboard's. */
const QEMU_BACKENDS = new Set([
  'stdio', 'ringbuf', 'mux', 'pipe', 'qemu-vdagent', 'null', 'msmouse', 'socket', 'vc', 'parallel',
  'udp', 'memory', 'file', 'serial', 'wctablet', 'pty', 'testdev', 'console', 'braille', 'spicevmc',
  'spiceport', 'tty', 'parport',
]);

/** Backends Plugboard implements, in the order `-chardev help` prints them. */
export const PLUGBOARD_CHARDEV_BACKENDS: readonly string[] = ['stdio', 'null', 'socket', 'file'];

/** `-chardev help` (the header line ends with a space in QEMU 7.2). */
export function formatChardevHelp(backends: readonly string[] = PLUGBOARD_CHARDEV_BACKENDS): string {
  return `Available chardev backend types: \n${backends.map((b) => `  ${b}\n`).join('')}`;
}

type Opts = Array<[string, string]>;
const bool = (opts: Opts, key: string, dflt: boolean): boolean => {
  const v = lastOpt(opts, key);
  return v === undefined ? dflt : (parseQemuBool(v) ?? dflt);
};

/** Turns validated chardev options into a backend (chardev creation checks). */
function backendFromOpts(opts: Opts, location: string | undefined): ChardevBackend {
  const fatal: (message: string) => never = (message) => {
    throw new CliError({ location, message });
  };
  const backend = lastOpt(opts, 'backend') ?? '';
  if (!QEMU_BACKENDS.has(backend)) fatal(`'${backend}' is not a valid char driver name`);
  if (bool(opts, 'mux', false)) fatal('chardev multiplexing (mux=on) is not supported by Plugboard');
  switch (backend) {
    case 'null':
      return { kind: 'null' };
    case 'stdio':
      return { kind: 'stdio', signal: bool(opts, 'signal', true) };
    case 'file': {
      const path = lastOpt(opts, 'path');
      if (path === undefined) fatal('chardev: file: no filename given');
      return { kind: 'file', path: path!, append: bool(opts, 'append', false) };
    }
    case 'socket':
      return socketFromOpts(opts, fatal);
    default:
      return fatal(`chardev backend '${backend}' is not supported by Plugboard`);
  }
}

function socketFromOpts(opts: Opts, fatal: (m: string) => never): ChardevBackend {
  const path = lastOpt(opts, 'path');
  const host = lastOpt(opts, 'host');
  const port = lastOpt(opts, 'port');
  const fd = lastOpt(opts, 'fd');
  if (Number(path !== undefined) + Number(fd !== undefined) + Number(host !== undefined) > 1) {
    fatal("None or one of 'path', 'fd' or 'host' option required.");
  }
  if (host !== undefined && port === undefined) fatal('chardev: socket: no port given');
  const server = bool(opts, 'server', false);
  const waitSet = lastOpt(opts, 'wait') !== undefined;
  if (path === undefined && host === undefined) {
    // No address at all falls through to the fd form in QEMU 7.2.
    if (fd === undefined) fatal('Unable to parse FD number ');
    fatal('file descriptor sockets are not supported by Plugboard');
  }
  if (lastOpt(opts, 'reconnect') !== undefined && server) {
    fatal("'reconnect' option is incompatible with socket in server listen mode");
  }
  if (waitSet && !server) fatal("'wait' option is incompatible with socket in client connect mode");
  for (const k of ['telnet', 'tn3270', 'websocket'] as const) {
    if (bool(opts, k, false)) fatal(`chardev socket option '${k}' is not supported by Plugboard`);
  }
  if (lastOpt(opts, 'tls-creds') !== undefined) fatal("chardev socket option 'tls-creds' is not supported by Plugboard");
  const wait = bool(opts, 'wait', true);
  if (path !== undefined) return { kind: 'unix', path, server, wait };
  const ipv4 = lastOpt(opts, 'ipv4');
  const ipv6 = lastOpt(opts, 'ipv6');
  return {
    kind: 'tcp', host: host!, port: port!, server, wait,
    ...(ipv4 !== undefined ? { ipv4: parseQemuBool(ipv4) } : {}),
    ...(ipv6 !== undefined ? { ipv6: parseQemuBool(ipv6) } : {}),
  };
}

/**
 * `-chardev backend,id=ID,...`. `ids` collects chardev ids across the command
 * line ("Duplicate ID 'x' for chardev"). Returns `help` for `-chardev help`.
 */
export function parseChardevOpt(
  arg: string,
  o: { location?: string; ids?: Set<string> } = {},
): ChardevSpec | { help: true } {
  const location = o.location ?? `-chardev ${arg}`;
  const p = parseQemuOpts(arg, CHARDEV_OPTS, { location, ids: o.ids });
  const backend = lastOpt(p.opts, 'backend');
  if (backend === 'help' || backend === '?') return { help: true };
  if (p.id === undefined) throw new CliError({ location, message: 'chardev: no id specified' }, { warnings: p.warnings });
  try {
    return { id: p.id, backend: backendFromOpts(p.opts, location), location };
  } catch (e) {
    throw e instanceof CliError ? e.withWarnings(p.warnings) : e;
  }
}

export type CompatChardev = { ref: string } | { opts: Opts };

/**
 * qemu_chr_parse_compat: the legacy one-string chardev syntax. Returns the
 * chardev options, a `chardev:ID` reference, or undefined when QEMU would fail
 * ("parse error" / "could not connect" is the caller's follow-up line).
 */
function parseCompat(arg: string, location: string | undefined, permitMux: boolean): CompatChardev | undefined {
  if (arg.startsWith('chardev:')) return { ref: arg.slice('chardev:'.length) };
  const opts: Opts = [];
  let s = arg;
  if (s.startsWith('mon:')) {
    if (!permitMux) throw new CliError({ location, message: "mon: isn't supported in this context" });
    s = s.slice(4);
    opts.push(['mux', 'on']);
    if (s === 'stdio') opts.push(['signal', 'off']);
  }
  const rest = (params: string, implied?: string): boolean => {
    // qemu_opts_do_parse: no deprecation warnings, chardev option checks apply.
    const p = parseQemuOpts(params, { ...CHARDEV_OPTS, implied }, {
      location,
      permitAbbrev: implied !== undefined,
      warnOnFlag: false,
      standalone: true,
    });
    opts.push(...p.opts);
    return true;
  };
  if (['null', 'pty', 'msmouse', 'wctablet', 'braille', 'testdev', 'stdio'].includes(s)) {
    opts.push(['backend', s]);
    return { opts };
  }
  if (s.startsWith('vc')) return { opts: [...opts, ['backend', 'vc']] };
  if (s === 'con:') return { opts: [...opts, ['backend', 'console']] };
  if (s.startsWith('COM')) return { opts: [...opts, ['backend', 'serial'], ['path', s]] };
  for (const [prefix, backend] of [['file:', 'file'], ['pipe:', 'pipe']] as const) {
    if (s.startsWith(prefix)) return { opts: [...opts, ['backend', backend], ['path', s.slice(prefix.length)]] };
  }
  const inet = /^(tcp|telnet|tn3270|websocket):/.exec(s);
  if (inet) {
    const p = s.slice(inet[0].length);
    // sscanf("%64[^:]:%32[^,]") or, with no host, sscanf(":%32[^,]").
    const m = /^([^:]{1,64}):([^,]{1,32})/.exec(p) ?? /^()(?::)([^,]{1,32})/.exec(p);
    if (!m) return undefined;
    opts.push(['backend', 'socket'], ['host', m[1]!], ['port', m[2]!]);
    if (p[m[0].length] === ',') rest(p.slice(m[0].length + 1));
    if (inet[1] !== 'tcp') opts.push([inet[1]!, 'on']);
    return { opts };
  }
  if (s.startsWith('udp:')) return { opts: [...opts, ['backend', 'udp']] };
  if (s.startsWith('unix:')) {
    opts.push(['backend', 'socket']);
    rest(s.slice(5), 'path');
    return { opts };
  }
  if (s.startsWith('/dev/parport') || s.startsWith('/dev/ppi')) return { opts: [...opts, ['backend', 'parallel'], ['path', s]] };
  if (s.startsWith('/dev/')) return { opts: [...opts, ['backend', 'serial'], ['path', s]] };
  throw new CliError({ location, message: `'${s}' is not a valid char driver` });
}

/** Runs the compat parser, adding QEMU's follow-up line on failure. */
function compat(arg: string, location: string | undefined, permitMux: boolean, followUp: string): CompatChardev {
  let r: CompatChardev | undefined;
  try {
    r = parseCompat(arg, location, permitMux);
  } catch (e) {
    if (!(e instanceof CliError) || !e.diagnostic) throw e;
    throw new CliError({ location, message: followUp }, { preceding: [e.diagnostic] });
  }
  if (!r) throw new CliError({ location, message: followUp });
  return r;
}

/**
 * -qmp / -qmp-pretty / -monitor DEV (softmmu/vl.c monitor_parse). `index`
 * numbers the implicit chardevs `compat_monitor0`, `compat_monitor1`, ...
 */
export function parseQmpOpt(
  arg: string,
  o: { location?: string; index?: number; mode?: 'control' | 'readline'; pretty?: boolean } = {},
): { chardev?: ChardevSpec; monitor: MonitorSpec } {
  const mode = o.mode ?? 'control';
  const location = o.location ?? `-${mode === 'control' ? (o.pretty ? 'qmp-pretty' : 'qmp') : 'monitor'} ${arg}`;
  const c = compat(arg, location, true, `parse error: ${arg}`);
  const monitor = (chardev: string): MonitorSpec => ({ chardev, mode, pretty: mode === 'control' && !!o.pretty, location });
  if ('ref' in c) return { monitor: monitor(c.ref) };
  const id = `compat_monitor${o.index ?? 0}`;
  return { chardev: { id, backend: backendFromOpts(c.opts, location), location }, monitor: monitor(id) };
}

/** -serial DEV: `none` gives null (no serial port); QEMU names them serial0... */
export function parseSerialOpt(
  arg: string,
  o: { location?: string; index?: number } = {},
): ChardevSpec | { ref: string } | null {
  const location = o.location ?? `-serial ${arg}`;
  if (arg === 'none') return null;
  const followUp = `could not connect serial device to character backend '${arg}'`;
  const c = compat(arg, location, true, followUp);
  if ('ref' in c) return c;
  return { id: `serial${o.index ?? 0}`, backend: backendFromOpts(c.opts, location), location };
}

/** -mon [chardev=]ID[,mode=readline|control][,pretty=on|off] */
export function parseMonOpt(arg: string, o: { location?: string } = {}): MonitorSpec & { warnings: Diagnostic[] } {
  const location = o.location ?? `-mon ${arg}`;
  const p = parseQemuOpts(arg, MON_OPTS, { location });
  const fatal: (message: string) => never = (message) => {
    throw new CliError({ location, message }, { warnings: p.warnings });
  };
  const mode = lastOpt(p.opts, 'mode') ?? 'readline';
  if (mode !== 'readline' && mode !== 'control') fatal(`Parameter 'mode' does not accept value '${mode}'`);
  const chardev = lastOpt(p.opts, 'chardev');
  if (chardev === undefined) fatal("Parameter 'chardev' is missing");
  const pretty = parseQemuBool(lastOpt(p.opts, 'pretty') ?? 'off') ?? false;
  if (pretty && mode === 'readline') fatal("'pretty' is not compatible with HMP monitors");
  return { chardev: chardev!, mode: mode as MonitorSpec['mode'], pretty, location, warnings: p.warnings };
}

/**
 * Pairs monitors with chardevs (created in command-line order) and refuses
 * what QEMU refuses when it opens them: a missing chardev, stdio twice.
 */
export function resolveMonitors(
  chardevs: readonly ChardevSpec[],
  monitors: readonly MonitorSpec[],
): Array<{ monitor: MonitorSpec; chardev: ChardevSpec }> {
  let stdio: ChardevSpec | undefined;
  for (const c of chardevs) {
    if (c.backend.kind !== 'stdio') continue;
    if (stdio) throw new CliError({ location: c.location, message: 'cannot use stdio by multiple character devices' });
    stdio = c;
  }
  return monitors.map((monitor) => {
    const chardev = chardevs.find((c) => c.id === monitor.chardev);
    if (!chardev) throw new CliError({ location: monitor.location, message: `chardev "${monitor.chardev}" not found` });
    return { monitor, chardev };
  });
}

/** The info line QEMU prints while a server socket waits for its first client. */
export function socketWaitInfo(b: ChardevBackend, resolvedHost?: string): Diagnostic | undefined {
  if ((b.kind !== 'unix' && b.kind !== 'tcp') || !b.server || !b.wait) return undefined;
  const addr = b.kind === 'unix' ? `unix:${b.path}` : `tcp:${resolvedHost ?? (b.host || '0.0.0.0')}:${b.port}`;
  return { message: `QEMU waiting for connection on: disconnected:${addr},server=on` };
}
