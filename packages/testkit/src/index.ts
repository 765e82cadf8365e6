/**
 * @plugboard/testkit: the contract every hotplug controller plugin runs against itself, and
 * the deterministic harness it is built on. Framework-free: cases throw ContractViolation;
 * `@plugboard/testkit/vitest` turns them into a vitest suite.
 *
 * Stability: everything exported here is the kit's public API (semver). The list of contract
 * cases may grow in minor versions (a new rule QEMU has that a plugin must follow).
 */
export { hotplugContract, runHotplugContract, type HotplugContractTarget, type ContractCase, type ContractErrorCase, type ContractResult } from './contract.js';
export { HotplugHarness, registerGuestDriver, BOOT_TIMEOUT_MS, type HarnessOptions, type AddResult } from './harness.js';
export { manualClock, type GuestMachine, type MachineFactory, type MachineFactoryContext } from './machine.js';
export { traceProblems, checkTrace, interruptsIn, INTERRUPT_KINDS } from './trace.js';
export { ContractViolation, check, checkEqual, checkMessage, stableJson } from './check.js';
