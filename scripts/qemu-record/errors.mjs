// errors-pc / errors-q35 scenarios: every reachable error path (no guest OS),
// plus successful hotplug requests and the events that follow them.
import { Session } from './session.mjs';
import { childrenOf } from './battery.mjs';

let tidCounter = 0;
/** A fresh id for an error probe, so that an unexpected success cannot poison later probes. */
const tid = () => `t${++tidCounter}`;

const W = { settle: 1000 }; // wait ~1 s for events after a state-changing step
const RAW = { settle: 300 }; // raw junk: collect however many errors come

/** Before and during capabilities negotiation (first connection). */
async function preNegotiation(s) {
  await s.x('query-status', undefined, { note: 'before qmp_capabilities' });
  await s.cmd({ execute: 'query-status', id: 1 }, { note: 'before qmp_capabilities, with id' });
  await s.cmd('{"execute": bad}\n', { ...RAW, note: 'malformed JSON before negotiation' });
  await s.cmd('[]\n', { note: 'non-object before negotiation' });
  await s.cmd({ execute: 'nosuchcmd' }, { note: 'unknown command before negotiation' });
  await s.x('qmp_capabilities', { enable: ['foo'] }, { note: 'unknown capability' });
  await s.x('qmp_capabilities', { x: 1 }, { note: 'extra argument' });
  await s.x('qmp_capabilities', { enable: 'oob' }, { note: 'enable not a list' });
  await s.cmd({ execute: 'qmp_capabilities', id: 'neg' });
  await s.x('qmp_capabilities', undefined, { note: 'second negotiation' });
  await s.x('qmp_capabilities', { enable: ['oob'] }, { note: 'second negotiation with oob' });
}

/** Wire-level request validation (negotiated, no oob). */
async function wire(s) {
  await s.cmd('{"execute": bad}\n', { ...RAW, note: 'invalid keyword' });
  await s.cmd('\u0001', { ...RAW, note: 'lone 0x01 byte' });
  await s.cmd(']', { ...RAW, note: 'lone ]' });
  await s.cmd('}', { ...RAW, note: 'lone }' });
  await s.cmd('{"execute": "query-status"}}\n', { expect: 2, ...RAW, note: 'trailing }' });
  await s.cmd('{"execute": "query-st\n', { expect: 1, allowTimeout: true, ...RAW, note: 'unterminated string then newline' });
  await s.cmd('"\n', { expect: 1, allowTimeout: true, ...RAW, note: 'close the dangling string if still open' });
  await s.cmd('{"execute": \'query-status\'}\n', { ...RAW, note: 'single-quoted string (QEMU extension)' });
  await s.cmd('{"execute": "query-status", }\n', { ...RAW, note: 'trailing comma' });
  await s.cmd('{"execute": "query-status" "id": 1}\n', { ...RAW, note: 'missing comma' });
  await s.cmd('[]\n', { note: 'array' });
  await s.cmd('"str"\n', { note: 'string' });
  await s.cmd('1\n', { note: 'number' });
  await s.cmd('null\n', { note: 'null' });
  await s.cmd('true\n', { note: 'true' });
  await s.cmd('{}\n', { note: 'empty object' });
  await s.cmd({ exec: 'query-status' }, { note: 'unknown member only' });
  await s.cmd({ execute: 'query-status', exec: 'x' }, { note: 'unexpected member' });
  await s.cmd({ execute: 'query-status', id: 1, foo: 2 }, { note: 'unexpected member with id' });
  await s.cmd({ execute: 1 }, { note: 'execute not a string' });
  await s.cmd({ execute: null }, { note: 'execute null' });
  await s.cmd({ execute: 'query-status', arguments: [] }, { note: 'arguments not an object' });
  await s.cmd({ execute: 'query-status', arguments: 'x', id: 2 }, { note: 'arguments a string, with id' });
  await s.cmd({ execute: 'nosuchcmd' });
  await s.cmd({ execute: 'nosuchcmd', id: { a: [1] } }, { note: 'id echoed verbatim' });
  await s.cmd({ execute: 'query-status', id: 's1' });
  await s.cmd({ execute: 'query-status', id: 1 });
  await s.cmd({ execute: 'query-status', id: null });
  await s.cmd({ execute: 'query-status', id: true });
  await s.cmd({ execute: 'query-status', id: [] });
  await s.cmd({ execute: 'query-status', id: {} });
  await s.cmd('{"execute": "query-status", "id": 1.5}\n', { note: 'float id formatting' });
  await s.cmd('{"execute": "query-status", "id": 1e300}\n', { note: 'float id formatting' });
  await s.cmd('{"execute": "query-status", "id": -0.0}\n', { note: 'float id formatting' });
  await s.cmd('{"execute": "query-status", "id": 0.1}\n', { note: 'float id formatting' });
  await s.cmd('{"execute": "query-status", "id": 12345678901234567890}\n', { note: 'integer overflow id' });
  await s.cmd('{"execute": "query-status", "id": -9223372036854775808}\n', { note: 'int64 min id' });
  await s.cmd('{"execute": "query-status", "id": "\\u00e9\u00e9\u2603\\u0007\\t/\\/\\"\\\\"}\n', { note: 'string escaping in echoed id' });
  await s.cmd('{"execute": "query-status", "id": "\\ud83d\\ude00\ud83d\ude00"}\n', { note: 'astral plane characters in echoed id' });
  await s.cmd('{"execute": "device_del", "arguments": {"id": "nosuch"}, "id": 7}\n', { note: 'error reply key order with id' });
  await s.cmd('{"execute": "query-status"}{"execute": "query-version"}\n', { expect: 2, note: 'two requests on one line' });
  await s.cmd('{"execute":\n"query-status"\n}\n', { note: 'request split over lines' });
  await s.cmd('  \n\r\n\t{"execute":"query-status"}  ', { note: 'whitespace around a request, no newline' });
  await s.cmd({ 'exec-oob': 'query-status', id: 1 }, { note: 'exec-oob without oob negotiated' });
  await s.cmd({ 'exec-oob': 'migrate-pause', id: 2 }, { note: 'exec-oob (allow-oob command) without oob negotiated' });
  await s.cmd({ execute: 'query-status', 'exec-oob': 'query-status' }, { note: 'both execute and exec-oob' });
  await s.cmd({ execute: 'query-status', control: {} }, { note: 'control member' });
}

