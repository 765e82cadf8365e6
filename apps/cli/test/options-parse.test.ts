import { describe, expect, it } from 'vitest';
import { CliError, type Diagnostic } from '../src/options/errors.js';
import { stderrOf, warn } from './stderr.js';
import {
  findMachine,
  mergeMachineOpts,
  OptsContext,
  parseCommandLine,
  parseDeviceOpt,
  parseGlobalOpt,
  parseMachineOpt,
} from '../src/options/parse.js';
import { formatDiagnostic, terminationMessage } from '../src/options/errors.js';

describe('parseCommandLine', () => {
  it('keeps global order and folds -M / -help / --opt', () => {
    const cl = parseCommandLine(['-S', '-M', 'q35', '--device', 'e1000', '-device', 'x', '-help', '-machine', 'pc']);
    expect(cl.options.map((o) => [o.name, o.arg, o.flag, o.index])).toEqual([
      ['S', undefined, '-S', 0],
      ['machine', 'q35', '-M', 1],
      ['device', 'e1000', '--device', 3],
      ['device', 'x', '-device', 5],
      ['h', undefined, '-help', 7],
      ['machine', 'pc', '-machine', 8],
    ]);
  });

  it('takes the next argument whatever it looks like', () => {
    const cl = parseCommandLine(['-device', '-foo', '-name', '--']);
    expect(cl.options.map((o) => o.arg)).toEqual(['-foo', '--']);
  });

  it('words syntax errors as QEMU does', () => {
    expect(stderrOf(() => parseCommandLine(['-foo']))).toBe('plugboard: -foo: invalid option\n');
    expect(stderrOf(() => parseCommandLine(['--foo']))).toBe('plugboard: --foo: invalid option\n');
    expect(stderrOf(() => parseCommandLine(['-']))).toBe('plugboard: -: invalid option\n');
    expect(stderrOf(() => parseCommandLine(['--']))).toBe('plugboard: --: invalid option\n');
    expect(stderrOf(() => parseCommandLine(['---M', 'q35']))).toBe('plugboard: ---M: invalid option\n');
    expect(stderrOf(() => parseCommandLine(['-S', '-device']))).toBe('plugboard: -device: requires an argument\n');
    expect(stderrOf(() => parseCommandLine(['-S', '--device']))).toBe('plugboard: --device: requires an argument\n');
    expect(stderrOf(() => parseCommandLine(['-g', '800x600']))).toBe('plugboard: -g 800x600: Option not supported for this target\n');
    expect(stderrOf(() => parseCommandLine(['-semihosting']))).toBe('plugboard: -semihosting: Option not supported for this target\n');
    expect(stderrOf(() => parseCommandLine(['-g']))).toBe('plugboard: -g: requires an argument\n');
  });

  it('reports syntax errors before anything else, in argv order', () => {
    expect(stderrOf(() => parseCommandLine(['-drive', 'x', '-h', '-bogus']))).toBe('plugboard: -bogus: invalid option\n');
    expect(stderrOf(() => parseCommandLine(['-foo', '-device']))).toBe('plugboard: -foo: invalid option\n');
  });

  it('refuses what Plugboard cannot emulate and warns about ignored options', () => {
    expect(stderrOf(() => parseCommandLine(['-drive', 'file=x.img']))).toBe('plugboard: -drive file=x.img: Option not supported by Plugboard\n');
    expect(stderrOf(() => parseCommandLine(['-nographic']))).toBe('plugboard: -nographic: Option not supported by Plugboard\n');
    expect(stderrOf(() => parseCommandLine(['disk.img']))).toBe('plugboard: disk.img: disk images are not supported by Plugboard\n');
    const cl = parseCommandLine(['-cpu', 'host', '-vga', 'none', '-no-user-config', '-nic', 'none']);
    expect(cl.options.map((o) => o.status)).toEqual(['ignored', 'ignored', 'ignored', 'ignored']);
    expect(warn(cl.warnings)).toBe(
      'plugboard: -cpu host: warning: Option ignored by Plugboard\n' +
        'plugboard: -no-user-config: warning: Option ignored by Plugboard\n',
    );
    expect(stderrOf(() => parseCommandLine(['-vga', 'std']))).toBe('plugboard: -vga std: Option not supported by Plugboard\n');
  });

  it("reads Plugboard's -- options first and never as QEMU's", () => {
    const cl = parseCommandLine(['--clock', 'realtime,scale=2.5', '--guest', 'lazy', '--trace=out.jsonl', '-trace', 'x']);
    expect(cl.plugboard).toEqual({ clock: { mode: 'realtime', scale: 2.5 }, guest: 'lazy', trace: 'out.jsonl' });
    expect(cl.options).toEqual([{ name: 'trace', arg: 'x', flag: '-trace', index: 5, status: 'ignored' }]);
    expect(parseCommandLine([]).plugboard.clock).toEqual({ mode: 'virtual', scale: 1 });
    expect(parseCommandLine(['--clock', 'virtual']).plugboard.clock).toEqual({ mode: 'virtual', scale: 1 });
    expect(stderrOf(() => parseCommandLine(['-clock', 'virtual']))).toBe('plugboard: -clock: invalid option\n');
    expect(stderrOf(() => parseCommandLine(['--clock']))).toBe('plugboard: --clock: requires an argument\n');
    expect(stderrOf(() => parseCommandLine(['--clock', 'fast']))).toBe(
      "plugboard: --clock fast: Parameter 'mode' does not accept value 'fast'\n",
    );
    expect(stderrOf(() => parseCommandLine(['--clock', 'realtime,scale=0']))).toBe(
      "plugboard: --clock realtime,scale=0: Parameter 'scale' expects a positive number\n",
    );
    expect(stderrOf(() => parseCommandLine(['--clock', 'virtual,scale=2']))).toBe(
      "plugboard: --clock virtual,scale=2: Parameter 'scale' requires mode 'realtime'\n",
    );
    expect(stderrOf(() => parseCommandLine(['--clock', 'realtime,speed=2']))).toBe(
      "plugboard: --clock realtime,speed=2: Invalid parameter 'speed'\n",
    );
    expect(stderrOf(() => parseCommandLine(['--guest', '']))).toBe('plugboard: --guest : requires a non-empty argument\n');
  });
});

