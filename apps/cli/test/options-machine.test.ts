import { describe, expect, it } from 'vitest';
import { CliError, formatDiagnostic } from '../src/options/errors.js';
import { stderrOf, warn } from './stderr.js';
import {
  formatAccelHelp,
  parseAccelOpt,
  parseDisplayOpt,
  parseMemOpt,
  parseNameOpt,
  parsePluginOpt,
  parseSmpOpt,
  resolveAccel,
  resolveMemory,
  resolveSmp,
  type MemOpts,
} from '../src/options/machine.js';

const PC = { defaultRamSize: 128n << 20n, maxRamSlots: 256 };
const mem = (...args: string[]): MemOpts => args.reduce<MemOpts | undefined>((into, a) => parseMemOpt(a, { into }), undefined)!;
const ram = (...args: string[]) => resolveMemory(mem(...args), PC);

describe('-m', () => {
  it('sizes as QEMU computes them (hex values read back from qemu-system-x86_64 errors)', () => {
    const cases: Array<[string, bigint]> = [
      ['512', 512n << 20n], ['1G', 1n << 30n], ['1.5G', 0x60000000n], ['1k', 0x2000n], ['1.k', 0x2000n], [' 1', 0x100000n],
      ['+1', 0x100000n], ['1b', 0x2000n], ['1001k', 0xfc000n], ['1025k', 0x102000n], ['8193', 0x200100000n], ['8193b', 0x4000n],
      ['0', 0x8000000n], ['size=0', 0x8000000n], ['0x10', 0x1000000n], ['0x100000b', 0x1002000n], ['1.0', 0x100000n],
      ['1.', 0x2000n], ['00012', 0xc00000n], ['17592186044415', 0xfffffffffff00000n], ['0.9999999999999999999k', 0x8000000n],
    ];
    for (const [arg, size] of cases) expect([arg, ram(arg).size]).toEqual([arg, size]);
    expect(ram('')).toMatchObject({ size: 128n << 20n }); // `-m ''` sets nothing
    expect(resolveMemory(undefined, PC)).toEqual({ size: 128n << 20n, maxSize: 128n << 20n, slots: 0n, warnings: [] });
    expect(ram('1G,slots=2,maxmem=4G')).toEqual({ size: 1n << 30n, maxSize: 4n << 30n, slots: 2n, warnings: [] });
    expect(ram('1G,slots=2,maxmem=4G,size=2G').size).toBe(2n << 30n);
    expect(ram('1G', 'maxmem=4G,slots=4')).toMatchObject({ size: 1n << 30n, slots: 4n });
  });

  it("gives QEMU's option errors", () => {
    const m = (arg: string): string => stderrOf(() => parseMemOpt(arg));
    const hint = 'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.\n';
    for (const bad of ['foo', '1X', '-1', '1.5', 'size=', '1e3', '1 ', '0x', '1,,5', ',', 'help', '?', '18446744073709551616b']) {
      expect(m(bad)).toBe(`plugboard: -m ${bad}: Parameter 'size' expects a non-negative number below 2^64\n${hint}`);
    }
    expect(m('99999999999999999999')).toBe("plugboard: -m 99999999999999999999: Value '99999999999999999999' is out of range for parameter 'size'\n");
    expect(m('16E')).toBe("plugboard: -m 16E: Value '16E' is out of range for parameter 'size'\n");
    expect(m('size=1G,foo=2')).toBe("plugboard: -m size=1G,foo=2: Invalid parameter 'foo'\n");
    expect(m('1G,slots=x')).toBe("plugboard: -m 1G,slots=x: Parameter 'slots' expects a number\n");
    expect(m('1G,slots=')).toBe("plugboard: -m 1G,slots=: Parameter 'slots' expects a number\n");
    expect(m('1G,maxmem=4G,slots=99999999999999999999')).toBe(
      "plugboard: -m 1G,maxmem=4G,slots=99999999999999999999: Value '99999999999999999999' is too large for parameter 'slots'\n",
    );
    expect(m('1G,maxmem=x')).toBe(`plugboard: -m 1G,maxmem=x: Parameter 'maxmem' expects a non-negative number below 2^64\n${hint}`);
    expect(m('1G,id=foo')).toBe("plugboard: -m 1G,id=foo: Invalid parameter 'id'\n");
    expect(m('1,1')).toBe(
      "plugboard: -m 1,1: warning: short-form boolean option '1' deprecated\nPlease use 1=on instead\nplugboard: -m 1,1: Invalid parameter '1'\n",
    );
    try {
      parseMemOpt('1G,help');
      throw new Error('no throw');
    } catch (e) {
      expect((e as CliError).stdout).toBe('memory options:\n  maxmem=<size>\n  size=<size>\n  slots=<num>\n');
      expect((e as CliError).exitCode).toBe(1);
    }
  });

  it("gives QEMU's machine errors", () => {
    const r = (...args: string[]): string => stderrOf(() => ram(...args));
    expect(r('1G,slots=2')).toBe('plugboard: slots specified but no max-size\n');
    expect(r('1G,slots=0')).toBe('plugboard: slots specified but no max-size\n');
    expect(r('slots=2')).toBe('plugboard: slots specified but no max-size\n');
    expect(r('1G', '2G,slots=2')).toBe('plugboard: slots specified but no max-size\n');
    expect(r('1G,maxmem=512M')).toBe(
      'plugboard: invalid value of maxmem: maximum memory size (0x20000000) must be at least the initial memory size (0x40000000)\n',
    );
    expect(r('1G,maxmem=4096')).toBe(
      'plugboard: invalid value of maxmem: maximum memory size (0x1000) must be at least the initial memory size (0x40000000)\n',
    );
    expect(r('1G,slots=2,maxmem=1G')).toBe(
      'plugboard: invalid value of maxmem: memory slots were specified but maximum memory size (0x40000000) is equal to the initial memory size (0x40000000)\n',
    );
    expect(r('99999999999999')).toBe("plugboard: Parameter 'memory.size' expects size\n");
    expect(r('17592186044416')).toBe("plugboard: Parameter 'memory.size' expects size\n");
    expect(r('1G,maxmem=2G,slots=257')).toBe('plugboard: unsupported amount of memory slots: 257\n');
    expect(r('1G,maxmem=4G,slots=-1')).toBe('plugboard: unsupported amount of memory slots: 18446744073709551615\n');
    expect(r('18446744073709551615b,maxmem=1')).toBe('plugboard: maximum memory size must by aligned to multiple of 4096 bytes\n');
    expect(ram('1G,maxmem=2G,slots=256').slots).toBe(256n);
    expect(ram('1G,maxmem=1G').maxSize).toBe(1n << 30n);
  });

  it('warns about hex sizes with a suffix as QEMU does, twice when typed with one', () => {
    expect(warn(ram('0x10').warnings)).toBe('plugboard: warning: Using a multiplier suffix on hex numbers is deprecated: 0x10M\n');
    expect(warn(ram('0x10M').warnings)).toBe(
      'plugboard: -m 0x10M: warning: Using a multiplier suffix on hex numbers is deprecated: 0x10M\n' +
        'plugboard: warning: Using a multiplier suffix on hex numbers is deprecated: 0x10M\n',
    );
  });
});

