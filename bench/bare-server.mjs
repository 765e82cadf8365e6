#!/usr/bin/env node
// The floor for start-up: a bare Node.js unix-socket server that sends a QMP greeting, taking
// the same `-qmp unix:PATH,server=on,wait=off` argument as plugboard. Used by bench/run.mjs.
import net from 'node:net';

const spec = process.argv[process.argv.indexOf('-qmp') + 1] ?? '';
const path = spec.replace(/^unix:/, '').split(',')[0];
const greeting = '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n';
net.createServer((s) => {
  s.write(greeting);
  s.on('data', () => s.write('{"return": {}}\r\n'));
  s.on('error', () => undefined);
}).listen(path);
