/**
 * A Linux 6.1 guest (Debian 12) reduced to what PCI hotplug touches: the boot-time PCI
 * scan, endpoint drivers, hotplug drivers, interrupts and the kernel log. It sees the
 * machine only through the GuestView and moves only with the virtual clock.
 */
import { regs as R, type GuestView } from '@plugboard/pci-core';
import type { Clock } from '@plugboard/qdev';
import { BUILTIN_PCI_DRIVERS, matchId, type DriverHost, type HotplugDriver, type PciDriver } from './drivers.js';
import { IrqDispatcher } from './irq.js';
import { KernelLog } from './klog.js';
import { PciCore } from './pci-scan.js';
import type { PciDev } from './pci-dev.js';
import { resolvePolicy, type GuestPolicy } from './policy.js';
import { Scheduler, type Task, type TaskBody } from './sched.js';
import { assignUnassignedResources } from './setup-bus.js';

export interface LinuxGuestOptions {
  view: GuestView;
  clock: Clock;
  /** Every kernel log line as printed (with its `[    0.000000]` stamp). */
  log?: (line: string) => void;
  policy?: GuestPolicy | string;
  /** PCI domains (host bridges) the root-bus driver finds, default [0]. */
  domains?: number[];
  /** Hotplug drivers in probe order; default: those registered with registerHotplugDriver(). */
  hotplugDrivers?: HotplugDriver[];
  /** Endpoint drivers; default: e1000, e1000e, virtio-pci, nvme. */
  pciDrivers?: PciDriver[];
  /** Online CPUs (`-smp`), default 1: each brings its own interrupt vectors. */
  cpus?: number;
}

/**
 * Kernel time (ms since the kernel started) of each boot stage, after a Debian 12 guest's
 * dmesg on QEMU: PCI scan (subsys_initcall), built-in hotplug drivers (device_initcall),
 * endpoint drivers (modules loaded by udev's coldplug). Scaled by `slow`.
 */
export const BOOT_TIMELINE = { pciScanMs: 150, hotplugMs: 400, driversMs: 1500 } as const;

/** Interrupt routers whose PIRQ route registers the kernel reads (arch/x86/pci/irq.c). */
const PIRQ_ROUTERS: Array<{ vendor: number; device: number; regs: number[] }> = [
  { vendor: 0x8086, device: 0x7000, regs: [0x60, 0x61, 0x62, 0x63] }, // PIIX3
  { vendor: 0x8086, device: 0x7110, regs: [0x60, 0x61, 0x62, 0x63] }, // PIIX4
  { vendor: 0x8086, device: 0x2918, regs: [0x60, 0x61, 0x62, 0x63, 0x68, 0x69, 0x6a, 0x6b] }, // ICH9
];

const registered: HotplugDriver[] = [];

/** Registers a hotplug driver for every LinuxGuest created afterwards (a built-in driver). */
export function registerHotplugDriver(d: HotplugDriver): void {
  if (!registered.some((x) => x.name === d.name)) registered.push(d);
}

export class LinuxGuest implements DriverHost {
  readonly view: GuestView;
  readonly clock: Clock;
  readonly policy: GuestPolicy;
  readonly sched: Scheduler;
  readonly klog: KernelLog;
  readonly irq: IrqDispatcher;
  readonly pci: PciCore;
  state: 'off' | 'booting' | 'running' = 'off';
  /**
   * What ACPI `_OSC` granted for the PCI host bridge's PCIe hotplug (Linux's
   * host->native_pcie_hotplug, decided when the root bus is added); undefined without ACPI,
   * where the OS drives hotplug natively.
   */
  nativePcieHotplug: boolean | undefined;
  private readonly domains: number[];
  private readonly hotplugDrivers: HotplugDriver[];
  private readonly pciDrivers: PciDriver[];
  private readonly nameCounters = new Map<string, number>();
  private readonly loadedModules = new Set<string>();
  private bootedHooks: Array<() => void> = [];
  private bootTask: Task<void> | undefined;

