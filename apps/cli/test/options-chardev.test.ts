import { describe, expect, it } from 'vitest';
import { CliError, formatDiagnostic } from '../src/options/errors.js';
import { stderrOf } from './stderr.js';
import {
  formatChardevHelp,
  parseChardevOpt,
  parseMonOpt,
  parseQmpOpt,
  parseSerialOpt,
  resolveMonitors,
  socketWaitInfo,
  type ChardevSpec,
} from '../src/options/chardev.js';

describe('-qmp / -monitor legacy chardev strings', () => {
  it('unix and tcp servers', () => {
    expect(parseQmpOpt('unix:/tmp/q.sock,server=on,wait=off')).toEqual({
      chardev: { id: 'compat_monitor0', backend: { kind: 'unix', path: '/tmp/q.sock', server: true, wait: false }, location: '-qmp unix:/tmp/q.sock,server=on,wait=off' },
      monitor: { chardev: 'compat_monitor0', mode: 'control', pretty: false, location: '-qmp unix:/tmp/q.sock,server=on,wait=off' },
    });
    expect(parseQmpOpt('tcp:127.0.0.1:4444,server=on,wait=off', { index: 2 }).chardev).toMatchObject({
      id: 'compat_monitor2',
      backend: { kind: 'tcp', host: '127.0.0.1', port: '4444', server: true, wait: false },
    });
    expect(parseQmpOpt('tcp::4444,server,nowait').chardev?.backend).toEqual({ kind: 'tcp', host: '', port: '4444', server: true, wait: false });
    expect(parseQmpOpt('unix:/x,server=yes,wait=n').chardev?.backend).toEqual({ kind: 'unix', path: '/x', server: true, wait: false });
    expect(parseQmpOpt('unix:/x.sock,server=on,wait=off,path=/y.sock').chardev?.backend).toMatchObject({ path: '/y.sock' });
    expect(parseQmpOpt('unix:/x.sock,server=on,wait=off,id=1x').chardev?.backend).toMatchObject({ path: '/x.sock' });
    expect(parseQmpOpt('unix:/x.sock').chardev?.backend).toEqual({ kind: 'unix', path: '/x.sock', server: false, wait: true });
    expect(parseQmpOpt('tcp:localhost:4446,server=on,wait=off,ipv4=on').chardev?.backend).toMatchObject({ ipv4: true });
  });

  it('stdio, pretty, readline, chardev references', () => {
    expect(parseQmpOpt('stdio', { pretty: true })).toEqual({
      chardev: { id: 'compat_monitor0', backend: { kind: 'stdio', signal: true }, location: '-qmp-pretty stdio' },
      monitor: { chardev: 'compat_monitor0', mode: 'control', pretty: true, location: '-qmp-pretty stdio' },
    });
    expect(parseQmpOpt('stdio', { mode: 'readline' }).monitor).toEqual({ chardev: 'compat_monitor0', mode: 'readline', pretty: false, location: '-monitor stdio' });
    expect(parseQmpOpt('chardev:c0')).toEqual({ monitor: { chardev: 'c0', mode: 'control', pretty: false, location: '-qmp chardev:c0' } });
  });

  it("gives QEMU's two-line errors", () => {
    expect(stderrOf(() => parseQmpOpt('foo'))).toBe("plugboard: -qmp foo: 'foo' is not a valid char driver\nplugboard: -qmp foo: parse error: foo\n");
    expect(stderrOf(() => parseQmpOpt('none'))).toBe("plugboard: -qmp none: 'none' is not a valid char driver\nplugboard: -qmp none: parse error: none\n");
    expect(stderrOf(() => parseQmpOpt('help'))).toBe("plugboard: -qmp help: 'help' is not a valid char driver\nplugboard: -qmp help: parse error: help\n");
    expect(stderrOf(() => parseQmpOpt('tcp:localhost'))).toBe('plugboard: -qmp tcp:localhost: parse error: tcp:localhost\n');
    const a = 'unix:/tmp/q1.sock,server=on,wait=off,foo=bar';
    expect(stderrOf(() => parseQmpOpt(a))).toBe(`plugboard: -qmp ${a}: Invalid parameter 'foo'\nplugboard: -qmp ${a}: parse error: ${a}\n`);
    const h = 'unix:/tmp/x.sock,server=on,wait=off,help';
    expect(stderrOf(() => parseQmpOpt(h))).toBe(`plugboard: -qmp ${h}: Invalid parameter 'help'\nplugboard: -qmp ${h}: parse error: ${h}\n`);
    expect(stderrOf(() => parseQmpOpt('unix:'))).toBe('plugboard: -qmp unix:: Unable to parse FD number \n');
    expect(stderrOf(() => parseQmpOpt('unix:/x,wait=off'))).toBe(
      "plugboard: -qmp unix:/x,wait=off: 'wait' option is incompatible with socket in client connect mode\n",
    );
    expect(stderrOf(() => parseQmpOpt('pty'))).toBe("plugboard: -qmp pty: chardev backend 'pty' is not supported by Plugboard\n");
    expect(stderrOf(() => parseQmpOpt('mon:stdio'))).toBe('plugboard: -qmp mon:stdio: chardev multiplexing (mux=on) is not supported by Plugboard\n');
  });
});

