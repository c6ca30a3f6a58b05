import { type Alert, alertKey, type NotifiedAlert, SEVERITY_RANK, type Severity } from './alert.ts';
import { type AlertConfig, WEEKDAYS } from './alert-config.ts';
import { alertStateWrite, digestKey, type SentState, type StateWrite, shouldSend } from './alert-state.ts';

/*
 * Which messages a run sends (docs/alerts.md "Delivery and noise"): P1 alone, P2 in one digest per team
 * and evaluation day, WARNING in one weekly digest per team, at most `maxMessagesPerRun` messages, the
 * rest summed up in one held-back message per team. Pure: the local run and the deployed step both plan
 * with it, then publish the messages their own way and settle the plan with what failed.
 */

/** `single`: one P1 alert; `digest`: a team's P2 (daily) or WARNING (weekly) alerts; `held_back`: over the cap. */
export type MessageKind = 'single' | 'digest' | 'held_back';

/** One message the run sends. */
export interface PlannedMessage {
  /** Unique within the plan (`m0`, `m1`, ...), in publishing order: a batch entry's id. */
  readonly id: string;
  readonly kind: MessageKind;
  /** The alerts' severity; for a held-back summary, the highest severity it holds back. */
  readonly severity: Severity;
  readonly team: string;
  /**
   * What it carries: the alert of a single message; a digest's alerts ranked by money at stake (it
   * lists the first `digestMaxAlerts`, then counts the rest); the alerts a held-back summary counts.
   */
  readonly alerts: readonly Alert[];
  /** The evaluation day of its alerts. */
  readonly asOf: string;
  /** Where the full list is: the report of the run (an S3 URI deployed, a file locally). */
  readonly reportLocation: string;
  /** `maxMessagesPerRun`, which a held-back summary names. */
  readonly cap: number;
  /** `digestMaxAlerts`, how many alerts a digest lists. */
  readonly listed: number;
  /** The state to write once it was published (none for a held-back summary). */
  readonly records: readonly StateWrite[];
}

export type DeliveryConfig = Pick<
  AlertConfig,
  'renotifyDays' | 'digestWeekday' | 'digestMaxAlerts' | 'maxMessagesPerRun'
>;

export interface DeliveryOptions {
  readonly now: Date;
  readonly config: DeliveryConfig;
  /** Where the run's report is, for digests and held-back summaries to point at. */
  readonly reportLocation: string;
}

export interface DeliveryPlan {
  /** What to publish, in order: P1 by money at stake, then P2 digests, weekly digests, held-back summaries. */
  readonly messages: readonly PlannedMessage[];
  /**
   * Every alert, in the order given, as it stands if every message is published: `notify` true for the
   * alerts the messages send (a held-back summary sends none), else `heldBack` says why.
   */
  readonly alerts: readonly NotifiedAlert[];
}

/** The days a weekly digest record holds back the next one: the first run on or after the weekday, 6 days on. */
const WEEKLY_GAP_DAYS = 6;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The state keys a plan for these alerts reads: each alert's, and each team's two digest keys. */
export function deliveryStateKeys(alerts: readonly Alert[]): string[] {
  const teams = [...new Set(alerts.map((alert) => alert.team))];
  return [
    ...alerts.map(alertKey),
    ...teams.flatMap((team) => [digestKey('P2', team), digestKey('WARNING', team)]),
  ];
}

/** Highest money at stake first; ties by team, type and subject, so a plan does not depend on input order. */
function byMoneyAtStake(a: Alert, b: Alert): number {
  return (
    b.moneyAtStake - a.moneyAtStake ||
    a.team.localeCompare(b.team) ||
    a.type.localeCompare(b.type) ||
    a.subject.localeCompare(b.subject)
  );
}

const totalAtStake = (alerts: readonly Alert[]) => alerts.reduce((sum, a) => sum + a.moneyAtStake, 0);

/** Midnight UTC of the latest day on or before `now` that is `weekday`. */
function lastWeekdayStart(now: Date, weekday: DeliveryConfig['digestWeekday']): number {
  const back = (now.getUTCDay() - WEEKDAYS.indexOf(weekday) + 7) % 7;
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - back);
}