/** Argument validation for the hotplug-related commands. */
async function args(s) {
  await s.x('device_add', {}, { note: 'missing driver' });
  await s.x('device_add', { driver: 1 }, { note: 'driver not a string' });
  await s.x('device_add', { driver: 'e1000', bus: 5 }, { note: 'bus not a string' });
  await s.x('device_del', {}, { note: 'missing id' });
  await s.x('device_del', { id: 1 }, { note: 'id not a string' });
  await s.x('device_del', { id: 'nosuch', extra: 1 }, { note: 'extra argument' });
  await s.x('device_del', undefined, { note: 'no arguments member' });
  await s.x('qom-get', {});
  await s.x('qom-get', { path: '/machine' });
  await s.x('qom-get', { property: 'type' });
  await s.x('qom-get', { path: '/machine', property: 'type', x: 1 });
  await s.x('qom-get', { path: 1, property: 'type' });
  await s.x('qom-get', { path: '/machine', property: 1 });
  await s.x('qom-list', {});
  await s.x('qom-list', { path: 1 });
  await s.x('qom-list', { path: '/machine', x: 1 });
  await s.x('human-monitor-command', {});
  await s.x('human-monitor-command', { 'command-line': 1 });
  await s.x('human-monitor-command', { 'command-line': 'info status', 'cpu-index': 'x' });
  await s.x('human-monitor-command', { 'command-line': 'info status', 'cpu-index': 99 });
  await s.x('human-monitor-command', { 'command-line': 'info status', 'cpu-index': 0 });
  await s.x('human-monitor-command', { 'command-line': 'info status', x: 1 });
  await s.x('query-status', { x: 1 }, { note: 'arguments to a command without arguments' });
  await s.x('query-status', {}, { note: 'empty arguments' });
  await s.x('query-pci', { x: 1 });
  await s.x('query-version', { x: 1 });
  await s.x('qom-list-types', { abstract: 'yes' });
  await s.x('qom-list-types', { implements: 'nosuch' });
  await s.x('device-list-properties', {});
  await s.x('device-list-properties', { typename: 'nosuch' });
  await s.x('device-list-properties', { typename: 'pci-device' });
  await s.x('device-list-properties', { typename: 'device' });
  await s.x('device-list-properties', { typename: 'virtio-net' }, { note: 'alias' });
  await s.x('system_reset', { x: 1 });
  await s.x('cont', { x: 1 });
}

/**
 * Probes that QEMU 7.2 unexpectedly accepts (device_add is 'gen': false: non-string id is
 * ignored -> anonymous device; non-scalar property values are dropped). They add devices,
 * so they run late, on their own addresses.
 */
async function lateArgs(s, busArgs = {}) {
  await s.x('device_add', { driver: 'e1000', id: 5, ...busArgs }, { ...W, note: 'id not a string' });
  await s.x('device_add', { driver: 'e1000', id: 'ta1', addr: {}, ...busArgs }, { ...W, note: 'property value an object' });
  await s.x('device_add', { driver: 'e1000', id: 'ta2', addr: [1], ...busArgs }, { ...W, note: 'property value a list' });
  await s.x('device_add', { driver: 'e1000', id: 'ta3', addr: null, ...busArgs }, { ...W, note: 'property value null' });
  await s.x('qom-list', { path: '/machine/peripheral-anon' });
  for (const id of ['ta1', 'ta2', 'ta3']) await s.x('qom-get', { path: `/machine/peripheral/${id}`, property: 'addr' });
}

/** Aliases resolved (bus=nosuch makes resolution visible without adding anything). */
async function aliases(s) {
  for (const a of ['virtio-net', 'virtio-blk', 'virtio-scsi', 'virtio-serial', 'virtio-balloon', 'virtio-rng',
    'virtio-gpu', 'virtio-mouse', 'virtio-keyboard', 'virtio-tablet', 'virtio-input-host', 'virtio-9p',
    'virtio-iommu', 'virtio-mem', 'virtio-pmem', 'lsi', 'ahci', 'e1000-82540em', 'virtio-net-device']) {
    await s.x('device_add', { driver: a, bus: 'nosuch' }, { note: `alias ${a} (bus=nosuch)` });
  }
}

async function qomErrors(s, devPath) {
  await s.x('qom-get', { path: '/machine/nosuch', property: 'type' });
  await s.x('qom-get', { path: '/machine', property: 'nosuch' });
  await s.x('qom-get', { path: devPath, property: 'nosuch' });
  await s.x('qom-get', { path: 'n0', property: 'type' }, { note: 'partial path' });
  await s.x('qom-get', { path: 'peripheral/n0', property: 'addr' }, { note: 'partial path' });
  await s.x('qom-get', { path: 'device[0]', property: 'type' }, { note: 'ambiguous partial path' });
  await s.x('qom-get', { path: 'nosuch', property: 'type' }, { note: 'partial path not found' });
  await s.x('qom-get', { path: '', property: 'type' });
  await s.x('qom-get', { path: '/', property: 'type' });
  await s.x('qom-get', { path: '/machine/', property: 'type' });
  await s.x('qom-get', { path: '/machine//peripheral', property: 'type' });
  await s.x('qom-list', { path: '/nosuch' });
  await s.x('qom-list', { path: '' });
  await s.x('qom-list', { path: '/' });
  await s.x('qom-list', { path: 'n0' });
  await s.x('qom-get', { path: devPath, property: 'parent_bus' });
  await s.x('qom-get', { path: devPath, property: 'addr' });
  await s.x('qom-get', { path: devPath, property: 'mac' });
  await s.x('qom-get', { path: devPath, property: 'netdev' });
  await s.x('qom-get', { path: devPath, property: 'legacy-addr' });
  await s.x('qom-get', { path: devPath, property: 'legacy-mac' });
  await s.x('qom-get', { path: devPath, property: 'romfile' });
  await s.x('qom-get', { path: devPath, property: 'x-pcie-lnksta-dllla' });
  await s.x('qom-set', { path: devPath, property: 'addr', value: 5 }, { note: 'set after realize' });
}