describe('-chardev', () => {
  it('socket, stdio, null, file', () => {
    expect(parseChardevOpt('socket,id=c0,path=/tmp/c0.sock,server=on,wait=off')).toEqual({
      id: 'c0',
      backend: { kind: 'unix', path: '/tmp/c0.sock', server: true, wait: false },
      location: '-chardev socket,id=c0,path=/tmp/c0.sock,server=on,wait=off',
    });
    expect(parseChardevOpt('socket,id=t,host=localhost,port=4445,server=on')).toMatchObject({
      backend: { kind: 'tcp', host: 'localhost', port: '4445', server: true, wait: true },
    });
    expect(parseChardevOpt('stdio,id=s,signal=off')).toMatchObject({ backend: { kind: 'stdio', signal: false } });
    expect(parseChardevOpt('null,id=n')).toMatchObject({ backend: { kind: 'null' } });
    expect(parseChardevOpt('file,id=f,path=/tmp/log')).toMatchObject({ backend: { kind: 'file', path: '/tmp/log', append: false } });
    expect(parseChardevOpt('help')).toEqual({ help: true });
    expect(parseChardevOpt('help,id=x')).toEqual({ help: true });
  });

  it("gives QEMU's errors", () => {
    const c = (arg: string): string => stderrOf(() => parseChardevOpt(arg));
    expect(c('socket,path=/tmp/c0.sock')).toBe('plugboard: -chardev socket,path=/tmp/c0.sock: chardev: no id specified\n');
    expect(c('foo,id=x')).toBe("plugboard: -chardev foo,id=x: 'foo' is not a valid char driver name\n");
    expect(c('socket,id=c0')).toBe('plugboard: -chardev socket,id=c0: Unable to parse FD number \n');
    expect(c('socket,id=c0,port=4445')).toBe('plugboard: -chardev socket,id=c0,port=4445: Unable to parse FD number \n');
    expect(c('socket,id=c0,host=localhost')).toBe('plugboard: -chardev socket,id=c0,host=localhost: chardev: socket: no port given\n');
    expect(c('socket,id=c0,host=h,port=1,server=on,wait=off,path=/p')).toBe(
      "plugboard: -chardev socket,id=c0,host=h,port=1,server=on,wait=off,path=/p: None or one of 'path', 'fd' or 'host' option required.\n",
    );
    expect(c('socket,id=c0,path=/p,wait=off')).toBe(
      "plugboard: -chardev socket,id=c0,path=/p,wait=off: 'wait' option is incompatible with socket in client connect mode\n",
    );
    expect(c('socket,id=c0,host=localhost,port=4,reconnect=1,server=on')).toBe(
      "plugboard: -chardev socket,id=c0,host=localhost,port=4,reconnect=1,server=on: 'reconnect' option is incompatible with socket in server listen mode\n",
    );
    expect(c('socket,id=c0,path=/p,server=maybe')).toBe("plugboard: -chardev socket,id=c0,path=/p,server=maybe: Parameter 'server' expects 'on' or 'off'\n");
    expect(c('socket,id=c0,path=/p,bar=1')).toBe("plugboard: -chardev socket,id=c0,path=/p,bar=1: Invalid parameter 'bar'\n");
    expect(c('file,id=f')).toBe('plugboard: -chardev file,id=f: chardev: file: no filename given\n');
    const ids = new Set<string>();
    parseChardevOpt('null,id=c0', { ids });
    expect(stderrOf(() => parseChardevOpt('null,id=c0', { ids }))).toBe("plugboard: -chardev null,id=c0: Duplicate ID 'c0' for chardev\n");
  });

  it('prints its help like QEMU (header ends with a space)', () => {
    expect(formatChardevHelp()).toBe('Available chardev backend types: \n  stdio\n  null\n  socket\n  file\n');
    try {
      parseChardevOpt('socket,help');
      throw new Error('no throw');
    } catch (e) {
      expect((e as CliError).exitCode).toBe(1);
      expect((e as CliError).stdout).toMatch(/^chardev options:\n {2}abstract=<bool \(on\/off\)>\n {2}append=<bool \(on\/off\)>\n {2}backend=<str>\n/);
      expect((e as CliError).stdout).toContain('  size=<size>\n');
      expect((e as CliError).stdout.endsWith('  wait=<bool (on/off)>\n  websocket=<bool (on/off)>\n  width=<num>\n')).toBe(true);
    }
  });
});

