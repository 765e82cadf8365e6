// The testkit as any plugin author imports it (by package name, through its exports).
export { describeHotplugContract } from '@plugboard/testkit/vitest';
export { HotplugHarness, runHotplugContract } from '@plugboard/testkit';
