/** Machine-level events (QMP events before they are framed): `DEVICE_DELETED`, `RESET`, ... */
export interface MachineEvent {
  name: string;
  data?: Record<string, unknown>;
}

export type EventListener = (ev: MachineEvent) => void;

export class EventBus {
  private listeners = new Set<EventListener>();

  on(fn: EventListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(name: string, data?: Record<string, unknown>): void {
    const ev: MachineEvent = data === undefined ? { name } : { name, data };
    for (const fn of [...this.listeners]) fn(ev);
  }
}
