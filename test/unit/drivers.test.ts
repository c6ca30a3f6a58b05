import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkFixedCustomers,
  driverLabel,
  driverMetrics,
  driverParts,
} from '../../lib/attribution/drivers.ts';
import { parseRules } from '../../lib/attribution/rules.ts';
import { InputError } from '../../lib/inputs/input-error.ts';

/** The parsed driver key of a one-rule file whose rule is `{id, match: {}, driver}`. */
function driverOf(driver: unknown, id = 'shared'): string {
  const rules = parseRules({ version: '1', rules: [{ id, match: {}, driver }] }, 'rules.json');
  const [rule] = rules.rules;
  if (rule?.driver === undefined) throw new Error('no driver');
  return rule.driver;
}

describe('driver forms and their labels (docs/attribution.md 1.4 and 4)', () => {
  it.each([
    ['requests', 'requests'],
    [{ metric: 'requests', windowDays: 1 }, 'requests'],
    [{ metric: 'requests', windowDays: 7 }, 'requests/7d'],
    [{ weights: { requests: 0.7, storage_bytes: 0.3 } }, 'weights(requests=0.7,storage_bytes=0.3)'],
    // Parts keep the rules file's order, not an alphabetical one.
    [
      { weights: { storage_bytes: 0.25, even: 0.5, mrr: 0.25 } },
      'weights(storage_bytes=0.25,even=0.5,mrr=0.25)',
    ],
    [{ fixed: { acme: 0.5, beta: 0.5 } }, 'fixed'],
    ['mrr', 'mrr'],
    ['even', 'even'],
  ])('%j is labelled %s', (driver, label) => {
    expect(driverLabel(driverOf(driver))).toBe(label);
  });

  it('makes "requests" and a one-day window of requests the same driver', () => {
    expect(driverOf({ metric: 'requests', windowDays: 1 })).toBe(driverOf('requests'));
  });

  it('cuts a blend into its parts with their weights; any other driver is its own part', () => {
    expect(driverParts(driverOf({ weights: { requests: 0.7, mrr: 0.3 } }))).toEqual([
      ['requests', 0.7],
      ['mrr', 0.3],
    ]);
    expect(driverParts(driverOf({ metric: 'requests', windowDays: 3 }))).toEqual([
      [driverOf({ metric: 'requests', windowDays: 3 }), 1],
    ]);
  });

  it('names the telemetry metrics each driver shares by, for the warnings about missing telemetry', () => {
    expect(driverMetrics(driverOf('requests'))).toEqual(['requests']);
    expect(driverMetrics(driverOf({ metric: 'api_calls', windowDays: 7 }))).toEqual(['api_calls']);
    expect(driverMetrics(driverOf({ weights: { requests: 0.5, even: 0.25, storage_bytes: 0.25 } }))).toEqual([
      'requests',
      'storage_bytes',
    ]);
    expect(
      [driverOf('even'), driverOf('mrr'), driverOf({ fixed: { a: 1 } })].map((d) => driverMetrics(d)),
    ).toEqual([[], [], []]);
  });

  it('accepts weights and shares that sum to 1 within 1e-9 (0.1 + 0.2 + 0.7 is 1.0000000000000002)', () => {
    expect(driverLabel(driverOf({ weights: { requests: 0.1, storage_bytes: 0.2, even: 0.7 } }))).toBe(
      'weights(requests=0.1,storage_bytes=0.2,even=0.7)',
    );
    expect(driverLabel(driverOf({ fixed: { a: 0.1, b: 0.2, c: 0.7 } }))).toBe('fixed');
  });
});

describe('rules-file errors for drivers (docs/attribution.md 6.1), naming the rule and the field', () => {
  it.each([
    [
      { weights: { requests: 0.5, storage_bytes: 0.4 } },
      'rules.0.driver.weights (rule "shared"): the weights must sum to 1 (within 1e-9), they sum to 0.9',
    ],
    [
      { weights: { requests: 1, even: 0 } },
      'rules.0.driver.weights.even (rule "shared"): the weight of "even" must be a number > 0, got 0',
    ],
    [
      { weights: { requests: 1.2, even: -0.2 } },
      'rules.0.driver.weights.even (rule "shared"): the weight of "even" must be a number > 0, got -0.2',
    ],
    [
      { weights: { requests: 0.5, inner: { weights: { even: 1 } } } },
      'rules.0.driver.weights.inner (rule "shared"): a blend cannot be nested',
    ],
    [
      { weights: { 'two words': 1 } },
      'rules.0.driver.weights.two words (rule "shared"): "two words" is not a part a blend can have',
    ],
    [
      { metric: 'requests', windowDays: 0 },
      'rules.0.driver.windowDays (rule "shared"): windowDays must be 1 to 31',
    ],
    [
      { metric: 'requests', windowDays: 32 },
      'rules.0.driver.windowDays (rule "shared"): windowDays must be 1 to 31',
    ],
    [
      { metric: 'requests', windowDays: 2.5 },
      'rules.0.driver.windowDays (rule "shared"): windowDays must be a whole number of days, 1 to 31',
    ],
    [
      { fixed: { acme: 0.5, beta: 0.6 } },
      'rules.0.driver.fixed (rule "shared"): the shares must sum to 1 (within 1e-9), they sum to 1.1',
    ],
    [
      { fixed: { acme: 1, beta: 0 } },
      'rules.0.driver.fixed.beta (rule "shared"): the share of "beta" must be a number > 0, got 0',
    ],
    [{ fixed: {} }, 'rules.0.driver.fixed (rule "shared"): at least one share is needed'],
    [
      { split: { acme: 1 } },
      'rules.0.driver (rule "shared"): a driver is a metric name, "even", "mrr", or an object',
    ],
  ])('refuses %j', (driver, message) => {
    expect(() => driverOf(driver)).toThrow(InputError);
    expect(() => driverOf(driver)).toThrow(`rules.json, column "${message.split(' (rule')[0]}": ${message}`);
  });

  it('refuses a fixed split naming a customer the customer dimension lacks, naming the id', () => {
    const rules = parseRules(
      {
        version: '1',
        rules: [
          { id: 'even-rest', match: { services: ['AmazonS3'] }, driver: 'even' },
          { id: 'contract', match: {}, driver: { fixed: { acme: 0.5, acne: 0.5 } } },
        ],
      },
      'rules.json',
    );
    expect(() => checkFixedCustomers(rules.rules, new Set(['acme', 'beta']), 'rules.json')).toThrow(
      'rules.json, column "rules.1.driver.fixed.acne": rule "contract": the fixed split names customer "acne",' +
        ' which the customer dimension does not have',
    );
    expect(() => checkFixedCustomers(rules.rules, new Set(['acme', 'acne']), 'rules.json')).not.toThrow();
  });
});

describe("README's rules example", () => {
  it('is a valid rules file using every driver form, with the labels the docs give', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Allocation rules'));
    const block = /```json\n([\s\S]*?)```/.exec(section)?.[1];
    const rules = parseRules(JSON.parse(block ?? 'null'), 'README.md');
    expect(rules.rules.map((rule) => (rule.driver === undefined ? null : driverLabel(rule.driver)))).toEqual([
      null,
      'requests',
      'storage_bytes',
      'weights(search_queries=0.7,storage_bytes=0.3)',
      'requests/7d',
      'fixed',
      'mrr',
      'even',
    ]);
  });
});
