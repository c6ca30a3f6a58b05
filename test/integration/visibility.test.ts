import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  AlreadyExistsException,
  CreatePartitionCommand,
  DeletePartitionCommand,
  DeleteTableCommand,
  EntityNotFoundException,
  GetPartitionCommand,
  GetTableCommand,
  GlueClient,
  type PartitionInput,
} from '@aws-sdk/client-glue';
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAlertConfig } from '../../lib/alerts/alert-config.ts';
import { unattributedShare } from '../../lib/alerts/types/unattributed_share.ts';
import { RESULT_TABLES } from '../../lib/attribution/stages.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { QueryReader } from '../../lib/engine/query-engine.ts';
import { claimRunPeriod } from '../../lib/pipeline/claim-period.ts';
import { cleanupRun } from '../../lib/pipeline/cleanup.ts';
import { evaluateRunAlerts } from '../../lib/pipeline/evaluate-alerts.ts';
import {
  LeaseBusyError,
  type PeriodPointer,
  readPointer,
  servingVersion,
} from '../../lib/pipeline/period-pointer.ts';
import { type PublishRunResult, publishRun } from '../../lib/pipeline/publish-run.ts';
import { PublishedResultsReader } from '../../lib/pipeline/published-results.ts';
import { runsTableName } from '../../lib/pipeline/published-views.ts';
import { writeRunAlerts } from '../../lib/pipeline/run-alerts.ts';
import { publishedImageKey, SUPERSEDED_RUN_TAG } from '../../lib/pipeline/run-contract.ts';
import { runLayout } from '../../lib/pipeline/run-layout.ts';
import { latestReportKey, writeRunReport } from '../../lib/pipeline/write-report.ts';
import { type LocalDynamoDB, startLocalDynamoDB } from '../support/local-dynamodb.ts';

/*
 * Visibility (docs/aws-pipeline.md): two runs of one billing period, interleaved step by step in every
 * order, with failures injected after each step, against a local DynamoDB (dynalite: the pointer, the
 * lease, the serving items), a local S3 (s3rver: the Athena image, the reports, the superseded tags) and
 * an in-memory Glue catalog behind aws-sdk-client-mock (partitions by table and values). Each run goes
 * claim -> stage serving -> publish -> alerts -> report -> cleanup, as the state machine runs it. After
 * every step the visible state must be one run's: pointer run == Athena image run == the registered
 * `_runs` partitions readers join == the serving items the contract's reader rule picks == the run the
 * alerts read; the period's report under reports/ is that run's once the run has written it (before, the
 * previous visible run's); nothing visible is tagged superseded.
 */

const DATABASE = 'cost_per_customer';
const PERIOD = '2026-10';
const DAY = '2026-10-01';
const STEPS = ['claim', 'stage', 'publish', 'alerts', 'report', 'cleanup'] as const;
type Step = (typeof STEPS)[number];

// ---------------------------------------------------------------------------------------------------
// The servers, started once.
let dynamo: LocalDynamoDB;
const directory = mkdtempSync(join(tmpdir(), 'cpc-visibility-'));
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
let s3: S3Client;
let duck: DuckDbEngine;

/** Which run is acting, and the one fault armed for it: clients throw when they meet it. */
interface Fault {
  readonly run: string;
  readonly point: FailurePoint;
  fired: boolean;
}
const world: { actor: string; fault: Fault | undefined } = { actor: '', fault: undefined };

class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
}

function fire(point: FailurePoint): void {
  const fault = world.fault;
  if (fault === undefined || fault.fired || fault.point !== point || fault.run !== world.actor) return;
  fault.fired = true;
  throw new InjectedFault(`injected: ${point} of ${fault.run}`);
}