async function hmpErrors(s) {
  for (const l of ['nosuchcmd', 'nosuchcmd arg', 'device_add nosuch', 'device_del x9', 'device_add', 'device_del',
    'device_add e1000,id=hm1,addr=0x12', 'device_add e1000,id=hm1,addr=0x13', 'device_add e1000,addr=zz',
    'device_add e1000,bus=nosuch', 'device_add e1000,id=1bad', 'device_add e1000,nosuchprop=1',
    'device_add pci-device', 'device_add ,', 'device_add e1000,,', 'device_add driver=e1000,id=hm2,addr=0x14',
    'info nosuch', 'info', '', ' ', 'info status', 'info version', 'info pci extra', 'qom-list /machine/peripheral',
    'qom-get /machine/peripheral/hm1 addr', 'device_del hm1', 'device_del hm1', 'help device_add', 'help nosuch',
    'info qom-tree /machine/peripheral']) {
    await s.hmp(l, l.startsWith('device_') && !l.includes('help') ? W : {});
  }
}

/** Paths of board children of /machine/unattached by type. */
async function unattachedByType(s) {
  const ex = await s.x('qom-list', { path: '/machine/unattached' });
  const out = {};
  for (const c of childrenOf(Session.ret(ex))) (out[c.type] ??= `/machine/unattached/${c.name}`);
  return out;
}

async function reconnectOob(s) {
  s.conn.close();
  await s.connect();
  await s.x('qmp_capabilities', { enable: ['oob'] });
  await s.cmd({ 'exec-oob': 'query-status', id: 1 });
  await s.cmd({ 'exec-oob': 'query-status' }, { note: 'no id' });
  await s.cmd({ 'exec-oob': 'migrate-pause', id: 2 });
  await s.cmd({ 'exec-oob': 'migrate-recover', arguments: { uri: 'tcp:localhost:1' }, id: 3 });
  await s.cmd({ 'exec-oob': 'x-oob-test', arguments: { lock: false }, id: 4 });
  await s.cmd({ 'exec-oob': 'nosuchcmd', id: 5 });
  await s.cmd({ execute: 'query-status' }, { note: 'execute without id, oob on' });
  await s.cmd({ execute: 'query-status', id: 6 });
  await s.cmd({ execute: 'query-status', 'exec-oob': 'query-status', id: 7 }, { note: 'both members' });
  await s.cmd({ 'exec-oob': 1, id: 8 });
  await s.cmd({ 'exec-oob': 'query-status', id: 9, arguments: {} });
}

// ---------------------------------------------------------------------------

