/**
 * QEMU's two `key=value,...` grammars, re-implemented from their observable
 * behavior in QEMU 7.2:
 *
 * - QemuOpts (util/qemu-option.c), used by -device, -m, -name, -accel,
 *   -chardev, -mon, -global, -plugin: the first bare value belongs to the
 *   implied key and may contain `,,`; a later bare `key` means key=on and
 *   `nokey` key=off (both deprecated, with a warning); `id=` is pulled out
 *   first and checked; lists with a description reject unknown keys and
 *   type-check values; a bare `help` prints the list's help.
 * - keyval (util/keyval.c), used by -machine, -smp, -display: dotted keys
 *   make nested dicts, the implied value ends at the first `,` or `=` (no
 *   `,,` there), a later bare word is an error, `help` anywhere asks for help.
 */
import { CliError, ID_HINT, SIZE_HINT, type Diagnostic } from './errors.js';
import { parseQemuBool, qemuStrtosz, qemuStrtou64 } from './numbers.js';

export type OptType = 'string' | 'bool' | 'number' | 'size';

export interface OptDesc {
  name: string;
  type: OptType;
  help?: string;
}

export interface QemuOptsList {
  /** Used in "Duplicate ID 'x' for NAME" and "NAME options:". */
  name: string;
  /** QemuOptsList.implied_opt_name. */
  implied?: string;
  /** One set of options for all occurrences; `id=` is refused. */
  mergeLists?: boolean;
  /** Accepted keys; undefined means any key (like -device). */
  desc?: readonly OptDesc[];
}

export interface QemuOptsParse {
  id?: string;
  /** Options in command-line order, `id` excluded, values as written. */
  opts: Array<[string, string]>;
  warnings: Diagnostic[];
}

export interface QemuOptsParseOptions {
  /** `-opt arg` for error locations. */
  location?: string;
  /** Use the implied key for a leading bare value (QEMU's permit_abbrev). */
  permitAbbrev?: boolean;
  /** Warn about short-form booleans (true in qemu_opts_parse_noisily). */
  warnOnFlag?: boolean;
  /** Ids already taken in this list, for "Duplicate ID"; the new id is added. */
  ids?: Set<string>;
  /**
   * False for qemu_opts_do_parse (legacy chardev strings): no `id=` pre-scan
   * (an `id` is silently dropped) and no help, so `help` is an invalid key.
   */
  standalone?: boolean;
}

/** Reads a value up to a single `,`; `,,` stands for a comma. */
function readValue(s: string, i: number): [string, number] {
  let out = '';
  while (i < s.length) {
    if (s[i] === ',') {
      if (s[i + 1] !== ',') break;
      i++;
    }
    out += s[i];
    i++;
  }
  return [out, i];
}

interface Item {
  name: string;
  value: string;
  isHelp: boolean;
  /** Set for `key` / `nokey` short forms: the deprecation text. */
  flag?: Diagnostic;
}

/** One `name=value` or flag from position i; returns the item and the next position. */
function readItem(s: string, i: number, implied: string | undefined, location?: string): [Item, number] {
  let len = 0;
  while (i + len < s.length && s[i + len] !== '=' && s[i + len] !== ',') len++;
  let item: Item;
  let p: number;
  if (s[i + len] !== '=') {
    if (implied !== undefined) {
      const [value, next] = readValue(s, i);
      item = { name: implied, value, isHelp: false };
      p = next;
    } else {
      let name = s.slice(i, i + len);
      let value = 'on';
      let prefix = '';
      let isHelp = false;
      if (name.startsWith('no')) {
        name = name.slice(2);
        value = 'off';
        prefix = 'no';
      } else {
        isHelp = name === 'help' || name === '?';
      }
      const hint =
        name === 'delay'
          ? `Please use nodelay=${prefix ? 'on' : 'off'} instead\n`
          : `Please use ${name}=${value} instead\n`;
      item = {
        name,
        value,
        isHelp,
        flag: isHelp ? undefined : { location, message: `short-form boolean option '${prefix}${name}' deprecated`, hint },
      };
      p = i + len;
    }
  } else {
    const [value, next] = readValue(s, i + len + 1);
    item = { name: s.slice(i, i + len), value, isHelp: false };
    p = next;
  }
  if (s[p] === ',') p++;
  return [item, p];
}

/** QEMU's id_wellformed (util/id.c): a letter, then letters, digits, - . _ */
export function isWellFormedId(id: string): boolean {
  return /^[A-Za-z][A-Za-z0-9\-._]*$/.test(id);
}

const TYPE_NAMES: Record<OptType, string> = { string: 'str', bool: 'bool (on/off)', number: 'num', size: 'size' };

