/**
 * The QOM object tree: every object has a type name, named child<> properties, link<>
 * properties and plain properties. Canonical paths are built from child names
 * (qom/object.c). `qom-list` / `qom-get` read this tree.
 */
import { QemuError, deviceNotFound } from './errors.js';

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

  constructor(typeName: string) {
    this.typeName = typeName;
  }

  addChild(name: string, child: QObject): void {
    if (this.childObjects.has(name) || this.props.has(name)) throw new Error(`attempt to add duplicate property '${name}' to object (type '${this.typeName}')`);
    child.parent = this;
    child.propName = name;
    this.childObjects.set(name, child);
  }

  removeChild(name: string): void {
    const c = this.childObjects.get(name);
    if (!c) return;
    this.childObjects.delete(name);
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

  defineProperty(p: ObjectProperty): void {
    this.props.set(p.name, p);
  }

  deleteProperty(name: string): void {
    this.props.delete(name);
  }

  hasProperty(name: string): boolean {
    return name === 'type' || this.props.has(name) || this.childObjects.has(name);
  }

  /** qom-list: `type` first, then properties, then children (QEMU's order is a hash order). */
  listProperties(): Array<{ name: string; type: string }> {
    const out = [{ name: 'type', type: 'string' }];
    for (const p of this.props.values()) out.push({ name: p.name, type: p.type });
    for (const [name, c] of this.childObjects) out.push({ name, type: `child<${c.typeName}>` });
    return out;
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
