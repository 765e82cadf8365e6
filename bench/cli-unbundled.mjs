#!/usr/bin/env node
// The `plugboard` command as it started before the start-up work of issue #9, for the start-up
// figure's comparison row: the unbundled library build (apps/cli/dist/index.js, one ESM module
// per package, resolved through node_modules) and monitors opened only after the machine is
// built. The real command (apps/cli/dist/plugboard.js) is one bundle split in two phases and
// opens its monitors first (apps/cli/src/early.ts).
import { main } from '../apps/cli/dist/index.js';

await main(process.argv.slice(2));
