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
 */

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
 * The bundling settings for a pipeline Lambda.
 * @param taskRoot where the bundle's folder will be at run time. @default '/var/task'
 */
export function pipelineBundling(taskRoot: string = LAMBDA_TASK_ROOT): PipelineBundling {
  return {
    banner:
      "import { createRequire as __cpcCreateRequire } from 'node:module'; " +
      'const require = __cpcCreateRequire(import.meta.url);',
    define: { 'import.meta.url': JSON.stringify(`file://${taskRoot}/lib/sql/sql-template.js`) },
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir, outputDir) => [`cp -R "${inputDir}/athena" "${outputDir}/athena"`],
    },
  };
}
