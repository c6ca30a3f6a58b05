/**
 * The esbuild settings every pipeline Lambda needs when bundled as ESM (NodejsFunction `bundling` props:
 * `banner`, `define`, `commandHooks`), as plain values so the CDK code can spread them without this file
 * importing aws-cdk-lib. test/integration/pipeline-bundle.test.ts bundles a handler with them and runs it.
 *
 * Why each one:
 * - `banner`: an ESM bundle has no `require`, and CommonJS dependencies bundled into it (the X-Ray SDK
 *   under the Powertools Tracer: `require("util")`, `require("async_hooks")`) throw "Dynamic require of
 *   ... is not supported" while the module loads. The banner defines `require` from `createRequire`.
 * - `define` + `afterBundling`: lib/sql/sql-template.ts finds the SQL files at
 *   `<its own folder>/../../athena`, from `import.meta.url`. Bundled into `/var/task/index.mjs` that is
 *   `/athena`, outside the asset, and prepare-run, run-check and evaluate-alerts fail with ENOENT. The
 *   define makes `import.meta.url` read as the module's place in the source tree (it is the only use of
 *   `import.meta.url` in these bundles; the banner is not rewritten by `define`), and the hook copies
 *   `athena/` next to the bundle, where that path then points.
 * - `afterBundling` for write-report also builds the report page (lib/report/page) into the asset: the
 *   report inlines it, and esbuild, which builds it, is a development dependency that Lambda lacks.
 */

import { execSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The handlers in this folder: one per pipeline step, and the finance views' deploy-time resource (README.md here). */
export const PIPELINE_HANDLERS = [
  'on-delivery',
  'prepare-run',
  'run-check',
  'claim-period',
  'publish-run',
  'load-serving-table',
  'evaluate-alerts',
  'cleanup',
  'write-report',
  'run-watch',
  'create-finance-views',
  'cloudwatch-telemetry',
  'on-input',
  'stripe-mrr',
] as const;
export type PipelineHandlerName = (typeof PIPELINE_HANDLERS)[number];

/** Where Lambda unpacks a function's code. */
export const LAMBDA_TASK_ROOT = '/var/task';

export interface PipelineBundling {
  readonly banner: string;
  readonly define: Record<string, string>;
  readonly commandHooks: {
    beforeBundling(inputDir: string, outputDir: string): string[];
    beforeInstall(inputDir: string, outputDir: string): string[];
    afterBundling(inputDir: string, outputDir: string): string[];
  };
}

/**
 * Files a handler reads at run time besides the SQL, copied into its asset at the same path below
 * node_modules so that they resolve as they do in this project: the report inlines ECharts into the HTML
 * (lib/report/render-report.ts resolves `echarts/dist/echarts.min.js`).
 */
const RUNTIME_FILES: Partial<Record<PipelineHandlerName, readonly string[]>> = {
  'write-report': ['node_modules/echarts/package.json', 'node_modules/echarts/dist/echarts.min.js'],
};

type HookCommand = (inputDir: string, outputDir: string) => string;

/**
 * Commands that build, into a handler's asset, what it reads at run time and the project holds only as
 * source: write-report's page script and style (lib/report/render-report.ts `reportPage` reads them
 * from there). tsx, a run-time dependency, runs the TypeScript that calls esbuild.
 */
const RUNTIME_BUILDS: Partial<Record<PipelineHandlerName, HookCommand>> = {
  'write-report': (inputDir, outputDir) => {
    const renderer = pathToFileURL(join(inputDir, 'lib', 'report', 'render-report.ts')).href;
    const script = `import { writeReportPage } from '${renderer}'; writeReportPage('${outputDir}');`;
    return `"${join(inputDir, 'node_modules', '.bin', 'tsx')}" --eval "${script}"`;
  },
};

/**
 * The bundling settings for a pipeline Lambda.
 * @param handler the handler bundled: decides the run-time files copied or built beside the SQL
 * @param taskRoot where the bundle's folder will be at run time. @default '/var/task'
 */
export function pipelineBundling(
  handler: PipelineHandlerName,
  taskRoot: string = LAMBDA_TASK_ROOT,
): PipelineBundling {
  const build = RUNTIME_BUILDS[handler];
  return {
    banner:
      "import { createRequire as __cpcCreateRequire } from 'node:module'; " +
      'const require = __cpcCreateRequire(import.meta.url);',
    define: { 'import.meta.url': JSON.stringify(`file://${taskRoot}/lib/sql/sql-template.js`) },
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir, outputDir) => [
        `cp -R "${inputDir}/athena" "${outputDir}/athena"`,
        ...(RUNTIME_FILES[handler] ?? []).flatMap((file) => [
          `mkdir -p "${dirname(join(outputDir, file))}"`,
          `cp "${join(inputDir, file)}" "${join(outputDir, file)}"`,
        ]),
        ...(build ? [build(inputDir, outputDir)] : []),
      ],
    },
  };
}

export interface BundleOptions {
  /**
   * Leave `@aws-sdk/*` out of the bundle, as NodejsFunction does for Node.js 22 (the runtime provides
   * it): the size that deploys. The bundle then loads only where the SDK resolves (inside this project).
   * @default false: the SDK is bundled, so the bundle loads anywhere
   */
  readonly externalSdk?: boolean;
}

/**
 * Bundles one handler the way the deployment does (ESM, node22, minified, {@link pipelineBundling}) into
 * `taskRoot/index.mjs`, with `athena/` and the handler's run-time files beside it. For the bundle test
 * and the benchmark; the deployment itself bundles through NodejsFunction with the same settings.
 * @returns the path of the bundle
 */
export async function bundleHandler(
  handler: PipelineHandlerName,
  taskRoot: string,
  options: BundleOptions = {},
): Promise<string> {
  const { build } = await import('esbuild');
  const projectRoot = join(import.meta.dirname, '..', '..');
  const settings = pipelineBundling(handler, taskRoot);
  const outfile = join(taskRoot, 'index.mjs');
  await build({
    entryPoints: [join(projectRoot, 'lambdas', `${handler}.ts`)],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: settings.banner },
    define: settings.define,
    ...(options.externalSdk ? { external: ['@aws-sdk/*'] } : {}),
    outfile,
    logLevel: 'silent',
  });
  for (const command of settings.commandHooks.afterBundling(projectRoot, taskRoot)) execSync(command);
  return outfile;
}
