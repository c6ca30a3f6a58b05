import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../inputs/input-error.ts';
import { type Alert, alertKey, SEVERITY_RANK, type Severity } from './alert.ts';

/**
 * What was last sent under one state key: an alert's (`type|subject`, see {@link alertKey}) or a
 * digest's ({@link digestKey}).
 */
export interface SentRecord {
  readonly severity: Severity;
  /** ISO timestamp of the successful publish. */
  readonly sentAt: string;
  /** The currency the alert's money was written in (absent in state written before alerts carried it). */
  readonly currency?: string;
  /** The evaluation day of what was sent: a P2 digest goes once per team and evaluation day. */
  readonly asOf?: string;
  /** The team it was sent to. */
  readonly team?: string;
}

/** Sent records by state key. */
export type SentState = Readonly<Record<string, SentRecord>>;

/** One record to write once the message that carried it was published. */
export interface StateWrite {
  readonly key: string;
  readonly record: SentRecord;
  /**
   * Days the record matters (the renotify period for an alert, at least a week for a weekly digest); a
   * store that expires records (DynamoDB's TTL) keeps it a day longer.
   */
  readonly keepDays: number;
}

/** The state key of a team's digest of one severity (P2 daily, WARNING weekly). */
export function digestKey(severity: Severity, team: string): string {
  return `digest|${severity}|${team}`;
}

/** The record of an alert sent at `sentAt`, alone or in a digest. */
export function alertStateWrite(alert: Alert, sentAt: Date, renotifyDays: number): StateWrite {
  return {
    key: alertKey(alert),
    record: {
      severity: alert.severity,
      sentAt: sentAt.toISOString(),
      currency: alert.currency,
      asOf: alert.asOf,
      team: alert.team,
    },
    keepDays: renotifyDays,
  };
}

/** Where sent state lives: a file locally, DynamoDB (with a TTL) when deployed. */
export interface SentStateStore {
  /** The records of these keys (absent keys: never sent, or expired). */
  load(keys: readonly string[]): Promise<SentState>;
  /** Writes these records. Call it only after the messages that carried them were published. */
  record(writes: readonly StateWrite[]): Promise<void>;
}

/**
 * Whether an alert may go out: not if the same (type, subject) was sent within the renotify period,
 * unless its severity rose since (P2 then P1).
 */
export function shouldSend(alert: Alert, state: SentState, now: Date, renotifyDays: number): boolean {
  const last = state[alertKey(alert)];
  if (!last) return true;
  if (SEVERITY_RANK[alert.severity] > SEVERITY_RANK[last.severity]) return true;
  const ageMs = now.getTime() - Date.parse(last.sentAt);
  return ageMs >= renotifyDays * 24 * 60 * 60 * 1000;
}

/** A new state file written beside the current one, not yet in its place. */
export interface PreparedState {
  /** Renames the new file into place: nothing is left to fail but a rename in the same folder. */
  commit(): void;
  /** Deletes the new file, leaving the state as it was. */
  discard(): void;
}

/** Local sent state: one JSON file, replaced atomically on each write. */
export class FileStateStore implements SentStateStore {
  constructor(private readonly path: string) {}

  /**
   * Refuses a state file whose folder does not exist, or which exists but cannot be read as state, so
   * a run can fail before doing any work.
   */
  checkFolder(): void {
    if (!existsSync(dirname(resolve(this.path)))) throw this.missingFolder();
    this.read();
  }

  private missingFolder(): InputError {
    return new InputError('cannot write the alert state file: its folder does not exist', {
      file: this.path,
    });
  }

  /**
   * Writes the state with these records into a temporary file beside the state file, and returns how
   * to put it in place. A caller that must not fail after some point (the local run after its results
   * are switched in) prepares before that point and commits after it. Records do not expire from the
   * file: the planner judges their age.
   */
  prepare(writes: readonly StateWrite[]): PreparedState {
    const all = this.read();
    for (const { key, record } of writes) all[key] = record;
    const temp = join(
      dirname(resolve(this.path)),
      `.${basename(this.path)}.${randomBytes(3).toString('hex')}.tmp`,
    );
    try {
      writeFileSync(temp, `${JSON.stringify(all, null, 2)}\n`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw this.missingFolder();
      throw error;
    }
    return {
      commit: () => renameSync(temp, this.path),
      discard: () => rmSync(temp, { force: true }),
    };
  }

  private read(): Record<string, SentRecord> {
    if (!existsSync(this.path)) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (error) {
      // A JSON parse error alone does not say which file: a run reads several.
      const reason = error instanceof Error ? error.message : String(error);
      throw new InputError(`the alert state file is not valid JSON (truncated or corrupt: ${reason})`, {
        file: this.path,
      });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new InputError('the alert state file is not a JSON object of sent alerts', { file: this.path });
    }
    return parsed as Record<string, SentRecord>;
  }

  async load(keys: readonly string[]): Promise<SentState> {
    const all = this.read();
    return Object.fromEntries(keys.filter((key) => key in all).map((key) => [key, all[key] as SentRecord]));
  }

  async record(writes: readonly StateWrite[]): Promise<void> {
    this.prepare(writes).commit();
  }
}