describe('parseMachineOpt', () => {
  it('parses type and properties in order', () => {
    expect(parseMachineOpt('q35,accel=tcg,cxl-fmw.0.size=4G')).toEqual({
      type: 'q35',
      props: [['accel', 'tcg'], ['cxl-fmw.0.size', '4G']],
      help: false,
    });
    expect(parseMachineOpt('type=q35,type=pc')).toEqual({ type: 'pc', props: [], help: false });
    expect(parseMachineOpt('')).toEqual({ props: [], help: false });
    expect(parseMachineOpt('pc,')).toEqual({ type: 'pc', props: [], help: false });
  });

  it('recognizes help', () => {
    expect(parseMachineOpt('help')).toEqual({ props: [], help: true });
    expect(parseMachineOpt('?')).toEqual({ props: [], help: true });
    expect(parseMachineOpt('type=q35,help')).toEqual({ type: 'q35', props: [], help: true });
  });

  it("gives QEMU's keyval errors", () => {
    const m = (arg: string, flag = '-M'): string => stderrOf(() => parseMachineOpt(arg, { location: `${flag} ${arg}` }));
    expect(m('pc,q35')).toBe("plugboard: -M pc,q35: Expected '=' after parameter 'q35'\n");
    expect(m('pc,,x')).toBe("plugboard: -M pc,,x: Invalid parameter ''\n");
    expect(m(',pc')).toBe("plugboard: -M ,pc: Invalid parameter ''\n");
    expect(m('pc,1')).toBe("plugboard: -M pc,1: Invalid parameter '1'\n");
    expect(m('pc,a..b=1')).toBe("plugboard: -M pc,a..b=1: Invalid parameter 'a..b'\n");
    expect(m('pc,-x=1')).toBe("plugboard: -M pc,-x=1: Invalid parameter '-x'\n");
    expect(m('pc,a.b=1,a=2')).toBe("plugboard: -M pc,a.b=1,a=2: Parameters 'a.*' used inconsistently\n");
    expect(m('accel=tcg,usb', '-machine')).toBe("plugboard: -machine accel=tcg,usb: Expected '=' after parameter 'usb'\n");
    expect(m('pc,a=1,a.b=2')).toBe("plugboard: -M pc,a=1,a.b=2: Parameters 'a.*' used inconsistently\n");
  });

  it('merges several -machine options, later keys winning, accel split out', () => {
    const merged = mergeMachineOpts([parseMachineOpt('q35,accel=kvm,usb=off'), parseMachineOpt('accel=tcg'), parseMachineOpt('usb=on')]);
    expect(merged).toEqual({ type: 'q35', props: [['usb', 'on']], accel: 'tcg' });
  });

  it('finds machines by name or alias, or reports QEMU\'s two lines', () => {
    const machines = [
      { name: 'pc-i440fx-7.2', alias: 'pc', desc: 'Standard PC (i440FX + PIIX, 1996)', isDefault: true },
      { name: 'pc-q35-7.2', alias: 'q35', desc: 'Standard PC (Q35 + ICH9, 2009)' },
    ];
    expect(findMachine('q35', machines).name).toBe('pc-q35-7.2');
    expect(findMachine(undefined, machines).name).toBe('pc-i440fx-7.2');
    expect(stderrOf(() => findMachine('foo', machines))).toBe(
      'plugboard: unsupported machine type\nUse -machine help to list supported machines\n',
    );
  });
});

