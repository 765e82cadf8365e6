// The AER scenarios: each runs on a fresh QEMU with record-aer.mjs's topology. Names are
// QEMU's (hw/pci/pcie_aer.c pcie_aer_error_list); register offsets pci_regs.h's.
import { R, clearAll, prng, snapshot } from './steps.mjs';

export const UNCORRECTABLE = ['DLP', 'SDN', 'POISON_TLP', 'FCP', 'COMP_TIME', 'COMP_ABORT', 'UNX_COMP', 'RX_OVER', 'MALF_TLP', 'ECRC', 'UNSUP', 'ACSV', 'INTN', 'MCBTLP', 'ATOP_EBLOCKED', 'TLP_PRF_BLOCKED'];
export const CORRECTABLE = ['RCVR', 'BAD_TLP', 'BAD_DLLP', 'REP_ROLL', 'REP_TIMER', 'ADV_NONFATAL', 'INTERNAL', 'HL_OVERFLOW'];
const ALL = [...UNCORRECTABLE, ...CORRECTABLE];

/** Where the scenarios point MSI/MSI-X messages: guest RAM, read back with readl. */
export const MSI_RAM = { rp1: 0x1000, rp2: 0x1010, ioh1: 0x1020, rp3: 0x1030, rp4: 0x1040, rp5: 0x1050 };
const MSIX_BAR = { rp1: 0xfe000000, rp2: 0xfe001000, rp3: 0xfe002000, rp4: 0xfe003000, rp5: 0xfe004000 };
const MSI_DATA = 0x4000;

/** What Linux leaves on a port: decoding, bus master, SERR#, error reporting, root enables. */
async function enablePort(s, d) {
  await s.w(d, R.COMMAND, R.CMD_MEM | R.CMD_MASTER | R.CMD_SERR, 2);
  await s.w(d, R.BRIDGE_CONTROL, R.BCTL_SERR, 2);
  await s.w(d, d.exp + R.EXP_DEVCTL, 0x000f, 2);
  if (d.root) await s.w(d, d.aer + R.ERR_ROOT_COMMAND, 0x7);
}

/** SERR# and the error-reporting enables on an endpoint (DEVCTL may be read-only). */
async function enableEndpoint(s, d) {
  await s.w(d, R.COMMAND, R.CMD_SERR, 2);
  if (d.exp) await s.w(d, d.exp + R.EXP_DEVCTL, 0x000f, 2);
}

/** MSI-X vector 0 of a pcie-root-port into RAM (table in BAR0). */
async function msix(s, d) {
  await s.w(d, R.BAR0, MSIX_BAR[d.id]);
  await s.mmw(MSIX_BAR[d.id], MSI_RAM[d.id]);
  await s.mmw(MSIX_BAR[d.id] + 4, 0);
  await s.mmw(MSIX_BAR[d.id] + 8, MSI_DATA | d.devfn);
  await s.mmw(MSIX_BAR[d.id] + 12, 0);
  await s.w(d, d.caps[R.CAP_ID_MSIX] + 2, 0x8000, 2);
}

/** MSI (ioh3420: 32-bit, per-vector mask) into RAM; `qsize` = log2 of enabled vectors. */
async function msi(s, d, qsize = 0) {
  const m = d.caps[R.CAP_ID_MSI];
  await s.w(d, m + 4, MSI_RAM[d.id]);
  await s.w(d, m + 8, MSI_DATA | d.devfn, 2);
  await s.w(d, m + 2, 0x0001 | (qsize << 4), 2);
}

/** RAM of every MSI target: read, and reset when something landed. */
async function drainMsi(s, ids) {
  for (const id of ids) if (await s.mr(MSI_RAM[id])) await s.mw(MSI_RAM[id], 0);
}

async function injectAll(s, target, names, watch, msiIds, flags = '') {
  for (const n of names) {
    await s.hmp(`pcie_aer_inject_error ${flags}${target.id} ${n}`);
    for (const d of watch) await snapshot(s, d);
    await drainMsi(s, msiIds);
    for (const d of watch) await clearAll(s, d);
    await drainMsi(s, msiIds);
  }
}