const PC_SMP = { name: 'pc-i440fx-7.2', maxCpus: 255, diesSupported: true };
const smp = (...args: string[]) => resolveSmp(args.map((a) => parseSmpOpt(a)), PC_SMP);

describe('-smp', () => {
  it('computes the topology like QEMU 7.2 (cores preferred)', () => {
    expect(smp('4')).toMatchObject({ cpus: 4, maxCpus: 4, sockets: 1, dies: 1, clusters: 1, cores: 4, threads: 1 });
    expect(smp('2,sockets=1,cores=2,threads=1,maxcpus=2')).toMatchObject({ cpus: 2, cores: 2 });
    expect(smp('sockets=2,dies=2')).toMatchObject({ cpus: 4, maxCpus: 4, sockets: 2, dies: 2, cores: 1, threads: 1 });
    expect(smp('cpus=0x4')).toMatchObject({ cpus: 4 });
    expect(smp('010')).toMatchObject({ cpus: 8 });
    expect(smp('4294967297')).toMatchObject({ cpus: 1 });
    expect(resolveSmp([], PC_SMP)).toMatchObject({ cpus: 1, maxCpus: 1 });
    expect(resolveSmp([parseSmpOpt('4,maxcpus=8')], { name: 'old', maxCpus: 255, preferSockets: true })).toMatchObject({ sockets: 8, cores: 1 });
  });

  it("gives QEMU's keyval errors with the option", () => {
    expect(stderrOf(() => parseSmpOpt('1,1'))).toBe("plugboard: -smp 1,1: Invalid parameter '1'\n");
    expect(stderrOf(() => parseSmpOpt(','))).toBe("plugboard: -smp ,: Invalid parameter ''\n");
    expect(stderrOf(() => parseSmpOpt('2,,3'))).toBe("plugboard: -smp 2,,3: Invalid parameter ''\n");
    for (const arg of ['help', '2,help']) {
      try {
        parseSmpOpt(arg);
        throw new Error('no throw');
      } catch (e) {
        expect((e as CliError).exitCode).toBe(0);
        expect((e as CliError).stdout).toBe(
          'smp-opts options:\n  clusters=<num>\n  cores=<num>\n  cpus=<num>\n  dies=<num>\n  maxcpus=<num>\n  sockets=<num>\n  threads=<num>\n',
        );
      }
    }
  });

  it("gives QEMU's machine errors", () => {
    const s = (...args: string[]): string => stderrOf(() => smp(...args));
    expect(s('foo')).toBe("plugboard: Parameter 'smp.cpus' expects integer\n");
    for (const v of ['4 ', '4.0', '18446744073709551615', '', '1e1']) expect(s(`cpus=${v}`)).toBe("plugboard: Parameter 'smp.cpus' expects integer\n");
    expect(s('2,threads=x')).toBe("plugboard: Parameter 'smp.threads' expects integer\n");
    expect(s('4,foo=1')).toBe("plugboard: Parameter 'smp.foo' is unexpected\n");
    expect(s('2,sockets=2,cores=2')).toBe(
      'plugboard: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (2) * dies (1) * cores (2) * threads (0) != maxcpus (2)\n',
    );
    expect(s('4,sockets=3')).toBe(
      'plugboard: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * dies (1) * cores (1) * threads (1) != maxcpus (4)\n',
    );
    expect(s('4,maxcpus=2')).toBe(
      'plugboard: Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * dies (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)\n',
    );
    expect(s('cpus=-4,maxcpus=1')).toBe(
      'plugboard: Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * dies (1) * cores (1) * threads (1) == maxcpus (1) < smp_cpus (4294967292)\n',
    );
    expect(s('2', 'sockets=2,maxcpus=1')).toBe(
      'plugboard: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (2) * dies (1) * cores (0) * threads (1) != maxcpus (1)\n',
    );
    expect(s('cpus=2,cpus=4,maxcpus=3')).toBe(
      'plugboard: Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * dies (1) * cores (3) * threads (1) == maxcpus (3) < smp_cpus (4)\n',
    );
    expect(s('cpus=300')).toBe("plugboard: Invalid SMP CPUs 300. The max CPUs supported by machine 'pc-i440fx-7.2' is 255\n");
    expect(s('-1')).toBe("plugboard: Invalid SMP CPUs -1. The max CPUs supported by machine 'pc-i440fx-7.2' is 255\n");
    expect(s('2,clusters=2')).toBe("plugboard: clusters not supported by this machine's CPU topology\n");
    expect(stderrOf(() => resolveSmp([parseSmpOpt('300')], { name: 'pc-q35-7.2', maxCpus: 288, diesSupported: true }))).toBe(
      "plugboard: Invalid SMP CPUs 300. The max CPUs supported by machine 'pc-q35-7.2' is 288\n",
    );
    expect(stderrOf(() => resolveSmp([parseSmpOpt('4,clusters=1,dies=1,sockets=1,cores=2,threads=3')], { name: 'q', maxCpus: 288, diesSupported: true }))).toBe(
      'plugboard: Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (1) * dies (1) * cores (2) * threads (3) != maxcpus (4)\n',
    );
  });

  it('warns about zero topology values', () => {
    expect(warn(smp('0').warnings)).toBe(
      'plugboard: warning: Deprecated CPU topology (considered invalid): CPU topology parameters must be greater than zero\n',
    );
    expect(smp('1,sockets=0')).toMatchObject({ cpus: 1, sockets: 1 });
  });
});

