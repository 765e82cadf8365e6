/**
 * Guest behaviour policies: how the simulated OS reacts (or fails to), so users can test
 * their own timeouts and error paths against guests that are slow or uncooperative.
 */

export type GuestPolicyName =
  /** A Debian 12 / Linux 6.1 guest (the default). */
  | 'linux'
  /** Nothing ever happens: no OS boots (firmware still runs, as on a VM without a disk). */
  | 'none'
  /** The OS boots and enumerates, but no hotplug driver binds: hot-plug events go unanswered. */
  | 'no-hotplug-driver'
  /** Hotplug drivers bind and handle hot-add, but ignore every unplug request. */
  | 'ignore-unplug'
  /**
   * The OS says no where a platform lets it: on pseries, offlining a CPU core or memory fails,
   * so the kernel hands the connector back (DEVICE_UNPLUG_GUEST_ERROR). Removals an OS cannot
   * refuse (PCI slots, PHBs, any x86 hotplug) go ahead as with `linux`.
   */
  | 'refuse-unplug';

export interface GuestPolicy {
  name: GuestPolicyName;
  /** Multiplies every delay the guest chooses (sleeps, poll intervals, timeouts, boot stages). */
  slow: number;
}

export const DEFAULT_POLICY: GuestPolicy = { name: 'linux', slow: 1 };

const NAMES: readonly GuestPolicyName[] = ['linux', 'none', 'no-hotplug-driver', 'ignore-unplug', 'refuse-unplug'];

/**
 * Parses `linux`, `none`, `no-hotplug-driver`, `ignore-unplug`, `refuse-unplug`, `slow=FACTOR`, or a
 * comma-separated combination such as `ignore-unplug,slow=2`.
 */
export function parseGuestPolicy(text: string): GuestPolicy {
  const policy: GuestPolicy = { ...DEFAULT_POLICY };
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const slow = /^slow=(.+)$/.exec(part);
    if (slow) {
      const f = Number(slow[1]);
      if (!Number.isFinite(f) || f <= 0) throw new RangeError(`guest policy: slow factor must be a positive number, got '${slow[1]}'`);
      policy.slow = f;
    } else if ((NAMES as readonly string[]).includes(part)) policy.name = part as GuestPolicyName;
    else throw new RangeError(`guest policy: unknown policy '${part}' (expected ${NAMES.join(', ')} or slow=FACTOR)`);
  }
  return policy;
}

export function resolvePolicy(p: GuestPolicy | string | undefined): GuestPolicy {
  if (p === undefined) return { ...DEFAULT_POLICY };
  return typeof p === 'string' ? parseGuestPolicy(p) : { ...p };
}

export const formatGuestPolicy = (p: GuestPolicy): string => (p.slow === 1 ? p.name : `${p.name},slow=${p.slow}`);
