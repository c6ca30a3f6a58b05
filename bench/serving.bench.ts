/**
 * `npm run bench` (second part), or alone: `npx tsx bench/serving.bench.ts [customers] [days]`
 * (default 100,000 customers x 31 days; also BENCH_SERVING_CUSTOMERS, BENCH_SERVING_DAYS).
 *
 * The serving load of a month in which every customer-day is new (no visible run: the largest load):
 * gzip NDJSON files as the serving UNLOADs write them, streamed from local files through a mocked S3
 * (no Athena), into dynalite running in its own process. The load runs in a child process with a V8
 * heap capped as in a 1 GB Lambda, so its peak memory (RSS and heap) is its own.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { loadServingTable } from '../lib/pipeline/load-serving-table.ts';
import { claimPeriod } from '../lib/pipeline/period-pointer.ts';
import { servingTableInput } from '../test/support/local-dynamodb.ts';

const LOADING = process.argv[2] === '--load';
const args = LOADING ? [] : process.argv.slice(2);
const CUSTOMERS = Number(args[0] ?? process.env.BENCH_SERVING_CUSTOMERS ?? 100_000);
const DAYS = Number(args[1] ?? process.env.BENCH_SERVING_DAYS ?? 31);
const DAY_FILES = 16;
const PERIOD = '2026-10';
const RUN = { runId: `${PERIOD}_bench_000000000000000000000000`, deliveredAt: '2026-10-14T08:00:00.000Z' };
const TABLE = 'serving-bench';
const BUCKET = 'cpc-results-bench';
const DATA_DIR = resolve('.bench-data', `serving-${CUSTOMERS}x${DAYS}`);
/** What a 1024 MB Lambda leaves the V8 heap, roughly. */
const HEAP_CAP_MB = 900;

const customerId = (index: number) => `c${String(index).padStart(6, '0')}`;

async function write(path: string, lines: (emit: (line: string) => Promise<void>) => Promise<void>) {
  const gzip = createGzip();
  const done = once(gzip.pipe(createWriteStream(path)), 'finish');
  await lines(async (line) => {
    if (!gzip.write(`${line}\n`)) await once(gzip, 'drain');
  });
  gzip.end();
  await done;
}

/** The UNLOAD output: `days/` in DAY_FILES files (Athena writes several), `months/` in one. */
async function generate(): Promise<void> {
  if (existsSync(join(DATA_DIR, 'complete'))) return;
  mkdirSync(join(DATA_DIR, 'days'), { recursive: true });
  mkdirSync(join(DATA_DIR, 'months'), { recursive: true });
  const direct = (c: number, d: number) => ((c * 31 + d) % 1000) / 100;
  for (let file = 0; file < DAY_FILES; file++) {
    await write(join(DATA_DIR, 'days', `part-${String(file).padStart(2, '0')}.gz`), async (emit) => {
      for (let c = file; c < CUSTOMERS; c += DAY_FILES) {
        for (let d = 1; d <= DAYS; d++) {
          const cost = direct(c, d);
          await emit(
            JSON.stringify({
              customer_id: customerId(c),
              usage_date: `${PERIOD}-${String(d).padStart(2, '0')}`,
              customer_name: `Customer ${c}`,
              tier: 'growth',
              plan_status: 'paid',
              mrr: 1000,
              direct_cost: cost,
              shared_cost: 0.125,
              total_cost: cost + 0.125,
              rules_version: 'v1',
              deleted: false,
            }),
          );
        }
      }
    });
  }
  await write(join(DATA_DIR, 'months', 'part-00.gz'), async (emit) => {
    for (let c = 0; c < CUSTOMERS; c++) {
      let total = 0;
      for (let d = 1; d <= DAYS; d++) total += direct(c, d) + 0.125;
      await emit(
        JSON.stringify({
          customer_id: customerId(c),
          direct_cost: total - 0.125 * DAYS,
          shared_cost: 0.125 * DAYS,
          total_cost: total,
          days_with_cost: DAYS,
          first_usage_date: `${PERIOD}-01`,
          last_usage_date: `${PERIOD}-${String(DAYS).padStart(2, '0')}`,
          customer_name: `Customer ${c}`,
          tier: 'growth',
          plan_status: 'paid',
          mrr: 1000,
          rules_version: 'v1',
        }),
      );
    }
  });
  writeFileSync(join(DATA_DIR, 'complete'), '');
}

