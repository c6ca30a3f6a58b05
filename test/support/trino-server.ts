import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrinoEngine } from '../../lib/engine/trino-engine.ts';
import { tempDir } from './fixtures.ts';

/** Where scripts/trino-setup.sh puts the server and records its Java. */
const TRINO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.trino');
const SETUP = 'scripts/trino-setup.sh';

/** A Trino server this process started, with a `memory` catalog, on 127.0.0.1. */
export interface TrinoServer {
  /** Base URL of the coordinator, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Milliseconds from spawning the JVM to the server accepting queries. */
  readonly startupMs: number;
  /** Trino's version, as the server reports it. */
  readonly version: string;
  /** The server's resident memory in bytes now (Linux /proc), or null when unknown. */
  residentBytes(): number | null;
  /** Stops the server (its whole process group) and removes its data folder. */
  stop(): Promise<void>;
}

export interface TrinoServerOptions {
  /** JVM heap. Small on purpose: CI has two cores and runs DuckDB tests alongside. @default '1G' */
  readonly heap?: string;
  /** Longest wait for the server to accept queries. @default 180000 */
  readonly startupTimeoutMs?: number;
}

function readSetupFile(name: string): string {
  const path = join(TRINO_DIR, name);
  if (!existsSync(path)) {
    throw new Error(
      `Trino is not installed in ${TRINO_DIR}: run ${SETUP} first (it needs Maven and a JDK 25)`,
    );
  }
  return readFileSync(path, 'utf8').trim();
}