/** qemu_opts_print_help: `NAME options:` and sorted `  key=<type>  - help` lines. */
export function formatQemuOptsHelp(list: QemuOptsList): string {
  const lines = (list.desc ?? []).map((d) => {
    let line = `  ${d.name}=<${TYPE_NAMES[d.type]}>`;
    if (d.help !== undefined) line = `${line.padEnd(24)} - ${d.help}`;
    return line;
  });
  lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `${list.name} options:\n${lines.map((l) => `${l}\n`).join('')}`;
}

/**
 * Type check of one value against its description (qemu_opt_parse); returns
 * the warning qemu_strtosz prints for a hex number with a suffix.
 */
export function checkOptValue(desc: OptDesc, value: string, location?: string): Diagnostic | undefined {
  const err: (message: string, hint?: string) => never = (message, hint) => {
    throw new CliError({ location, message, hint });
  };
  switch (desc.type) {
    case 'bool':
      if (parseQemuBool(value) === undefined) err(`Parameter '${desc.name}' expects 'on' or 'off'`);
      return undefined;
    case 'number': {
      const r = qemuStrtou64(value, 0);
      if (!r.ok && r.error === 'ERANGE') err(`Value '${value}' is too large for parameter '${desc.name}'`);
      if (!r.ok) err(`Parameter '${desc.name}' expects a number`);
      return undefined;
    }
    case 'size': {
      const r = qemuStrtosz(value);
      if (!r.ok && r.error === 'ERANGE') err(`Value '${value}' is out of range for parameter '${desc.name}'`);
      const warning = r.hexSuffix
        ? { location, message: `Using a multiplier suffix on hex numbers is deprecated: ${value}` }
        : undefined;
      try {
        if (!r.ok && r.error === 'ERANGE') err(`Value '${value}' is out of range for parameter '${desc.name}'`);
        if (!r.ok) err(`Parameter '${desc.name}' expects a non-negative number below 2^64`, SIZE_HINT);
      } catch (e) {
        throw e instanceof CliError && warning ? e.withWarnings([warning]) : e;
      }
      return warning;
    }
    default:
      return undefined;
  }
}

/**
 * qemu_opts_parse[_noisily]: throws CliError with QEMU's text; a `help` flag
 * in a list with descriptions ends in CliError with the help on stdout and
 * exit code 1, as QEMU does.
 */
export function parseQemuOpts(arg: string, list: QemuOptsList, o: QemuOptsParseOptions = {}): QemuOptsParse {
  const { location, permitAbbrev = true, warnOnFlag = true, standalone = false } = o;
  const warnings: Diagnostic[] = [];
  const fatal: (message: string, hint?: string) => never = (message, hint) => {
    throw new CliError({ location, message, hint }, { warnings });
  };

  // opts_parse_id: the first `id=` found with no implied key.
  let id: string | undefined;
  for (let p = 0; !standalone && p < arg.length; ) {
    const [item, next] = readItem(arg, p, undefined);
    p = next;
    if (item.name === 'id') {
      id = item.value;
      break;
    }
  }
  if (id !== undefined) {
    if (list.mergeLists) fatal("Invalid parameter 'id'");
    if (o.ids?.has(id)) fatal(`Duplicate ID '${id}' for ${list.name}`);
    if (!isWellFormedId(id)) fatal("Parameter 'id' expects an identifier", ID_HINT);
  }

  const opts: Array<[string, string]> = [];
  let implied = permitAbbrev ? list.implied : undefined;
  for (let p = 0; p < arg.length; ) {
    const [item, next] = readItem(arg, p, implied, location);
    p = next;
    implied = undefined;
    if (item.flag && warnOnFlag) warnings.push(item.flag);
    if (item.isHelp && list.desc && !standalone) {
      throw new CliError(undefined, { warnings, stdout: formatQemuOptsHelp(list) });
    }
    if (item.name === 'id') continue;
    if (list.desc) {
      const desc = list.desc.find((d) => d.name === item.name);
      if (!desc) fatal(`Invalid parameter '${item.name}'`);
      try {
        const w = checkOptValue(desc, item.value, location);
        if (w) warnings.push(w);
      } catch (e) {
        throw e instanceof CliError ? e.withWarnings(warnings) : e;
      }
    }
    opts.push([item.name, item.value]);
  }
  if (id !== undefined) o.ids?.add(id);
  return { id, opts, warnings };
}

/** Last value of a key, as qemu_opt_get returns. */
export function lastOpt(opts: ReadonlyArray<readonly [string, string]>, name: string): string | undefined {
  for (let i = opts.length - 1; i >= 0; i--) if (opts[i]![0] === name) return opts[i]![1];
  return undefined;
}

