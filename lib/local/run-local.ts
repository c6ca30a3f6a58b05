import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { alertKey, type NotifiedAlert, type Severity } from '../alerts/alert.ts';
import { DEFAULT_ALERT_CONFIG, loadAlertConfig } from '../alerts/alert-config.ts';
import { renderMessage } from '../alerts/alert-message.ts';
import { FileStateStore, type PreparedState } from '../alerts/alert-state.ts';
import { ALERT_TYPES } from '../alerts/alert-types.ts';
import { deliveryStateKeys, type MessageKind, planDelivery, settleDelivery } from '../alerts/delivery.ts';
import { defaultAsOf, evaluateAlerts, ruleOwnersOf } from '../alerts/evaluate-alerts.ts';
import { BILLING_FORMATS, type BillingFormatName } from '../attribution/billing-formats.ts';
import { checkFixedCustomers } from '../attribution/drivers.ts';
import { type AllocationRules, defaultRules, loadRulesFile, tagRequest } from '../attribution/rules.ts';
import { billingSources, InvalidLineItemsError, runAttribution } from '../attribution/stages.ts';
import { DuckDbEngine, type DuckDbEngineOptions } from '../engine/duckdb-engine.ts';
import { isIsoDate } from '../inputs/customers.ts';
import { InputError } from '../inputs/input-error.ts';
import { renderReportHtml } from '../report/render-report.ts';
import { buildReportData, defaultReportPeriod, reportPeriodsOf } from '../report/report-data.ts';
import { defineCustomers } from './customers-table.ts';
import { expandInput } from './input-files.ts';
import {
  defineBillingSources,
  defineTelemetry,
  type LocalBilling,
  locateBadBillingValue,
} from './local-sources.ts';
import {
  CSV_OUTPUTS,
  checkOutDir,
  DEFAULT_CSV_ROW_LIMIT,
  discardStaged,
  publishStaged,
  stagingDirectory,
  writeCsv,
  writeJson,
  writeParquet,
} from './output-files.ts';
import { type RunSummary, summarizeRun } from './run-summary.ts';
import { runWarnings } from './run-warnings.ts';

export interface LocalRunOptions {
  /** Billing files: paths, directories or globs. */
  readonly billing: readonly string[];
  /** Billing format; detected from the columns when omitted. */
  readonly format?: BillingFormatName;
  /** Telemetry files: paths, directories or globs. */
  readonly telemetry: readonly string[];
  /** Customer dimension CSV. */
  readonly customers: string;
  /** Rules JSON file. @default the shipped default rules */
  readonly rulesFile?: string;
  /** Evaluation day for alerts (YYYY-MM-DD). @default the latest usage day minus one */
  readonly asOf?: string;
  /** Alert thresholds, routing and renotify period (JSON). @default the thresholds of docs/alerts.md */
  readonly alertsConfigFile?: string;
  /**
   * Sent state file (alerts and digests): what it says was sent is not sent again (docs/alerts.md
   * "Delivery and noise"), and the file is written beside itself before the results are switched in,
   * and renamed into place after. @default no state (nothing was sent before: every due alert and
   * digest goes out, weekly digests included)
   */
  readonly stateFile?: string;
  /**
   * Output directory; replaced as a whole only when the run succeeds, and only when it is absent, empty
   * or a previous result (see {@link checkOutDir}: anything else is refused before any work).
   */
  readonly outDir: string;
  /** @default a fresh time-ordered id */
  readonly runId?: string;
  readonly engine?: DuckDbEngineOptions;
  /**
   * The most rows a CSV output may have; a bigger one is written only as its Parquet twin (which every
   * output always has, and which `cpc query` reads), and run.json and the summary say so. null: every
   * CSV, however large. @default {@link DEFAULT_CSV_ROW_LIMIT}
   */
  readonly csvRowLimit?: number | null;
  /**
   * Called as each long phase starts: `reading inputs`, `attributing`, `evaluating alerts`, `writing
   * outputs`, `writing report`, in that order (the CLI shows them on a terminal). @default none
   */
  readonly onProgress?: (phase: string) => void;
}

export interface LocalRunResult {
  readonly runId: string;
  readonly outDir: string;
  /** The first source's format (a run of one format: its format). */
  readonly format: BillingFormatName;
  /** Every source's format, in source order (docs/attribution.md 1.1: several sources in one run). */
  readonly formats: readonly BillingFormatName[];
  /** The currency of every amount of the run (ISO 4217 code as the billing data writes it; USD when absent). */
  readonly currency: string;
  readonly rules: AllocationRules;
  readonly summary: RunSummary;
  /** Alerts that fire as of `asOf`, with whether the run sends each, and if not why (`heldBack`). */
  readonly alerts: readonly NotifiedAlert[];
  /** The messages the run would publish (written to messages.json), in publishing order. */
  readonly messages: readonly LocalMessage[];
  readonly asOf: string | null;
  /** Rows of each output, by its CSV file name (its Parquet twin has the same rows). */
  readonly rowCounts: Readonly<Record<string, number>>;
  /** The run's CSV row limit (null: none) and the CSV outputs it left to their Parquet twins. */
  readonly csvTwins: CsvTwins;
  /** Milliseconds spent in each phase. */
  readonly timings: Readonly<Record<string, number>>;
  /**
   * Signs that the results are probably wrong though the input is valid (see {@link runWarnings}),
   * also written to run.json; empty for a clean run.
   */
  readonly warnings: readonly string[];
}

