/** `isoDate` (YYYY-MM-DD) moved by `days` (negative: earlier), as YYYY-MM-DD; calendar days in UTC. */
export function addDays(isoDate: string, days: number): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}