  constructor(opts: LinuxGuestOptions) {
    this.view = opts.view;
    this.clock = opts.clock;
    this.policy = resolvePolicy(opts.policy);
    this.klog = new KernelLog(this.clock, opts.log);
    this.sched = new Scheduler(this.clock, this.policy.slow, 'guest', (task, err) =>
      this.klog.printk(`BUG: task ${task} crashed: ${err instanceof Error ? err.message : String(err)}`),
    );
    this.irq = new IrqDispatcher(this.view, this.sched, (l) => this.klog.printk(l), opts.cpus ?? 1);
    this.pci = new PciCore(this.view, this.klog, this.sched);
    this.domains = opts.domains ?? [0];
    this.hotplugDrivers = [...(opts.hotplugDrivers ?? registered)];
    this.pciDrivers = [...(opts.pciDrivers ?? BUILTIN_PCI_DRIVERS)];
  }

  get booted(): boolean {
    return this.state === 'running';
  }

  /** Runs `f` once the boot finished (at once if it has). */
  onBooted(f: () => void): void {
    if (this.booted) f();
    else this.bootedHooks.push(f);
  }

  /** Starts the kernel: its stages run on the clock from now. The `none` policy boots nothing. */
  boot(): void {
    if (this.state !== 'off' || this.policy.name === 'none') return;
    this.state = 'booting';
    this.nativePcieHotplug = undefined;
    this.klog.start();
    this.klog.printk(`Linux version 6.1.0 (plugboard guest, policy ${this.policy.name}${this.policy.slow === 1 ? '' : `, slow=${this.policy.slow}`})`);
    this.irq.attach();
    this.bootTask = this.sched.spawn('boot', this.bootBody());
  }

  private *bootBody(): TaskBody {
    const t = BOOT_TIMELINE;
    yield this.sched.sleep(t.pciScanMs);
    for (const domain of this.domains) yield* this.pci.scanRootBus(domain);
    this.readPirqRouting();
    // fs_initcall pcibios_assign_resources: what firmware left unassigned, then every bridge programmed.
    assignUnassignedResources(this, this.pci.roots);
    yield this.sched.sleep(t.hotplugMs - t.pciScanMs);
    if (this.policy.name !== 'no-hotplug-driver') for (const d of this.hotplugDrivers) this.startHotplugDriver(d);
    yield this.sched.sleep(t.driversMs - t.hotplugMs);
    for (const dev of this.pci.devices()) this.bindDriver(dev);
    this.state = 'running';
    for (const f of this.bootedHooks.splice(0)) f();
  }

  /** The PIRQ -> IRQ table firmware left in the interrupt router's config space. */
  private readPirqRouting(): void {
    const root = this.pci.roots[0];
    const router = root?.devices.find((d) => PIRQ_ROUTERS.some((r) => r.vendor === d.vendor && r.device === d.device));
    if (!router) return;
    const regs = PIRQ_ROUTERS.find((r) => r.vendor === router.vendor && r.device === router.device)!.regs;
    this.irq.setPirqRouting(regs.map((off) => router.read8(off)));
  }

  /** Every bridge, depth first: what hotplug drivers are offered. */
  ports(): PciDev[] {
    return this.pci.devices().filter((d) => d.isBridge);
  }

  private startHotplugDriver(d: HotplugDriver): void {
    d.init?.(this);
    for (const port of this.ports()) this.offerPort(d, port);
  }

  private offerPort(d: HotplugDriver, port: PciDev): void {
    if (!d.probe || (port.hotplugDriver && !d.seesClaimedPorts)) return;
    const claimed = port.hotplugDriver !== undefined;
    if (d.probe(port, this) && !claimed) port.hotplugDriver = d.name;
  }

