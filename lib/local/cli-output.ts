/*
 * What the cpc CLI writes and how it ends: results on stdout only, everything else on stderr, one exit
 * code per kind of failure, and a quiet end when the reader of stdout goes away (`cpc ... | head`).
 */
import { CommanderError } from 'commander';
import type { NotifiedAlert } from '../alerts/alert.ts';
import type { BillingFormatName } from '../attribution/billing-formats.ts';
import { ConservationError, InvalidLineItemsError, InvalidTelemetryError } from '../attribution/stages.ts';
import { InputError } from '../inputs/input-error.ts';
import { EXIT_CODES } from './cli-options.ts';
import type { CsvTwins, LocalMessage, LocalRunResult } from './run-local.ts';
import type { RunSummary } from './run-summary.ts';

/** The stream surface the CLI writes to: process.stdout / process.stderr, or a fake in tests. */
export interface TextSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * The exit code for an error that ended a command: {@link EXIT_CODES.badInput} for bad input and
 * failed checks, {@link EXIT_CODES.usage} for commander's parse errors (its help and version "errors"
 * are successes), {@link EXIT_CODES.internal} for anything else.
 */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  if (
    error instanceof InputError ||
    error instanceof ConservationError ||
    error instanceof InvalidLineItemsError ||
    error instanceof InvalidTelemetryError
  ) {
    return EXIT_CODES.badInput;
  }
  return EXIT_CODES.internal;
}

/**
 * Tells the person at the terminal why the command failed, on `stderr`, and returns the exit code.
 * Commander has already printed its own errors. Bad input is one line (it names file, column and row);
 * an internal error says so. The stack follows either only with `CPC_DEBUG=1`: it helps whoever debugs
 * cpc, not whoever fixes an input.
 */
export function reportError(error: unknown, stderr: TextSink, env: NodeJS.ProcessEnv = process.env): number {
  const code = exitCodeOf(error);
  if (error instanceof CommanderError) return code;
  const message = error instanceof Error ? error.message : String(error);
  stderr.write(code === EXIT_CODES.internal ? `cpc: internal error: ${message}\n` : `cpc: ${message}\n`);
  if (env.CPC_DEBUG === '1' && error instanceof Error && error.stack !== undefined) {
    stderr.write(`${error.stack}\n`);
  }
  return code;
}

/**
 * Makes a closed stdout or stderr end the output quietly instead of crashing with an unhandled EPIPE
 * error and its stack: `cpc query ... | head -1` is a normal way to look at a result. Whatever the
 * command still writes to the closed stream is dropped; the exit code stays that of the command.
 */
export function endQuietlyOnClosedPipe(
  streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr],
) {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
      throw error;
    });
  }
}

/** Writes `text` to stdout as one line (a trailing newline is added when missing). */
export function printResult(text: string, stdout: TextSink = process.stdout): void {
  // A destroyed stream (reader gone) would report ERR_STREAM_DESTROYED for every later write.
  if ((stdout as Partial<NodeJS.WriteStream>).destroyed === true) return;
  stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** The JSON document of `cpc run --json` (and `cpc demo --json`): one object on stdout. */
export interface RunDocument {
  readonly runId: string;
  readonly rulesVersion: string;
  readonly costBasis: string;
  /** The first billing source's format; {@link formats} has every source's. */
  readonly format: BillingFormatName;
  readonly formats: readonly BillingFormatName[];
  /** The currency of every amount (docs/attribution.md 1.1: one per run), for presenting money. */
  readonly currency: string;
  /** The alert evaluation day, null for a run without usage days. */
  readonly asOf: string | null;
  /** Headline figures over all days, unrounded. */
  readonly summary: RunSummary;
  /** Rows of each output, by its CSV file name. */
  readonly rowCounts: Readonly<Record<string, number>>;
  /** The CSV row limit and the outputs written only as Parquet. */
  readonly csvTwins: CsvTwins;
  /** Absolute output directory. */
  readonly outDir: string;
  readonly alerts: readonly NotifiedAlert[];
  /** The messages the run would send (messages.json). */
  readonly messages: readonly LocalMessage[];
  /** Problems that did not stop the run. Always present, so readers need no existence check. */
  readonly warnings: readonly string[];
}

/** The {@link RunDocument} of a finished run. */
export function runDocument(result: LocalRunResult): RunDocument {
  return {
    runId: result.runId,
    rulesVersion: result.rules.version,
    costBasis: result.rules.costBasis,
    format: result.format,
    formats: result.formats,
    currency: result.currency,
    asOf: result.asOf,
    summary: result.summary,
    rowCounts: result.rowCounts,
    csvTwins: result.csvTwins,
    outDir: result.outDir,
    alerts: result.alerts,
    messages: result.messages,
    warnings: result.warnings,
  };
}

/**
 * Progress lines for long steps, `  12.3s  attributing`, on `stderr` when it is a terminal; undefined
 * otherwise, so pipes, logs and tests see nothing. Call the result with each phase as it starts, and
 * with `done` at the end.
 */
export function progressReporter(
  stderr: TextSink,
  now: () => number = () => performance.now(),
): ((phase: string) => void) | undefined {
  if (stderr.isTTY !== true) return undefined;
  const started = now();
  return (phase) => {
    const seconds = ((now() - started) / 1000).toFixed(1);
    stderr.write(`${seconds.padStart(7)}s  ${phase}\n`);
  };
}

/** Writes each warning of a run on `stderr` as `cpc: warning: ...`, so that stdout stays the result. */
export function printWarnings(warnings: readonly string[], stderr: TextSink = process.stderr): void {
  for (const warning of warnings) stderr.write(`cpc: warning: ${warning}\n`);
}
