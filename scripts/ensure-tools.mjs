#!/usr/bin/env node
// Best-effort: the tests that read Plugboard's output back with the real tools (lspci -F,
// iasl -d, dtc) need Debian's pciutils, acpica-tools and device-tree-compiler. Installs the
// missing ones when running as root with apt-get (CI, fresh machines); otherwise those
// tests skip with a message. Never fails the run.
import { spawnSync } from 'node:child_process';

const tools = { lspci: 'pciutils', iasl: 'acpica-tools', dtc: 'device-tree-compiler' };
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const missing = Object.entries(tools).filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
if (missing.length === 0) process.exit(0);
if (process.getuid?.() !== 0 || !has('apt-get')) {
  console.log(`ensure-tools: ${missing.join(', ')} missing; the tests that need them will skip`);
  process.exit(0);
}
const opts = { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 300_000 };
let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], opts);
if (r.status !== 0) {
  spawnSync('apt-get', ['update'], opts);
  r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], opts);
}
console.log(`ensure-tools: ${r.status === 0 ? 'installed' : 'could not install'} ${missing.join(', ')}`);
