/**
 * `npm run bench` (last part), or alone: `npx tsx bench/alerts.bench.ts`. The alerts of a demo month
 * (the generator and showcase of `cpc demo`) of 5,000 customers: the month is generated and run locally
 * once and kept in `.bench-data/`; then `evaluateAlerts` is timed on its results (median of a few runs),
 * and its alerts go through the delivery planner and the PublishBatch publisher against a mocked SNS
 * that counts the calls. Target: at most `maxMessagesPerRun` messages in at most 3 PublishBatch calls.
 * Sizes: BENCH_ALERTS_CUSTOMERS (5000), BENCH_ALERTS_LINE_ITEMS (400000).
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { DEFAULT_ALERT_CONFIG } from '../lib/alerts/alert-config.ts';
import { renderMessage } from '../lib/alerts/alert-message.ts';
import { planDelivery, settleDelivery } from '../lib/alerts/delivery.ts';
import { defaultAsOf, evaluateAlerts } from '../lib/alerts/evaluate-alerts.ts';
import { snsBatchPublisher } from '../lib/alerts/sns-publisher.ts';
import { DuckDbEngine } from '../lib/engine/duckdb-engine.ts';
import { runDemo } from '../lib/local/demo.ts';
import { loadRunResults } from '../lib/local/query-command.ts';
import { REPORT_FILE } from '../lib/local/run-local.ts';

const CUSTOMERS = Number(process.env.BENCH_ALERTS_CUSTOMERS ?? 5_000);
const LINE_ITEMS = Number(process.env.BENCH_ALERTS_LINE_ITEMS ?? 400_000);
const SEED = 42;
const MONTH = '2026-10';
const RUNS = 5;
const MAX_CALLS = 3;
const DATA_DIR = resolve('.bench-data', `alerts-${MONTH}-${LINE_ITEMS}-${CUSTOMERS}-${SEED}`);
const OUT = join(DATA_DIR, 'out');
const COMPLETE = join(DATA_DIR, 'complete');

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function main(): Promise<void> {
  if (!existsSync(COMPLETE)) {
    const started = performance.now();
    rmSync(DATA_DIR, { recursive: true, force: true });
    await runDemo({ outDir: OUT, seed: SEED, customers: CUSTOMERS, lineItems: LINE_ITEMS, month: MONTH });
    writeFileSync(COMPLETE, '');
    console.log(`demo month generated and run in ${Math.round(performance.now() - started)} ms`);
  }

  const engine = await DuckDbEngine.create();
  try {
    await loadRunResults(engine, OUT);
    const asOf = await defaultAsOf(engine);
    if (asOf === null) throw new Error('the bench month has no usage days');
    const config = DEFAULT_ALERT_CONFIG;
    const timings: number[] = [];
    let alerts = await evaluateAlerts(engine, asOf, config);
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      alerts = await evaluateAlerts(engine, asOf, config);
      timings.push(performance.now() - started);
    }

    // No sent state: a first run, which sends the most (every due alert and each team's weekly digest).
    const sns = mockClient(SNSClient);
    sns.on(PublishBatchCommand).callsFake(async (input) => ({
      Successful: (input.PublishBatchRequestEntries ?? []).map((entry: { Id: string }) => ({
        Id: entry.Id,
        MessageId: `bench-${entry.Id}`,
      })),
      Failed: [],
    }));
    const planStarted = performance.now();
    const plan = planDelivery(
      alerts,
      {},
      {
        now: new Date(`${asOf}T06:00:00Z`),
        config,
        reportLocation: join(OUT, REPORT_FILE),
      },
    );
    const published = await snsBatchPublisher(
      new SNSClient({ region: 'us-east-1' }),
      'arn:aws:sns:us-east-1:111122223333:bench',
    )(plan.messages.map((message) => renderMessage(message)));
    const outcome = settleDelivery(plan, published.failed);
    const deliveryMs = performance.now() - planStarted;
    const calls = sns.commandCalls(PublishBatchCommand).length;
    sns.restore();

    const kinds = new Map<string, number>();
    for (const message of outcome.published) kinds.set(message.kind, (kinds.get(message.kind) ?? 0) + 1);
    const sent = outcome.alerts.filter((alert) => alert.notify).length;
    console.log(`alerts bench: ${CUSTOMERS} customers, ${LINE_ITEMS} line items, as of ${asOf}`);
    console.log(`  alerts evaluated        ${alerts.length} (${sent} sent, ${alerts.length - sent} held)`);
    console.log(
      `  messages                ${outcome.published.length} (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')})`,
    );
    console.log(`  PublishBatch calls      ${calls}`);
    console.log(`  evaluation ms           ${Math.round(median(timings))} (median of ${RUNS})`);
    console.log(`  plan + publish ms       ${Math.round(deliveryMs)}`);
    const met = outcome.published.length <= config.maxMessagesPerRun && calls <= MAX_CALLS;
    console.log(
      `  target (<= ${config.maxMessagesPerRun} messages in <= ${MAX_CALLS} calls): ${met ? 'met' : 'NOT met'}`,
    );
  } finally {
    engine.close();
  }
}

await main();
