/**
 * Errors carry QEMU's QMP error class so the server can answer with QEMU's
 * `{"class": ..., "desc": ...}` without qdev knowing anything about QMP.
 * Classes: qapi/error.json.
 */
export type QemuErrorClass = 'GenericError' | 'CommandNotFound' | 'DeviceNotActive' | 'DeviceNotFound' | 'KVMMissingCap';

export class QemuError extends Error {
  readonly errorClass: QemuErrorClass;
  constructor(desc: string, errorClass: QemuErrorClass = 'GenericError') {
    super(desc);
    this.name = 'QemuError';
    this.errorClass = errorClass;
  }
}

export function deviceNotFound(name: string): QemuError {
  return new QemuError(`Device '${name}' not found`, 'DeviceNotFound');
}
