import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lookupOption, PLUGBOARD_OPTIONS, QEMU_OPTIONS } from '../src/options/table.js';
import { parseCommandLine } from '../src/options/parse.js';

// Read from the qemu_options[] array of Debian 12's qemu-system-x86_64 (QEMU 7.2).
const WITH_ARG =
  'machine M cpu accel smp numa add-fd set global boot m mem-path k audio audiodev device name uuid fda fdb hda hdb hdc ' +
  'hdd cdrom blockdev drive mtdblock sd fsdev virtfs iscsi usbdevice display spice rotate vga vnc acpitable smbios netdev ' +
  'nic net chardev tpmdev bios pflash kernel append initrd dtb compat fw_cfg serial parallel monitor qmp qmp-pretty mon ' +
  'debugcon pidfile overcommit gdb d D dfilter seed L xen-domid action loadvm option-rom rtc icount watchdog-action echr ' +
  'incoming chroot runas sandbox readconfig trace plugin qtest qtest-log msg dump-vmstate object';
const NO_ARG =
  'h help version mem-prealloc audio-help snapshot usb nographic portrait full-screen win2k-hack no-fd-bootchk no-acpi ' +
  'no-hpet singlestep preconfig S s enable-kvm xen-attach xen-domid-restrict no-reboot no-shutdown daemonize ' +
  'only-migratable nodefaults no-user-config async-teardown enable-sync-profile';
const OTHER_TARGETS = ['g', 'prom-env', 'semihosting', 'semihosting-config', 'old-param'];

describe('option table', () => {
  it('has all 122 options of qemu-system-x86_64 7.2 with their arity', () => {
    expect(QEMU_OPTIONS).toHaveLength(122);
    for (const n of WITH_ARG.split(' ')) expect([n, lookupOption(n)?.hasArg, lookupOption(n)?.x86]).toEqual([n, true, true]);
    for (const n of NO_ARG.split(' ')) expect([n, lookupOption(n)?.hasArg, lookupOption(n)?.x86]).toEqual([n, false, true]);
    for (const n of OTHER_TARGETS) expect([n, lookupOption(n)?.x86]).toEqual([n, false]);
    expect(new Set(QEMU_OPTIONS.map((o) => o.name)).size).toBe(122);
  });

  it('marks what Plugboard implements', () => {
    const supported = QEMU_OPTIONS.filter((o) => o.status === 'supported').map((o) => o.name);
    expect(supported).toEqual([
      'h', 'help', 'version', 'machine', 'M', 'accel', 'smp', 'global', 'm', 'device', 'name', 'display', 'chardev',
      'serial', 'monitor', 'qmp', 'qmp-pretty', 'mon', 'S', 'enable-kvm', 'no-reboot', 'no-shutdown', 'nodefaults', 'plugin',
    ]);
    expect(lookupOption('drive')?.status).toBe('unsupported');
    expect(lookupOption('cpu')?.status).toBe('ignored');
    expect(lookupOption('nothing')).toBeUndefined();
  });

  it("keeps Plugboard's options apart from QEMU's", () => {
    for (const o of PLUGBOARD_OPTIONS) expect(o.name === 'trace' || lookupOption(o.name) === undefined).toBe(true);
  });
});

const QEMU = '/usr/bin/qemu-system-x86_64';

describe.runIf(existsSync(QEMU))('against qemu-system-x86_64 -h', () => {
  it('recognizes every option the real help lists, with the same arity', () => {
    const help = execFileSync(QEMU, ['-h'], { encoding: 'utf8' });
    const names = new Set<string>();
    for (const line of help.split('\n')) {
      const m = /^--?([A-Za-z0-9_-]+)/.exec(line);
      if (m) names.add(m[1]!);
    }
    names.add('fdb').add('hdb').add('hdd'); // listed as -fda/-fdb, -hda/-hdb, -hdc/-hdd
    expect(names.size).toBeGreaterThan(100);
    for (const n of names) {
      const def = lookupOption(n);
      expect([n, def !== undefined]).toEqual([n, true]);
      const argv = def!.hasArg ? [`-${n}`, 'x'] : [`-${n}`];
      // Parses syntactically (Plugboard may then refuse it, which is a different error).
      try {
        parseCommandLine(argv);
      } catch (e) {
        expect([n, (e as Error).message]).toEqual([n, expect.stringMatching(/not supported by Plugboard/)]);
      }
    }
  });
});