export const SCENARIOS = {
  masks: {
    about: 'write masks: all-ones then zero written to every AER dword, DEVCTL/DEVSTA/COMMAND/bridge control, of every function',
    async run(s, devs) {
      for (const d of Object.values(devs)) {
        await s.w(d, R.COMMAND, R.CMD_SERR, 2);
        await s.r(d, R.COMMAND, 4);
        if (d.bridge) {
          await s.w(d, R.BRIDGE_CONTROL, 0x0002, 2);
          await s.r(d, R.BRIDGE_CONTROL, 2);
        }
        if (d.exp) {
          // Version 1 capabilities (e1000e) end before DEVCAP2; bit 15 of DEVCTL would start an FLR.
          const v2 = ((await s.r(d, d.exp + 2, 2)) & 0xf) >= 2;
          const regs = v2 ? [R.EXP_DEVCTL, R.EXP_DEVCAP2, R.EXP_DEVCTL2] : [R.EXP_DEVCTL];
          for (const off of regs) await s.r(d, d.exp + off, 4);
          await s.w(d, d.exp + R.EXP_DEVCTL, 0x7fff, 2);
          if (v2) await s.w(d, d.exp + R.EXP_DEVCTL2, 0xffff, 2);
          for (const off of regs.filter((o) => o !== R.EXP_DEVCAP2)) await s.r(d, d.exp + off, 4);
          await s.w(d, d.exp + R.EXP_DEVSTA, 0xf, 2);
          await s.r(d, d.exp + R.EXP_DEVCTL, 4);
        }
        if (!d.aer) continue;
        for (let off = 0; off < R.ERR_SIZEOF; off += 4) await s.r(d, d.aer + off, 4);
        for (let off = 4; off < R.ERR_SIZEOF; off += 4) {
          await s.w(d, d.aer + off, 0xffffffff);
          await s.r(d, d.aer + off, 4);
        }
        for (let off = 4; off < R.ERR_SIZEOF; off += 4) {
          await s.w(d, d.aer + off, 0);
          await s.r(d, d.aer + off, 4);
        }
      }
    },
  },
  'names-default': {
    about: 'every error name at nic1 and at rp1 with nothing enabled (reset state)',
    async run(s, d) {
      await injectAll(s, d.nic1, ALL, [d.nic1, d.rp1], []);
      await injectAll(s, d.rp1, ALL, [d.rp1], []);
    },
  },
  'names-root-port': {
    about: 'every error name at nic1 (e1000e) and at rp1 with SERR#, DEVCTL and Root Error Command enabled; rp1 MSI-X into RAM',
    async run(s, d) {
      await enablePort(s, d.rp1);
      await enableEndpoint(s, d.nic1);
      await msix(s, d.rp1);
      await injectAll(s, d.nic1, ALL, [d.nic1, d.rp1], ['rp1']);
      await injectAll(s, d.rp1, ALL, [d.rp1], ['rp1']);
    },
  },
  'names-switch': {
    about: 'every error name at nic2, dp1 and up1 below rp2 -> up1 -> dp1, everything enabled; rp2 MSI-X into RAM',
    async run(s, d) {
      for (const p of [d.rp2, d.up1, d.dp1]) await enablePort(s, p);
      await enableEndpoint(s, d.nic2);
      await msix(s, d.rp2);
      const path = [d.dp1, d.up1, d.rp2];
      await injectAll(s, d.nic2, ALL, [d.nic2, ...path], ['rp2']);
      await injectAll(s, d.dp1, ALL, path, ['rp2']);
      await injectAll(s, d.up1, ALL, [d.up1, d.rp2], ['rp2']);
    },
  },
  'names-virtio': {
    about: 'every error name at vn1 (virtio-net-pci aer=on) below ioh1 (MSI into RAM), everything enabled; then with 2 MSI vectors',
    async run(s, d) {
      await enablePort(s, d.ioh1);
      await enableEndpoint(s, d.vn1);
      await msi(s, d.ioh1);
      await injectAll(s, d.vn1, ALL, [d.vn1, d.ioh1], ['ioh1']);
      s.note('two MSI vectors enabled: AER uses vector 1');
      await msi(s, d.ioh1, 1);
      await injectAll(s, d.vn1, ['POISON_TLP', 'DLP'], [d.vn1, d.ioh1], ['ioh1']);
    },
  },
  'no-aer': {
    about: 'vn2 (virtio-net-pci without AER) below rp3 and nv1 (nvme) below rp4, both using INTx: device status only, message, INTx level through Root Error Command/Status writes',
    async run(s, d) {
      await enablePort(s, d.rp3);
      await enableEndpoint(s, d.vn2);
      await injectAll(s, d.vn2, ['DLP', 'POISON_TLP', 'UNSUP', 'RCVR'], [d.vn2, d.rp3], []);
      await enablePort(s, d.rp4);
      await enableEndpoint(s, d.nv1);
      await injectAll(s, d.nv1, ['DLP', 'POISON_TLP', 'UNSUP', 'RCVR'], [d.nv1, d.rp4], []);
      s.note('INTx follows Root Error Command & Root Error Status on every write');
      await s.hmp('pcie_aer_inject_error vn2 POISON_TLP');
      await s.r(d.rp3, R.COMMAND, 4);
      await s.w(d.rp3, d.rp3.aer + R.ERR_ROOT_COMMAND, 0);
      await s.r(d.rp3, R.COMMAND, 4);
      await s.w(d.rp3, d.rp3.aer + R.ERR_ROOT_COMMAND, 2);
      await s.r(d.rp3, R.COMMAND, 4);
      await s.w(d.rp3, R.STATUS, 0, 2);
      await s.r(d.rp3, R.COMMAND, 4);
      await s.w(d.rp3, d.rp3.aer + R.ERR_ROOT_STATUS, 0x7f);
      await s.r(d.rp3, R.COMMAND, 4);
      await snapshot(s, d.rp3);
    },
  },
  masked: {
    about: 'Correctable Error Mask, the read-only Uncorrectable Error Mask and -a (advisory non-fatal) on rp1 and vn1',
    async run(s, d) {
      for (const p of [d.rp1, d.ioh1]) await enablePort(s, p);
      await enableEndpoint(s, d.vn1);
      for (const t of [d.rp1, d.vn1]) {
        const watch = t === d.rp1 ? [d.rp1] : [d.vn1, d.ioh1];
        await injectAll(s, t, ['INTERNAL', 'HL_OVERFLOW', 'ADV_NONFATAL', 'RCVR'], watch, []);
        await injectAll(s, t, ['POISON_TLP', 'DLP', 'UNSUP'], watch, [], '-a ');
        await s.w(t, t.aer + R.ERR_COR_MASK, 0);
        await s.w(t, t.aer + R.ERR_UNCOR_MASK, 0xffffffff);
        await injectAll(s, t, ['INTERNAL', 'ADV_NONFATAL'], watch, []);
        await injectAll(s, t, ['POISON_TLP', 'COMP_TIME', 'DLP'], watch, [], '-a ');
        await injectAll(s, t, ['0x1000', '0x2000'], watch, [], '-a -c ');
        await s.w(t, t.aer + R.ERR_COR_MASK, 0xffffffff);
        await injectAll(s, t, ['RCVR', 'BAD_TLP'], watch, []);
        await injectAll(s, t, ['POISON_TLP'], watch, [], '-a ');
      }
    },
  },
  severity: {
    about: 'Uncorrectable Error Severity written by the guest decides fatal/non-fatal (rp1 itself and vn1)',
    async run(s, d) {
      for (const p of [d.rp1, d.ioh1]) await enablePort(s, p);
      await enableEndpoint(s, d.vn1);
      await msix(s, d.rp1);
      await msi(s, d.ioh1);
      for (const t of [d.rp1, d.vn1]) {
        const watch = t === d.rp1 ? [d.rp1] : [d.vn1, d.ioh1];
        const ram = t === d.rp1 ? ['rp1'] : ['ioh1'];
        await s.w(t, t.aer + R.ERR_UNCOR_SEVER, 0);
        await injectAll(s, t, ['DLP', 'INTN', 'MALF_TLP'], watch, ram);
        await s.w(t, t.aer + R.ERR_UNCOR_SEVER, 0xffffffff);
        await s.r(t, t.aer + R.ERR_UNCOR_SEVER);
        await injectAll(s, t, ['POISON_TLP', 'UNSUP', 'ACSV'], watch, ram);
        await s.w(t, t.aer + R.ERR_UNCOR_SEVER, 0x00001010);
        await injectAll(s, t, ['POISON_TLP', 'DLP', 'SDN'], watch, ram);
        await injectAll(s, t, ['POISON_TLP', 'SDN'], watch, ram, '-a ');
      }
    },
  },
  'header-log': {
    about: 'first error pointer, header log, multiple header recording (rp3 aer_log_max=2, rp4 aer_log_max=0), overflow into HL_OVERFLOW, TLP prefixes',
    async run(s, d) {
      for (const p of [d.rp3, d.rp4, d.rp1]) await enablePort(s, p);
      for (const p of [d.rp3, d.rp4]) await msix(s, p);
      for (const t of [d.rp3, d.rp4, d.rp1]) {
        const cap = t.aer + R.ERR_CAP;
        s.note(`${t.id}: one error at a time, without MHRE`);
        await s.hmp(`pcie_aer_inject_error ${t.id} POISON_TLP 0x11111111 0x22222222 0x33333333 0x44444444`);
        await snapshot(s, t);
        await s.hmp(`pcie_aer_inject_error ${t.id} ECRC 0x55 0x66 0x77 0x88`);
        await snapshot(s, t);
        await s.w(t, t.aer + R.ERR_UNCOR_STATUS, 0x1000);
        await snapshot(s, t);
        await s.w(t, t.aer + R.ERR_UNCOR_STATUS, 0x80000);
        await snapshot(s, t);
        await clearAll(s, t);
        s.note(`${t.id}: MHRE on`);
        await s.w(t, cap, 0x400);
        await s.r(t, cap);
        const errs = ['POISON_TLP 1 2 3 4', 'ECRC 5 6 7 8', 'UNSUP 9 10 11 12', 'MALF_TLP 13 14 15 16', 'COMP_ABORT', 'POISON_TLP 17 18 19 20'];
        for (const e of errs) {
          await s.hmp(`pcie_aer_inject_error ${t.id} ${e}`);
          await snapshot(s, t);
          await drainMsi(s, [t.id].filter((x) => x in MSIX_BAR));
        }
        s.note(`${t.id}: the guest clears the first error, then the next, then everything`);
        for (let i = 0; i < 4; i++) {
          const fep = (await s.r(t, cap)) & 0x1f;
          await s.w(t, t.aer + R.ERR_UNCOR_STATUS, (1 << fep) >>> 0);
          await snapshot(s, t);
        }
        await s.w(t, t.aer + R.ERR_UNCOR_STATUS, 0xffffffff);
        await snapshot(s, t);
        await s.w(t, R.COMMAND, R.CMD_MEM | R.CMD_MASTER | R.CMD_SERR, 2);
        await snapshot(s, t);
        s.note(`${t.id}: MHRE off with errors queued`);
        await s.hmp(`pcie_aer_inject_error ${t.id} POISON_TLP`);
        await s.hmp(`pcie_aer_inject_error ${t.id} ECRC`);
        await s.w(t, cap, 0);
        await snapshot(s, t);
        await clearAll(s, t);
        await snapshot(s, t);
        s.note(`${t.id}: TLP prefix words, with and without DEVCTL2 End-End TLP Prefix Blocking`);
        await s.hmp(`pcie_aer_inject_error ${t.id} POISON_TLP 1 2 3 4 0xa 0xb 0xc 0xd`);
        await snapshot(s, t);
        await clearAll(s, t);
        await s.w(t, t.exp + R.EXP_DEVCTL2, 0x8000, 2);
        await s.hmp(`pcie_aer_inject_error ${t.id} ECRC 1 2 3 4 0xa 0xb 0xc 0xd`);
        await snapshot(s, t);
        await clearAll(s, t);
        await drainMsi(s, [t.id].filter((x) => x in MSIX_BAR));
      }
    },
  },
  'hmp-errors': {
    about: 'HMP syntax and error messages of pcie_aer_inject_error',
    async run(s) {
      const lines = [
        'pcie_aer_inject_error', 'pcie_aer_inject_error nic1', 'pcie_aer_inject_error nope DLP', 'pcie_aer_inject_error old0 DLP',
        'pcie_aer_inject_error old1 DLP', 'pcie_aer_inject_error 0000:01:00.0 DLP', 'pcie_aer_inject_error /machine/peripheral/nic1 DLP',
        'pcie_aer_inject_error nic1 FOO', 'pcie_aer_inject_error nic1 dlp', 'pcie_aer_inject_error nic1 0x3', 'pcie_aer_inject_error nic1 0',
        'pcie_aer_inject_error nic1 0x100000000', 'pcie_aer_inject_error nic1 0x1', 'pcie_aer_inject_error nic1 0x10', 'pcie_aer_inject_error nic1 4096',
        'pcie_aer_inject_error nic1 010000', 'pcie_aer_inject_error nic1 12abc', 'pcie_aer_inject_error nic1 -1', 'pcie_aer_inject_error -c nic1 0x1',
        'pcie_aer_inject_error -c nic1 0x10000', 'pcie_aer_inject_error -c nic1 DLP', 'pcie_aer_inject_error -a -c nic1 0x1000',
        'pcie_aer_inject_error -c -a nic1 DLP', 'pcie_aer_inject_error -x nic1 DLP', 'pcie_aer_inject_error -ac nic1 DLP',
        'pcie_aer_inject_error nic1 DLP zz', 'pcie_aer_inject_error nic1 DLP 1 2 3 4 5 6 7 8 9', 'pcie_aer_inject_error nic1 DLP 1',
        'pcie_aer_inject_error nic1 DLP 0xffffffff', 'pcie_aer_inject_error nic1 DLP 0x100000000', 'pcie_aer_inject_error nic1 DLP -1',
        'pcie_aer_inject_error nic1 DLP 1+2 (3*4) 0x10|1 7-8', 'pcie_aer_inject_error nic1 DLP 1 2 3 4 5', 'pcie_aer_inject_error "nic1" DLP',
        'pcie_aer_inject_error nic1 "DLP"', 'pcie_aer_inject_error  nic1   RCVR  ', 'pcie_aer_inject_error rp1 DLP', 'pcie_aer_inject_error dp1 DLP',
        'pcie_aer_inject_error pb1 DLP', 'pcie_aer_inject_error vn2 DLP', 'pcie_aer_inject_error nic2 DLP',
      ];
      for (const l of lines) await s.hmp(l);
    },
  },
  random: {
    about: 'a seeded random mix of injections and guest register writes (same PRNG as the replaying test), reduced snapshots after each',
    async run(s, d) {
      await randomRun(s, d, 0xae12024, 400);
    },
  },
};

