export { PlugboardServer, type PlugboardServerOptions } from './server.js';
export { MachineHost, type ShutdownReason } from './host.js';
export { registerCommands } from './commands.js';
export { QEMU_VERSION, EarlyMonitors, MonitorConnectError, connectMonitor, listenMonitor, type MonitorSpec } from './monitors.js';
export { runHmp, hmpCommands, parseOptsString, type HmpCommand } from './hmp.js';
export { builtinPlugins } from './plugins.js';
export { Fleet, type FleetOptions, type FleetMachine, type FleetMachineOptions, type FleetAddress, type FleetExitReason } from './fleet.js';
export { runDaemon, parseDaemonArgs, parseMachineArgs, DAEMON_USAGE, DaemonUsageError, type DaemonPlan, type FleetGroup, type DaemonIo } from './daemon.js';
