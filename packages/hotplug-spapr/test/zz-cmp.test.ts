import { it } from 'vitest';
import { replay } from './replay.js';
it('x', () => {
  for (const { qemu, ours } of replay('pci-errors')) {
    if (qemu.send?.execute === 'qom-list' && (qemu.send.arguments as any).path === '/machine/peripheral/br1') {
      const q = (qemu.replies[0]!.return as any[]).map((p) => p.name);
      const o = (ours.reply.return as any[]).map((p) => p.name);
      console.log('QEMU', q.length, JSON.stringify(q.filter((n: string) => !n.startsWith('dr-connector'))), 'first drc idx', q.findIndex((n: string) => n.startsWith('dr-')));
      console.log('OURS', o.length, JSON.stringify(o.filter((n: string) => !n.startsWith('dr-connector'))), 'first drc idx', o.findIndex((n: string) => n.startsWith('dr-')));
      const qd = q.filter((n: string) => n.startsWith('dr-')), od = o.filter((n: string) => n.startsWith('dr-'));
      console.log('drc order equal', JSON.stringify(qd) === JSON.stringify(od), qd.findIndex((n: string, i: number) => od[i] !== n));
      console.log(JSON.stringify(q.slice(0, 12)), JSON.stringify(o.slice(0, 12)));
    }
  }
});