export async function errorsPc(s) {
  await preNegotiation(s);
  await wire(s);
  await args(s);
  const board = await unattachedByType(s);
  await qomErrors(s, '/machine/peripheral/n0');

  // device_add: driver resolution
  await s.x('device_add', { driver: 'nosuchdev' });
  await s.x('device_add', { driver: 'nosuchdev', id: 'x1', bus: 'nosuch' }, { note: 'driver checked before bus' });
  await aliases(s);
  await s.x('device_add', { driver: 'pci-device' });
  await s.x('device_add', { driver: 'device' });
  await s.x('device_add', { driver: 'virtio-pci' });
  for (const d of ['piix3-ide', 'PIIX3', 'PIIX4_PM', 'i440FX', 'i440FX-pcihost', 'ICH9-LPC', 'mch', 'isa-debugcon', 'isa-serial', 'sysbus-ohci', 'pc-dimm', 'qemu64-x86_64-cpu']) {
    await s.x('device_add', { driver: d });
  }
  await s.x('device_add', { id: 'x1' }, { note: 'missing driver with id' });
  await s.x('device_add', { driver: 'e1000', id: '1bad' });
  await s.x('device_add', { driver: 'e1000', id: 'a b' });
  await s.x('device_add', { driver: 'e1000', id: '' });
  await s.x('device_add', { driver: 'e1000', id: 'n0' }, { note: 'duplicate id (cold-plugged n0)' });
  await s.x('device_add', { driver: 'e1000', id: 'n0', bus: 'nosuch' }, { note: 'duplicate id vs bad bus: which wins' });
  await s.x('device_add', { driver: 'e1000', id: 'n0', addr: 'zz' }, { note: 'duplicate id vs bad addr: which wins' });
  // bus resolution
  await s.x('device_add', { driver: 'e1000', id: tid(), bus: 'nosuch' });
  for (const bus of ['pci.0', '/i440fx/pci.0', 'i440fx/pci.0', '/machine/i440fx/pci.0', 'nosuch/pci.0', 'i440fx/nosuch',
    'brc', 'brc/brc', 'pci.0/brc', '/i440fx/pci.0/brc/brc', 'n0', 'isa.0', 'main-system-bus', 'pci.1', 'pcie.0', 'i440fx']) {
    await s.x('device_add', { driver: 'e1000', id: tid(), bus, addr: 'zz' }, { note: `bus path ${bus} (addr=zz makes success visible without adding)` });
  }
  await s.x('device_add', { driver: 'e1000', id: tid(), bus: 'isa.0' }, { note: 'wrong bus type' });
  await s.x('device_add', { driver: 'e1000', id: tid(), bus: 'main-system-bus' });
  await s.x('device_add', { driver: 'isa-debugcon', id: tid(), bus: 'isa.0' });
  await s.x('device_add', { driver: 'isa-debugcon', id: tid(), bus: 'pci.0' });
  await s.x('device_add', { driver: 'virtio-net-device', id: tid() }, { note: 'no virtio-bus' });
  await s.x('device_add', { driver: 'scsi-hd', id: tid() }, { note: 'no SCSI bus' });
  await s.x('device_add', { driver: 'usb-tablet', id: tid() }, { note: 'no USB bus' });
  // addresses
  for (const addr of ['1', '1.1', '1.3', '0', '4', 'zz', '0x20', '20', '1f', '0x1f', '1f.7', '1f.8', '3.8', '', '-1', '.', '3.', '.3', ' 3', '3 ']) {
    await s.x('device_add', { driver: 'e1000', id: tid(), addr, nosuchprop: 1 }, { note: `addr ${JSON.stringify(addr)} (+ nosuchprop so a valid addr does not add)` });
  }
  for (const addr of [300, 256, -2, -1, 1.5, true, false]) {
    await s.x('device_add', { driver: 'e1000', id: tid(), addr, nosuchprop: 1 }, { note: `addr ${JSON.stringify(addr)} (+ nosuchprop)` });
  }
  await s.x('device_add', { driver: 'e1000', id: tid(), addr: '1' }, { note: 'devfn in use by PIIX3' });
  await s.x('device_add', { driver: 'e1000', id: tid(), addr: '1.1' }, { note: 'devfn in use by piix3-ide' });
  await s.x('device_add', { driver: 'e1000', id: tid(), addr: '0' }, { note: 'devfn in use by i440FX' });
  await s.x('device_add', { driver: 'e1000', id: tid(), addr: '4' }, { note: 'devfn in use by n0' });
  await s.x('device_add', { driver: 'e1000', id: tid(), addr: 0x20 }, { note: 'integer devfn 32 = slot 4' });
  await s.x('device_add', { driver: 'e1000', id: tid(), nosuchprop: 1 });
  await s.x('device_add', { driver: 'e1000', id: tid(), multifunction: 'maybe' });
  await s.x('device_add', { driver: 'e1000', id: tid(), multifunction: 2 });
  await s.x('device_add', { driver: 'e1000', id: tid(), mac: 'zz' });
  await s.x('device_add', { driver: 'e1000', id: tid(), romfile: '/nonexistent.rom', addr: '0x1e' });
  await s.x('device_add', { driver: 'e1000', id: tid(), netdev: 'nosuch' });
  await s.x('device_add', { driver: 'e1000', id: tid(), 'acpi-index': 20000 });
  await s.x('device_add', { driver: 'pci-bridge', id: tid() }, { note: 'pci-bridge without chassis_nr' });
  await s.x('device_add', { driver: 'pci-bridge', id: tid(), chassis_nr: 0 });
  await s.x('device_add', { driver: 'pcie-root-port', id: 'prp', addr: '0x1a' }, { ...W, note: 'PCIe root port on i440fx' });
  await s.x('device_add', { driver: 'pcie-pci-bridge', id: 'ppb', addr: '0x1b' }, { ...W, note: 'pcie-pci-bridge on i440fx' });
  await s.x('device_add', { driver: 'x3130-upstream', id: 'xup', addr: '0x1c' }, { ...W, note: 'switch upstream port on i440fx' });
  await s.x('device_add', { driver: 'e1000e', id: 'ee', addr: '0x1d' }, { ...W, note: 'PCIe endpoint on conventional bus' });

  // successful hot-adds (prelaunch) and function rules
  await s.x('device_add', { driver: 'e1000', id: 'h6', addr: '6' }, W);
  await s.x('device_add', { driver: 'e1000', id: 'h6b', addr: '6.1' }, { note: 'fn>0 after fn0 hot-added' });
  await s.x('device_add', { driver: 'e1000', id: 'h7b', addr: '7.1' }, { ...W, note: 'fn>0 first' });
  await s.x('device_add', { driver: 'e1000', id: 'h7', addr: '7' }, { note: 'fn0 single-function while 7.1 populated' });
  await s.x('device_add', { driver: 'e1000', id: 'h7', addr: '7', multifunction: 'on' }, { ...W, note: 'fn0 multifunction' });
  await s.x('device_add', { driver: 'e1000', id: 'h7c', addr: '7.2' }, { note: 'fn>0 after multifunction fn0' });
  await s.x('device_add', { driver: 'e1000', id: 'h5', addr: '5' }, W);
  await s.x('device_add', { driver: 'e1000', id: 'h5b', addr: '5.1' }, { note: 'addr=5.1 while fn0 single-function' });
  await s.x('device_add', { driver: 'e1000', id: 'h8', addr: '8', multifunction: true }, W);
  await s.x('device_add', { driver: 'e1000', id: 'h8b', addr: '8.1' }, { note: 'fn>0 after multifunction fn0 hot-added' });
  await s.x('device_add', { driver: 'e1000', id: 'h4b', addr: '4.1' }, { note: 'fn>0 while cold fn0 n0' });
  await s.x('device_add', { driver: 'e1000', id: 'ha', addr: 9, 'acpi-index': 5 }, { ...W, note: 'integer addr 9 = devfn 9 = 01.1?' });
  await s.x('device_add', { driver: 'e1000', id: 'hb', addr: '0xa', 'acpi-index': 5 }, { note: 'acpi-index duplicate' });
  await s.x('device_add', { driver: 'e1000', id: 'hc', addr: '0x0c', 'acpi-index': 6 }, W);
  await s.x('device_add', { driver: 'e1000', id: 'hanon' }, { ...W, note: 'auto addr' });
  await s.x('device_add', { driver: 'e1000' }, { ...W, note: 'anonymous' });
  await s.x('device_add', { driver: 'virtio-net-pci', id: 'vn', addr: '0x0d' }, W);
  await s.x('device_add', { driver: 'e1000', id: 'e1000', addr: '0x0e' }, { ...W, note: 'id equal to a type name' });
  // bridges: SHPC (hot-added bridge) and ACPI (cold bridge brc)
  await s.x('device_add', { driver: 'pci-bridge', id: 'brd', chassis_nr: 1, addr: '0x11' }, { ...W, note: 'duplicate chassis_nr with brc' });
  await s.x('device_add', { driver: 'pci-bridge', id: 'brh', chassis_nr: 3, addr: '0x10' }, W);
  await s.x('device_add', { driver: 'e1000', id: 'hb0', bus: 'brh' }, { note: 'SHPC slot 0 (auto addr)' });
  await s.x('device_add', { driver: 'e1000', id: 'hb0', bus: 'brh', addr: '0' }, { note: 'SHPC slot 0 explicit' });
  await s.x('device_add', { driver: 'e1000', id: 'hb1', bus: 'brh', addr: '1' }, W);
  await s.x('device_add', { driver: 'e1000', id: 'hb1f', bus: 'brh', addr: '1.1' }, { note: 'fn>0 after fn0 on SHPC' });
  await s.x('device_add', { driver: 'e1000', id: 'hb2', bus: 'brh', addr: '2.1' }, { ...W, note: 'fn>0 first on SHPC' });
  await s.x('device_add', { driver: 'e1000', id: 'cb0', bus: 'brc' }, { ...W, note: 'cold bridge (ACPI) auto addr = slot 0' });
  await s.x('device_add', { driver: 'e1000', id: 'cb2', bus: 'brc', addr: '2' }, W);
  await s.x('device_add', { driver: 'pci-bridge', id: 'brn', chassis_nr: 4, bus: 'brh', addr: '3' }, { ...W, note: 'nested hot bridge' });
  await s.x('device_add', { driver: 'e1000', id: 'hn1', bus: 'brn', addr: '1' }, W);
  await s.x('query-pci');
  await s.hmp('info pci');
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.x('qom-list', { path: '/machine/peripheral-anon' });
  for (const p of ['h6', 'h7', 'h7b', 'ha', 'brh', 'hb1', 'cb0']) {
    for (const prop of ['addr', 'hotplugged', 'hotpluggable', 'parent_bus', 'multifunction']) {
      await s.x('qom-get', { path: `/machine/peripheral/${p}`, property: prop });
    }
  }
  await s.x('qom-get', { path: '/machine/peripheral/brh/brh', property: 'hotplug-handler' });
  await s.x('qom-get', { path: '/machine/peripheral/brc/brc', property: 'hotplug-handler' });
  await s.x('qom-get', { path: '/machine/peripheral/brc/brc', property: 'acpi-pcihp-bsel' });
  await s.x('qom-get', { path: '/machine/i440fx/pci.0', property: 'hotplug-handler' });
  await s.x('qom-get', { path: '/machine/i440fx/pci.0', property: 'acpi-pcihp-bsel' });

  await hmpErrors(s);

  // device_del
  await s.x('device_del', { id: 'nosuch' });
  await s.x('device_del', { id: '/machine' });
  await s.x('device_del', { id: '/machine/peripheral' });
  await s.x('device_del', { id: '/machine/i440fx' });
  await s.x('device_del', { id: '/machine/i440fx/pci.0' }, { note: 'a bus' });
  await s.x('device_del', { id: '/machine/fw_cfg' });
  for (const t of ['i440FX', 'PIIX3', 'piix3-ide', 'PIIX4_PM', 'isa-i8259', 'mc146818rtc', 'ioapic', 'qemu64-x86_64-cpu']) {
    if (board[t]) await s.x('device_del', { id: board[t] }, { note: `board device ${t}` });
  }
  await s.x('device_del', { id: 'peripheral/n0' }, { note: 'relative path' });
  await s.x('device_del', { id: 'e1000' }, { note: 'id equal to a type name' });
  await s.wait(1000);
  await s.x('device_del', { id: 'n0' }, { ...W, note: 'cold-plugged on pci.0 (ACPI), prelaunch' });
  await s.x('device_del', { id: 'n0' }, { ...W, note: 'pending (prelaunch: virtual clock 0)' });
  await s.x('device_del', { id: '/machine/peripheral/n0' }, { note: 'pending, by path' });
  await s.x('device_del', { id: 'h6' }, { ...W, note: 'hot-added on pci.0' });
  await s.x('device_del', { id: 'h7b' }, { ...W, note: 'function 7.1' });
  await s.x('device_del', { id: 'h7' }, { ...W, note: 'function 7.0 after 7.1 pending' });
  await s.x('device_del', { id: 'hb1' }, { ...W, note: 'SHPC slot 1 on hot bridge' });
  await s.x('device_del', { id: 'hb1' }, { ...W, note: 'SHPC repeat' });
  await s.x('device_del', { id: 'hb2' }, { ...W, note: 'SHPC slot 2, only function 1 present' });
  await s.x('device_del', { id: 'cb2' }, { ...W, note: 'device on cold bridge (ACPI)' });
  await s.x('device_del', { id: 'brn' }, { ...W, note: 'nested hot bridge with child' });
  await s.x('device_del', { id: 'brh' }, { ...W, note: 'hot bridge with children' });
  await s.x('device_del', { id: 'brc' }, { ...W, note: 'cold bridge with children' });
  {
    const anon = childrenOf(Session.ret(await s.x('qom-list', { path: '/machine/peripheral-anon' })));
    if (anon.length) await s.x('device_del', { id: `/machine/peripheral-anon/${anon[0].name}` }, { ...W, note: 'anonymous by path' });
  }
  await s.x('device_del', { id: 'vn' }, W);
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.x('query-pci');
  await s.x('system_reset', undefined, { settle: 1500, note: 'completes pending ACPI unplugs?' });
  await s.wait(1000, 'events after system_reset');
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.x('qom-list', { path: '/machine/peripheral-anon' });
  await s.x('query-pci');
  await s.x('device_del', { id: 'n0' }, { note: 'after reset' });
  await s.x('device_del', { id: 'hb1' }, { ...W, note: 'SHPC after reset' });

  // running (SeaBIOS, no OS)
  await s.x('device_add', { driver: 'e1000', id: 'r1', addr: '0x15' }, W);
  await s.x('cont', undefined, { settle: 200 });
  await s.wait(3000, 'SeaBIOS running');
  await s.x('query-status');
  await s.x('device_add', { driver: 'e1000', id: 'r2', addr: '0x16' }, { ...W, note: 'while running' });
  await s.x('device_del', { id: 'r2' }, { ...W, note: 'while running' });
  await s.x('device_del', { id: 'r2' }, { ...W, note: 'repeat while running (ACPI expiry = now ms)' });
  await s.x('device_del', { id: 'r1' }, { ...W, note: 'device added in prelaunch' });
  await s.x('device_del', { id: 'r1' }, { ...W, note: 'repeat' });
  await s.x('device_del', { id: 'ha' }, W);
  await s.x('query-pci');
  await s.x('system_reset', undefined, { settle: 1500, note: 'while running' });
  await s.wait(1500, 'events after system_reset (running)');
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.x('stop', undefined, { settle: 200 });
  await s.x('query-status');
  await s.x('device_del', { id: 'hc' }, { ...W, note: 'stopped after running (virtual clock > 0)' });
  await s.x('device_del', { id: 'hc' }, { ...W, note: 'repeat while stopped' });
  await lateArgs(s);

  await reconnectOob(s);
  await s.x('query-status');
}

