export { run, main, type Io } from './main.js';
export { planFromArgv, type CliPlan } from './plan.js';