/**
 * Whether a team's weekly digest goes out now: when none was ever sent (or its record expired), or when
 * the last one was sent before the latest digest weekday and at least 6 days ago. So the first run on or
 * after the weekday sends it, and a digest sent late (a Wednesday) holds the next one until 6 days on.
 */
export function weeklyDigestDue(
  state: SentState,
  team: string,
  now: Date,
  weekday: DeliveryConfig['digestWeekday'],
): boolean {
  const last = state[digestKey('WARNING', team)];
  if (last === undefined) return true;
  const sentAt = Date.parse(last.sentAt);
  return sentAt < lastWeekdayStart(now, weekday) && now.getTime() - sentAt >= WEEKLY_GAP_DAYS * DAY_MS;
}

function groupByTeam(alerts: readonly Alert[]): Map<string, Alert[]> {
  const teams = new Map<string, Alert[]>();
  for (const alert of alerts) teams.set(alert.team, [...(teams.get(alert.team) ?? []), alert]);
  return teams;
}

type Candidate = Omit<PlannedMessage, 'id' | 'reportLocation' | 'cap' | 'listed' | 'asOf'>;

/**
 * Decides what a run sends of `alerts` given what `state` says was sent (read with the keys of
 * {@link deliveryStateKeys}). Per-alert dedup applies inside digests too: an alert sent within the
 * renotify period (alone or in a digest) is not listed again unless its severity rose.
 */
export function planDelivery(
  alerts: readonly Alert[],
  state: SentState,
  options: DeliveryOptions,
): DeliveryPlan {
  const { now, config } = options;
  const why = new Map<Alert, string>();
  const due: Alert[] = [];
  for (const alert of alerts) {
    if (shouldSend(alert, state, now, config.renotifyDays)) due.push(alert);
    else why.set(alert, `sent within the last ${config.renotifyDays} days`);
  }
  const sentAt = now.toISOString();
  const alertRecords = (carried: readonly Alert[]) =>
    carried.map((alert) => alertStateWrite(alert, now, config.renotifyDays));

  const singles: Candidate[] = due
    .filter((alert) => alert.severity === 'P1')
    .sort(byMoneyAtStake)
    .map((alert) => ({
      kind: 'single',
      severity: 'P1',
      team: alert.team,
      alerts: [alert],
      records: alertRecords([alert]),
    }));

  const digests = (severity: 'P2' | 'WARNING'): Candidate[] => {
    const candidates: Candidate[] = [];
    for (const [team, teamAlerts] of groupByTeam(due.filter((a) => a.severity === severity))) {
      const ranked = [...teamAlerts].sort(byMoneyAtStake);
      const asOf = ranked[0]?.asOf ?? '';
      const last = state[digestKey(severity, team)];
      if (severity === 'P2' && last?.asOf === asOf) {
        for (const alert of ranked) why.set(alert, `the P2 digest of ${asOf} was already sent to ${team}`);
        continue;
      }
      if (severity === 'WARNING' && !weeklyDigestDue(state, team, now, config.digestWeekday)) {
        for (const alert of ranked) why.set(alert, `waits for the weekly digest on ${config.digestWeekday}`);
        continue;
      }
      const digestRecord: StateWrite = {
        key: digestKey(severity, team),
        record: { severity, sentAt, asOf, team, currency: ranked[0]?.currency },
        // A weekly digest's record must hold back the next one for a week, whatever renotifyDays says.
        keepDays: severity === 'WARNING' ? Math.max(7, config.renotifyDays) : config.renotifyDays,
      };
      candidates.push({
        kind: 'digest',
        severity,
        team,
        alerts: ranked,
        records: [...alertRecords(ranked), digestRecord],
      });
    }
    return candidates.sort(
      (a, b) => totalAtStake(b.alerts) - totalAtStake(a.alerts) || a.team.localeCompare(b.team),
    );
  };

  const candidates = [...singles, ...digests('P2'), ...digests('WARNING')];
  const cap = config.maxMessagesPerRun;
  const { sent, heldBack } = withinCap(candidates, cap);
  // Every alert past the cap is held, also those of a team beyond even the summaries' room.
  for (const candidate of candidates.slice(sent.length)) {
    for (const alert of candidate.alerts) why.set(alert, `over the per-run cap of ${cap} messages`);
  }
  const asOfOf = (candidate: Candidate) => candidate.alerts[0]?.asOf ?? '';
  const messages = [...sent, ...heldBack].map(
    (candidate, index): PlannedMessage => ({
      ...candidate,
      id: `m${index}`,
      asOf: asOfOf(candidate),
      reportLocation: options.reportLocation,
      cap,
      listed: config.digestMaxAlerts,
    }),
  );
  return {
    messages,
    alerts: alerts.map((alert) => {
      const reason = why.get(alert);
      return reason === undefined
        ? { ...alert, notify: true }
        : { ...alert, notify: false, heldBack: reason };
    }),
  };
}