beforeAll(async () => {
  dynamo = await startLocalDynamoDB();
  const { port } = await server.run();
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  // Fault points reached through the real clients: the flip (DynamoDB), the image and the expiry (S3).
  dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { UpdateExpression?: string };
      if (context.commandName === 'UpdateItemCommand' && input.UpdateExpression?.startsWith('SET run_id')) {
        fire('flip');
      }
      return next(args);
    },
    { step: 'initialize', name: 'visibilityFaults' },
  );
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: string };
      if (context.commandName === 'PutObjectCommand' && input.Key?.startsWith('published/')) fire('image');
      if (context.commandName === 'PutObjectTaggingCommand') fire('expire');
      return next(args);
    },
    { step: 'initialize', name: 'visibilityFaults' },
  );
  duck = await DuckDbEngine.create({ threads: 1, memoryLimit: '256MB' });
  await duck.connection.run(`CREATE SCHEMA ${DATABASE}`);
  await duck.connection.run(
    `CREATE TABLE ${DATABASE}.daily_summary_runs (usage_date DATE, total_cost DOUBLE, direct_cost DOUBLE,
       shared_cost DOUBLE, unattributed_cost DOUBLE, excluded_cost DOUBLE, unattributed_pct DOUBLE,
       currency VARCHAR, rules_version VARCHAR, run_id VARCHAR, billing_period VARCHAR)`,
  );
}, 30_000);

afterAll(async () => {
  s3?.destroy();
  await server.close();
  await dynamo?.close();
  duck?.close();
  rmSync(directory, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------
// Glue: an in-memory catalog holding the four `_runs` tables and their partitions.
const glueMock = mockClient(GlueClient);
const glue = new GlueClient({ region: 'us-east-1' });
let partitions = new Map<string, PartitionInput>();
const partitionKey = (table: string, values: readonly string[]) => `${table}|${values.join('|')}`;

function resetGlue(): void {
  partitions = new Map();
  glueMock.reset();
  glueMock.on(GetTableCommand).callsFake((input: { Name: string }) => ({
    Table: {
      Name: input.Name,
      DatabaseName: DATABASE,
      PartitionKeys: [
        { Name: 'billing_period', Type: 'string' },
        { Name: 'run_id', Type: 'string' },
      ],
      StorageDescriptor: {
        Columns: [{ Name: 'usage_date', Type: 'date' }],
        Location: `s3://results/${input.Name}/`,
        InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
        SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
      },
    },
  }));
  glueMock
    .on(CreatePartitionCommand)
    .callsFake((input: { TableName: string; PartitionInput: PartitionInput }) => {
      // The register step fails half-way: two tables registered, the third refused.
      if (input.TableName === runsTableName('unattributed_cost')) fire('register');
      const key = partitionKey(input.TableName, input.PartitionInput.Values ?? []);
      if (partitions.has(key))
        throw new AlreadyExistsException({ message: 'Partition exists', $metadata: {} });
      partitions.set(key, input.PartitionInput);
      return {};
    });
  const notFound = () => new EntityNotFoundException({ message: 'Partition not found', $metadata: {} });
  glueMock.on(GetPartitionCommand).callsFake((input: { TableName: string; PartitionValues: string[] }) => {
    const partition = partitions.get(partitionKey(input.TableName, input.PartitionValues));
    if (partition === undefined) throw notFound();
    return { Partition: partition };
  });
  glueMock.on(DeletePartitionCommand).callsFake((input: { TableName: string; PartitionValues: string[] }) => {
    if (!partitions.delete(partitionKey(input.TableName, input.PartitionValues))) throw notFound();
    return {};
  });
  // The run_* CTAS tables are not modelled: cleanup reports them missing.
  glueMock
    .on(DeleteTableCommand)
    .rejects(new EntityNotFoundException({ message: 'Table not found', $metadata: {} }));
}

/** The run ids of the period registered on a `_runs` table. */
function registeredRuns(table: string): string[] {
  return [...partitions.entries()]
    .filter(([key]) => key.startsWith(`${table}|${PERIOD}|`))
    .map(([, partition]) => partition.Values?.[1] ?? '');
}

// ---------------------------------------------------------------------------------------------------
// One case's world: a fresh serving table and results bucket.
interface Case {
  readonly n: number;
  readonly tableName: string;
  readonly bucket: string;
  /** Alerts sent, with the run that evaluated them and the run the pointer named while it did. */
  readonly sent: { by: string; visible: string | undefined; value: number }[];
  /** Every (period, run) the alert readers read, with whether the pointer named that run then. */
  readonly reads: { run: string; visible: boolean; registered: boolean }[];
}

let cases = 0;
async function newCase(): Promise<Case> {
  cases += 1;
  resetGlue();
  const bucket = `vis-${cases}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    n: cases,
    tableName: await dynamo.createServingTable(`vis-${cases}`),
    bucket,
    sent: [],
    reads: [],
  };
}

interface RunSpec {
  readonly name: string;
  readonly runId: string;
  readonly deliveredAt: string;
  /** Its unattributed share (the one alert the stand-in data raises says which run was read). */
  readonly share: number;
}

const hex = (n: number) => String(n).padStart(24, '0');
function spec(c: Case, name: string, deliveredAt: string, share: number): RunSpec {
  return { name, runId: `${PERIOD}_${name}${c.n}_${hex(c.n)}`, deliveredAt, share };
}

/** What a run's CTAS statements leave before it claims: its Parquet (one object) and its rows. */
async function runStatements(c: Case, run: RunSpec): Promise<void> {
  const location = runLayout(
    { ...run, billingPeriod: PERIOD },
    { database: DATABASE, resultsBucket: c.bucket },
  ).location('daily_summary');
  const key = `${location.replace(`s3://${c.bucket}/`, '')}part-0.parquet`;
  await s3.send(new PutObjectCommand({ Bucket: c.bucket, Key: key, Body: 'PAR1' }));
  // Two days, so the alerts are evaluated as of the first (the last day is still incomplete).
  for (const day of [DAY, '2026-10-02']) {
    await duck.connection.run(
      `INSERT INTO ${DATABASE}.daily_summary_runs VALUES (DATE '${day}', 100, 60, 20, ${100 * run.share}, 0,
         ${run.share}, 'USD', 'rules-1', '${run.runId}', '${PERIOD}')`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// The readers, as the contract says each one reads.

/** The serving reader rule: the greatest version in the pointer's history and <= its version. */
async function servedDay(c: Case, pointer: PeriodPointer | undefined): Promise<string | undefined> {
  if (pointer?.visible === undefined) return undefined;
  const { Items = [] } = await dynamo.client.send(
    new QueryCommand({
      TableName: c.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :day)',
      ExpressionAttributeValues: marshall({ ':pk': 'CUSTOMER#c1', ':day': `DAY#${DAY}#` }),
    }),
  );
  const accepted = Items.map((item) => unmarshall(item))
    .filter(
      (item) => pointer.history.includes(item.version) && item.version <= (pointer.visible?.version ?? ''),
    )
    .sort((a, b) => (a.version < b.version ? 1 : -1));
  const day = accepted[0];
  return day === undefined || day.deleted === true ? undefined : String(day.run_id);
}

