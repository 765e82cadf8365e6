import { StartupSignals, openMonitorsEarly, startupPlan } from './early.js';

const argv = process.argv.slice(2);
const signals = new StartupSignals();
const plan = startupPlan(argv);
if (plan && plan.plugins.length > 0) {
  // A -plugin module imports the @plugboard packages from node_modules, and the machine must be
  // built from those very modules (one Device class, one type registry): this path runs the
  // unbundled CLI (dist/index.js) instead of this file's bundle. Its monitors open once the
  // machine is built.
  const unbundled = new URL('./index.js', import.meta.url).href;
  const { main } = (await import(unbundled)) as typeof import('./main.js');
  await main(argv, { signals });
} else {
  const monitors = await openMonitorsEarly(plan, (s) => process.stderr.write(s));
  if (typeof monitors === 'number') process.exit(monitors);
  // The device models and the guest load only now, with the monitors open and greeting (early.ts).
  const { main } = await import('./main.js');
  await main(argv, { signals, ...(monitors ? { monitors } : {}) });
}
