/*
 * Option conventions of the cpc CLI that commander does not provide: every missing required option
 * reported in one message (commander stops at the first), "(required)" in the help, aliases kept for
 * renamed options, and parsers that turn a bad option value into a usage error.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { isIsoDate } from '../inputs/customers.ts';

/** The process exit codes of cpc (see the help of `cpc`). */
export const EXIT_CODES = {
  /** Success, warnings allowed. */
  ok: 0,
  /** Bad input or a failed check: the message says what to fix. */
  badInput: 1,
  /** The command line itself is wrong: unknown option or command, bad value, missing option. */
  usage: 2,
  /** A bug or an environment problem: anything else. */
  internal: 3,
} as const;

const requiredOptions = new WeakSet<Option>();
/** Alias option -> the option it stands for. */
const aliasTargets = new WeakMap<Option, Option>();

/**
 * An option the command cannot run without. Unlike commander's `requiredOption`, which stops at the
 * first one missing, {@link checkOptions} reports all the missing ones together, so a person fixes
 * the command line once.
 */
export function requiredOption(flags: string, description: string): Option {
  const option = new Option(flags, `${description} (required)`);
  requiredOptions.add(option);
  return option;
}

/**
 * `alias` stands for `target` (an option's former name, kept so existing scripts work): its value
 * becomes the target's value, and giving both with different values is a usage error.
 */
export function aliasOption(alias: Option, target: Option): Option {
  aliasTargets.set(alias, target);
  return alias;
}

/**
 * Resolves aliases, then reports every missing required option of `command` in one usage error
 * (worded like commander's own errors, which start with "error: ").
 * Meant for a `preAction` hook; `command.error` exits with {@link EXIT_CODES.usage} (or throws a
 * `CommanderError` under `exitOverride`).
 */
export function checkOptions(command: Command): void {
  for (const alias of command.options) {
    const target = aliasTargets.get(alias);
    if (target === undefined) continue;
    const value: unknown = command.getOptionValue(alias.attributeName());
    if (value === undefined) continue;
    const targetValue: unknown = command.getOptionValue(target.attributeName());
    if (targetValue === undefined) {
      command.setOptionValueWithSource(target.attributeName(), value, 'cli');
    } else if (JSON.stringify(targetValue) !== JSON.stringify(value)) {
      command.error(
        `error: options '${target.flags}' and '${alias.flags}' are the same option, given different values`,
        {
          exitCode: EXIT_CODES.usage,
          code: 'cpc.conflictingAlias',
        },
      );
    }
  }
  const missing = command.options.filter(
    (option) => requiredOptions.has(option) && command.getOptionValue(option.attributeName()) === undefined,
  );
  if (missing.length === 0) return;
  const names = missing.map((option) => `'${option.flags}'`);
  command.error(
    missing.length === 1
      ? `error: required option ${names[0]} not specified`
      : `error: required options not specified: ${names.join(', ')}`,
    { exitCode: EXIT_CODES.usage, code: 'cpc.missingRequiredOptions' },
  );
}

/** A commander option parser for an integer in `min..max`; anything else is a usage error. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return parsed;
  };
}

/** A commander option parser for a YYYY-MM-DD day. */
export function isoDate(value: string): string {
  if (!isIsoDate(value)) throw new InvalidArgumentError('expected a date, YYYY-MM-DD');
  return value;
}

/**
 * A commander option parser for `--csv-row-limit`: a number of rows, or `none` for no limit (kept as
 * the word: commander takes a parser's null for a missing value).
 */
export function rowLimit(value: string): number | 'none' {
  if (value === 'none') return value;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(parsed) || parsed < 0) {
    throw new InvalidArgumentError('expected a number of rows, or none');
  }
  return parsed;
}

/** A commander option parser for a DuckDB memory size: a number and a unit (`2GB`, `512MiB`). */
export function memorySize(value: string): string {
  if (!/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(value.trim())) {
    throw new InvalidArgumentError('expected a size such as 2GB or 512MiB');
  }
  return value.trim();
}