describe('-accel / -enable-kvm', () => {
  const acc = (...args: string[]) => args.map((a) => parseAccelOpt(a));
  it('chooses tcg', () => {
    expect(resolveAccel([], undefined)).toEqual({ accel: { accel: 'tcg', props: [] }, errors: [] });
    expect(resolveAccel(acc('tcg,thread=single'), undefined).accel).toMatchObject({ accel: 'tcg', props: [['thread', 'single']] });
    expect(resolveAccel(acc('accel=tcg'), undefined).accel.accel).toBe('tcg');
    expect(resolveAccel(acc('tcg', 'tcg'), undefined).accel.accel).toBe('tcg');
    expect(resolveAccel([], 'tcg').accel.accel).toBe('tcg');
  });

  it('prints the accelerator list for help or no name (exit 0)', () => {
    for (const a of ['help', '?', '', 'thread=single']) {
      try {
        parseAccelOpt(a);
        throw new Error('no throw');
      } catch (e) {
        expect((e as CliError).exitCode).toBe(0);
        expect((e as CliError).stdout).toBe('Accelerators supported in QEMU binary:\ntcg\nkvm\n');
      }
    }
    expect(formatAccelHelp()).toBe('Accelerators supported in QEMU binary:\ntcg\nkvm\n');
  });

  it('fails like QEMU on a host without KVM', () => {
    const err = (fn: () => unknown): string => stderrOf(fn);
    const kvm = 'Could not access KVM kernel module: No such file or directory\n';
    expect(err(() => resolveAccel([], 'kvm'))).toBe(`${kvm}plugboard: failed to initialize kvm: No such file or directory\n`);
    expect(err(() => resolveAccel(acc('kvm'), undefined))).toBe(`${kvm}plugboard: -accel kvm: failed to initialize kvm: No such file or directory\n`);
    const fallback = resolveAccel([], 'kvm:tcg');
    expect(fallback.accel.accel).toBe('tcg');
    expect(fallback.errors.map((d) => formatDiagnostic(d)).join('')).toBe(
      `${kvm}plugboard: failed to initialize kvm: No such file or directory\nplugboard: falling back to tcg\n`,
    );
    const fb2 = resolveAccel(acc('kvm', 'tcg'), undefined);
    expect(fb2.errors.map((d) => formatDiagnostic(d)).join('')).toBe(
      `${kvm}plugboard: -accel kvm: failed to initialize kvm: No such file or directory\nplugboard: falling back to tcg\n`,
    );
  });

  it("gives QEMU's other errors", () => {
    expect(stderrOf(() => resolveAccel(acc('foo'), undefined))).toBe('plugboard: -accel foo: invalid accelerator foo\n');
    expect(stderrOf(() => resolveAccel(acc('xen'), undefined))).toBe('plugboard: -accel xen: invalid accelerator xen\n');
    expect(stderrOf(() => resolveAccel(acc('qtest'), undefined))).toBe('plugboard: -accel qtest: invalid accelerator qtest\n');
    expect(stderrOf(() => resolveAccel([], 'foo'))).toBe('plugboard: invalid accelerator foo\n');
    expect(stderrOf(() => resolveAccel([], ''))).toBe('plugboard: no accelerator found\n');
    expect(resolveAccel([], 'foo:tcg').errors.map((d) => formatDiagnostic(d)).join('')).toBe(
      'plugboard: invalid accelerator foo\nplugboard: falling back to tcg\n',
    );
    expect(stderrOf(() => resolveAccel(acc('tcg'), 'kvm'))).toBe('plugboard: The -accel and "-machine accel=" options are incompatible\n');
    expect(stderrOf(() => resolveAccel(acc('tcg,foo=1'), undefined))).toBe("plugboard: -accel tcg,foo=1: Property 'tcg-accel.foo' not found\n");
    expect(stderrOf(() => resolveAccel(acc('tcg,help'), undefined))).toBe("plugboard: -accel tcg,help: Property 'tcg-accel.help' not found\n");
  });
});