export async function errorsQ35(s) {
  // argv: rp1 free, rp2 hotplug=off, rp3 with ne0, rp4..rp6 free, rp7 with a cold switch upc/dnc
  await preNegotiation(s);
  await wire(s);
  await args(s);
  const board = await unattachedByType(s);
  await qomErrors(s, '/machine/peripheral/ne0');
  await s.x('qom-get', { path: '/machine/peripheral/rp2', property: 'hotplug' });
  for (const p of ['rp1/rp1', 'rp2/rp2', 'rp3/rp3', 'upc/upc', 'dnc/dnc']) {
    await s.x('qom-get', { path: `/machine/peripheral/${p}`, property: 'hotplug-handler' });
    await s.x('qom-get', { path: `/machine/peripheral/${p}`, property: 'acpi-pcihp-bsel' });
  }
  await s.x('qom-get', { path: '/machine/q35/pcie.0', property: 'hotplug-handler' });
  await s.x('qom-get', { path: '/machine/q35/pcie.0', property: 'acpi-pcihp-bsel' });

  await s.x('device_add', { driver: 'nosuchdev' });
  await aliases(s);
  await s.x('device_add', { driver: 'pci-device' });
  await s.x('device_add', { driver: 'device' });
  for (const d of ['ICH9-LPC', 'mch', 'ich9-ahci', 'ICH9-SMB', 'q35-pcihost', 'piix3-ide', 'isa-debugcon']) {
    await s.x('device_add', { driver: d });
  }
  await s.x('device_add', { driver: 'e1000e', id: tid() }, { note: 'default bus = pcie.0' });
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'pcie.0' });
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'pcie.0', addr: 'zz' }, { note: 'bad addr vs not hotpluggable: which wins' });
  await s.x('device_add', { driver: 'pcie-root-port', id: tid(), chassis: 9, slot: 9 }, { note: 'root port hot-add on pcie.0' });
  await s.x('device_add', { driver: 'pci-bridge', id: tid(), chassis_nr: 9 }, { note: 'pci-bridge hot-add on pcie.0' });
  await s.x('device_add', { driver: 'e1000', id: tid(), bus: 'isa.0' });
  await s.x('device_add', { driver: 'e1000', id: tid(), bus: 'pci.0' });
  for (const bus of ['rp1', 'rp1/rp1', '/q35/pcie.0/rp1/rp1', 'pcie.0/rp1', 'q35/pcie.0', '/pcie.0/rp1']) {
    await s.x('device_add', { driver: 'e1000e', id: tid(), bus, addr: 'zz' }, { note: `bus path ${bus} (addr=zz)` });
  }
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'rp2' }, { note: 'rp2 hotplug=off (ACPI mode)' });
  await s.x('device_add', { driver: 'e1000e', id: 'r3b', bus: 'rp3' }, { ...W, note: 'rp3 already has ne0 at 00.0 (auto addr)' });
  await s.x('qom-get', { path: '/machine/peripheral/r3b', property: 'addr' });
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'rp3', addr: '1' }, { note: 'slot 1 behind a root port' });
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'rp3', addr: '0.1' }, { note: 'fn>0 after fn0 behind a root port' });
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'rp1', addr: '1', nosuchprop: 1 }, { note: 'slot 1 behind an empty root port (+nosuchprop)' });
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'rp1', addr: '0', 'acpi-index': 20000 }, { note: 'acpi-index range' });
  // successful ACPI hotplug on cold root ports
  await s.x('device_add', { driver: 'e1000e', id: 'h1', bus: 'rp1' }, W);
  await s.x('device_add', { driver: 'e1000e', id: 'h1b', bus: 'rp1', addr: '0.1' }, { note: 'fn>0 after hot fn0' });
  await s.x('device_add', { driver: 'virtio-net-pci', id: 'vn4', bus: 'rp4' }, W);
  await s.x('device_add', { driver: 'e1000', id: 'c4', bus: 'rp4', addr: '1' }, { note: 'conventional device, slot 1 behind root port' });
  for (const [p, prop] of [['h1', 'hotplugged'], ['h1', 'hotpluggable'], ['h1', 'parent_bus'], ['h1', 'addr'], ['rp1', 'hotplugged'], ['rp1', 'hotpluggable'], ['vn4', 'disable-legacy'], ['vn4', 'disable-modern']]) {
    await s.x('qom-get', { path: `/machine/peripheral/${p}`, property: prop });
  }
  // switches: hot-added upstream port behind a cold root port; downstream ports on the cold switch
  await s.x('device_add', { driver: 'x3130-upstream', id: 'up1', bus: 'rp5' }, W);
  await s.x('qom-get', { path: '/machine/peripheral/up1/up1', property: 'hotplug-handler' });
  await s.x('device_add', { driver: 'xio3130-downstream', id: tid(), bus: 'up1', chassis: 3, slot: 9 }, { note: 'downstream port onto a hot-added upstream port' });
  await s.x('device_add', { driver: 'xio3130-downstream', id: tid(), bus: 'upc', chassis: 1, slot: 1, addr: '1' }, { note: 'chassis/slot used by rp1' });
  await s.x('device_add', { driver: 'xio3130-downstream', id: tid(), bus: 'upc', chassis: 3, slot: 1, addr: '1' }, { note: 'chassis/slot used by dnc' });
  await s.x('device_add', { driver: 'xio3130-downstream', id: 'dn1', bus: 'upc', chassis: 3, slot: 2, addr: '1' }, W);
  await s.x('device_add', { driver: 'xio3130-downstream', id: 'dn2', bus: 'upc', chassis: 3, slot: 3, addr: '2', hotplug: false }, W);
  await s.x('device_add', { driver: 'pcie-root-port', id: tid(), bus: 'upc', chassis: 3, slot: 4, addr: '3' }, { note: 'root port on a switch' });
  await s.x('qom-get', { path: '/machine/peripheral/dn1/dn1', property: 'hotplug-handler' });
  await s.x('qom-get', { path: '/machine/peripheral/dn2/dn2', property: 'hotplug-handler' });
  await s.x('qom-get', { path: '/machine/peripheral/dnc/dnc', property: 'hotplug-handler' });
  await s.x('device_add', { driver: 'e1000e', id: 'hd1', bus: 'dn1' }, { ...W, note: 'native PCIe hotplug on a hot-added downstream port (prelaunch)' });
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'dn2' }, { note: 'hot-added downstream port with hotplug=off' });
  await s.x('device_add', { driver: 'e1000e', id: 'hdc', bus: 'dnc' }, { ...W, note: 'cold downstream port (ACPI)' });
  // pcie-pci-bridge and pci-bridge behind root ports (SHPC)
  await s.x('device_add', { driver: 'pcie-pci-bridge', id: 'ppb', bus: 'rp6' }, W);
  await s.x('qom-get', { path: '/machine/peripheral/ppb/ppb', property: 'hotplug-handler' });
  await s.x('device_add', { driver: 'e1000', id: tid(), bus: 'ppb' }, { note: 'SHPC slot 0' });
  await s.x('device_add', { driver: 'e1000', id: 'pb1', bus: 'ppb', addr: '1' }, W);
  await s.x('device_add', { driver: 'pci-bridge', id: 'pbr', bus: 'ppb', addr: '2', chassis_nr: 5 }, W);
  await s.x('device_add', { driver: 'e1000', id: tid(), bus: 'pbr' }, { note: 'SHPC slot 0 on nested pci-bridge' });
  await s.x('device_add', { driver: 'e1000', id: 'pbr1', bus: 'pbr', addr: '1' }, W);
  await s.x('device_add', { driver: 'e1000e', id: 'pbe', bus: 'ppb', addr: '3' }, { ...W, note: 'PCIe endpoint behind pcie-pci-bridge' });
  await s.x('query-pci');
  await s.hmp('info pci');
  await s.hmp('info qtree');

  await hmpErrors(s);

  // device_del
  await s.x('device_del', { id: 'nosuch' });
  await s.x('device_del', { id: '/machine' });
  await s.x('device_del', { id: '/machine/q35' });
  await s.x('device_del', { id: '/machine/q35/mch' });
  await s.x('device_del', { id: '/machine/q35/pcie.0' });
  for (const t of ['ICH9-LPC', 'ich9-ahci', 'ICH9-SMB']) {
    if (board[t]) await s.x('device_del', { id: board[t] }, { note: `board device ${t}` });
  }
  await s.x('device_del', { id: 'rp1' }, { note: 'cold root port on pcie.0' });
  await s.x('device_del', { id: 'rp2' }, { note: 'cold root port hotplug=off on pcie.0' });
  await s.x('device_del', { id: 'dnc' }, { ...W, note: 'cold downstream port on cold switch (ACPI)' });
  await s.x('device_del', { id: 'dnc' }, { ...W, note: 'repeat' });
  await s.x('device_del', { id: 'ne0' }, { ...W, note: 'cold e1000e on cold root port (ACPI), prelaunch' });
  await s.x('device_del', { id: 'ne0' }, { ...W, note: 'pending (prelaunch)' });
  await s.x('device_del', { id: 'h1' }, { ...W, note: 'hot e1000e on cold root port (ACPI)' });
  await s.x('device_del', { id: 'hd1' }, { ...W, note: 'native PCIe (attention button), prelaunch' });
  await s.x('device_del', { id: 'hd1' }, { ...W, note: 'native PCIe pending, prelaunch (clock stopped)' });
  await s.x('device_del', { id: 'pb1' }, { ...W, note: 'SHPC on pcie-pci-bridge' });
  await s.x('device_del', { id: 'pb1' }, { ...W, note: 'SHPC repeat' });
  await s.x('device_del', { id: 'pbr1' }, { ...W, note: 'SHPC on nested pci-bridge' });
  await s.x('device_del', { id: 'pbr' }, { ...W, note: 'nested pci-bridge (SHPC)' });
  await s.x('device_del', { id: 'vn4' }, { ...W, note: 'virtio (two DEVICE_DELETED?)' });
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.x('system_reset', undefined, { settle: 1500, note: 'completes pending ACPI unplugs?' });
  await s.wait(1000, 'events after system_reset');
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.x('query-pci');

  // running
  await s.x('cont', undefined, { settle: 200 });
  await s.wait(3000, 'SeaBIOS running');
  await s.x('query-status');
  await s.x('query-pci', undefined, { note: 'after firmware enumeration' });
  await s.hmp('info pci');
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.x('device_add', { driver: 'e1000e', id: 'r1', bus: 'rp4', addr: '0' }, { ...W, note: 'while running' });
  await s.x('device_del', { id: 'r1' }, { ...W, note: 'running, ACPI' });
  await s.x('device_del', { id: 'r1' }, { ...W, note: 'running, ACPI repeat' });
  await s.x('device_del', { id: 'hd1' }, { ...W, note: 'running, native' });
  await s.x('device_del', { id: 'hd1' }, { note: 'running, native repeat immediately' });
  await s.wait(5500, 'wait past the 5 s PCIe pending expiry');
  await s.x('device_del', { id: 'hd1' }, { ...W, note: 'running, native repeat after 6.5 s' });
  await s.x('device_del', { id: 'ppb' }, { ...W, note: 'pcie-pci-bridge with children (ACPI on cold rp6), running' });
  await s.x('system_reset', undefined, { settle: 1500, note: 'while running' });
  await s.wait(1500);
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.x('device_del', { id: 'up1' }, { ...W, note: 'hot-added upstream port on cold root port (ACPI)' });
  await s.x('device_del', { id: 'up1' }, { ...W, note: 'repeat' });
  await s.x('stop', undefined, { settle: 200 });
  await s.x('system_reset', undefined, { settle: 1500, note: 'while stopped' });
  await s.x('qom-list', { path: '/machine/peripheral' });
  await lateArgs(s, { bus: 'rp4' });

  await reconnectOob(s);
  await s.x('query-status');
}

