/**
 * A failure a user can act on: `message` is one line saying what is wrong and what to do.
 * tsctl prints `err.message` alone and exits 1; anything else is a bug and gets a stack trace.
 */
export class TsnetError extends Error {
  /** A stable machine-readable tag, e.g. 'etcd-unreachable', 'pool-overlap', 'ip-in-use'. */
  readonly code: string;

  constructor(message: string, code = 'tsnet', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TsnetError';
    this.code = code;
  }
}

/** True for errors meant for users (print the message, exit 1). */
export function isTsnetError(err: unknown): err is TsnetError {
  return err instanceof TsnetError;
}

/** A value under the prefix that is not valid JSON of the expected kind and version. */
export interface BadValue {
  key: string;
  reason: string;
}

/** Thrown by typed reads of a single key whose stored value does not validate. */
export class BadValueError extends TsnetError {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`bad value at etcd key ${key}: ${reason}; fix or delete it (etcdctl del ${key})`, 'bad-value');
  }
}

/** Thrown when etcd cannot be reached within the call's time bound. */
export class EtcdUnreachableError extends TsnetError {
  constructor(
    readonly endpoints: readonly string[],
    readonly triedMs: number,
    cause?: unknown,
  ) {
    super(
      `cannot reach etcd at ${endpoints.join(',')} (tried for ${formatSeconds(triedMs)}): ` +
        'is etcd running? set --etcd-endpoints or ETCD_ENDPOINTS',
      'etcd-unreachable',
      { cause },
    );
  }
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

/** Thrown when an optimistic read-modify-write lost the race too many times. */
export class ConflictError extends TsnetError {
  constructor(what: string, attempts: number) {
    super(`${what}: still conflicting with concurrent writers after ${attempts} attempts; retry`, 'conflict');
  }
}