describe('-name, -display, -plugin', () => {
  it('-name', () => {
    expect(parseNameOpt('foo,,x,process=p,debug-threads=on')).toEqual({ guest: 'foo,x', process: 'p', warnings: [] });
    expect(parseNameOpt('')).toEqual({ warnings: [] });
    expect(parseNameOpt('help')).toEqual({ guest: 'help', warnings: [] });
    expect(stderrOf(() => parseNameOpt('foo,bar=1'))).toBe("plugboard: -name foo,bar=1: Invalid parameter 'bar'\n");
    expect(stderrOf(() => parseNameOpt('guest=foo,debug-threads=maybe'))).toBe(
      "plugboard: -name guest=foo,debug-threads=maybe: Parameter 'debug-threads' expects 'on' or 'off'\n",
    );
    try {
      parseNameOpt('x,help');
      throw new Error('no throw');
    } catch (e) {
      expect((e as CliError).stdout).toBe(
        'name options:\n' +
          '  debug-threads=<bool (on/off)> - When enabled, name the individual threads; defaults off.\n' +
          'NOTE: The thread names are for debugging and not a\nstable API.\n' +
          '  guest=<str>            - Sets the name of the guest.\n' +
          'This name will be displayed in the SDL window caption.\nThe name will also be used for the VNC server\n' +
          '  process=<str>          - Sets the name of the QEMU process, as shown in top etc\n',
      );
    }
  });

  it('-display', () => {
    expect(parseDisplayOpt('none')).toEqual({ type: 'none' });
    expect(parseDisplayOpt('type=none,gl=off')).toEqual({ type: 'none' });
    expect(parseDisplayOpt('help')).toEqual({ help: true });
    const d = (a: string): string => stderrOf(() => parseDisplayOpt(a));
    expect(d('foo')).toBe("plugboard: -display foo: Parameter 'type' does not accept value 'foo'\n");
    expect(d('cocoa')).toBe("plugboard: -display cocoa: Parameter 'type' does not accept value 'cocoa'\n");
    expect(d('none,foo=1')).toBe("plugboard: -display none,foo=1: Parameter 'foo' is unexpected\n");
    expect(d('none,help')).toBe('plugboard: -display none,help: Help is not available for this option\n');
    expect(d('curses,x')).toBe("plugboard: -display curses,x: Expected '=' after parameter 'x'\n");
    expect(d('')).toBe("plugboard: -display : Parameter 'type' is missing\n");
    expect(d('vnc')).toBe('plugboard: -display vnc: VNC requires a display argument vnc=<display>\n');
    expect(d('gtk')).toBe("plugboard: Display 'gtk' is not available.\n");
  });

  it('-plugin', () => {
    expect(parsePluginOpt('@acme/plugboard-hotplug-x,level=2')).toEqual({ file: '@acme/plugboard-hotplug-x', args: [['level', '2']], warnings: [] });
    expect(parsePluginOpt('file=./my-plugin.js')).toMatchObject({ file: './my-plugin.js', args: [] });
    expect(stderrOf(() => parsePluginOpt(',x'))).toBe(
      "plugboard: -plugin ,x: warning: short-form boolean option 'x' deprecated\nPlease use x=on instead\nplugboard: -plugin ,x: requires a non-empty argument\n",
    );
  });
});