/** A message a local run would publish, as messages.json holds it. */
export interface LocalMessage {
  readonly kind: MessageKind;
  readonly severity: Severity;
  readonly team: string;
  /** The title as the email writes it. */
  readonly title: string;
  /** The alerts it carries, `type|subject`, ranked as it lists them. */
  readonly alerts: readonly string[];
  /** The email text subscribers would get. */
  readonly email: string;
}

/** What run.json says of the CSV twins: the limit, and every output written only as Parquet. */
export interface CsvTwins {
  readonly rowLimit: number | null;
  readonly notWritten: ReadonlyArray<{ readonly file: string; readonly rows: number }>;
}

/** The file of the messages a local run would send. */
export const MESSAGES_FILE = 'messages.json';

function prefixed(prefix: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [`${prefix}${key}`, value]));
}

/** A run id that sorts by time: 20261123T152004Z-1a2b3c. */
export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * Refuses an `--as-of` outside the days the billing data covers: alerts would look at days without
 * cost and find nothing, which reads as "all is well". A run without billing days has nothing to check.
 */
async function checkAsOfInBill(engine: DuckDbEngine, asOf: string): Promise<void> {
  const [days] = await engine.query(
    'SELECT CAST(min(usage_date) AS VARCHAR) AS first_day, CAST(max(usage_date) AS VARCHAR) AS last_day' +
      ' FROM daily_summary',
  );
  const first = days?.first_day ? String(days.first_day) : null;
  const last = days?.last_day ? String(days.last_day) : null;
  if (first === null || last === null || (asOf >= first && asOf <= last)) return;
  throw new InputError(`${asOf} is outside the days the billing data covers (${first} to ${last})`, {
    file: '--as-of',
  });
}

/** The HTML report of a run, in its output directory. */
export const REPORT_FILE = 'report.html';

