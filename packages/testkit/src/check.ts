/**
 * Assertions without a test framework: the kit throws ContractViolation and any runner
 * (vitest, node:test, a script) reports it.
 */
export class ContractViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractViolation';
  }
}

export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new ContractViolation(message);
}

/** JSON text that survives bigints (MSI addresses) and keeps key order: what "same" means here. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));
}

export function checkEqual(actual: unknown, expected: unknown, what: string): void {
  const a = stableJson(actual);
  const e = stableJson(expected);
  if (a !== e) throw new ContractViolation(`${what}: expected ${e}, got ${a}`);
}

/** The message matches exactly (string) or by pattern. */
export function checkMessage(actual: string, expected: string | RegExp, what: string): void {
  const ok = typeof expected === 'string' ? actual === expected : expected.test(actual);
  if (!ok) throw new ContractViolation(`${what}: expected error ${typeof expected === 'string' ? JSON.stringify(expected) : String(expected)}, got ${JSON.stringify(actual)}`);
}
