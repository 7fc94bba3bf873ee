// Bulk records in IndexedDB (embedding chunks, trainer checkpoints) are stored sealed: the value with its
// checksum and size, written in the same put, checked on every read. A record that fails the check (a
// truncated array, an altered byte, a value the browser can no longer read) throws DamagedDataError naming
// the record and the fix, and is never handed to the caller. Records written before sealing (no `sealed`
// field) are read as they are, unverified: the seal lives inside the value, so no schema migration.
import { DamagedDataError } from '../errors.ts';
import { checksumValue } from '../util/checksum.ts';

export const SEAL_VERSION = 1;

export interface Sealed<T> {
  sealed: typeof SEAL_VERSION;
  /** checksumValue(value).checksum: 'fnv1a32:…'. */
  checksum: string;
  /** checksumValue(value).bytes: the content's size, so a truncation is reported as one. */
  bytes: number;
  value: T;
}

export function seal<T>(value: T): Sealed<T> {
  const { checksum, bytes } = checksumValue(value);
  return { sealed: SEAL_VERSION, checksum, bytes, value };
}

export function isSealed(record: unknown): record is Sealed<unknown> {
  return typeof record === 'object' && record !== null && (record as { sealed?: unknown }).sealed === SEAL_VERSION && 'value' in record;
}

/** Where a damaged record is and what to do about it (re-encode, re-fetch, start afresh). */
export interface RecordName {
  where: string;
  fix: string;
}

/** The value of a sealed record after checking it; an unsealed (older) record as it is; undefined as undefined. */
export function unseal<T>(record: unknown, name: RecordName): T | undefined {
  if (record === undefined) return undefined;
  if (!isSealed(record)) return record as T;
  const { checksum, bytes } = checksumValue(record.value);
  if (bytes !== record.bytes) throw new DamagedDataError(name.where, `damaged in this browser's storage: it holds ${bytes} bytes of content, not the ${record.bytes} written`, name.fix);
  if (checksum !== record.checksum) throw new DamagedDataError(name.where, `damaged in this browser's storage: its checksum is ${checksum}, not the ${record.checksum} written`, name.fix);
  return record.value as T;
}

/**
 * A read that the browser itself refused: Chrome keeps large values in files beside its database, and one
 * that went missing or bad reads as NotReadableError / UnknownError / DataError. Those become
 * DamagedDataError; anything else is rethrown as it is.
 */
export async function readOrDamaged<T>(read: () => Promise<T>, name: RecordName): Promise<T> {
  try {
    return await read();
  } catch (e) {
    const n = (e as { name?: string })?.name;
    if (n === 'NotReadableError' || n === 'UnknownError' || n === 'DataError') {
      throw new DamagedDataError(name.where, `the browser cannot read it back (${n}: ${(e as Error).message})`, name.fix);
    }
    throw e;
  }
}
