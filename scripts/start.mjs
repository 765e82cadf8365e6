#!/usr/bin/env node
// `pnpm start [QEMU options]`: builds what the CLI needs, then runs `plugboard`.
// With no options it runs the main job: a q35 machine with its QMP socket at
// /tmp/plugboard.sock (override the path with PLUGBOARD_SOCKET).
import { spawn, spawnSync } from 'node:child_process';

const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=@plugboard/cli...', '--output-logs=errors-only'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
});
if (build.status !== 0) process.exit(build.status ?? 1);

let args = process.argv.slice(2);
if (args[0] === '--') args = args.slice(1);
if (args.length === 0) {
  const sock = process.env.PLUGBOARD_SOCKET ?? '/tmp/plugboard.sock';
  args = ['-M', 'q35', '-display', 'none', '-qmp', `unix:${sock},server=on,wait=off`];
  process.stderr.write(`plugboard: q35 machine running; QMP socket at ${sock} (Ctrl-C to stop)\n`);
}
const child = spawn(process.execPath, ['apps/cli/dist/plugboard.js', ...args], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