/** The server folder and the `java` binary set up by scripts/trino-setup.sh, checked to exist. */
function installation(): { serverDir: string; java: string } {
  const serverDir = readSetupFile('server-dir');
  const javaHome = process.env.TRINO_JAVA_HOME ?? readSetupFile('java-home');
  const java = join(javaHome, 'bin', 'java');
  if (!existsSync(join(serverDir, '.complete'))) {
    throw new Error(`The Trino server in ${serverDir} is missing or incomplete: run ${SETUP} again`);
  }
  if (!existsSync(java)) {
    throw new Error(`No Java at ${java} (Trino needs Java 24 or later, such as Temurin 25): run ${SETUP}`);
  }
  return { serverDir, java };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts a single-node Trino (a coordinator that schedules on itself) on a free port of 127.0.0.1 with
 * one catalog, `memory`, and waits until it accepts queries, at most `startupTimeoutMs`. Throws with
 * the end of the server log when it exits or does not come up in time. Call `stop` when done: the
 * JVM runs in its own process group, which `stop` (or the exit of this process) kills.
 */
export async function startTrinoServer(options: TrinoServerOptions = {}): Promise<TrinoServer> {
  const { serverDir, java } = installation();
  const port = await freePort();
  const root = tempDir('cpc-trino-');
  const etc = join(root, 'etc');
  mkdirSync(join(etc, 'catalog'), { recursive: true });
  const properties = (entries: Record<string, string>) =>
    `${Object.entries(entries)
      .map(([key, value]) => `${key}=${value}`)
      .join('\n')}\n`;
  writeFileSync(
    join(etc, 'node.properties'),
    properties({ 'node.environment': 'test', 'node.id': 'cpc-test', 'node.data-dir': join(root, 'data') }),
  );
  writeFileSync(
    join(etc, 'config.properties'),
    properties({
      coordinator: 'true',
      'node-scheduler.include-coordinator': 'true',
      'http-server.http.port': String(port),
      'discovery.uri': `http://127.0.0.1:${port}`,
      'query.max-memory': '512MB',
      // The memory connector's tables live in the heap too; a test run's tables are a few thousand rows.
      'query.max-memory-per-node': '512MB',
      // Only the plugins scripts/trino-setup.sh kept (the memory connector).
      'plugin.dir': join(serverDir, 'plugin'),
      'catalog.config-dir': join(etc, 'catalog'),
      // Small statements, one at a time: fewer threads than Trino's defaults for a many-core worker.
      'task.concurrency': '2',
      'task.max-worker-threads': '4',
    }),
  );
  writeFileSync(join(etc, 'catalog', 'memory.properties'), properties({ 'connector.name': 'memory' }));
  const jvm = [
    `-Xmx${options.heap ?? '1G'}`,
    '-XX:+UseG1GC',
    // C1 only: the tests run many small statements once each, where C2's compile work on two busy
    // cores costs more than it gains (start-up went from about 35 s to 16 s here).
    '-XX:TieredStopAtLevel=1',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djdk.attach.allowAttachSelf=true',
    '-XX:+EnableDynamicAgentLoading',
    '--enable-native-access=ALL-UNNAMED',
    // The tests compare against DuckDB set to UTC; Athena runs in UTC too.
    '-Duser.timezone=UTC',
  ];
  writeFileSync(join(etc, 'jvm.config'), `${jvm.join('\n')}\n`);
  const log = join(root, 'server.log');
  const stdout = openSync(join(root, 'stdout.log'), 'a');
  const started = performance.now();
  const child: ChildProcess = spawn(
    java,
    [
      ...jvm,
      `-Dconfig=${join(etc, 'config.properties')}`,
      '-Dnode.environment=test',
      '-Dnode.id=cpc-test',
      `-Dnode.data-dir=${join(root, 'data')}`,
      '-Dnode.bind-ip=127.0.0.1',
      '-Dnode.internal-address=127.0.0.1',
      `-Dlog.path=${log}`,
      '-cp',
      join(serverDir, 'lib', '*'),
      'io.trino.server.TrinoServer',
    ],
    // A process group of its own, so stopping it never depends on how the test ends; run in the temp
    // folder, because Trino writes its HTTP request log under var/log of its working folder.
    { detached: true, stdio: ['ignore', stdout, 'pipe'], cwd: root },
  );
  closeSync(stdout);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  let exited: number | string | null = null;
  child.once('exit', (code, signal) => {
    exited = code ?? signal ?? 'exit';
  });
  const killGroup = (signal: NodeJS.Signals) => {
    if (child.pid !== undefined && exited === null) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);

  const url = `http://127.0.0.1:${port}`;
  const timeout = options.startupTimeoutMs ?? 180_000;
  const fail = (why: string): never => {
    killGroup('SIGKILL');
    process.removeListener('exit', onExit);
    throw new Error(`Trino ${why}.\nserver log:\n${tail(log)}\nstderr:\n${stderr.slice(-2000)}`);
  };
  let version = '';
  for (;;) {
    if (exited !== null) fail(`exited (${exited}) before it accepted queries`);
    if (performance.now() - started > timeout) fail(`did not start within ${timeout} ms`);
    try {
      const response = await fetch(`${url}/v1/info`);
      const info = (await response.json()) as { starting?: boolean; nodeVersion?: { version?: string } };
      if (response.ok && info.starting === false) {
        version = info.nodeVersion?.version ?? '';
        break;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  // /v1/info says "started" a moment before the node is schedulable: on a loaded machine the first
  // queries then fail with "No nodes available to run query". Wait until a memory table can be written,
  // which needs the worker, so no test sees that start-up race.
  for (;;) {
    try {
      const probe = await TrinoEngine.create({ url, schema: 'startup_probe' });
      await probe.createTable('ready', 'SELECT 1 AS one');
      await probe.query(`SELECT one FROM ${probe.tableRef('ready')}`);
      break;
    } catch (error: unknown) {
      if (exited !== null) fail(`exited (${exited}) before it accepted queries`);
      if (performance.now() - started > timeout || !/No nodes available/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  const startupMs = Math.round(performance.now() - started);

  return {
    url,
    startupMs,
    version,
    residentBytes: () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
        return kb === undefined ? null : Number(kb) * 1024;
      } catch {
        return null;
      }
    },
    stop: async () => {
      const gone = new Promise<void>((resolve) => {
        if (exited !== null) resolve();
        else child.once('exit', () => resolve());
      });
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
      process.removeListener('exit', onExit);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