/** True if any key is `help` or `?` (qemu_opt_has_help_opt, used by -device). */
export function hasHelpOpt(opts: ReadonlyArray<readonly [string, string]>): boolean {
  return opts.some(([k]) => k === 'help' || k === '?');
}

// ---------------------------------------------------------------- keyval

export interface KeyvalParse {
  /** Flat `a.b.c` keys in command-line order, as written (repeats kept). */
  pairs: Array<[string, string]>;
  help: boolean;
}

/** parse_qapi_name(s, false): length of a QAPI name at s[i], or -1. */
function qapiNameLength(s: string, i: number): number {
  let p = i;
  if (s[p] === '_') {
    // Downstream extension prefix __RFQDN_
    p++;
    if (s[p] !== '_') return -1;
    p++;
    while (p < s.length && /[A-Za-z0-9\-.]/.test(s[p]!)) p++;
    if (s[p] !== '_') return -1;
    p++;
  }
  if (!/[A-Za-z]/.test(s[p] ?? '')) return -1;
  p++;
  while (p < s.length && /[A-Za-z0-9\-_]/.test(s[p]!)) p++;
  return p - i;
}

/**
 * keyval_parse: throws CliError with QEMU's text. `helpAllowed` false gives
 * "Help is not available for this option" (QEMU passes no help pointer).
 */
export function parseKeyval(
  arg: string,
  implied: string | undefined,
  o: { location?: string; helpAllowed?: boolean } = {},
): KeyvalParse {
  const { location, helpAllowed = true } = o;
  const fatal: (message: string) => never = (message) => {
    throw new CliError({ location, message });
  };
  const pairs: Array<[string, string]> = [];
  // Kind of each path seen: a value, or a dict holding sub-keys.
  const kinds = new Map<string, 'value' | 'dict'>();
  let help = false;
  let impliedKey = implied;
  let s = 0;
  while (s < arg.length) {
    let len = 0;
    while (s + len < arg.length && arg[s + len] !== '=' && arg[s + len] !== ',') len++;
    const word = arg.slice(s, s + len);
    let p = s + len;
    const bare = len > 0 && arg[p] !== '=';
    if (bare && (word === 'help' || word === '?')) {
      help = true;
      s = arg[p] === ',' ? p + 1 : p;
      impliedKey = undefined;
      continue;
    }
    let key = word;
    let value: string;
    if (bare && impliedKey !== undefined) {
      key = impliedKey;
      value = word;
      checkKey(key, kinds, fatal);
    } else {
      checkKey(key, kinds, fatal);
      if (arg[p] !== '=') fatal(`Expected '=' after parameter '${key}'`);
      [value, p] = readValue(arg, p + 1);
    }
    impliedKey = undefined;
    if (arg[p] === ',') p++;
    pairs.push([key, value]);
    s = p;
  }
  if (help && !helpAllowed) fatal('Help is not available for this option');
  return { pairs, help };
}

/** Validates a dotted key and records its shape (keyval_parse_one/_put). */
function checkKey(key: string, kinds: Map<string, 'value' | 'dict'>, fatal: (m: string) => never): void {
  const frags: string[] = [];
  let s = 0;
  for (;;) {
    let len: number;
    const digits = /^\d+/.exec(key.slice(s));
    if (s !== 0 && digits) len = digits[0].length;
    else len = Math.max(qapiNameLength(key, s), 0);
    if (len === 0 || (s + len < key.length && key[s + len] !== '.')) fatal(`Invalid parameter '${key}'`);
    if (len >= 128) {
      const whole = s === 0 && s + len === key.length;
      fatal(`Parameter${whole ? '' : ' fragment'} '${key.slice(s, s + len)}' is too long`);
    }
    frags.push(key.slice(s, s + len));
    s += len;
    if (key[s] !== '.') break;
    s++;
  }
  for (let i = 0; i < frags.length; i++) {
    const path = frags.slice(0, i + 1).join('.');
    const want = i === frags.length - 1 ? 'value' : 'dict';
    const have = kinds.get(path);
    if (have !== undefined && have !== want) fatal(`Parameters '${path}.*' used inconsistently`);
    kinds.set(path, want);
  }
}

/** Later keys win, kept at the position of their first appearance. */
export function mergePairs<T>(pairs: ReadonlyArray<readonly [string, T]>): Array<[string, T]> {
  const m = new Map<string, T>();
  for (const [k, v] of pairs) m.set(k, v);
  return [...m.entries()];
}
