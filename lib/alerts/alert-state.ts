import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../inputs/input-error.ts';
import { type Alert, alertKey, SEVERITY_RANK, type Severity } from './alert.ts';

/** What was last sent for one (type, subject). */
export interface SentRecord {
  readonly severity: Severity;
  /** ISO timestamp of the successful publish. */
  readonly sentAt: string;
  /** The currency the alert's money was written in (absent in state written before alerts carried it). */
  readonly currency?: string;
}

/** What the state records of an alert sent at `sentAt`. */
export function sentRecordOf(alert: Alert, sentAt: Date): SentRecord {
  return { severity: alert.severity, sentAt: sentAt.toISOString(), currency: alert.currency };
}

/** Sent records by alert key (`type|subject`). */
export type SentState = Readonly<Record<string, SentRecord>>;

/** Where sent-alert state lives: a file locally, DynamoDB (with a TTL) when deployed. */
export interface SentStateStore {
  /** The records of these alert keys (absent keys: never sent, or expired). */
  load(keys: readonly string[]): Promise<SentState>;
  /** Records one alert as sent. Call it only after its publish succeeded. */
  record(alert: Alert, sentAt: Date): Promise<void>;
}

/**
 * Whether an alert goes out: not if the same (type, subject) was sent within the renotify period,
 * unless its severity rose since (P2 then P1).
 */
export function shouldSend(alert: Alert, state: SentState, now: Date, renotifyDays: number): boolean {
  const last = state[alertKey(alert)];
  if (!last) return true;
  if (SEVERITY_RANK[alert.severity] > SEVERITY_RANK[last.severity]) return true;
  const ageMs = now.getTime() - Date.parse(last.sentAt);
  return ageMs >= renotifyDays * 24 * 60 * 60 * 1000;
}

/**
 * Publishes each alert that should go out and records it right after its own publish succeeded, so a
 * failure part-way leaves the alerts not yet published unrecorded, to be sent by the next run.
 */
export async function sendAlerts(
  alerts: readonly Alert[],
  store: SentStateStore,
  options: { now: Date; renotifyDays: number; publish: (alert: Alert) => Promise<void> },
): Promise<{ sent: Alert[]; suppressed: Alert[] }> {
  const state = await store.load(alerts.map(alertKey));
  const sent: Alert[] = [];
  const suppressed: Alert[] = [];
  for (const alert of alerts) {
    if (!shouldSend(alert, state, options.now, options.renotifyDays)) {
      suppressed.push(alert);
      continue;
    }
    await options.publish(alert);
    await store.record(alert, options.now);
    sent.push(alert);
  }
  return { sent, suppressed };
}

/** A new state file written beside the current one, not yet in its place. */
export interface PreparedState {
  /** Renames the new file into place: nothing is left to fail but a rename in the same folder. */
  commit(): void;
  /** Deletes the new file, leaving the state as it was. */
  discard(): void;
}

/** Local sent-state: one JSON file, replaced atomically on each record. */
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
   * Writes the state with these alerts recorded as sent into a temporary file beside the state file,
   * and returns how to put it in place. A caller that must not fail after some point (the local run
   * after its results are switched in) prepares before that point and commits after it.
   */
  prepare(alerts: readonly Alert[], sentAt: Date): PreparedState {
    const all = this.read();
    for (const alert of alerts) {
      all[alertKey(alert)] = sentRecordOf(alert, sentAt);
    }
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

  async record(alert: Alert, sentAt: Date): Promise<void> {
    const all = this.read();
    all[alertKey(alert)] = sentRecordOf(alert, sentAt);
    writeFileSync(`${this.path}.tmp`, `${JSON.stringify(all, null, 2)}\n`);
    renameSync(`${this.path}.tmp`, this.path);
  }
}