/**
 * The candidates that go out within the cap, and one held-back summary per team for the rest, the
 * summaries counted in the cap: the most candidates k such that k plus the number of teams among the
 * others is at most the cap. When even the summaries alone exceed the cap, the teams whose held alerts
 * come first in priority order get one.
 */
function withinCap(
  candidates: readonly Candidate[],
  cap: number,
): { sent: readonly Candidate[]; heldBack: readonly Candidate[] } {
  if (candidates.length <= cap) return { sent: candidates, heldBack: [] };
  for (let k = cap - 1; k >= 0; k--) {
    const summaries = heldBackSummaries(candidates.slice(k));
    if (k + summaries.length <= cap) return { sent: candidates.slice(0, k), heldBack: summaries };
  }
  return { sent: [], heldBack: heldBackSummaries(candidates).slice(0, cap) };
}

/** One summary per team of what `rest` holds, teams in the order their first held message came. */
function heldBackSummaries(rest: readonly Candidate[]): Candidate[] {
  const teams = new Map<string, Alert[]>();
  for (const candidate of rest) {
    teams.set(candidate.team, [...(teams.get(candidate.team) ?? []), ...candidate.alerts]);
  }
  return [...teams].map(([team, held]) => ({
    kind: 'held_back',
    severity: held.reduce<Severity>(
      (top, a) => (SEVERITY_RANK[a.severity] > SEVERITY_RANK[top] ? a.severity : top),
      'WARNING',
    ),
    team,
    alerts: held,
    records: [],
  }));
}

/** Why a message's alerts stay unsent when its publish failed for good. */
export function publishFailedReason(code: string): string {
  return `publish failed: ${code}`;
}

/** What a plan comes to once its messages were published. */
export interface DeliveryOutcome {
  /** Every alert, as in the plan, but the alerts of a failed message unsent (`publish failed: <code>`). */
  readonly alerts: readonly NotifiedAlert[];
  /** The messages that were published. */
  readonly published: readonly PlannedMessage[];
  /** The messages whose publish failed, with the error code. */
  readonly failed: readonly { readonly message: PlannedMessage; readonly code: string }[];
  /** The state of the published messages only: a failed message's alerts go out again next run. */
  readonly records: readonly StateWrite[];
}

/** Settles a plan with the ids of the messages whose publish failed and their codes (none: all published). */
export function settleDelivery(
  plan: DeliveryPlan,
  failures: ReadonlyMap<string, string> = new Map(),
): DeliveryOutcome {
  const published = plan.messages.filter((message) => !failures.has(message.id));
  const failed = plan.messages.flatMap((message) => {
    const code = failures.get(message.id);
    return code === undefined ? [] : [{ message, code }];
  });
  const unsent = new Map<string, string>();
  for (const { message, code } of failed) {
    // A failed held-back summary sends nothing anyway: its alerts stay held back by the cap.
    if (message.kind === 'held_back') continue;
    for (const alert of message.alerts) unsent.set(alertKey(alert), publishFailedReason(code));
  }
  return {
    alerts: plan.alerts.map((alert) => {
      const reason = alert.notify ? unsent.get(alertKey(alert)) : undefined;
      return reason === undefined ? alert : { ...alert, notify: false, heldBack: reason };
    }),
    published,
    failed,
    records: published.flatMap((message) => message.records),
  };
}