/**
 * An object's text. s3rver can answer an overwriting PutObject before its file holds the new bytes, so a
 * read right after sees an empty body now and then (S3 itself reads after writes): an empty body is read
 * again, up to three times, 25 ms apart. No object the test reads is ever empty.
 */
async function text(c: Case, key: string): Promise<string | undefined> {
  for (let attempt = 0; ; attempt++) {
    let body: string | undefined;
    try {
      const response = await s3.send(new GetObjectCommand({ Bucket: c.bucket, Key: key }));
      body = await response.Body?.transformToString('utf-8');
    } catch {
      return undefined;
    }
    if ((body ?? '') !== '' || attempt === 3) return body;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The period's Athena image, as the published_runs table reads it. */
async function imageRun(c: Case): Promise<string | undefined> {
  const line = await text(c, publishedImageKey(PERIOD));
  return line === undefined ? undefined : (JSON.parse(line) as { run_id: string }).run_id;
}

/** The run the period's report under reports/ is of (the stand-in report names it). */
async function reportRun(c: Case): Promise<string | undefined> {
  return (await text(c, latestReportKey(PERIOD)))?.match(/data-run="([^"]+)"/)?.[1];
}

async function taggedSuperseded(c: Case, runId: string): Promise<{ objects: number; tagged: number }> {
  const { Contents = [] } = await s3.send(
    new ListObjectsV2Command({ Bucket: c.bucket, Prefix: `runs/run=${runId}/` }),
  );
  let tagged = 0;
  for (const object of Contents) {
    const { TagSet = [] } = await s3.send(new GetObjectTaggingCommand({ Bucket: c.bucket, Key: object.Key }));
    if (TagSet.some((tag) => tag.Key === SUPERSEDED_RUN_TAG.key && tag.Value === SUPERSEDED_RUN_TAG.value)) {
      tagged += 1;
    }
  }
  return { objects: Contents.length, tagged };
}

// ---------------------------------------------------------------------------------------------------
// A run, step by step, as the state machine runs it.
type FailurePoint = 'stage' | 'register' | 'flip' | 'image' | 'expire' | 'alerts' | 'report' | 'cleanup';
type FailureMode = 'caught' | 'retried';

class Run {
  next: Step | 'done' = 'claim';
  outcome: 'running' | 'succeeded' | 'not newest' | 'failed' = 'running';
  reportWritten = false;
  busyClaims = 0;
  publishResults: PublishRunResult[] = [];

  constructor(
    readonly c: Case,
    readonly spec: RunSpec,
    readonly mode: FailureMode = 'caught',
    /** Publish answers, then is called again (its first answer lost). */
    readonly lostPublishAnswer = false,
  ) {}

  get runId(): string {
    return this.spec.runId;
  }

  private get input() {
    return {
      runId: this.runId,
      billingPeriod: PERIOD,
      executionId: this.spec.name,
      deliveredAt: this.spec.deliveredAt,
    };
  }

  private get store() {
    return {
      dynamodb: dynamo.client,
      tableName: this.c.tableName,
      glue,
      s3,
      database: DATABASE,
      resultsBucket: this.c.bucket,
    };
  }

  /** Takes one step of the state machine; a busy claim is retried at the run's next turn. */
  async step(): Promise<void> {
    world.actor = this.runId;
    const step = this.next;
    if (step === 'done') return;
    try {
      await this.run(step);
    } catch (error: unknown) {
      if (error instanceof LeaseBusyError) {
        this.busyClaims += 1;
        return;
      }
      if (!(error instanceof InjectedFault)) throw error;
      if (this.mode === 'retried' && step === 'publish') {
        await this.run(step); // the state machine's retry of the task
        return;
      }
      // Catch -> CleanupAfterFailure -> Fail.
      await cleanupRun(this.input, this.store);
      this.outcome = 'failed';
      this.next = 'done';
    }
  }

  private async run(step: Step): Promise<void> {
    switch (step) {
      case 'claim': {
        const claim = await claimRunPeriod(this.input, this.store);
        this.next = claim.claimed ? 'stage' : 'cleanup';
        if (!claim.claimed) this.outcome = 'not newest';
        return;
      }
      case 'stage': {
        fire('stage');
        // Stand-in for load-serving-table (rewritten elsewhere): one day item under the run's version.
        const version = servingVersion(this.spec.deliveredAt, this.runId);
        await dynamo.client.send(
          new PutItemCommand({
            TableName: this.c.tableName,
            Item: marshall({ pk: 'CUSTOMER#c1', sk: `DAY#${DAY}#${version}`, version, run_id: this.runId }),
          }),
        );
        this.next = 'publish';
        return;
      }
      case 'publish': {
        this.publishResults.push(
          await publishRun(this.input, { ...this.store, now: () => new Date('2026-10-03T00:00:00Z') }),
        );
        if (this.lostPublishAnswer) this.publishResults.push(await publishRun(this.input, this.store));
        this.next = 'alerts';
        return;
      }
      case 'alerts': {
        fire('alerts');
        const c = this.c;
        const inputs: QueryReader = {
          tableRef: duck.tableRef,
          query: async (sql) => {
            for (const [, run] of sql.matchAll(/run_id = '([^']+)'/g)) {
              const pointer = await readPointer(this.store, PERIOD);
              c.reads.push({
                run: run ?? '',
                visible: pointer?.visible?.runId === run,
                registered: RESULT_TABLES.every((t) => registeredRuns(runsTableName(t)).includes(run ?? '')),
              });
            }
            return duck.query(sql);
          },
        };
        const result = await evaluateRunAlerts(
          { runId: this.runId, billingPeriod: PERIOD },
          {
            engine: new PublishedResultsReader({ inputs, database: DATABASE, runs: new Map() }),
            pointers: this.store,
            config: parseAlertConfig({}, 'test'),
            // A title with the raw share, so the fake publisher can tell which run's numbers went out.
            types: [{ ...unattributedShare, title: (alert) => `share=${alert.value};` }],
            store: { load: async () => ({}), record: async () => {} },
            publish: async (messages) => {
              const visible = (await readPointer(this.store, PERIOD))?.visible?.runId;
              for (const message of messages) {
                for (const [, value] of message.email.matchAll(/share=([^;]+);/g)) {
                  c.sent.push({ by: this.runId, visible, value: Number(value) });
                }
              }
              return { published: messages.map((m) => m.id), failed: new Map(), calls: 1 };
            },
            reportLocation: () => 'report',
            saveAlerts: (alerts) => writeRunAlerts(s3, c.bucket, this.runId, alerts),
            now: () => new Date('2026-10-03T00:00:00Z'),
          },
        );
        if (result.skipped !== undefined) expect(result.sent).toBe(0);
        this.next = 'report';
        return;
      }
      case 'report': {
        fire('report');
        await writeRunReport(
          {
            runId: this.runId,
            billingPeriod: PERIOD,
            rulesVersion: 'rules-1',
            costBasis: 'amortized',
            alertsAsOf: null,
          },
          {
            runResults: duck,
            s3,
            resultsBucket: this.c.bucket,
            pointers: this.store,
            // Stand-in for the HTML report (built from the run's own tables elsewhere): it names its run.
            render: async (input) => `<!doctype html><p data-run="${input.runId}">report</p>`,
          },
        );
        this.reportWritten = true;
        this.next = 'cleanup';
        return;
      }
      case 'cleanup': {
        fire('cleanup');
        await cleanupRun(this.input, this.store);
        if (this.outcome === 'running') this.outcome = 'succeeded';
        this.next = 'done';
        return;
      }
    }
  }
}