  /**
   * Adds a hotplug driver (loading a module). Once the hotplug stage has passed it starts
   * at once on the existing ports; before that it joins the boot order.
   */
  registerHotplugDriver(d: HotplugDriver): void {
    if (this.hotplugDrivers.some((x) => x.name === d.name)) return;
    this.hotplugDrivers.push(d);
    if (this.booted && this.policy.name !== 'no-hotplug-driver') this.startHotplugDriver(d);
  }

  registerPciDriver(d: PciDriver): void {
    this.pciDrivers.push(d);
    if (this.booted) for (const dev of this.pci.devices()) if (!dev.driver) this.bindDriver(dev);
  }

  /**
   * pci_bus_add_device -> device_attach: the first matching endpoint driver probes the
   * function. Hotplug drivers call this for functions they scanned; a bridge found by a
   * rescan is also offered to the hotplug drivers.
   */
  bindDriver(dev: PciDev): void {
    if (dev.driver) return;
    for (const drv of this.pciDrivers) {
      if (!matchId(drv.ids, dev)) continue;
      if (drv.banner && !this.loadedModules.has(drv.name)) {
        this.loadedModules.add(drv.name);
        for (const line of drv.banner) this.klog.printk(line);
      }
      if (drv.probe(dev, this) === false) continue;
      dev.driver = drv.name;
      return;
    }
  }

  /** Hot-added bridges: offered to running hotplug drivers like boot-time ones. */
  offerNewPort(port: PciDev): void {
    if (!this.booted || this.policy.name === 'no-hotplug-driver') return;
    for (const d of this.hotplugDrivers) this.offerPort(d, port);
  }

  /** device_release_driver + pci_stop_and_remove_bus_device for `dev` and everything below it. */
  removeDevice(dev: PciDev): void {
    for (const d of dev.subordinate ? [...dev.subordinate.walk()].reverse() : []) this.unbind(d);
    this.unbind(dev);
    this.pci.removeDevice(dev);
  }

  private unbind(dev: PciDev): void {
    if (dev.hotplugDriver) this.hotplugDrivers.find((d) => d.name === dev.hotplugDriver)?.remove?.(dev, this);
    dev.hotplugDriver = undefined;
    if (!dev.driver) return;
    this.pciDrivers.find((d) => d.name === dev.driver)?.remove?.(dev, this);
    dev.driver = undefined;
    // pci_disable_device: decoding stays, bus mastering goes.
    const cmd = dev.read16(R.PCI_COMMAND);
    if (cmd & R.PCI_COMMAND_MASTER) dev.write16(R.PCI_COMMAND, cmd & ~R.PCI_COMMAND_MASTER);
    dev.enableCount = 0;
    dev.isBusmaster = false;
  }

  /** Guest power-off or reset: tasks stop, interrupts go nowhere, the device tree is forgotten. */
  halt(): void {
    for (const port of this.ports()) if (port.hotplugDriver) this.hotplugDrivers.find((d) => d.name === port.hotplugDriver)?.remove?.(port, this);
    this.bootTask?.cancel();
    this.sched.cancelAll();
    this.irq.detach();
    // The next kernel allocates from scratch: the old one's IRQs (PCI drivers are not unbound
    // at a reset) would otherwise stay taken, one more set per reboot.
    this.irq.reset();
    this.pci.roots.length = 0;
    this.nameCounters.clear();
    this.loadedModules.clear();
    this.bootedHooks = [];
    this.klog.restart();
    this.state = 'off';
  }

  /** Finds a function by `0000:00:1f.0` name. */
  device(name: string): PciDev | undefined {
    return this.pci.devices().find((d) => d.name === name);
  }

  // ---- DriverHost ---------------------------------------------------------------------------

  log(driver: string, dev: PciDev, text: string): void {
    this.klog.dev(driver, dev.name, text);
  }

  printk(text: string): void {
    this.klog.printk(text);
  }

  nextName(prefix: string): string {
    const n = this.nameCounters.get(prefix) ?? 0;
    this.nameCounters.set(prefix, n + 1);
    return `${prefix}${n}`;
  }
}