/**
 * The whole local pipeline: validate and load the inputs, run the attribution SQL on DuckDB, check
 * conservation, then replace `outDir` with the new results. Any failure leaves `outDir` as it was.
 * The results include {@link REPORT_FILE}, the HTML report of the latest billing period with at least 7
 * days of data, else the latest (`defaultReportPeriod`; the other periods are only named in its header),
 * or of no period for a run without billing data.
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  if (options.asOf !== undefined && !isIsoDate(options.asOf)) {
    throw new InputError(`"${options.asOf}" is not a date (YYYY-MM-DD)`, { file: '--as-of' });
  }
  const rules = options.rulesFile ? loadRulesFile(options.rulesFile) : defaultRules();
  const alertConfig = options.alertsConfigFile
    ? loadAlertConfig(options.alertsConfigFile)
    : DEFAULT_ALERT_CONFIG;
  const stateStore = options.stateFile ? new FileStateStore(options.stateFile) : null;
  stateStore?.checkFolder();
  // Every path the run reads, so that --out, deleted as a whole at the switch, can never hold one.
  const inputs = [
    ...options.billing,
    ...options.telemetry,
    options.customers,
    ...[options.rulesFile, options.alertsConfigFile, options.stateFile].filter(
      (path): path is string => path !== undefined,
    ),
  ];
  checkOutDir(options.outDir, inputs);
  const runId = options.runId ?? newRunId();
  const timings: Record<string, number> = {};
  const timed = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      timings[phase] = Math.round(performance.now() - started);
    }
  };

  const engine = await DuckDbEngine.create(options.engine);
  let billingInputs: LocalBilling | undefined;
  try {
    options.onProgress?.('reading inputs');
    let telemetryFiles: string[] = [];
    const billing = await timed('inputs', async () => {
      const customers = await defineCustomers(engine, options.customers);
      checkFixedCustomers(
        rules.rules,
        new Set(customers.map((customer) => customer.customerId)),
        options.rulesFile ?? 'default-rules.json',
      );
      await defineTelemetry(engine, options.telemetry);
      // The same expansion the telemetry loader made, for run.json's sources.
      telemetryFiles = (
        await Promise.all(options.telemetry.map((input) => expandInput(input, 'telemetry')))
      ).flat();
      billingInputs = await defineBillingSources(engine, options.billing, options.format, tagRequest(rules));
      return billingInputs;
    });
    const formats = billing.sources.map((source) => source.format);
    options.onProgress?.('attributing');
    const stageTimings = await timed('attribution', async () => {
      try {
        return await runAttribution(engine, {
          runId,
          rules,
          sources: billingSources(...formats.map((format) => BILLING_FORMATS[format])),
        });
      } catch (error) {
        if (error instanceof InvalidLineItemsError) await locateBadBillingValue(billing);
        throw error;
      }
    });
    const summary = await summarizeRun(engine);
    const warnings = [
      ...billing.selection.warnings,
      ...(await runWarnings(engine, rules, billing.sources, options.rulesFile !== undefined)),
    ];
    options.onProgress?.('evaluating alerts');
    if (options.asOf !== undefined) await checkAsOfInBill(engine, options.asOf);
    const asOf = options.asOf ?? (await defaultAsOf(engine));
    const firing =
      asOf === null
        ? []
        : await timed('alerts', () =>
            evaluateAlerts(engine, asOf, alertConfig, ALERT_TYPES, ruleOwnersOf(rules.rules)),
          );
    // Locally, "publishing" is writing alerts.json and messages.json: it cannot fail on its own, and the
    // state records what the messages carried once they are in place. The same plan as deployed.
    const now = new Date();
    const sentState = stateStore ? await stateStore.load(deliveryStateKeys(firing)) : {};
    const plan = planDelivery(firing, sentState, {
      now,
      config: alertConfig,
      reportLocation: join(resolve(options.outDir), REPORT_FILE),
    });
    const delivery = settleDelivery(plan);
    const alerts = delivery.alerts;
    const messages: LocalMessage[] = delivery.published.map((message) => {
      const { title, email } = renderMessage(message);
      return {
        kind: message.kind,
        severity: message.severity,
        team: message.team,
        title,
        alerts: message.alerts.map(alertKey),
        email,
      };
    });
    const staging = stagingDirectory(options.outDir, runId);
    const rowCounts: Record<string, number> = {};
    const csvRowLimit = options.csvRowLimit === undefined ? DEFAULT_CSV_ROW_LIMIT : options.csvRowLimit;
    const notWritten: { file: string; rows: number }[] = [];
    let preparedState: PreparedState | undefined;
    try {
      options.onProgress?.('writing outputs');
      await timed('outputs', async () => {
        for (const output of CSV_OUTPUTS) {
          // The Parquet twin first: its COPY counts the rows, which decide whether the CSV is written.
          const parquet = join(staging, output.file.replace(/\.csv$/, '.parquet'));
          const rows = await writeParquet(engine, output.table, parquet);
          rowCounts[output.file] = rows;
          if (csvRowLimit === null || rows <= csvRowLimit) {
            await writeCsv(engine, output, join(staging, output.file));
          } else {
            notWritten.push({ file: output.file, rows });
          }
        }
        writeJson(join(staging, 'alerts.json'), alerts);
        writeJson(join(staging, MESSAGES_FILE), messages);
        writeJson(join(staging, 'run.json'), {
          runId,
          rulesVersion: rules.version,
          costBasis: rules.costBasis,
          tenantTagKey: rules.tenantTagKey,
          currency: billing.currency,
          format: formats[0],
          formats,
          billingFiles: billing.selection.read,
          sources: {
            billing: {
              read: billing.selection.read,
              byFormat: billing.sources.map((source) => ({
                format: source.format,
                table: source.table,
                files: source.shownFiles,
              })),
              manifests: billing.selection.manifests,
              skipped: billing.selection.skipped,
            },
            telemetry: telemetryFiles,
            customers: resolve(options.customers),
          },
          asOf,
          conservation: 'holds',
          summary,
          rowCounts,
          csvTwins: { rowLimit: csvRowLimit, notWritten },
          warnings,
        });
      });
      options.onProgress?.('writing report');
      await timed('report', async () => {
        const periods = await reportPeriodsOf(engine);
        const data = await buildReportData(engine, {
          billingPeriods: periods.map((period) => period.billingPeriod),
          defaultPeriod: defaultReportPeriod(periods),
          runId,
          rulesVersion: rules.version,
          costBasis: rules.costBasis,
          alerts,
          alertsAsOf: asOf,
          unitCostTargets: alertConfig.unitCostTargets,
          warnings,
        });
        writeFileSync(join(staging, REPORT_FILE), renderReportHtml(data));
      });
      // Everything that can fail is done before the switch: the new state is written beside the old
      // one now and only renamed into place after it, so a failure leaves --out and the state as they were.
      preparedState = stateStore?.prepare(delivery.records);
      publishStaged(staging, options.outDir);
      preparedState?.commit();
    } catch (error) {
      preparedState?.discard();
      discardStaged(staging);
      throw error;
    }
    return {
      runId,
      outDir: resolve(options.outDir),
      format: formats[0] as BillingFormatName,
      formats,
      currency: billing.currency,
      rules,
      summary,
      alerts,
      messages,
      asOf,
      rowCounts,
      csvTwins: { rowLimit: csvRowLimit, notWritten },
      timings: { ...timings, ...prefixed('attribution.', stageTimings) },
      warnings,
    };
  } finally {
    billingInputs?.close();
    engine.close();
  }
}
