// QMP error classes (qapi/error.json) and the error a command handler throws.

/** The error classes QEMU 7.2 can put in a reply. */
export type QmpErrorClass = 'GenericError' | 'CommandNotFound' | 'DeviceNotActive' | 'DeviceNotFound' | 'KVMMissingCap';

export const QMP_ERROR_CLASSES: readonly QmpErrorClass[] = [
  'GenericError',
  'CommandNotFound',
  'DeviceNotActive',
  'DeviceNotFound',
  'KVMMissingCap',
];

/**
 * Thrown by a command handler to produce `{"error": {"class": C, "desc": D}}`;
 * also thrown by QmpClient.execute() when the server answers with an error.
 * `desc` is QEMU's text, word for word.
 */
export class QmpError extends Error {
  override readonly name = 'QmpError';

  constructor(
    readonly errorClass: QmpErrorClass,
    readonly desc: string,
  ) {
    super(desc);
  }

  /** A GenericError, the class of nearly every QEMU error. */
  static generic(desc: string): QmpError {
    return new QmpError('GenericError', desc);
  }
}
