/**
 * `@plugboard/testkit/vitest`: the contract as a vitest suite, one test per case. A separate
 * entry so that the main kit never loads vitest (an optional peer dependency).
 */
import { describe, it } from 'vitest';
import { hotplugContract, type HotplugContractTarget } from './contract.js';

/** Registers `hotplug contract: NAME` with one test per contract case (skipped ones say why). */
export function describeHotplugContract(target: HotplugContractTarget): void {
  describe(`hotplug contract: ${target.name}`, () => {
    for (const c of hotplugContract(target)) {
      if (c.skip) it.skip(`${c.name} [skipped: ${c.skip}]`, () => {});
      else it(c.name, () => c.run());
    }
  });
}

export type { HotplugContractTarget } from './contract.js';
