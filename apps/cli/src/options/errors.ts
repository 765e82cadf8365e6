/**
 * Diagnostics in QEMU's shape (util/error-report.c): `PROG: LOCATION: MESSAGE`,
 * where LOCATION is the option as the user typed it (`-m foo`, `--device x`),
 * followed by hint lines printed verbatim (error_append_hint).
 */

/** The program name QEMU prints is argv[0]'s basename; ours is fixed. */
export const PROGRAM_NAME = 'plugboard';

export interface Diagnostic {
  /** `-opt arg` as typed, or undefined when QEMU reports without a location. */
  location?: string;
  message: string;
  /** Lines printed after the message, each ending in "\n" (QEMU's hints). */
  hint?: string;
  /** Printed as is, without program name or location (QEMU's bare fprintf). */
  plain?: boolean;
}

export type DiagnosticKind = 'error' | 'warning' | 'info';

/** Formats one diagnostic as QEMU writes it to stderr, trailing newline included. */
export function formatDiagnostic(
  d: Diagnostic,
  kind: DiagnosticKind = 'error',
  prog: string = PROGRAM_NAME,
): string {
  if (d.plain) return `${d.message}\n${d.hint ?? ''}`;
  const loc = d.location !== undefined ? `${d.location}: ` : '';
  const tag = kind === 'error' ? '' : `${kind}: `;
  return `${prog}: ${loc}${tag}${d.message}\n${d.hint ?? ''}`;
}

/**
 * A fatal command-line condition: QEMU prints (optionally) some stdout text,
 * the warnings met so far, the error, and exits with `exitCode` (1 unless
 * stated). `diagnostic` is absent for help-style exits that only print stdout.
 */
export class CliError extends Error {
  readonly exitCode: number;
  readonly diagnostic?: Diagnostic;
  /** Extra diagnostics printed before the error (deprecation warnings etc.). */
  readonly warnings: Diagnostic[];
  /** Text for stdout (QemuOpts help exits with 1 after printing it). */
  readonly stdout: string;
  /** Error lines printed before the main one (e.g. a failed accelerator). */
  readonly preceding: Diagnostic[];

  constructor(
    diagnostic: Diagnostic | undefined,
    opts: { exitCode?: number; warnings?: Diagnostic[]; stdout?: string; preceding?: Diagnostic[] } = {},
  ) {
    super(diagnostic ? diagnostic.message : 'exit');
    this.name = 'CliError';
    this.diagnostic = diagnostic;
    this.exitCode = opts.exitCode ?? 1;
    this.warnings = opts.warnings ?? [];
    this.stdout = opts.stdout ?? '';
    this.preceding = opts.preceding ?? [];
  }

  /** Everything QEMU would write to stderr for this failure. */
  format(prog: string = PROGRAM_NAME): string {
    let out = '';
    for (const w of this.warnings) out += formatDiagnostic(w, 'warning', prog);
    for (const p of this.preceding) out += formatDiagnostic(p, 'error', prog);
    if (this.diagnostic) out += formatDiagnostic(this.diagnostic, 'error', prog);
    return out;
  }

  /** Same error with more warnings in front (warnings met before it). */
  withWarnings(warnings: Diagnostic[]): CliError {
    if (warnings.length === 0) return this;
    return new CliError(this.diagnostic, {
      exitCode: this.exitCode,
      warnings: [...warnings, ...this.warnings],
      stdout: this.stdout,
      preceding: this.preceding,
    });
  }
}

/** Shorthand: throw QEMU's `LOCATION: MESSAGE` error. */
export function fail(location: string | undefined, message: string, hint?: string): never {
  throw new CliError({ location, message, hint });
}

/** The hint QEMU appends to every bad size (util/qemu-option.c). */
export const SIZE_HINT =
  'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n' +
  'and exabytes, respectively.\n';

/** The hint QEMU appends to a malformed id (util/qemu-option.c, id_wellformed). */
export const ID_HINT = "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.\n";

/**
 * What QEMU prints on SIGTERM/SIGINT/SIGHUP before exiting 0 (softmmu/runstate.c):
 * with the sender when known ("from pid 16351 (node)"), else the signal alone.
 */
export function terminationMessage(signo: number, sender?: { pid: number; name: string }): Diagnostic {
  return { message: `terminating on signal ${signo}${sender ? ` from pid ${sender.pid} (${sender.name})` : ''}` };
}