describe('parseDeviceOpt', () => {
  it('parses driver, id, bus and ordered properties', () => {
    expect(parseDeviceOpt('e1000,id=n1,bus=pcie.0,addr=0x5,mac=52:54:00:12:34:56')).toEqual({
      kind: 'device',
      json: false,
      driver: 'e1000',
      id: 'n1',
      bus: 'pcie.0',
      props: [['addr', '0x5'], ['mac', '52:54:00:12:34:56']],
      warnings: [],
    });
    expect(parseDeviceOpt('driver=e1000,romfile=a,,b')).toMatchObject({ driver: 'e1000', props: [['romfile', 'a,b']] });
  });

  it('escapes commas in the implied driver', () => {
    expect(stderrOf(() => {
      const d = parseDeviceOpt('e1000,,x');
      if (d.kind === 'device') throw new CliError({ location: '-device e1000,,x', message: `'${d.driver}' is not a valid device model name` });
    })).toBe("plugboard: -device e1000,,x: 'e1000,x' is not a valid device model name\n");
  });

  it('recognizes help forms', () => {
    expect(parseDeviceOpt('help')).toEqual({ kind: 'list-help' });
    expect(parseDeviceOpt('?')).toEqual({ kind: 'list-help' });
    expect(parseDeviceOpt('e1000,help')).toEqual({ kind: 'driver-help', driver: 'e1000' });
    expect(parseDeviceOpt('e1000,?')).toEqual({ kind: 'driver-help', driver: 'e1000' });
    expect(parseDeviceOpt('e1000,x-pcie=1,help')).toEqual({ kind: 'driver-help', driver: 'e1000' });
    expect(parseDeviceOpt('e1000,help=foo')).toEqual({ kind: 'driver-help', driver: 'e1000' });
  });

  it('warns about short-form booleans', () => {
    const d = parseDeviceOpt('driver=e1000,multifunction');
    expect(d).toMatchObject({ props: [['multifunction', 'on']] });
    expect(warn((d as { warnings: Diagnostic[] }).warnings)).toBe(
      "plugboard: -device driver=e1000,multifunction: warning: short-form boolean option 'multifunction' deprecated\n" +
        'Please use multifunction=on instead\n',
    );
    const n = parseDeviceOpt('e1000,nomultifunction');
    expect(n).toMatchObject({ props: [['multifunction', 'off']] });
    expect(warn((n as { warnings: Diagnostic[] }).warnings)).toBe(
      "plugboard: -device e1000,nomultifunction: warning: short-form boolean option 'nomultifunction' deprecated\n" +
        'Please use multifunction=off instead\n',
    );
    const dl = parseDeviceOpt('e1000,delay');
    expect(warn((dl as { warnings: Diagnostic[] }).warnings)).toBe(
      "plugboard: -device e1000,delay: warning: short-form boolean option 'delay' deprecated\nPlease use nodelay=off instead\n",
    );
    const empty = parseDeviceOpt(',e1000');
    expect(empty).toMatchObject({ driver: '', props: [['e1000', 'on']] });
  });

  it('checks ids as QEMU does', () => {
    expect(stderrOf(() => parseDeviceOpt('e1000,id=1x'))).toBe(
      "plugboard: -device e1000,id=1x: Parameter 'id' expects an identifier\n" +
        "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.\n",
    );
    expect(stderrOf(() => parseDeviceOpt('e1000,id='))).toContain("Parameter 'id' expects an identifier");
    // The id is checked before anything else, so no deprecation warning.
    expect(stderrOf(() => parseDeviceOpt('e1000,foo,id=1x'))).toBe(
      "plugboard: -device e1000,foo,id=1x: Parameter 'id' expects an identifier\n" +
        "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.\n",
    );
    expect(parseDeviceOpt('e1000,id=a,id=1x')).toMatchObject({ id: 'a' });
    const ctx = new OptsContext();
    parseDeviceOpt('e1000,id=a', { ctx });
    expect(stderrOf(() => parseDeviceOpt('e1000,id=a', { ctx }))).toBe("plugboard: -device e1000,id=a: Duplicate ID 'a' for device\n");
  });

  it('needs a driver', () => {
    expect(stderrOf(() => parseDeviceOpt(''))).toBe("plugboard: -device : Parameter 'driver' is missing\n");
    expect(stderrOf(() => parseDeviceOpt('id=x'))).toBe("plugboard: -device id=x: Parameter 'driver' is missing\n");
    expect(stderrOf(() => parseDeviceOpt('{"id":"x"}'))).toBe('plugboard: -device {"id":"x"}: Parameter \'driver\' is missing\n');
    expect(stderrOf(() => parseDeviceOpt('{"driver":1}'))).toBe('plugboard: -device {"driver":1}: Parameter \'driver\' is missing\n');
  });

  it('parses the JSON form with typed values', () => {
    expect(parseDeviceOpt('{"driver":"pcie-root-port","id":"rp1","bus":"pcie.0","chassis":1,"hotplug":true,"addr":"0x2.0x1","x":null}')).toEqual({
      kind: 'device',
      json: true,
      driver: 'pcie-root-port',
      id: 'rp1',
      bus: 'pcie.0',
      props: [['chassis', 1], ['hotplug', true], ['addr', '0x2.0x1'], ['x', null]],
      warnings: [],
    });
    // JSON is only recognized when the first character is the brace.
    expect(parseDeviceOpt(' {"driver":"e1000"}')).toMatchObject({ json: false, driver: ' {"driver":"e1000"}' });
    // QEMU does not check JSON ids at parse time.
    expect(parseDeviceOpt('{"driver":"e1000","id":"1x"}')).toMatchObject({ id: '1x' });
    expect(parseDeviceOpt('{"driver":"help"}')).toMatchObject({ kind: 'device', driver: 'help' });
  });
});