/** Publishes an earlier delivery Z of the period before the case starts, so every run replaces one. */
async function publishedBefore(c: Case): Promise<Run> {
  const z = new Run(c, spec(c, 'z', '2026-10-01T08:00:00.000Z', 0.3));
  await runStatements(c, z.spec);
  while (z.next !== 'done') await z.step();
  expect(z.outcome).toBe('succeeded');
  return z;
}

/**
 * The visible state is exactly one run's. `runs` are every run of the case, for which of them wrote its
 * report; at `end`, the report under reports/ must be the visible run's and every other run retired.
 */
async function expectOneVisibleRun(
  c: Case,
  runs: readonly Run[],
  end = false,
  light = false,
): Promise<string | undefined> {
  const pointer = await readPointer({ dynamodb: dynamo.client, tableName: c.tableName }, PERIOD);
  const visible = pointer?.visible?.runId;
  expect(await imageRun(c)).toBe(visible);
  for (const table of RESULT_TABLES) {
    const registered = registeredRuns(runsTableName(table));
    if (visible !== undefined) expect(registered).toContain(visible);
    if (end) expect(registered).toEqual(visible === undefined ? [] : [visible]);
  }
  expect(await servedDay(c, pointer)).toBe(visible);
  if (light) return visible;
  const report = await reportRun(c);
  const visibleRun = runs.find((run) => run.runId === visible);
  if (visible === undefined) expect(report).toBeUndefined();
  else if (visibleRun?.reportWritten || (end && visibleRun?.outcome === 'succeeded')) {
    expect(report).toBe(visible);
  }
  // Before the visible run writes its report: the run it replaced still has its report there, or none
  // is there (cleanup removed an older run's report when a visible run failed before writing its own).
  else expect([pointer?.visible?.previousRunId ?? undefined, visible, undefined]).toContain(report);
  if (visible !== undefined) expect((await taggedSuperseded(c, visible)).tagged).toBe(0);
  if (end) {
    for (const run of runs.filter((r) => r.runId !== visible)) {
      const { objects, tagged } = await taggedSuperseded(c, run.runId);
      // Its Parquet, and its alerts.json and report.html when it got that far.
      expect(objects).toBeGreaterThan(0);
      expect(tagged).toBe(objects);
    }
    expect(pointer?.lease).toBeUndefined();
  }
  // Every alert was sent by the run the pointer named, with that run's numbers; every read was of it.
  for (const sent of c.sent) {
    expect(sent.visible).toBe(sent.by);
    expect(sent.value).toBe(runs.find((run) => run.runId === sent.by)?.spec.share);
  }
  for (const read of c.reads) expect(read).toMatchObject({ visible: true, registered: true });
  return visible;
}

