// Installed alone: @plugboard/qdev + @plugboard/pci-core + @plugboard/hotplug-pcie. Builds a
// q35-like board with one root port, hot-plugs an e1000e and unplugs it while playing a
// pciehp guest by hand through the guest view (config cycles only), printing every event.
import { Machine, NS_PER_MS, PluginSet, TypeRegistry, coreTypes, definePlugin, deviceAdd, deviceDel } from '@plugboard/qdev';
import { GuestView, caps, pciCatalogPlugin, regs } from '@plugboard/pci-core';
import {
  pcieHotplugPlugin, PCI_EXP_SLTCTL_AIC, PCI_EXP_SLTCTL_ATTN_IND_OFF, PCI_EXP_SLTCTL_PCC, PCI_EXP_SLTCTL_PIC,
  PCI_EXP_SLTCTL_PWR_IND_BLINK, PCI_EXP_SLTCTL_PWR_IND_OFF, PCI_EXP_SLTCTL_PWR_IND_ON,
} from '@plugboard/hotplug-pcie';

const out = (o) => console.log(JSON.stringify(o));
const set = new PluginSet(new TypeRegistry());
set.load(definePlugin({ name: 'core', types: coreTypes }));
set.load(pciCatalogPlugin);
set.load(pcieHotplugPlugin);
const m = new Machine({ registry: set.registry, typeName: 'scratch-q35-machine' });
const host = m.newDevice('q35-pcihost');
m.addChild('q35', host);
const root = host.createRootBus('pcie.0', true);
host.realize(m.sysbus);
root.realized = true;
const mch = m.newDevice('mch');
host.addChild('mch', mch);
mch.realize(root);
const gv = new GuestView(() => [host], () => m.clock.nowNs());
m.events.on((ev) => out({ event: ev.name, data: ev.data }));
deviceAdd(m, { driver: 'pcie-root-port', id: 'rp1', chassis: 1, slot: 1, addr: '1' });
m.finishInit();

// Firmware: the port's secondary bus is 1. Guest: find the PCIe capability by walking the list.
const port = { bus: 0, devfn: 8 };
gv.configWrite(port, regs.PCI_PRIMARY_BUS, (1 << 8) | (1 << 16), 4);
let exp = gv.configRead(port, regs.PCI_CAPABILITY_LIST, 1);
while (exp && gv.configRead(port, exp, 1) !== regs.PCI_CAP_ID_EXP) exp = gv.configRead(port, exp + 1, 1);
const rd = (r) => gv.configRead(port, exp + r, 2);
const wr = (r, v) => gv.configWrite(port, exp + r, v, 2);
const command = (value, mask) => wr(caps.PCI_EXP_SLTCTL, (rd(caps.PCI_EXP_SLTCTL) & ~mask) | (value & mask));
const ack = () => {
  const s = rd(caps.PCI_EXP_SLTSTA) & 0x011b;
  if (s) wr(caps.PCI_EXP_SLTSTA, s);
  return s;
};
const child = () => gv.configRead({ bus: 1, devfn: 0 }, regs.PCI_VENDOR_ID, 4).toString(16);
const ms = (n) => m.clock.advance(n * NS_PER_MS);
ack();

deviceAdd(m, { driver: 'e1000e', id: 'nic1', bus: 'rp1' });
out({ step: 'device_add', sltsta: ack() });
command(PCI_EXP_SLTCTL_PWR_IND_BLINK | PCI_EXP_SLTCTL_ATTN_IND_OFF, PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_AIC);
command(0, PCI_EXP_SLTCTL_PCC); // power on
ms(120);
command(PCI_EXP_SLTCTL_PWR_IND_ON | PCI_EXP_SLTCTL_ATTN_IND_OFF, PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_AIC);
ack();
out({ step: 'online', id: child() });

deviceDel(m, 'nic1');
out({ step: 'device_del', sltsta: ack() });
command(PCI_EXP_SLTCTL_PWR_IND_BLINK | PCI_EXP_SLTCTL_ATTN_IND_OFF, PCI_EXP_SLTCTL_PIC | PCI_EXP_SLTCTL_AIC);
ms(5000); // pciehp's button wait
command(PCI_EXP_SLTCTL_PCC, PCI_EXP_SLTCTL_PCC); // power off
ms(1000);
command(PCI_EXP_SLTCTL_PWR_IND_OFF, PCI_EXP_SLTCTL_PIC);
out({ step: 'removed', id: child() });