describe('parseGlobalOpt', () => {
  it('parses both forms', () => {
    expect(parseGlobalOpt('e1000.romfile=a,b')).toEqual({ driver: 'e1000', property: 'romfile', value: 'a,b', warnings: [] });
    expect(parseGlobalOpt('a.b.c=1')).toEqual({ driver: 'a', property: 'b.c', value: '1', warnings: [] });
    expect(parseGlobalOpt('e1000.mac=')).toMatchObject({ value: '' });
    expect(parseGlobalOpt('driver=e1000,property=x,value=1')).toEqual({ driver: 'e1000', property: 'x', value: '1', warnings: [] });
  });

  it("gives QEMU's errors", () => {
    const g = (arg: string): string => stderrOf(() => parseGlobalOpt(arg));
    expect(g('foo')).toBe(
      "plugboard: -global foo: warning: short-form boolean option 'foo' deprecated\nPlease use foo=on instead\n" +
        "plugboard: -global foo: Invalid parameter 'foo'\n",
    );
    expect(g('foo.bar')).toBe(
      "plugboard: -global foo.bar: warning: short-form boolean option 'foo.bar' deprecated\nPlease use foo.bar=on instead\n" +
        "plugboard: -global foo.bar: Invalid parameter 'foo.bar'\n",
    );
    // `no` is a prefix even here (recorded from QEMU 7.2 in fixtures/qemu-7.2/cli.json).
    expect(g('nosuch')).toBe(
      "plugboard: -global nosuch: warning: short-form boolean option 'nosuch' deprecated\nPlease use such=off instead\n" +
        "plugboard: -global nosuch: Invalid parameter 'such'\n",
    );
    expect(g('driver=e1000')).toBe("plugboard: -global driver=e1000: options 'driver', 'property', and 'value' are required\n");
    expect(g('driver=e1000,property=x,value=1,bar=1')).toBe("plugboard: -global driver=e1000,property=x,value=1,bar=1: Invalid parameter 'bar'\n");
    expect(g('.bar=1')).toBe("plugboard: -global .bar=1: Invalid parameter '.bar'\n");
    expect(g('foo.=1')).toBe("plugboard: -global foo.=1: Invalid parameter 'foo.'\n");
    expect(g('=1')).toBe("plugboard: -global =1: Invalid parameter ''\n");
  });

  it('prints the help of -global on stdout and exits 1', () => {
    for (const arg of ['help', 'driver=x,help']) {
      try {
        parseGlobalOpt(arg);
        throw new Error('no throw');
      } catch (e) {
        expect(e).toBeInstanceOf(CliError);
        const c = e as CliError;
        expect(c.exitCode).toBe(1);
        expect(c.stdout).toBe('global options:\n  driver=<str>\n  property=<str>\n  value=<str>\n');
        expect(c.format()).toBe('');
      }
    }
  });
});

describe('terminationMessage', () => {
  it('reads like QEMU on a signal', () => {
    expect(formatDiagnostic(terminationMessage(15, { pid: 16351, name: 'node' }))).toBe('plugboard: terminating on signal 15 from pid 16351 (node)\n');
    expect(formatDiagnostic(terminationMessage(2))).toBe('plugboard: terminating on signal 2\n');
  });
});
