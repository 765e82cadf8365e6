// Replays raw QMP input recorded against real QEMU 7.2 and expects the very
// same bytes back (see fixtures/qemu-7.2-qmp-protocol.json for how it was made).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpServer } from '../src/index.js';
import { makeDispatcher, QEMU_VERSION, RawConn, sleep, tmpSocketPath } from './helpers.js';

interface Step {
  send: string;
  replies: string[];
  unordered?: boolean;
}
interface Fixture {
  sessions: { name: string; greeting: string; steps: Step[] }[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(readFileSync(path.join(here, 'fixtures/qemu-7.2-qmp-protocol.json'), 'utf8')) as Fixture;
/** How long to make sure no extra reply follows. */
const SETTLE_MS = 3;

describe('replay of real QEMU 7.2 transcripts', () => {
  const sock = tmpSocketPath('replay');
  const server = new QmpServer({ dispatcher: makeDispatcher(), version: QEMU_VERSION });
  beforeAll(() => server.listenUnix(sock));
  afterAll(() => server.close());

  for (const session of fixture.sessions) {
    it(`session "${session.name}" (${session.steps.length} steps)`, async () => {
      const conn = await RawConn.connect(sock);
      try {
        expect(await conn.take(1)).toEqual([session.greeting]);
        for (const step of session.steps) {
          conn.send(step.send, 'latin1');
          const got = await conn.take(step.replies.length);
          await sleep(SETTLE_MS);
          const extra = conn.lines.splice(0);
          const label = `after sending ${JSON.stringify(step.send).slice(0, 200)}`;
          if (step.unordered) expect([...got].sort(), label).toEqual([...step.replies].sort());
          else expect(got, label).toEqual(step.replies);
          expect(extra, label).toEqual([]);
        }
      } finally {
        conn.close();
      }
    });
  }
});
