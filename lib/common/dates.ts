/** `isoDate` (YYYY-MM-DD) moved by `days` (negative: earlier), as YYYY-MM-DD; calendar days in UTC. */
export function addDays(isoDate: string, days: number): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** The billing period (YYYY-MM, UTC) `months` months before the one `now` is in: 0 is `now`'s own. */
export function billingPeriodMonthsBefore(now: Date, months: number): string {
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 1));
  return `${first.getUTCFullYear()}-${String(first.getUTCMonth() + 1).padStart(2, '0')}`;
}
