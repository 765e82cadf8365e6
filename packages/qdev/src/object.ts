/**
 * The QOM object tree: every object has a type name, named child<> properties, link<>
 * properties and plain properties. Canonical paths are built from child names
 * (qom/object.c). `qom-list` / `qom-get` read this tree.
 */
import { QemuError, deviceNotFound } from './errors.js';
import { GHashOrder, ghashKeyOrder } from './ghash.js';

export interface ObjectProperty {
  name: string;
  /** QOM type string as qom-list prints it: `bool`, `str`, `child<e1000>`, `link<bus>`... */
  type: string;
  get?: () => unknown;
  description?: string;
}

export class QObject {
  readonly typeName: string;
  parent: QObject | undefined;
  /** Name under which the parent holds this object as child<>. */
  propName: string | undefined;
  readonly childObjects = new Map<string, QObject>();
  private readonly props = new Map<string, ObjectProperty>();
  /**
   * The object's own property table (Object.properties in qom/object.c): child<>, link<> and
   * plain properties added to this instance, with its insertion/removal history, which decides
   * the order qom-list reports them in. Properties of the class live in classPropertyOrder().
   */
  private readonly table = new GHashOrder();

  constructor(typeName: string) {
    this.typeName = typeName;
  }

  addChild(name: string, child: QObject): void {
    if (this.childObjects.has(name) || this.props.has(name)) throw new Error(`attempt to add duplicate property '${name}' to object (type '${this.typeName}')`);
    child.parent = this;
    child.propName = name;
    this.childObjects.set(name, child);
    this.table.insert(name);
  }

  removeChild(name: string): void {
    const c = this.childObjects.get(name);
    if (!c) return;
    this.childObjects.delete(name);
    this.table.remove(name);
    c.parent = undefined;
    c.propName = undefined;
  }

  /** Adds `name[N]` with the first free N from `counter` and returns the name used. */
  addChildArray(prefix: string, child: QObject, next: () => number): string {
    let name: string;
    do name = `${prefix}[${next()}]`;
    while (this.childObjects.has(name));
    this.addChild(name, child);
    return name;
  }

  /**
   * Adds a property. `classLevel` marks one QEMU keeps in a class's table
   * (object_class_property_add: qdev properties, DeviceState's `realized`...), which the
   * subclass lists in classPropertyOrder(); others go to the object's own table.
   */
  defineProperty(p: ObjectProperty, opts: { classLevel?: boolean } = {}): void {
    if (!this.props.has(p.name) && !opts.classLevel) this.table.insert(p.name);
    this.props.set(p.name, p);
  }

  deleteProperty(name: string): void {
    if (this.props.delete(name)) this.table.remove(name);
  }

  hasProperty(name: string): boolean {
    return name === 'type' || this.props.has(name) || this.childObjects.has(name);
  }

  /**
   * Names in the property tables of this object's classes, from its own class up to
   * TYPE_OBJECT (whose only class property is `type`), each table in GLib hash order.
   */
  protected classPropertyOrder(): readonly string[] {
    return OBJECT_CLASS_ORDER;
  }

  /**
   * object_property_iter_init/next order (qom/object.c): the object's own table, then each
   * class's table up the parent chain, every table in g_hash_table_iter order.
   */
  propertyOrder(): string[] {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const name of [...this.table.keysInOrder(), ...this.classPropertyOrder()]) {
      if (seen.has(name) || !(name === 'type' || this.props.has(name) || this.childObjects.has(name))) continue;
      seen.add(name);
      out.push(name);
    }
    // A property defined class-level that no class table names (a plugin's own): after them.
    for (const name of this.props.keys()) if (!seen.has(name)) out.push(name);
    return out;
  }

  /** qom-list (qom/qom-qmp-cmds.c qmp_qom_list prepends each property: iteration order reversed). */
  listProperties(): Array<{ name: string; type: string }> {
    return this.propertyOrder()
      .reverse()
      .map((name) => ({ name, type: this.propertyType(name) }));
  }

  private propertyType(name: string): string {
    if (name === 'type') return 'string';
    const c = this.childObjects.get(name);
    if (c) return `child<${c.typeName}>`;
    return this.props.get(name)!.type;
  }

  getProperty(name: string): unknown {
    if (name === 'type') return this.typeName;
    const c = this.childObjects.get(name);
    if (c) return c.canonicalPath();
    const p = this.props.get(name);
    if (!p) throw new QemuError(`Property '${this.typeName}.${name}' not found`);
    if (!p.get) throw new QemuError(`Property '${this.typeName}.${name}' is not readable`);
    return p.get();
  }

  canonicalPath(): string {
    if (!this.parent) return '/';
    const parentPath = this.parent.canonicalPath();
    return (parentPath === '/' ? '' : parentPath) + '/' + this.propName;
  }

  root(): QObject {
    let o: QObject = this;
    while (o.parent) o = o.parent;
    return o;
  }

  /** Depth-first walk of child<> objects (the object itself first). */
  *walk(): Generator<QObject> {
    yield this;
    for (const c of this.childObjects.values()) yield* c.walk();
  }
}

/** TYPE_OBJECT's class table (object_class_init adds `type` only). */
const OBJECT_CLASS_ORDER: readonly string[] = ghashKeyOrder(['type'], []);

/**
 * object_resolve_path semantics: absolute paths from the root; relative paths match
 * uniquely anywhere in the tree as a suffix of child names (`"vn"` finds
 * `/machine/peripheral/vn`). Ambiguous relative paths resolve to nothing.
 */
export function resolvePath(root: QObject, path: string): QObject | undefined {
  if (path.startsWith('/')) {
    let o: QObject | undefined = root;
    for (const part of path.split('/').filter((x) => x !== '')) {
      o = o?.childObjects.get(part);
      if (!o) return undefined;
    }
    return o;
  }
  const parts = path.split('/').filter((x) => x !== '');
  if (parts.length === 0) return undefined;
  let found: QObject | undefined;
  let count = 0;
  for (const o of root.walk()) {
    if (matchesSuffix(o, parts)) {
      found = o;
      count++;
      if (count > 1) return undefined;
    }
  }
  return found;
}

function matchesSuffix(o: QObject, parts: string[]): boolean {
  let cur: QObject | undefined = o;
  for (let i = parts.length - 1; i >= 0; i--) {
    if (!cur || cur.propName !== parts[i]) return false;
    cur = cur.parent;
  }
  return true;
}

export function mustResolve(root: QObject, path: string): QObject {
  const o = resolvePath(root, path);
  if (!o) throw deviceNotFound(path);
  return o;
}

/** A plain container object (`/machine/peripheral`, `/machine/unattached`, ...). */
export class Container extends QObject {
  constructor() {
    super('container');
  }
}
