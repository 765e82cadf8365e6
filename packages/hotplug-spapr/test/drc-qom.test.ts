import { describe, expect, it } from 'vitest';
import { qomGet, qomList, qomListTypes } from '@plugboard/qdev';
import { buildPseries } from './board.js';
import { reply, requests } from './fixtures.js';

const names = (l: Array<{ name: string }>) => l.map((x) => x.name);

describe('DRCs in the QOM tree (fixture drc-qom: -M pseries -nodefaults)', () => {
  const b = buildPseries();
  const m = b.machine;

  it('/dr-connector lists the 288 links in QEMU\'s order', () => {
    const expected = reply('drc-qom', 'qom-list', { path: '/dr-connector' }).return as Array<{ name: string; type: string }>;
    expect(expected.length).toBe(1 + 256 + 31 + 1);
    expect(qomList(m, '/dr-connector')).toEqual(expected);
  });

  it('qom-get of id, index, fdt and the device properties through the alias', () => {
    for (const ex of requests('drc-qom').filter((e) => e.send!.execute === 'qom-get').slice(0, 33)) {
      const { path, property } = ex.send!.arguments as { path: string; property: string };
      expect([path, property, qomGet(m, path, property)]).toEqual([path, property, ex.replies[0]!.return]);
    }
  });

  it('each DRC lists QEMU\'s properties; `device` only while attached', () => {
    for (const path of ['/dr-connector/40000020', '/dr-connector/2000000a', '/dr-connector/10000000', '/machine/dr-connector[536870912]']) {
      const expected = reply('drc-qom', 'qom-list', { path }).return as Array<{ name: string; type: string }>;
      const got = qomList(m, path);
      expect(new Set(got.map((p) => JSON.stringify(p)))).toEqual(new Set(expected.map((p) => JSON.stringify(p))));
      expect(names(got).filter((n) => ['device', 'id', 'index', 'fdt'].includes(n))).toEqual(names(expected).filter((n) => ['device', 'id', 'index', 'fdt'].includes(n)));
    }
  });

  it('owners hold the DRCs as dr-connector[INDEX] children', () => {
    const machineChildren = names(qomList(m, '/machine')).filter((n) => n.startsWith('dr-connector['));
    expect(machineChildren.length).toBe(32);
    expect(machineChildren).toContain('dr-connector[268435456]');
    expect(names(qomList(m, '/machine/unattached/device[4]')).filter((n) => n.startsWith('dr-connector[')).length).toBe(256);
  });

  it('qom-list-types implements=spapr-dr-connector', () => {
    const expected = reply('drc-qom', 'qom-list-types', { implements: 'spapr-dr-connector', abstract: true }).return as unknown[];
    const byName = (l: unknown[]) => [...(l as Array<{ name: string }>)].sort((a, c) => a.name.localeCompare(c.name));
    expect(byName(qomListTypes(m.registry, { implements: 'spapr-dr-connector', abstract: true }))).toEqual(byName(expected));
  });
});
