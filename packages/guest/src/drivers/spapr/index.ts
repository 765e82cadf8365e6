/**
 * A pseries (sPAPR) Linux 6.1 guest (guest-spapr.md): SLOF hands over to prom_init, which
 * negotiates CAS and takes QEMU's device tree; the kernel scans its PHBs through RTAS config
 * calls, takes RAS interrupts, runs DLPAR for CPUs and memory, and rtas_errd/drmgr handle PCI
 * and PHB hotplug in user space. Everything goes through the GuestView's RTAS entry point,
 * its hypercalls and interrupts.
 */
import type { HotplugDriver } from '../../os/drivers.js';
import { LinuxGuest, type LinuxGuestOptions } from '../../os/linux.js';
import { DEFAULT_KERNEL_START_MS } from '../../attach.js';
import { bindPowerCycle, type MachineLike } from '../../power-cycle.js';
import { Dlpar } from './dlpar.js';
import { UserSpace } from './errd.js';
import { PseriesPlatform, type PseriesOptions } from './platform.js';
import { spaprPortOf } from './rtas.js';

export { PseriesPlatform, type PseriesOptions, type GuestPhb } from './platform.js';
export { Dlpar, type Lmb } from './dlpar.js';
export { UserSpace } from './errd.js';
export { OfNode, unflatten, drcTable, type DrcEntry } from './devtree.js';
export { RtasClient, spaprPortOf, type SpaprPort } from './rtas.js';
export { configureConnector, findSection, hotplugSection, parseLog, type HotplugLog, type ErrorLog } from './connector.js';

export interface PseriesGuestOptions extends Omit<LinuxGuestOptions, 'view' | 'clock' | 'domains'>, PseriesOptions {
  /** Guest time (ms) SLOF takes before the kernel's prom_init runs CAS. Default 1000. */
  kernelStartMs?: number;
}

export interface AttachedPseriesGuest {
  readonly guest: LinuxGuest;
  readonly platform: PseriesPlatform;
  readonly dlpar: Dlpar;
  detach(): void;
}

/**
 * The pseries platform as a hotplug driver: started once per boot (no bridges to probe).
 * A LinuxGuest on a machine without RTAS ignores it.
 */
export function pseriesDriver(platform: PseriesPlatform, dlpar: Dlpar, user: UserSpace): HotplugDriver {
  return {
    name: 'pseries',
    init(guest) {
      dlpar.loadDrmem();
      if (platform.casDone) dlpar.startSecondaries();
      platform.kernelInit(
        guest,
        (hp) => (function* () {
          yield* dlpar.handle(hp);
        })(),
        () => {
          if (platform.opts.rtasErrd !== false) guest.sched.spawn('rtas_errd', user.rtasErrd());
        },
      );
    },
  };
}

/**
 * attachGuest for pseries: at the first `cont` SLOF runs, then prom_init (CAS) and the kernel;
 * every system reset reboots it. Throws when the machine's GuestView has no RTAS entry point.
 */
export function attachPseriesGuest(machine: MachineLike, opts: PseriesGuestOptions = {}): AttachedPseriesGuest {
  const port = spaprPortOf(machine.guestView);
  if (!port) throw new Error('attachPseriesGuest: the GuestView has no RTAS entry point (not a pseries machine)');
  const platform = new PseriesPlatform(port, opts);
  const dlpar = new Dlpar(platform);
  const user = new UserSpace(platform, dlpar);
  const guest = new LinuxGuest({
    ...opts,
    view: platform.kernelView(machine.guestView),
    clock: machine.clock,
    domains: [],
    hotplugDrivers: [pseriesDriver(platform, dlpar, user), ...(opts.hotplugDrivers ?? [])],
  });
  const detach = bindPowerCycle(
    machine,
    guest,
    () =>
      guest.sched.after(opts.kernelStartMs ?? DEFAULT_KERNEL_START_MS, 'prom_init', () => {
        if (guest.policy.name === 'none') return; // SLOF alone never calls CAS
        platform.cas();
        guest.boot();
      }),
    () => {
      platform.reset();
      dlpar.online.clear();
      dlpar.online.add(0);
    },
  );
  return { guest, platform, dlpar, detach };
}
