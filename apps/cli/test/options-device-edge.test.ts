/**
 * -device options at JavaScript's edges: names that are magic on plain objects, JSON integers
 * beyond 2^53. Expected stderr observed on QEMU 7.2 (Debian 1:7.2+dfsg-7+deb12u18) with
 * `qemu-system-x86_64 -M pc -nodefaults -S -display none -device ARG`.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../src/main.js';

async function stderrOf(deviceArg: string): Promise<{ code: unknown; stderr: string }> {
  let stderr = '';
  const r = await run(['-M', 'pc', '-nodefaults', '-S', '-display', 'none', '-device', deviceArg], {
    stdout: () => undefined,
    stderr: (s) => void (stderr += s),
  });
  if (typeof r !== 'number') await r.close();
  return { code: r, stderr };
}

describe('-device edge cases equal QEMU 7.2', () => {
  it.each([
    ['e1000,__proto__=1', "Property 'e1000.__proto__' not found"],
    ['{"driver":"e1000","__proto__":"1"}', "Property 'e1000.__proto__' not found"],
    ['e1000,constructor=1', "Property 'e1000.constructor' not found"],
    ['{"driver":"e1000","hasOwnProperty":"1"}', "Property 'e1000.hasOwnProperty' not found"],
    ['{"driver":"e1000","addr":300}', "Parameter 'addr' expects a value between -1 and 255"],
    ['{"driver":"e1000","addr":-2}', "Parameter 'addr' expects a value between -1 and 255"],
    ['{"driver":"e1000","addr":2147483648}', "Parameter 'addr' expects int32_t"],
    ['{"driver":"e1000","addr":1152921504606846977}', "Parameter 'addr' expects int32_t"],
    ['{"driver":"e1000","addr":1.5}', "Invalid parameter type for 'addr', expected: integer"],
    ['{"driver":"e1000","romsize":1152921504606846977}', "Parameter 'romsize' expects uint32_t"],
    ['e1000,romsize=1152921504606846977', "Parameter 'romsize' expects uint32_t"],
  ])('%s', async (arg, message) => {
    expect(await stderrOf(arg)).toEqual({ code: 1, stderr: `plugboard: -device ${arg}: ${message}\n` });
  });
});
