/**
 * Replays a QMP transcript recorded from QEMU 7.2 (fixtures/qemu-7.2/errors-*.json) against
 * plugboard and lists every reply that differs. Events are compared by name and data
 * (timestamps are host time in QEMU).
 */
import { RawQmp, startPlugboard, type Running } from './harness.js';

export interface ReplayDiff {
  index: number;
  send: unknown;
  expected: string[];
  got: string[];
}

interface Exchange {
  send?: unknown;
  action?: string;
  raw?: string[];
  eventsRaw?: string[];
  ms?: number;
}

/** Timestamps are host time; the package string names the build (Debian's vs Plugboard's). */
const stripTs = (line: string) =>
  line.replace(/^\{"timestamp": \{"seconds": \d+, "microseconds": \d+\}, /, '{').replace(/"package": "[^"]*"/g, '"package": "*"');

/** The fixture's QEMU command line without the flags the recorder adds. */
export function machineArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === '-accel' || argv[i] === '-qmp') {
      i++;
      continue;
    }
    out.push(argv[i]!);
  }
  return out;
}

export async function replay(fixture: { argv: string[]; exchanges: Exchange[] }, opts: { stopAt?: (e: Exchange) => boolean } = {}): Promise<{ diffs: ReplayDiff[]; compared: number; pb: Running }> {
  const pb = await startPlugboard(machineArgs(fixture.argv));
  let qmp = await RawQmp.connect(pb.sock);
  await qmp.line();
  const diffs: ReplayDiff[] = [];
  let compared = 0;
  for (let i = 0; i < fixture.exchanges.length; i++) {
    const ex = fixture.exchanges[i]!;
    if (opts.stopAt?.(ex)) break;
    if (ex.action === 'reconnect') {
      qmp.close();
      qmp = await RawQmp.connect(pb.sock);
      await qmp.line();
      continue;
    }
    if (ex.action) continue; // waits: the virtual clock does not need them
    if (ex.send === undefined) continue;
    qmp.send(typeof ex.send === 'string' ? ex.send : JSON.stringify(ex.send) + '\n');
    const want = [...(ex.raw ?? []), ...(ex.eventsRaw ?? [])].map(stripTs).sort();
    const got: string[] = [];
    // Collect as many lines as QEMU sent, then whatever else arrives shortly after.
    try {
      for (let n = 0; n < want.length; n++) got.push(stripTs(await qmp.line(2000)));
    } catch {
      /* fewer lines than QEMU: reported as a difference */
    }
    got.push(...(await qmp.drain(want.length === 0 ? 30 : 5)).map(stripTs));
    got.sort();
    compared++;
    if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push({ index: i, send: ex.send, expected: want, got });
  }
  qmp.close();
  return { diffs, compared, pb };
}