describe('-mon and monitor resolution', () => {
  it('parses -mon', () => {
    expect(parseMonOpt('chardev=c0,mode=control')).toEqual({ chardev: 'c0', mode: 'control', pretty: false, location: '-mon chardev=c0,mode=control', warnings: [] });
    expect(parseMonOpt('c0')).toMatchObject({ chardev: 'c0', mode: 'readline' });
    const p = parseMonOpt('c0,mode=control,pretty');
    expect(p.pretty).toBe(true);
    expect(p.warnings.map((w) => formatDiagnostic(w, 'warning')).join('')).toBe(
      "plugboard: -mon c0,mode=control,pretty: warning: short-form boolean option 'pretty' deprecated\nPlease use pretty=on instead\n",
    );
  });

  it("gives QEMU's errors", () => {
    expect(stderrOf(() => parseMonOpt('c0,mode=foo,chardev='))).toBe("plugboard: -mon c0,mode=foo,chardev=: Parameter 'mode' does not accept value 'foo'\n");
    expect(stderrOf(() => parseMonOpt('mode=control'))).toBe("plugboard: -mon mode=control: Parameter 'chardev' is missing\n");
    expect(stderrOf(() => parseMonOpt('c0,pretty=on'))).toBe("plugboard: -mon c0,pretty=on: 'pretty' is not compatible with HMP monitors\n");
  });

  it('pairs monitors with chardevs; missing ones and stdio twice fail', () => {
    const c0 = parseChardevOpt('socket,id=c0,path=/a,server=on,wait=off') as ChardevSpec;
    const c1 = parseChardevOpt('socket,id=c1,path=/b,server=on,wait=off') as ChardevSpec;
    const m0 = parseMonOpt('chardev=c0,mode=control');
    const m1 = parseMonOpt('chardev=c1,mode=control');
    expect(resolveMonitors([c0, c1], [m0, m1]).map((x) => x.chardev.id)).toEqual(['c0', 'c1']);
    expect(stderrOf(() => resolveMonitors([c0], [parseMonOpt('foo')]))).toBe('plugboard: -mon foo: chardev "foo" not found\n');
    expect(stderrOf(() => resolveMonitors([], [parseQmpOpt('chardev:c9').monitor]))).toBe('plugboard: -qmp chardev:c9: chardev "c9" not found\n');
    const q = parseQmpOpt('stdio');
    const m = parseQmpOpt('stdio', { mode: 'readline', index: 1 });
    expect(stderrOf(() => resolveMonitors([q.chardev!, m.chardev!], [q.monitor, m.monitor]))).toBe(
      'plugboard: -monitor stdio: cannot use stdio by multiple character devices\n',
    );
  });

  it('says what QEMU says while waiting for the first client', () => {
    const info = (b: Parameters<typeof socketWaitInfo>[0], h?: string) => {
      const d = socketWaitInfo(b, h);
      return d && formatDiagnostic({ ...d, location: '-qmp x' }, 'info');
    };
    expect(info({ kind: 'unix', path: '/tmp/c0.sock', server: true, wait: true })).toBe(
      'plugboard: -qmp x: info: QEMU waiting for connection on: disconnected:unix:/tmp/c0.sock,server=on\n',
    );
    expect(info({ kind: 'tcp', host: '', port: '44491', server: true, wait: true })).toBe(
      'plugboard: -qmp x: info: QEMU waiting for connection on: disconnected:tcp:0.0.0.0:44491,server=on\n',
    );
    expect(info({ kind: 'tcp', host: 'localhost', port: '1', server: true, wait: true }, '127.0.0.1')).toContain('disconnected:tcp:127.0.0.1:1,server=on');
    expect(info({ kind: 'unix', path: '/x', server: true, wait: false })).toBeUndefined();
  });
});

describe('-serial', () => {
  it('parses the usual forms', () => {
    expect(parseSerialOpt('none')).toBeNull();
    expect(parseSerialOpt('stdio')).toEqual({ id: 'serial0', backend: { kind: 'stdio', signal: true }, location: '-serial stdio' });
    expect(parseSerialOpt('file:/tmp/ser.txt', { index: 1 })).toEqual({
      id: 'serial1',
      backend: { kind: 'file', path: '/tmp/ser.txt', append: false },
      location: '-serial file:/tmp/ser.txt',
    });
    expect(parseSerialOpt('chardev:s0')).toEqual({ ref: 's0' });
  });

  it("gives QEMU's errors", () => {
    expect(stderrOf(() => parseSerialOpt('foo'))).toBe(
      "plugboard: -serial foo: 'foo' is not a valid char driver\nplugboard: -serial foo: could not connect serial device to character backend 'foo'\n",
    );
    expect(stderrOf(() => parseSerialOpt('tcp:x'))).toBe("plugboard: -serial tcp:x: could not connect serial device to character backend 'tcp:x'\n");
  });
});