/** The random scenario: op choice depends only on the PRNG, never on values read. */
async function randomRun(s, d, seed, count) {
  const rnd = prng(seed);
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const ports = [d.rp1, d.rp2, d.up1, d.dp1, d.ioh1, d.rp3, d.rp4];
  for (const p of ports) await enablePort(s, p);
  for (const e of [d.nic1, d.nic2, d.vn1, d.vn2]) await enableEndpoint(s, e);
  for (const p of [d.rp1, d.rp2, d.rp3, d.rp4]) await msix(s, p);
  await msi(s, d.ioh1);
  const targets = [d.nic1, d.rp1, d.nic2, d.dp1, d.up1, d.rp2, d.vn1, d.ioh1, d.vn2, d.rp3, d.rp4];
  const parent = { nic1: 'rp1', nic2: 'dp1', dp1: 'up1', up1: 'rp2', vn1: 'ioh1', vn2: 'rp3' };
  const pathOf = (t) => { const p = [t]; while (parent[p.at(-1).id]) p.push(d[parent[p.at(-1).id]]); return p; };
  const word = () => `0x${Math.floor(rnd() * 2 ** 32).toString(16)}`;
  for (let i = 0; i < count; i++) {
    const t = pick(targets);
    const op = rnd();
    if (op < 0.45) {
      let cmd = 'pcie_aer_inject_error ';
      if (rnd() < 0.2) cmd += '-a ';
      const numeric = rnd() < 0.2;
      if (numeric && rnd() < 0.5) cmd += '-c ';
      cmd += `${t.id} ${numeric ? `0x${(1 << Math.floor(rnd() * 26)).toString(16)}` : pick(ALL)}`;
      if (rnd() < 0.3) cmd += ` ${word()} ${word()} ${word()} ${word()}`;
      await s.hmp(cmd);
    } else if (t.aer && op < 0.8) {
      const reg = pick([R.ERR_UNCOR_SEVER, R.ERR_COR_MASK, R.ERR_CAP, R.ERR_UNCOR_STATUS, R.ERR_UNCOR_STATUS, R.ERR_COR_STATUS, R.ERR_ROOT_COMMAND, R.ERR_ROOT_STATUS]);
      const v = reg === R.ERR_CAP ? pick([0, 0x400, 0x440]) : reg === R.ERR_ROOT_COMMAND ? Math.floor(rnd() * 8) : Math.floor(rnd() * 2 ** 32);
      await s.w(t, t.aer + reg, v);
    } else if (op < 0.9) {
      await s.w(t, t.exp + R.EXP_DEVSTA, 0xf, 2);
    } else {
      await s.w(t, R.COMMAND, R.CMD_MEM | R.CMD_MASTER | (rnd() < 0.7 ? R.CMD_SERR : 0), 2);
    }
    for (const x of pathOf(t)) {
      await s.r(x, R.COMMAND, 4);
      if (x.exp) await s.r(x, x.exp + R.EXP_DEVCTL, 4);
      if (x.aer) for (const off of [R.ERR_UNCOR_STATUS, R.ERR_COR_STATUS, R.ERR_CAP, R.ERR_HEADER_LOG, ...(x.root ? [R.ERR_ROOT_STATUS, R.ERR_ROOT_ERR_SRC] : [])]) await s.r(x, x.aer + off, 4);
    }
    await drainMsi(s, ['rp1', 'rp2', 'rp3', 'rp4', 'ioh1']);
  }
}