/** The measured part, in the child: claim, then load from the files into dynalite. */
async function load(port: number): Promise<void> {
  const dynamodb = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await dynamodb.send(new CreateTableCommand(servingTableInput(TABLE)));
  const store = { dynamodb, tableName: TABLE };
  const run = { ...RUN, billingPeriod: PERIOD, executionId: 'bench' };
  await claimPeriod(store, run);

  const prefix = `runs/run=${RUN.runId}/serving/bench/`;
  const s3 = mockClient(S3Client);
  s3.on(ListObjectsV2Command).callsFake(async (input) => {
    const folder = String(input.Prefix).slice(prefix.length).replace(/\/$/, '');
    return {
      Contents: readdirSync(join(DATA_DIR, folder)).map((name) => ({ Key: `${input.Prefix}${name}` })),
    };
  });
  s3.on(GetObjectCommand).callsFake(async (input) => ({
    Body: createReadStream(join(DATA_DIR, String(input.Key).slice(prefix.length))),
  }));

  let peakHeap = 0;
  const sample = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 20);
  const started = performance.now();
  const result = await loadServingTable(
    { ...RUN, billingPeriod: PERIOD, visibleRunId: null },
    {
      engine: { query: async () => [] },
      s3: new S3Client({ region: 'us-east-1' }),
      dynamodb,
      tableName: TABLE,
      database: 'cost_per_customer',
      resultsBucket: BUCKET,
      unloadToken: 'bench',
    },
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sample);
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  dynamodb.destroy();
  process.stdout.write(
    `${JSON.stringify({
      customers: CUSTOMERS,
      days: DAYS,
      items: result.written,
      seconds: Number(seconds.toFixed(1)),
      itemsPerSecond: Math.round(result.written / seconds),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      peakHeapMb: Math.round(peakHeap / 2 ** 20),
    })}\n`,
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject()));
    });
  });
}

async function startDynalite(port: number): Promise<ChildProcess> {
  const cli = fileURLToPath(new URL('../node_modules/dynalite/cli.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [cli, '--host', '127.0.0.1', '--port', String(port), '--createTableMs', '0'],
    {
      stdio: 'ignore',
    },
  );
  for (let waited = 0; waited < 10_000; waited += 100) {
    const open = await new Promise<boolean>((resolveOpen) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolveOpen(true);
      });
      socket.once('error', () => resolveOpen(false));
    });
    if (open) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('dynalite did not start');
}

async function main(): Promise<void> {
  if (LOADING) {
    await load(Number(process.argv[3]));
    return;
  }
  const generating = performance.now();
  await generate();
  console.log(
    `serving bench: ${CUSTOMERS.toLocaleString('en')} customers x ${DAYS} days in ${DATA_DIR} ` +
      `(ready in ${((performance.now() - generating) / 1000).toFixed(1)} s)`,
  );
  const port = await freePort();
  const dynalite = await startDynalite(port);
  try {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--load', String(port)],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        env: {
          ...process.env,
          BENCH_SERVING_CUSTOMERS: String(CUSTOMERS),
          BENCH_SERVING_DAYS: String(DAYS),
          NODE_OPTIONS: `--max-old-space-size=${HEAP_CAP_MB}`,
        },
        maxBuffer: 1 << 20,
      },
    );
    if (child.status !== 0) throw new Error(`serving load failed with status ${child.status}`);
    const report = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}');
    console.log(
      `serving load: ${report.items.toLocaleString('en')} items in ${report.seconds} s = ` +
        `${report.itemsPerSecond.toLocaleString('en')} items/s; peak RSS ${report.peakRssMb} MB, ` +
        `peak heap ${report.peakHeapMb} MB (V8 heap capped at ${HEAP_CAP_MB} MB)`,
    );
    console.log(JSON.stringify(report));
  } finally {
    dynalite.kill();
  }
}

await main();