/**
 * q35 with ACPI PCI hotplug for bridges disabled: cold-plugged root ports use native
 * PCIe hotplug (the 7.2 path for `Hot-plug failed: unsupported by the port device`).
 * argv: rp1 free, rp2 hotplug=off with ne2, rp3 with ne0, rp4 free.
 */
export async function errorsQ35Native(s) {
  await s.x('qmp_capabilities');
  for (const p of ['rp1', 'rp2', 'rp3']) {
    await s.x('qom-get', { path: `/machine/peripheral/${p}/${p}`, property: 'hotplug-handler' });
    await s.x('qom-get', { path: `/machine/peripheral/${p}/${p}`, property: 'acpi-pcihp-bsel' });
  }
  await s.x('qom-get', { path: '/machine/peripheral/ne0', property: 'hotpluggable' });
  await s.x('qom-get', { path: '/machine/peripheral/ne2', property: 'hotpluggable' });
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'rp2' }, { note: 'hotplug=off port' });
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'rp2', addr: 'zz' }, { note: 'hotplug=off vs bad addr' });
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'rp3' }, { note: 'occupied' });
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'rp1', addr: '1' }, { note: 'slot 1 behind a native root port' });
  await s.x('device_add', { driver: 'e1000e', id: 'h1', bus: 'rp1' }, W);
  await s.x('device_add', { driver: 'e1000e', id: tid(), bus: 'rp1', addr: '0.1' }, { note: 'fn>0 after fn0, native' });
  await s.x('device_add', { driver: 'e1000e', id: 'f1', bus: 'rp4', addr: '0.1' }, { ...W, note: 'fn>0 first, native' });
  await s.x('device_add', { driver: 'e1000e', id: 'f0', bus: 'rp4', addr: '0.0', multifunction: true }, { ...W, note: 'then fn0' });
  await s.x('query-pci');
  await s.hmp('info pci');
  await s.x('device_del', { id: 'ne2' }, { note: 'device on hotplug=off port' });
  await s.x('device_del', { id: 'rp2' }, { note: 'root port itself' });
  await s.x('device_del', { id: 'ne0' }, { ...W, note: 'cold device, native port, prelaunch' });
  await s.x('device_del', { id: 'ne0' }, { ...W, note: 'repeat, prelaunch (clock stopped)' });
  await s.x('device_del', { id: 'h1' }, { ...W, note: 'hot device, native port, prelaunch' });
  await s.x('device_del', { id: 'f1' }, { ...W, note: 'function 1 only' });
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.x('system_reset', undefined, { settle: 1500 });
  await s.wait(1000, 'events after system_reset');
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.x('device_del', { id: 'ne0' }, { ...W, note: 'after reset, prelaunch' });
  await s.x('cont', undefined, { settle: 200 });
  await s.wait(3000, 'SeaBIOS running');
  await s.x('query-pci', undefined, { note: 'after firmware enumeration' });
  await s.x('device_del', { id: 'ne0' }, { ...W, note: 'running' });
  await s.x('device_del', { id: 'ne0' }, { note: 'running, repeat immediately' });
  await s.wait(5500, 'wait past the 5 s pending expiry');
  await s.x('device_del', { id: 'ne0' }, { ...W, note: 'running, repeat after 6.5 s' });
  await s.wait(5500, 'button press not answered: does anything happen?');
  await s.x('device_add', { driver: 'e1000e', id: 'r1', bus: 'rp1' }, { ...W, note: 'while running (rp1 may still hold h1)' });
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.x('system_reset', undefined, { settle: 1500, note: 'while running' });
  await s.wait(1500);
  await s.x('qom-list', { path: '/machine/peripheral' });
  await s.x('query-pci');
  await s.quit();
}
