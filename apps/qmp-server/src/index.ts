export { PlugboardServer, type MonitorSpec, type PlugboardServerOptions } from './server.js';
export { MachineHost, type ShutdownReason } from './host.js';
export { registerCommands, QEMU_VERSION } from './commands.js';
export { runHmp, hmpCommands, parseOptsString, type HmpCommand } from './hmp.js';
export { builtinPlugins } from './plugins.js';
