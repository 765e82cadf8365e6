/**
 * Differential check: the same arguments given to the real qemu-system-x86_64
 * 7.2 (when installed) and to Plugboard's parsers must print the same
 * diagnostics, program name aside, and exit with the same code.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CliError } from '../src/options/errors.js';
import {
  formatDeviceList,
  formatMachineList,
  formatPropertyList,
  formatVersion,
  type DeviceCategory,
  type DeviceHelpEntry,
  type MachineHelpEntry,
  type PropertyHelpEntry,
} from '../src/options/help.js';
import { parseQemuJson } from '../src/options/json.js';
import {
  OptsContext,
  parseChardevOpt,
  parseCommandLine,
  parseDeviceOpt,
  parseDisplayOpt,
  parseGlobalOpt,
  parseMachineOpt,
  parseMemOpt,
  parseMonOpt,
  parseNameOpt,
  parseQmpOpt,
  parseSerialOpt,
  parseSmpOpt,
} from '../src/options/parse.js';
import { parseAccelOpt, resolveAccel, resolveMemory, resolveSmp, type MemOpts } from '../src/options/machine.js';
import { resolveMonitors, type ChardevSpec } from '../src/options/chardev.js';

const QEMU = '/usr/bin/qemu-system-x86_64';
const PREFIX = ['-S', '-nodefaults', '-display', 'none'];

interface Outcome {
  stdout: string;
  stderr: string;
  code: number;
}

function ours(fn: () => unknown): Outcome {
  try {
    fn();
  } catch (e) {
    if (e instanceof CliError) return { stdout: e.stdout, stderr: e.format(), code: e.exitCode };
    throw e;
  }
  return { stdout: '', stderr: '', code: -1 };
}

function qemu(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(QEMU, [...PREFIX, ...args], { timeout: 10_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ stdout, stderr: stderr.replaceAll('qemu-system-x86_64:', 'plugboard:'), code });
    });
    child.stdin?.end();
  });
}

const PC = { defaultRamSize: 128n << 20n, maxRamSlots: 256 };
const PC_SMP = { name: 'pc-i440fx-7.2', maxCpus: 255, diesSupported: true };
const mem = (...a: string[]) => () => resolveMemory(a.reduce<MemOpts | undefined>((into, x) => parseMemOpt(x, { into }), undefined), PC);
const smp = (...a: string[]) => () => resolveSmp(a.map((x) => parseSmpOpt(x)), PC_SMP);
const cl = (...a: string[]) => () => parseCommandLine([...PREFIX, ...a]);
const chardevs = (...a: string[]) => () => {
  const ids = new Set<string>();
  return a.map((x) => parseChardevOpt(x, { ids }));
};
const devices = (...a: string[]) => () => {
  const ctx = new OptsContext();
  for (const x of a) {
    const d = parseDeviceOpt(x, { ctx });
    if (d.kind === 'device' && !['e1000'].includes(d.driver)) {
      throw new CliError({ location: `-device ${x}`, message: `'${d.driver}' is not a valid device model name` }, { warnings: d.warnings });
    }
  }
};

// [QEMU arguments after the prefix, what Plugboard runs]
const CASES: Array<[string[], () => unknown]> = [
  [['-foo'], cl('-foo')],
  [['--foo'], cl('--foo')],
  [['-device'], cl('-device')],
  [['--device'], cl('--device')],
  [['-M'], cl('-M')],
  [['-g', '800x600'], cl('-g', '800x600')],
  [['-prom-env', 'x'], cl('-prom-env', 'x')],
  [['-semihosting'], cl('-semihosting')],
  [['-h', '-bogus'], cl('-h', '-bogus')],
  [['---M', 'q35'], cl('---M', 'q35')],
  [['-M', 'pc,q35'], () => parseMachineOpt('pc,q35', { location: '-M pc,q35' })],
  [['-M', 'pc,,x'], () => parseMachineOpt('pc,,x', { location: '-M pc,,x' })],
  [['-M', 'pc,1'], () => parseMachineOpt('pc,1', { location: '-M pc,1' })],
  [['-M', 'pc,a..b=1'], () => parseMachineOpt('pc,a..b=1', { location: '-M pc,a..b=1' })],
  [['-M', 'pc,a.b=1,a=2'], () => parseMachineOpt('pc,a.b=1,a=2', { location: '-M pc,a.b=1,a=2' })],
  [['-M', 'pc,a=1,a.b=2'], () => parseMachineOpt('pc,a=1,a.b=2', { location: '-M pc,a=1,a.b=2' })],
  [['-M', ',pc'], () => parseMachineOpt(',pc', { location: '-M ,pc' })],
  [['-machine', 'accel=tcg,usb'], () => parseMachineOpt('accel=tcg,usb')],
  [['-device', 'foo'], devices('foo')],
  [['-device', ',e1000'], devices(',e1000')],
  [['-device', 'e1000,,x'], devices('e1000,,x')],
  [['-device', 'e1000,id=1x'], devices('e1000,id=1x')],
  [['-device', 'e1000,id='], devices('e1000,id=')],
  [['-device', 'e1000,foo,id=1x'], devices('e1000,foo,id=1x')],
  [['-device', 'e1000,id=a', '-device', 'e1000,id=a'], devices('e1000,id=a', 'e1000,id=a')],
  [['-device', ''], devices('')],
  [['-device', 'id=x'], devices('id=x')],
  [['-device', '{"driver":"e1000"'], devices('{"driver":"e1000"')],
  [['-device', '{"driver":1}'], devices('{"driver":1}')],
  [['-device', '{"a":1}x'], devices('{"a":1}x')],
  [['-device', '{"a":"x\\u12"}'], devices('{"a":"x\\u12"}')],
  [['-device', '{"a" 1}'], devices('{"a" 1}')],
  [['-device', '[1]'], devices('[1]')],
  [['-global', 'foo'], () => parseGlobalOpt('foo')],
  [['-global', 'foo.bar'], () => parseGlobalOpt('foo.bar')],
  [['-global', 'nosuch'], () => parseGlobalOpt('nosuch')],
  [['-global', 'driver=e1000'], () => parseGlobalOpt('driver=e1000')],
  [['-global', 'driver=e1000,property=x,value=1,bar=1'], () => parseGlobalOpt('driver=e1000,property=x,value=1,bar=1')],
  [['-global', '.bar=1'], () => parseGlobalOpt('.bar=1')],
  [['-global', 'help'], () => parseGlobalOpt('help')],
  [['-m', 'foo'], () => parseMemOpt('foo')],
  [['-m', '16E'], () => parseMemOpt('16E')],
  [['-m', '1.5'], () => parseMemOpt('1.5')],
  [['-m', '1,1'], () => parseMemOpt('1,1')],
  [['-m', '1G,id=foo'], () => parseMemOpt('1G,id=foo')],
  [['-m', '1G,slots=x'], () => parseMemOpt('1G,slots=x')],
  [['-m', '1G,nohelp'], () => parseMemOpt('1G,nohelp')],
  [['-m', '1G,help'], () => parseMemOpt('1G,help')],
  [['-m', '1G,maxmem=4G,slots=99999999999999999999'], () => parseMemOpt('1G,maxmem=4G,slots=99999999999999999999')],
  [['-m', '1G,slots=2'], mem('1G,slots=2')],
  [['-m', '1G', '-m', '2G,slots=2'], mem('1G', '2G,slots=2')],
  [['-m', '1G,maxmem=512M'], mem('1G,maxmem=512M')],
  [['-m', '1.5G,maxmem=1'], mem('1.5G,maxmem=1')],
  [['-m', '1001k,maxmem=1'], mem('1001k,maxmem=1')],
  [['-m', '0x10,maxmem=1'], mem('0x10,maxmem=1')],
  [['-m', '0x10M,maxmem=1'], mem('0x10M,maxmem=1')],
  [['-m', '1G,slots=2,maxmem=1G'], mem('1G,slots=2,maxmem=1G')],
  [['-m', '99999999999999'], mem('99999999999999')],
  [['-m', '1G,maxmem=2G,slots=257'], mem('1G,maxmem=2G,slots=257')],
  [['-m', '18446744073709551615b,maxmem=1'], mem('18446744073709551615b,maxmem=1')],
  [['-smp', 'foo'], smp('foo')],
  [['-smp', '4,foo=1'], smp('4,foo=1')],
  [['-smp', '1,1'], smp('1,1')],
  [['-smp', '2,,3'], smp('2,,3')],
  [['-smp', '2,sockets=2,cores=2'], smp('2,sockets=2,cores=2')],
  [['-smp', '4,maxcpus=2'], smp('4,maxcpus=2')],
  [['-smp', 'cpus=300'], smp('cpus=300')],
  [['-smp', '-1'], smp('-1')],
  [['-smp', 'cpus=-4,maxcpus=1'], smp('cpus=-4,maxcpus=1')],
  [['-smp', '2,clusters=2'], smp('2,clusters=2')],
  [['-smp', '2', '-smp', 'sockets=2,maxcpus=1'], smp('2', 'sockets=2,maxcpus=1')],
  [['-smp', 'help'], smp('help')],
  [['-qmp', 'foo'], () => parseQmpOpt('foo')],
  [['-qmp', 'unix:'], () => parseQmpOpt('unix:')],
  [['-qmp', 'tcp:localhost'], () => parseQmpOpt('tcp:localhost')],
  [['-qmp', 'unix:/tmp/pb-q1.sock,server=on,wait=off,foo=bar'], () => parseQmpOpt('unix:/tmp/pb-q1.sock,server=on,wait=off,foo=bar')],
  [['-qmp', 'unix:/tmp/pb-q1.sock,wait=off'], () => parseQmpOpt('unix:/tmp/pb-q1.sock,wait=off')],
  [['-qmp', 'none'], () => parseQmpOpt('none')],
  [['-qmp', 'chardev:c9'], () => resolveMonitors([], [parseQmpOpt('chardev:c9').monitor])],
  [['-qmp', 'stdio', '-monitor', 'stdio'], () => {
    const q = parseQmpOpt('stdio');
    const m = parseQmpOpt('stdio', { mode: 'readline', index: 1 });
    resolveMonitors([q.chardev!, m.chardev!], [q.monitor, m.monitor]);
  }],
  [['-serial', 'foo'], () => parseSerialOpt('foo')],
  [['-serial', 'tcp:x'], () => parseSerialOpt('tcp:x')],
  [['-chardev', 'socket,path=/tmp/pb-c0.sock'], chardevs('socket,path=/tmp/pb-c0.sock')],
  [['-chardev', 'foo,id=x'], chardevs('foo,id=x')],
  [['-chardev', 'socket,id=c0'], chardevs('socket,id=c0')],
  [['-chardev', 'socket,id=c0,host=localhost'], chardevs('socket,id=c0,host=localhost')],
  [['-chardev', 'socket,id=c0,host=h,port=1,server=on,wait=off,path=/p'], chardevs('socket,id=c0,host=h,port=1,server=on,wait=off,path=/p')],
  [['-chardev', 'socket,id=c0,path=/tmp/pb-c0.sock,server=maybe'], chardevs('socket,id=c0,path=/tmp/pb-c0.sock,server=maybe')],
  [['-chardev', 'socket,id=c0,host=localhost,port=4,reconnect=1,server=on'], chardevs('socket,id=c0,host=localhost,port=4,reconnect=1,server=on')],
  [['-chardev', 'null,id=c0', '-chardev', 'null,id=c0'], chardevs('null,id=c0', 'null,id=c0')],
  [['-chardev', 'file,id=f'], chardevs('file,id=f')],
  [['-chardev', 'socket,help'], chardevs('socket,help')],
  [['-mon', 'foo'], () => resolveMonitors([], [parseMonOpt('foo')])],
  [['-mon', 'mode=control'], () => parseMonOpt('mode=control')],
  [['-chardev', 'null,id=c0', '-mon', 'c0,mode=foo'], () => parseMonOpt('c0,mode=foo')],
  [['-chardev', 'null,id=c0', '-mon', 'c0,pretty=on'], () => parseMonOpt('c0,pretty=on')],
  [['-name', 'foo,bar=1'], () => parseNameOpt('foo,bar=1')],
  [['-name', 'x,debug-threads=maybe'], () => parseNameOpt('x,debug-threads=maybe')],
  [['-name', 'x,help'], () => parseNameOpt('x,help')],
  [['-accel', 'foo'], () => resolveAccel([parseAccelOpt('foo')], undefined)],
  [['-accel', 'help'], () => parseAccelOpt('help')],
  [['-accel', 'tcg,foo=1'], () => resolveAccel([parseAccelOpt('tcg,foo=1')], undefined)],
  [['-accel', 'tcg', '-machine', 'accel=tcg'], () => resolveAccel([parseAccelOpt('tcg')], 'tcg')],
  [['-machine', 'accel=foo'], () => resolveAccel([], 'foo')],
  [['-machine', 'accel='], () => resolveAccel([], '')],
  [['-display', 'foo'], () => parseDisplayOpt('foo')],
  [['-display', 'none,foo=1'], () => parseDisplayOpt('none,foo=1')],
  [['-display', 'none,help'], () => parseDisplayOpt('none,help')],
  [['-display', ''], () => parseDisplayOpt('')],
  [['-display', 'vnc'], () => parseDisplayOpt('vnc')],
  [['-display', 'cocoa'], () => parseDisplayOpt('cocoa')],
];

if (!existsSync('/dev/kvm')) {
  CASES.push(
    [['-enable-kvm'], () => resolveAccel([], 'kvm')],
    [['-accel', 'kvm'], () => resolveAccel([parseAccelOpt('kvm')], undefined)],
    [['-enable-kvm', '-accel', 'tcg'], () => resolveAccel([parseAccelOpt('tcg')], 'kvm')],
  );
}

describe.runIf(existsSync(QEMU))('same diagnostics as qemu-system-x86_64 7.2', () => {
  it(`${CASES.length} command lines`, async () => {
    // A small pool: QEMU start-up is CPU-bound, a few at a time is enough.
    const real: Outcome[] = new Array(CASES.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < CASES.length) {
        const i = next++;
        real[i] = await qemu(CASES[i]![0]);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const results = CASES.map(([args, fn], i): [string, Outcome, Outcome] => [args.join(' '), real[i]!, ours(fn)]);
    const differing = results.filter(([, real, mine]) => JSON.stringify(real) !== JSON.stringify(mine));
    expect(differing.map(([args, real, mine]) => ({ args, real, mine }))).toEqual([]);
  }, 120_000);

  it('-version has the same shape', async () => {
    const out = await new Promise<string>((resolve) => execFile(QEMU, ['-version'], { encoding: 'utf8' }, (_e, s) => resolve(s)));
    const pkg = /\((.*)\)/.exec(out.split('\n')[0]!)![1]!;
    expect(formatVersion({ pkgVersion: pkg })).toBe(out);
  });

  const run = (args: string[]): Promise<string> =>
    new Promise((resolve) => execFile(QEMU, args, { encoding: 'utf8', maxBuffer: 1 << 24 }, (_e, out) => resolve(out)));

  it('-device DRIVER,help: same layout for real property lists', async () => {
    for (const driver of ['e1000', 'virtio-net-pci', 'pcie-root-port', 'ioh3420', 'pci-bridge', 'xio3130-downstream', 'x3130-upstream']) {
      const out = await run(['-device', `${driver},help`]);
      const props = out
        .split('\n')
        .slice(1, -1)
        .map((line): PropertyHelpEntry => {
          const m = /^ {2}([^=]+)=<(.*?)>(?: +- (.*))?$/.exec(line)!;
          const [name, type, rest] = [m[1]!, m[2]!, m[3]];
          if (rest === undefined) return { name, type };
          const d = /^(.*) \(default: (.*)\)$/.exec(rest);
          if (!d) return { name, type, description: rest };
          const { v } = parseQemuJson(`{"v":${d[2]}}`) as { v: PropertyHelpEntry['defaultValue'] };
          return { name, type, description: d[1]!, defaultValue: v };
        })
        .reverse(); // the formatter sorts
      expect(formatPropertyList(driver, props)).toBe(out);
    }
  });

  it('-machine help: same layout for the real machine list', async () => {
    const out = await run(['-machine', 'help']);
    const entries: MachineHelpEntry[] = [];
    const aliases = new Map<string, string>();
    for (const line of out.split('\n').slice(1, -1)) {
      const m = /^(\S+) +(.*)$/.exec(line)!;
      const alias = / \(alias of (\S+)\)$/.exec(m[2]!);
      if (alias) {
        aliases.set(alias[1]!, m[1]!);
        continue;
      }
      let desc = m[2]!;
      const e: MachineHelpEntry = { name: m[1]!, desc };
      if (desc.endsWith(' (deprecated)')) [desc, e.deprecated] = [desc.slice(0, -13), true];
      if (desc.endsWith(' (default)')) [desc, e.isDefault] = [desc.slice(0, -10), true];
      e.desc = desc;
      const a = aliases.get(e.name);
      if (a) e.alias = a;
      entries.push(e);
    }
    expect(formatMachineList(entries)).toBe(out);
  });

  it('-device help: same layout for the real device list', async () => {
    const out = await run(['-device', 'help']);
    const titles: Record<string, DeviceCategory | undefined> = {
      'Controller/Bridge/Hub': 'bridge', USB: 'usb', Storage: 'storage', Network: 'network', Input: 'input',
      Display: 'display', Sound: 'sound', Misc: 'misc', CPU: 'cpu', Watchdog: 'watchdog', Uncategorized: undefined,
    };
    const byName = new Map<string, DeviceHelpEntry & { category: DeviceCategory[] }>();
    const expected: string[] = [];
    let cat: DeviceCategory | undefined;
    const seen = new Set<string>();
    for (const line of out.split('\n')) {
      const h = /^(.*) devices:$/.exec(line);
      if (h) {
        cat = titles[h[1]!];
        seen.clear();
        expected.push(line);
        continue;
      }
      const m = /^name "([^"]+)"(?:, bus ([^,]+))?(?:, alias "([^"]+)")?(?:, desc "(.*)")?$/.exec(line);
      if (!m) {
        expected.push(line);
        continue;
      }
      // QEMU 7.2 repeats a few uncategorized devices at the very end; keep one.
      if (seen.has(m[1]!)) continue;
      seen.add(m[1]!);
      expected.push(line);
      const e = byName.get(m[1]!) ?? { name: m[1]!, category: [] as DeviceCategory[], ...(m[2] ? { bus: m[2] } : {}), ...(m[3] ? { alias: m[3] } : {}), ...(m[4] ? { desc: m[4] } : {}) };
      if (cat) e.category.push(cat);
      byName.set(e.name, e);
    }
    expect(formatDeviceList([...byName.values()])).toBe(expected.join('\n'));
  });
});
