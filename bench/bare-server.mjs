#!/usr/bin/env node
// The physical floor: a bare Node.js unix-socket server that sends a QMP greeting and answers
// each JSON line with `{"return": <that JSON>}` (parse + stringify, nothing else). It takes the
// same `-qmp unix:PATH,server=on,wait=off` argument as plugboard and ignores every other option,
// so bench/run.mjs launches and times it exactly as it does plugboard: its start-up is the floor
// for plugboard's, its round trip the floor for plugboard's QMP round trip.
import net from 'node:net';

const spec = process.argv[process.argv.indexOf('-qmp') + 1] ?? '';
const path = spec.replace(/^unix:/, '').split(',')[0];
const greeting = '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n';
net.createServer((s) => {
  s.write(greeting);
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        msg = null;
      }
      s.write(JSON.stringify({ return: msg }) + '\r\n');
    }
  });
  s.on('error', () => undefined);
}).listen(path);