/** Every way to interleave two runs' six steps: the positions of A's steps among twelve. */
function interleavings(): string[] {
  const orders: string[] = [];
  const build = (prefix: string, a: number, b: number) => {
    if (a === 0 && b === 0) orders.push(prefix);
    if (a > 0) build(`${prefix}A`, a - 1, b);
    if (b > 0) build(`${prefix}B`, a, b - 1);
  };
  build('', STEPS.length, STEPS.length);
  return orders;
}

/** Runs a schedule (each letter: that run takes its next step), then lets both finish. */
async function play(c: Case, runs: { A: Run; B: Run }, schedule: string, all: Run[]): Promise<void> {
  const step = async (run: Run) => {
    const before = run.next;
    await run.step();
    // The full check after the steps that write what the light one does not read (report, tags).
    await expectOneVisibleRun(c, all, false, !['publish', 'report', 'cleanup'].includes(before));
  };
  for (const letter of schedule) await step(runs[letter as 'A' | 'B']);
  while (runs.A.next !== 'done' || runs.B.next !== 'done') {
    for (const run of [runs.A, runs.B]) if (run.next !== 'done') await step(run);
  }
}

const A_DELIVERED = '2026-10-02T08:00:00.000Z';
const B_DELIVERED = '2026-10-02T16:00:00.000Z';
const RERUN_REQUESTED = '2026-10-03T09:00:00.000Z';

