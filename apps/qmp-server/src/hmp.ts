/**
 * HMP through `human-monitor-command` (monitor/hmp-cmds.c, hmp-commands*.hx): output is
 * one string with CRLF line ends; errors come back as `Error: ...` text, not QMP errors.
 */
import { QemuError, deviceAdd, deviceDel, infoQtree } from '@plugboard/qdev';
import { formatInfoPci, queryPci } from '@plugboard/pci-core';
import type { MachineHost } from './host.js';

export type HmpCommand = (host: MachineHost, args: string) => string | Promise<string>;

const crlf = (s: string) => (s === '' ? '' : s.endsWith('\r\n') ? s : s + '\r\n');

/** Parses `driver,key=val,...` with `,,` escaping a comma (QemuOpts syntax). */
export function parseOptsString(text: string, impliedKey: string): Record<string, string> {
  const out: Record<string, string> = {};
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

const info: Record<string, HmpCommand> = {
  pci: (h) => formatInfoPci(queryPci(h.machine.pciRoots)),
  qtree: (h) => infoQtree(h.machine),
  status: (h) => {
    const rs = h.machine.runState;
    const text = rs === 'running' ? 'running' : `paused (${rs})`;
    return crlf(`VM status: ${text}`);
  },
  version: () => crlf('7.2.22 (Plugboard)'),
};

export const hmpCommands: Record<string, HmpCommand> = {
  info: (h, args) => {
    const sub = args.trim().split(/\s+/)[0] ?? '';
    const fn = info[sub];
    if (!fn) return crlf(sub === '' ? 'info: missing argument' : `info: unknown subcommand '${sub}'`);
    return fn(h, '');
  },
  device_add: (h, args) => {
    deviceAdd(h.machine, parseOptsString(args.trim(), 'driver'));
    h.afterHotplug();
    return '';
  },
  device_del: (h, args) => {
    deviceDel(h.machine, args.trim());
    h.afterHotplug();
    return '';
  },
  system_reset: (h) => {
    h.systemReset();
    return '';
  },
  stop: (h) => {
    h.machine.stop();
    return '';
  },
  cont: (h) => {
    h.machine.cont();
    return '';
  },
};

export async function runHmp(host: MachineHost, commandLine: string): Promise<string> {
  const line = commandLine.trim();
  const sp = line.search(/\s/);
  const name = sp < 0 ? line : line.slice(0, sp);
  const args = sp < 0 ? '' : line.slice(sp + 1);
  const cmd = host.hmpExtensions.get(name) ?? hmpCommands[name];
  if (!cmd) return `unknown command: '${name}'\r\n`;
  try {
    return await cmd(host, args);
  } catch (e) {
    if (e instanceof QemuError) return `Error: ${e.message}\r\n`;
    throw e;
  }
}
