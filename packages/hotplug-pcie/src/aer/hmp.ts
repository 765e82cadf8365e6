/**
 * HMP `pcie_aer_inject_error [-a] [-c] id error_status [h0 h1 h2 h3 [p0 p1 p2 p3]]`
 * (hmp-commands.hx; hw/pci/pcie_aer.c hmp_pcie_aer_inject_error in 7.2). Output and
 * messages are QEMU's, observed through human-monitor-command: note the missing newline
 * after "invalid error status value".
 */
import { Device, type Bus, type Machine, type PluginHmpCommand } from '@plugboard/qdev';
import { PCIDevice, PCIHostBridge, regs } from '@plugboard/pci-core';
import { HmpArgError, parseHmpArgs, parseUlong, type ArgSpec } from './hmp-args.js';
import { EINVAL, ENOSYS, injectAerError, isPcieFunction, requesterId } from './inject.js';
import {
  AER_ERROR_NAMES, PCIE_AER_ERR_HEADER_VALID, PCIE_AER_ERR_IS_CORRECTABLE, PCIE_AER_ERR_MAYBE_ADVISORY, PCIE_AER_ERR_TLP_PREFIX_PRESENT,
} from './regs.js';

export const HMP_PCIE_AER_INJECT_ERROR = 'pcie_aer_inject_error';

/** args_type "advisory_non_fatal:-a,correctable:-c,id:s,error_status:s,header0:i?,...,prefix3:i?" */
const SPEC: readonly ArgSpec[] = [
  { key: 'advisory_non_fatal', kind: 'flag', letter: 'a' },
  { key: 'correctable', kind: 'flag', letter: 'c' },
  { key: 'id', kind: 'str' },
  { key: 'error_status', kind: 'str' },
  ...[0, 1, 2, 3].map((i) => ({ key: `header${i}`, kind: 'int?' as const })),
  ...[0, 1, 2, 3].map((i) => ({ key: `prefix${i}`, kind: 'int?' as const })),
];

const STRERROR: Record<number, string> = { [EINVAL]: 'Invalid argument', [ENOSYS]: 'Function not implemented' };
const crlf = (s: string) => `${s}\r\n`;

/**
 * pci_qdev_find_device: the device with this id below a PCI host bridge (qdev ids only:
 * PCI paths and QOM paths are not found). A non-PCI device found there is refused later.
 */
export function findPciDeviceById(machine: Machine, id: string): Device | undefined {
  const dev = machine.deviceById(id);
  if (!dev) return undefined;
  for (let bus: Bus | undefined = dev.parentBus; bus; bus = bus.parentDevice?.parentBus) {
    if (bus.parentDevice instanceof PCIHostBridge) return dev;
  }
  return undefined;
}

/** pci_root_bus_path of the host bridge above `dev` (q35 and i440fx: "0000:00"). */
function rootBusPath(dev: PCIDevice): string {
  let bus = dev.pciBus;
  while (!bus.isRoot) bus = bus.bridge!.pciBus;
  return `0000:${bus.rootBusNumber.toString(16).padStart(2, '0')}`;
}

export function pcieAerInjectErrorHmp(machine: Machine, line: string): string {
  let args: Map<string, boolean | string | bigint>;
  try {
    args = parseHmpArgs(HMP_PCIE_AER_INJECT_ERROR, SPEC, line);
  } catch (e) {
    if (!(e instanceof HmpArgError)) throw e;
    return crlf(e.message) + crlf(`Try "help ${HMP_PCIE_AER_INJECT_ERROR}" for more information`);
  }
  const id = args.get('id') as string;
  const found = findPciDeviceById(machine, id);
  if (!found) return crlf(`id or pci device path is invalid or device not found. ${id}`);
  if (!(found instanceof PCIDevice) || !isPcieFunction(found)) return crlf(`the device doesn't support pci express. ${id}`);
  const name = args.get('error_status') as string;
  const known = AER_ERROR_NAMES.find((e) => e.name === name);
  let status: number;
  let correctable: boolean;
  if (known) {
    status = known.status;
    correctable = known.correctable; // -c only matters for a numeric status
  } else {
    const n = parseUlong(name);
    if (!n.ok) return `invalid error status value. "${name}"`;
    status = n.value;
    correctable = args.get('correctable') === true;
  }
  let flags = 0;
  if (correctable) flags |= PCIE_AER_ERR_IS_CORRECTABLE;
  if (args.get('advisory_non_fatal') === true) flags |= PCIE_AER_ERR_MAYBE_ADVISORY;
  if (args.has('header0')) flags |= PCIE_AER_ERR_HEADER_VALID;
  if (args.has('prefix0')) flags |= PCIE_AER_ERR_TLP_PREFIX_PRESENT;
  const word = (k: string) => Number(((args.get(k) as bigint | undefined) ?? 0n) & 0xffffffffn);
  const ret = injectAerError(found, {
    status, flags, sourceId: requesterId(found),
    header: [0, 1, 2, 3].map((i) => word(`header${i}`)),
    prefix: [0, 1, 2, 3].map((i) => word(`prefix${i}`)),
  });
  if (ret < 0) return crlf(`failed to inject error: ${STRERROR[-ret] ?? `Unknown error ${-ret}`}`);
  return crlf(`OK id: ${id} root bus: ${rootBusPath(found)}, bus: ${found.pciBus.number.toString(16)} devfn: ${regs.PCI_SLOT(found.devfn).toString(16)}.${regs.PCI_FUNC(found.devfn).toString(16)}`);
}

/** The command as a plugin contributes it (help text as QEMU prints it, CRLF inside). */
export const pcieAerInjectErrorCommand: PluginHmpCommand = {
  name: HMP_PCIE_AER_INJECT_ERROR,
  params: 'S?',
  usage: '[-a] [-c] id <error_status> [<tlp header> [<tlp header prefix>]]',
  help: [
    'inject pcie aer error',
    '\t\t\t -a for advisory non fatal error',
    '\t\t\t -c for correctable error',
    '\t\t\t<id> = qdev device id',
    '\t\t\t<error_status> = error string or 32bit',
    '\t\t\t<tlp header> = 32bit x 4',
    '\t\t\t<tlp header prefix> = 32bit x 4',
  ].join('\r\n'),
  run: (args, { machine }) => pcieAerInjectErrorHmp(machine, args[0] ?? ''),
};
