/** QEMU 7.2-compatible command-line parsing for `plugboard` (pure functions). */
export * from './errors.js';
export * from './table.js';
export * from './numbers.js';
export * from './json.js';
export * from './keyval.js';
export * from './chardev.js';
export * from './machine.js';
export * from './parse.js';
export * from './help.js';
