import type { ReportAlert, ReportMonth } from '../report-data.ts';

/**
 * What a section of the page draws from: one month of the report with the run's currency and alerts, so
 * that switching months draws the same sections from another month.
 */
export type MonthView = ReportMonth & {
  readonly currency: string;
  readonly alerts: readonly ReportAlert[];
  /** The month before, when the run holds it. */
  readonly previous: ReportMonth | null;
};
