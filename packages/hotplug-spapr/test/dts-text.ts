/** Helpers over `dtc -I dtb -O dts` text, shared by the in-package and the CLI dumpdtb tests. */

/** The random seed differs at every start, in QEMU as here. */
export const seedless = (dts: string): string => dts.replace(/rng-seed = <[^>]*>;/, 'rng-seed = <...>;');

/** Every ibm,drc-* (and ibm,my-drc-*) property line. */
export const drcLines = (dts: string): string[] => dts.split('\n').filter((l) => /ibm,(my-)?drc-/.test(l));

/** The lines of the node whose header line is `header` (e.g. `pci@800000020000000 {`). */
export function nodeText(dts: string, header: string): string {
  const lines = dts.split('\n');
  const start = lines.findIndex((l) => l.trim() === header);
  if (start < 0) return '';
  const indent = lines[start]!.search(/\S/);
  const end = lines.findIndex((l, i) => i > start && l.search(/\S/) === indent && l.trim() === '};');
  return lines.slice(start, end + 1).join('\n');
}
