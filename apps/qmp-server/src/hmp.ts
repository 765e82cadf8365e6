/**
 * HMP through `human-monitor-command` (monitor/hmp.c, hmp-commands*.hx): output is one
 * string with CRLF line ends; errors come back as text (`Error: ...`), not QMP errors.
 * Each command declares its argument signature as QEMU's table does; the parser gives
 * QEMU's messages for missing or extra arguments.
 */
import { QemuError, deviceAdd, deviceDel, idWellFormed, infoQomTree, infoQtree, qomGet, qomList, type PluginHmpCommand } from '@plugboard/qdev';
import { formatInfoPci, queryPci } from '@plugboard/pci-core';
import { hmpPortRead, hmpPortWrite, parseIoFormat } from '@plugboard/hotplug-acpi';
import type { MachineHost } from './host.js';

/** `s` = one string argument, `S` = the rest of the line, `O` = QemuOpts; `?` marks optional. */
export interface HmpCommand {
  name: string;
  /** Alternative names (`c` for `cont`). */
  aliases?: string[];
  params: string;
  help: string;
  run(host: MachineHost, args: string[]): string | Promise<string>;
}

/** Monitor output: every line ends in "\r\n" (monitor_puts turns each '\n' into "\r\n"). */
const crlf = (s: string) => (s === '' ? '' : (s.endsWith('\n') ? s : s + '\n').replace(/\r?\n/g, '\r\n'));
const lines = (l: string[]) => l.map((x) => x + '\r\n').join('');

/** Parses `driver,key=val,...` with `,,` escaping a comma (QemuOpts syntax). */
export function parseOptsString(text: string, impliedKey: string): Record<string, string> {
  // No prototype: a key such as `__proto__` stays an option (and is refused as a property).
  const out = Object.create(null) as Record<string, string>;
  if (text === '') return out;
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',') {
      if (text[i + 1] === ',') {
        cur += ',';
        i++;
        continue;
      }
      parts.push(cur);
      cur = '';
    } else cur += text[i];
  }
  parts.push(cur);
  parts.forEach((p, i) => {
    const eq = p.indexOf('=');
    if (eq < 0) {
      if (i === 0) out[impliedKey] = p;
      else out[p] = 'on';
    } else out[p.slice(0, eq)] = p.slice(eq + 1);
  });
  return out;
}

class HmpUsageError extends Error {}

const infoCommands: HmpCommand[] = [
  { name: 'pci', params: '', help: 'show PCI info', run: (h) => formatInfoPci(queryPci(h.machine.pciRoots)) },
  { name: 'qom-tree', params: 's?', help: 'show QOM composition tree', run: (h, [path]) => infoQomTree(h.machine, path) },
  { name: 'qtree', params: '', help: 'show device tree', run: (h) => infoQtree(h.machine) },
  {
    name: 'status', params: '', help: 'show the current VM status (running|paused)',
    run: (h) => crlf(`VM status: ${h.machine.runState === 'running' ? 'running' : `paused (${h.machine.runState})`}`),
  },
  // hmp_info_version prints the version and the package back to back.
  { name: 'version', params: '', help: 'show the version of QEMU', run: (h) => crlf(`7.2.22${h.version.package}`) },
];

