// The step recorder shared by the AER scenarios: every config access, HMP command and RAM
// access (where MSI messages land) is one compact array in the fixture, so a test can replay
// the writes and commands against Plugboard and compare every read.
//
//   ["w", "BB:DD.F", off, size, value]   config write (ECAM)
//   ["r", "BB:DD.F", off, size, value]   config read and the value QEMU returned
//   ["hmp", "command line", "output"]    human-monitor-command
//   ["mw", addr, value] / ["mr", addr, value]   guest RAM dword (MSI target)
//   ["mmw", addr, value]                 MMIO dword write (an MSI-X table in a BAR)
//   ["note", "text"]                     a comment for humans (and test names)
import { ecam } from './qtest.mjs';

export const bdfName = (bus, devfn) => `${bus.toString(16).padStart(2, '0')}:${(devfn >> 3).toString(16).padStart(2, '0')}.${devfn & 7}`;

export class Steps {
  constructor(q) {
    this.q = q;
    this.steps = [];
  }
  note(text) { this.steps.push(['note', text]); }
  async r(d, off, size = 4) {
    const a = ecam(d.bus, d.devfn, off);
    const v = size === 4 ? await this.q.readl(a) : size === 2 ? await this.q.readw(a) : await this.q.readb(a);
    this.steps.push(['r', d.name, off, size, v]);
    return v;
  }
  async w(d, off, v, size = 4) {
    const a = ecam(d.bus, d.devfn, off);
    if (size === 4) await this.q.writel(a, v);
    else if (size === 2) await this.q.writew(a, v);
    else await this.q.writeb(a, v);
    this.steps.push(['w', d.name, off, size, v >>> 0]);
  }
  async hmp(line) {
    const out = await this.q.hmp(line);
    this.steps.push(['hmp', line, out]);
    return out;
  }
  async mr(addr) {
    const v = await this.q.readl(addr);
    this.steps.push(['mr', addr, v]);
    return v;
  }
  async mmw(addr, v) {
    await this.q.writel(addr, v);
    this.steps.push(['mmw', addr, v >>> 0]);
  }
  async mw(addr, v) {
    await this.q.writel(addr, v);
    this.steps.push(['mw', addr, v >>> 0]);
  }
}

/** Standard config registers (pci_regs.h) the scenarios use. */
export const R = {
  COMMAND: 0x04, STATUS: 0x06, SEC_STATUS: 0x1e, BRIDGE_CONTROL: 0x3e, BAR0: 0x10, BUSES: 0x18, CAP_PTR: 0x34,
  CMD_MEM: 0x2, CMD_MASTER: 0x4, CMD_SERR: 0x100, BCTL_SERR: 0x2,
  CAP_ID_EXP: 0x10, CAP_ID_MSI: 0x05, CAP_ID_MSIX: 0x11, EXT_CAP_ID_ERR: 0x1,
  EXP_DEVCTL: 0x08, EXP_DEVSTA: 0x0a, EXP_LNKCAP: 0x0c, EXP_DEVCAP2: 0x24, EXP_DEVCTL2: 0x28,
  ERR_UNCOR_STATUS: 0x04, ERR_UNCOR_MASK: 0x08, ERR_UNCOR_SEVER: 0x0c, ERR_COR_STATUS: 0x10, ERR_COR_MASK: 0x14,
  ERR_CAP: 0x18, ERR_HEADER_LOG: 0x1c, ERR_ROOT_COMMAND: 0x2c, ERR_ROOT_STATUS: 0x30, ERR_ROOT_ERR_SRC: 0x34,
  ERR_TLP_PREFIX_LOG: 0x38, ERR_SIZEOF: 0x48,
};

/** Walks the capability list (recorded reads) and the extended list for AER. */
export async function discover(s, d) {
  d.caps = {};
  let p = (await s.r(d, R.CAP_PTR, 1)) & 0xfc;
  for (let ttl = 48; p && ttl > 0; ttl--) {
    const ent = await s.r(d, p, 2);
    d.caps[ent & 0xff] ??= p;
    p = (ent >> 8) & 0xfc;
  }
  d.exp = d.caps[R.CAP_ID_EXP] ?? 0;
  const h = await s.r(d, 0x100, 4);
  d.aer = h !== 0 && h !== 0xffffffff && (h & 0xffff) === R.EXT_CAP_ID_ERR ? 0x100 : 0;
  return d;
}

/** Reads what an error touches on one function: command/status, bridge status, PCIe device regs, AER. */
export async function snapshot(s, d) {
  await s.r(d, R.COMMAND, 4);
  if (d.bridge) {
    await s.r(d, R.SEC_STATUS, 2);
    await s.r(d, R.BRIDGE_CONTROL, 2);
  }
  if (d.exp) {
    await s.r(d, d.exp + R.EXP_DEVCTL, 4);
    await s.r(d, d.exp + R.EXP_LNKCAP, 4);
  }
  if (d.aer) for (let off = 4; off < R.ERR_SIZEOF; off += 4) await s.r(d, d.aer + off, 4);
}

/** Writes 1s to every W1C error bit of a function (what a guest clearing up would do). */
export async function clearAll(s, d) {
  await s.w(d, R.STATUS, 0xf900, 2);
  if (d.bridge) await s.w(d, R.SEC_STATUS, 0xf900, 2);
  if (d.exp) await s.w(d, d.exp + R.EXP_DEVSTA, 0xf, 2);
  if (d.aer) {
    await s.w(d, d.aer + R.ERR_UNCOR_STATUS, 0xffffffff);
    await s.w(d, d.aer + R.ERR_COR_STATUS, 0xffffffff);
    if (d.root) await s.w(d, d.aer + R.ERR_ROOT_STATUS, 0x7f);
  }
}

/** A seeded PRNG (mulberry32): the random scenario is the same on every run. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
