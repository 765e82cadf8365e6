/** What the option parsers' tests compare: the stderr text QEMU would print. */
import { CliError, formatDiagnostic, type Diagnostic } from '../src/options/errors.js';

/** stderr text of a thrown CliError, with warnings. */
export function stderrOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CliError) return e.format();
    throw e;
  }
  throw new Error('did not throw');
}

/** Warnings as they print. */
export const warn = (ws: Diagnostic[]): string => ws.map((w) => formatDiagnostic(w, 'warning')).join('');