export const hmpCommands: HmpCommand[] = [
  { name: 'cont', aliases: ['c'], params: '', help: 'resume emulation', run: (h) => (h.machine.cont(), '') },
  {
    name: 'device_add', params: 'O', help: 'add device, like -device on the command line',
    run: (h, [opts]) => {
      const o = parseOptsString(opts ?? '', 'driver');
      // QemuOpts refuses a bad id while parsing; HMP then only prints the usage hint.
      if (o.id !== undefined && !idWellFormed(o.id)) throw new HmpUsageError();
      deviceAdd(h.machine, o);
      h.afterHotplug();
      return '';
    },
  },
  {
    name: 'device_del', params: 's', help: 'remove device',
    run: (h, [id]) => {
      deviceDel(h.machine, id!);
      h.afterHotplug();
      return '';
    },
  },
  {
    // help_cmd() splits its argument into words itself (parse_cmdline, get_str's rules) and
    // prints nothing when that fails; words after the command (or info subcommand) are ignored.
    name: 'help', aliases: ['?'], params: 'S?', help: 'show the help',
    run: (h, [text]) => {
      const words: string[] = [];
      for (let rest = text ?? ''; skipCSpace(rest) !== ''; ) {
        const got = hmpGetStr(rest);
        if (!got) return '';
        words.push(got.value);
        rest = got.rest;
      }
      const [cmd, sub] = words;
      if (cmd === undefined) return lines(allCommands(h).map((c) => helpLine(c)));
      if (cmd === 'info') {
        if (sub === undefined) return lines(infoCommands.map((c) => helpLine(c, 'info ')));
        const ic = infoCommands.find((c) => c.name === sub);
        return ic ? lines([helpLine(ic, 'info ')]) : `unknown command: 'info ${sub}'\r\n`;
      }
      const c = findCommand(h, cmd);
      return c ? lines([helpLine(c)]) : `unknown command: '${cmd}'\r\n`;
    },
  },
  {
    // i /fmt addr: port read, QEMU's format letters (/b byte, /h halfword, /w word) and output.
    name: 'i', params: 'S', help: 'I/O port read',
    run: (h, [rest]) => ioCommand(h, 'i', rest ?? ''),
  },
  {
    name: 'o', params: 'S', help: 'I/O port write',
    run: (h, [rest]) => ioCommand(h, 'o', rest ?? ''),
  },
  { name: 'info', params: 's?', help: 'show various information about the system state', run: () => '' },
  {
    name: 'qom-get', params: 'ss', help: 'print QOM property',
    run: (h, [path, prop]) => crlf(JSON.stringify(qomGet(h.machine, path!, prop!), null, 4)),
  },
  {
    name: 'qom-list', params: 's?', help: 'list QOM properties',
    run: (h, [path]) => lines(qomList(h.machine, path ?? '/').map((p) => `${p.name} (${p.type})`)),
  },
  { name: 'quit', aliases: ['q'], params: '', help: 'quit the emulator', run: (h) => (h.shutdown('host-qmp-quit'), '') },
  { name: 'stop', aliases: ['s'], params: '', help: 'stop emulation', run: (h) => (h.machine.stop(), '') },
  { name: 'system_reset', params: '', help: 'reset the system', run: (h) => (h.systemReset(), '') },
];

/** `i [/fmt] addr` and `o [/fmt] addr value` (monitor/hmp-cmds.c hmp_ioport_read/write). */
function ioCommand(h: MachineHost, which: 'i' | 'o', rest: string): string {
  const usage = `Try "help ${which}" for more information\r\n`;
  const words = rest.trim().split(/\s+/).filter(Boolean);
  const fmt = words[0]?.startsWith('/') ? words.shift()!.slice(1) : undefined;
  const parseNum = (t: string | undefined): number => {
    if (t === undefined) throw new HmpParseError(`unexpected end of expression\r\n${usage}`);
    const v = Number(t.startsWith('0x') || t.startsWith('0X') ? t : /^\d+$/.test(t) ? t : NaN);
    if (!Number.isFinite(v)) throw new HmpParseError(`invalid char in expression\r\n${usage}`);
    return v;
  };
  let size: number;
  try {
    size = parseIoFormat(fmt);
  } catch (e) {
    throw new HmpParseError(`${(e as Error).message}\r\n${usage}`);
  }
  const addr = parseNum(words[0]);
  if (which === 'i') return crlf(hmpPortRead(h.machine.guestView, size, addr));
  hmpPortWrite(h.machine.guestView, size, addr, parseNum(words[1]));
  return '';
}

/** Adapts a plugin's HMP command to the monitor's table. */
export function pluginHmpCommand(c: PluginHmpCommand): HmpCommand {
  if (c.usage !== undefined) USAGE[c.name] = c.usage;
  return {
    name: c.name,
    ...(c.aliases ? { aliases: c.aliases } : {}),
    params: c.params,
    help: c.help,
    run: (h, args) => c.run(args, { machine: h.machine }),
  };
}

/** QEMU's help line: names joined by `|`, the parameter usage, ` -- `, the text. */
const USAGE: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, {
  device_add: 'driver[,prop=value][,...]', device_del: 'device', help: '[cmd]', info: '[subcommand]',
  'qom-get': 'path property', 'qom-list': 'path', 'qom-tree': '[path]', i: '/fmt addr', o: '/fmt addr value',
});
function helpLine(c: HmpCommand, prefix = ''): string {
  const names = [c.name, ...(c.aliases ?? [])].join('|');
  return `${prefix}${names} ${USAGE[c.name] ?? ''} -- ${c.help}`;
}