/**
 * Both runs have finished: the newest delivery must end visible, after a re-run of it when it failed
 * before it could finish (the operator's re-run: a later `deliveredAt`). @returns whether one was needed
 */
async function newestEndsVisible(c: Case, runs: Run[], b: Run): Promise<boolean> {
  const visible = await expectOneVisibleRun(c, runs, true);
  if (visible === b.runId && b.outcome === 'succeeded') return false;
  const rerun = new Run(c, spec(c, 'r', RERUN_REQUESTED, 0.4));
  await runStatements(c, rerun.spec);
  while (rerun.next !== 'done') await rerun.step();
  expect(rerun.outcome).toBe('succeeded');
  expect(await expectOneVisibleRun(c, [...runs, rerun], true)).toBe(rerun.runId);
  return true;
}

/**
 * The interleavings where each run is interrupted at most once: X runs k steps, Y runs j, X finishes,
 * Y finishes, for every k, j and both runs first. They hold every pair (A at step k, B at step j) in
 * both orders. Each case takes about a second against s3rver, so the full 924 run only when asked
 * (`VISIBILITY_INTERLEAVINGS=all`).
 */
function interruptedOnce(): string[] {
  const orders = new Set<string>();
  const n = STEPS.length;
  for (const [x, y] of [
    ['A', 'B'],
    ['B', 'A'],
  ] as const) {
    for (let k = 0; k <= n; k++) {
      for (let j = 0; j <= n; j++) orders.add(x.repeat(k) + y.repeat(j) + x.repeat(n - k) + y.repeat(n - j));
    }
  }
  return [...orders].sort();
}

const ALL_ORDERS = interleavings();
const ORDERS = process.env.VISIBILITY_INTERLEAVINGS === 'all' ? ALL_ORDERS : interruptedOnce();

describe('two runs of one period interleaved in every order', () => {
  it('generates every interleaving of two runs of six steps (12 choose 6), and the interrupted-once ones', () => {
    expect(ALL_ORDERS).toHaveLength(924);
    expect(new Set(ALL_ORDERS).size).toBe(924);
    // Per run first, 5 x 5 orders with 1 <= k, j <= 5; and the 12 where one run runs whole inside or
    // around the other (X^k Y^6 X^(6-k), k = 0..6, for X = A and B, sharing A^6 B^6 and B^6 A^6).
    expect(interruptedOnce()).toHaveLength(62);
    expect(interruptedOnce().every((order) => ALL_ORDERS.includes(order))).toBe(true);
  });

  it.each(ORDERS)(
    '%s: one run visible after every step, the newest delivery at the end',
    async (schedule) => {
      const c = await newCase();
      const z = await publishedBefore(c);
      const a = new Run(c, spec(c, 'a', A_DELIVERED, 0.1));
      const b = new Run(c, spec(c, 'b', B_DELIVERED, 0.2));
      await runStatements(c, a.spec);
      await runStatements(c, b.spec);
      await play(c, { A: a, B: b }, schedule, [z, a, b]);

      expect(b.outcome).toBe('succeeded');
      // A either ran before B claimed (then B replaced it) or found B visible and stood down.
      expect(['succeeded', 'not newest']).toContain(a.outcome);
      expect(await newestEndsVisible(c, [z, a, b], b)).toBe(false);
      // Alerts went out once per run that was visible when it evaluated: its own share.
      expect(c.sent.map((sent) => sent.value)).toEqual(
        [z, a, b].filter((run) => run.outcome === 'succeeded').map((run) => run.spec.share),
      );
    },
    20_000,
  );
});

