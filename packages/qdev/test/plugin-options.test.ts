/** Plugin options (`-plugin NAME,key=value`): declared in `options`, applied by `configure`. */
import { describe, expect, it } from 'vitest';
import { PluginSet, QemuError, TypeRegistry, configurePlugin, definePlugin, type Plugin } from '../src/index.js';

function counter(slots = 8): Plugin & { slots: number } {
  return definePlugin({
    name: 'counter',
    slots,
    options: { slots: { description: 'how many', default: '8' }, label: {} },
    configure: (o) => {
      const n = Number(o.slots ?? slots);
      if (!Number.isInteger(n) || n < 1) throw new QemuError(`Parameter 'slots' expects a positive integer`);
      return counter(n);
    },
  });
}

describe('configurePlugin', () => {
  it('returns the plugin itself when no option is given', () => {
    const p = counter();
    expect(configurePlugin(p, [])).toBe(p);
  });

  it('passes the declared options as strings, the last of a repeated key winning, on a new plugin', () => {
    const seen: Array<Record<string, string>> = [];
    const p = definePlugin({
      name: 'spy',
      options: { a: {}, b: {} },
      configure: (o) => (seen.push({ ...o }), definePlugin({ name: 'spy' })),
    });
    const out = configurePlugin(p, [['a', '1'], ['b', 'x'], ['a', '2']]);
    expect(out).not.toBe(p);
    expect(seen).toEqual([{ a: '2', b: 'x' }]);
  });

  it('configures a plugin without mutating the original (one process, several machines)', () => {
    const base = counter();
    const four = configurePlugin(base, [['slots', '4']]) as Plugin & { slots: number };
    expect([base.slots, four.slots]).toEqual([8, 4]);
  });

  it('refuses an undeclared option, listing the declared ones, before configure runs', () => {
    let called = false;
    const p = definePlugin({ name: 'counter', options: { slots: {}, label: {} }, configure: () => ((called = true), definePlugin({ name: 'counter' })) });
    expect(() => configurePlugin(p, [['slots', '1'], ['slot', '2']])).toThrow(new QemuError("Plugin 'counter' has no option 'slot' (its options: slots, label)"));
    expect(called).toBe(false);
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])('refuses %s when it is not declared', (key) => {
    expect(() => configurePlugin(counter(), [[key, '1']])).toThrow(`Plugin 'counter' has no option '${key}' (its options: slots, label)`);
  });

  it('refuses any option for a plugin that declares none, or has no configure', () => {
    expect(() => configurePlugin(definePlugin({ name: 'plain' }), [['x', '1']])).toThrow("Plugin 'plain' takes no options ('x' given)");
    expect(() => configurePlugin(definePlugin({ name: 'half', options: { x: {} } }), [['x', '1']])).toThrow("Plugin 'half' takes no options ('x' given)");
  });

  it("lets configure refuse a value with QEMU's kind of error", () => {
    expect(() => configurePlugin(counter(), [['slots', '0']])).toThrow(new QemuError("Parameter 'slots' expects a positive integer"));
  });

  it('a configured plugin loads like any other', () => {
    const set = new PluginSet(new TypeRegistry());
    set.load(configurePlugin(counter(), [['slots', '2']]));
    expect(set.plugins.map((p) => [p.name, (p as Plugin & { slots: number }).slots])).toEqual([['counter', 2]]);
  });
});