function allCommands(h: MachineHost): HmpCommand[] {
  return [...hmpCommands, ...h.hmpExtensions.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function findCommand(h: MachineHost, name: string): HmpCommand | undefined {
  return allCommands(h).find((c) => c.name === name || c.aliases?.includes(name));
}

/** C's isspace(), which the monitor uses to separate arguments (not JavaScript's \s). */
const isCSpace = (c: string | undefined): boolean => c === ' ' || (c !== undefined && c >= '\t' && c <= '\r');
const skipCSpace = (s: string): string => {
  let i = 0;
  while (isCSpace(s[i])) i++;
  return s.slice(i);
};
/** The monitor's argument buffer: 1024 bytes with the NUL; longer strings are cut short, silently. */
const HMP_ARG_MAX_BYTES = 1023;
/** `\X` escapes get_str() knows inside double quotes; any other is refused. */
const HMP_ESCAPES: ReadonlyMap<string, string> = new Map([['n', '\n'], ['r', '\r'], ['\\', '\\'], ["'", "'"], ['"', '"']]);

/**
 * One string argument as monitor/hmp.c get_str() reads it: a word up to the next space, or a
 * double-quoted string with the escapes \n \r \\ \' \". Returns null where get_str fails
 * (nothing left, an unknown escape, no closing quote): QEMU then prints its reason on its own
 * stdout, not on the monitor, so the monitor shows only the caller's message.
 */
export function hmpGetStr(text: string): { value: string; rest: string } | null {
  const s = skipCSpace(text);
  if (s === '') return null;
  let value = '';
  let i = 0;
  if (s[0] === '"') {
    for (i = 1; i < s.length && s[i] !== '"'; i++) {
      if (s[i] !== '\\') {
        value += s[i];
        continue;
      }
      const c = s[++i];
      const esc = c === undefined ? undefined : HMP_ESCAPES.get(c);
      if (esc === undefined) return null;
      value += esc;
    }
    if (s[i] !== '"') return null;
    i++;
  } else {
    while (i < s.length && !isCSpace(s[i])) i++;
    value = s.slice(0, i);
  }
  return { value: truncateBytes(value, HMP_ARG_MAX_BYTES), rest: s.slice(i) };
}

function truncateBytes(s: string, max: number): string {
  const bytes = Buffer.from(s, 'utf8');
  // A cut inside a UTF-8 sequence leaves invalid UTF-8, which QEMU's JSON writer prints as U+FFFD.
  return bytes.length <= max ? s : new TextDecoder().decode(bytes.subarray(0, max));
}

/** Splits the argument text per the signature (monitor/hmp.c monitor_parse_arguments). */
function parseArgs(c: HmpCommand, rest: string, fullName: string): string[] {
  const out: string[] = [];
  let text = rest;
  const usage = `Try "help ${fullName}" for more information\r\n`;
  for (let i = 0; i < c.params.length; i++) {
    const p = c.params[i]!;
    const optional = c.params[i + 1] === '?';
    if (optional) i++;
    text = skipCSpace(text);
    if (p === 'S') {
      if (text === '' && !optional) throw new HmpParseError(`${c.name}: string expected\r\n${usage}`);
      out.push(text);
      text = '';
      continue;
    }
    if (p === 'O') {
      // QemuOpts text is one get_str() word (quotes allowed); a failure prints only the hint.
      if (text === '') {
        out.push('');
        continue;
      }
      const got = hmpGetStr(text);
      if (!got) throw new HmpParseError(usage);
      out.push(got.value);
      text = got.rest;
      continue;
    }
    if (text === '' && optional) continue;
    const got = hmpGetStr(text);
    if (!got) throw new HmpParseError(`${c.name}: string expected\r\n${usage}`);
    out.push(got.value);
    text = got.rest;
  }
  if (skipCSpace(text) !== '') throw new HmpParseError(`${c.name}: extraneous characters at the end of line\r\n${usage}`);
  return out;
}

class HmpParseError extends Error {}

export async function runHmp(host: MachineHost, commandLine: string): Promise<string> {
  const line = commandLine.trim();
  if (line === '') return '';
  const [name, rest] = splitWord(line);
  let cmd = findCommand(host, name);
  let args = rest;
  let fullName = name;
  if (cmd?.name === 'info') {
    const [sub, subRest] = splitWord(rest.trim());
    if (sub === '') return lines(infoCommands.map((c) => helpLine(c, 'info ')));
    const ic = infoCommands.find((c) => c.name === sub);
    if (!ic) return `unknown command: 'info ${sub}'\r\n`;
    cmd = ic;
    args = subRest;
    fullName = `info ${sub}`;
  }
  if (!cmd) return `unknown command: '${name}'\r\n`;
  try {
    return await cmd.run(host, parseArgs(cmd, args, fullName));
  } catch (e) {
    if (e instanceof HmpParseError) return e.message;
    if (e instanceof HmpUsageError) return `Try "help ${fullName}" for more information\r\n`;
    // The monitor writes every '\n' of its output as "\r\n" (monitor_puts), error texts included.
    if (e instanceof QemuError) return `Error: ${e.message.replace(/\n/g, '\r\n')}\r\n`;
    throw e;
  }
}

function splitWord(s: string): [string, string] {
  const i = s.search(/\s/);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}