// ---------------------------------------------------------------------------------------------------
// Failures: after each step, of either run, in three orders (A then B, B then A, alternating turns).
const POINTS: readonly FailurePoint[] = [
  'stage',
  'register',
  'flip',
  'image',
  'expire',
  'alerts',
  'report',
  'cleanup',
];
const SCHEDULES = {
  'A then B': 'AAAAAABBBBBB',
  'B then A': 'BBBBBBAAAAAA',
  alternating: 'ABABABABABAB',
} as const;
type Order = keyof typeof SCHEDULES;

interface FailureCase {
  readonly point: FailurePoint;
  readonly failing: 'A' | 'B';
  readonly order: Order;
  readonly mode: FailureMode;
}

const FAILURES: FailureCase[] = [];
for (const order of Object.keys(SCHEDULES) as Order[]) {
  for (const failing of ['A', 'B'] as const) {
    for (const point of POINTS) {
      // B visible first: A stands down at its claim and reaches only its cleanup.
      if (order === 'B then A' && failing === 'A' && point !== 'cleanup') continue;
      FAILURES.push({ point, failing, order, mode: 'caught' });
      if (['register', 'flip', 'image', 'expire'].includes(point)) {
        FAILURES.push({ point, failing, order, mode: 'retried' });
      }
    }
  }
}

describe('a failure injected after each step', () => {
  it.each(FAILURES)(
    '$point of $failing fails ($mode), $order: one run visible throughout, the newest at the end',
    async ({ point, failing, order, mode }) => {
      const c = await newCase();
      const z = await publishedBefore(c);
      const a = new Run(c, spec(c, 'a', A_DELIVERED, 0.1), failing === 'A' ? mode : 'caught');
      const b = new Run(c, spec(c, 'b', B_DELIVERED, 0.2), failing === 'B' ? mode : 'caught');
      await runStatements(c, a.spec);
      await runStatements(c, b.spec);
      const failingRun = failing === 'A' ? a : b;
      world.fault = { run: failingRun.runId, point, fired: false };
      try {
        await play(c, { A: a, B: b }, SCHEDULES[order], [z, a, b]);
        expect(world.fault.fired).toBe(true);
      } finally {
        world.fault = undefined;
      }
      expect(failingRun.outcome).toBe(mode === 'retried' ? 'succeeded' : 'failed');
      const rerun = await newestEndsVisible(c, [z, a, b], b);
      // B is re-run exactly when it failed (a failure of A never keeps B from publishing).
      expect(rerun).toBe(failing === 'B' && mode === 'caught');
    },
    20_000,
  );
});

describe('a retried publish whose first answer was lost', () => {
  it.each(Object.keys(SCHEDULES) as Order[])(
    '%s: the retry still knows the run it replaced',
    async (order) => {
      const c = await newCase();
      const z = await publishedBefore(c);
      const a = new Run(c, spec(c, 'a', A_DELIVERED, 0.1), 'caught', true);
      const b = new Run(c, spec(c, 'b', B_DELIVERED, 0.2), 'caught', true);
      await runStatements(c, a.spec);
      await runStatements(c, b.spec);
      await play(c, { A: a, B: b }, SCHEDULES[order], [z, a, b]);
      expect(await newestEndsVisible(c, [z, a, b], b)).toBe(false);
      // B replaced A (or Z when A stood down): the first answer and the retry's say so alike, and the
      // retry found its partitions registered and the replaced run's already deleted.
      const replaced = a.outcome === 'succeeded' ? a.runId : z.runId;
      expect(b.publishResults.map((result) => result.previousRunId)).toEqual([replaced, replaced]);
      expect(b.publishResults.map((result) => result.partitions.map((p) => p.action))).toEqual([
        ['created', 'created', 'created', 'created', 'created'],
        ['existing', 'existing', 'existing', 'existing', 'existing'],
      ]);
      expect(b.publishResults.map((result) => result.expired?.partitionsDeleted)).toEqual([5, 0]);
    },
    20_000,
  );
});
