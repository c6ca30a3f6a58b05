import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { type Alert, alertKey, SEVERITY_RANK, type Severity } from './alert.ts';

/** What was last sent for one (type, subject). */
export interface SentRecord {
  readonly severity: Severity;
  /** ISO timestamp of the successful publish. */
  readonly sentAt: string;
}

export type SentState = Readonly<Record<string, SentRecord>>;

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

/** Publishes each alert that should go out, recording it only after its publish succeeded. */
export async function sendAlerts(
  alerts: readonly Alert[],
  state: SentState,
  options: { now: Date; renotifyDays: number; publish: (alert: Alert) => Promise<void> },
): Promise<{ sent: Alert[]; suppressed: Alert[]; state: SentState }> {
  const next: Record<string, SentRecord> = { ...state };
  const sent: Alert[] = [];
  const suppressed: Alert[] = [];
  for (const alert of alerts) {
    if (!shouldSend(alert, next, options.now, options.renotifyDays)) {
      suppressed.push(alert);
      continue;
    }
    await options.publish(alert);
    next[alertKey(alert)] = { severity: alert.severity, sentAt: options.now.toISOString() };
    sent.push(alert);
  }
  return { sent, suppressed, state: next };
}

/** Local sent-state: a JSON file, replaced atomically. */
export function readStateFile(path: string): SentState {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as SentState) : {};
}

export function writeStateFile(path: string, state: SentState): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}
