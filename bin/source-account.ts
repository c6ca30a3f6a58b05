#!/usr/bin/env -S npx tsx
// The source-account app: the CUR 2.0 export an Organization's management account deploys to deliver
// into the cost account's CUR bucket (README, "Deploy for an AWS Organization"):
//   npx cdk deploy --app "npx tsx bin/source-account.ts" -c source:costAccountId=<id> \
//     -c source:curBucketName=<CurBucketName> -c source:curBucketRegion=<region>
// The folder and columns come from the same cdk.json `cpc:*` settings as the cost stack's.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, settingsFromContext } from '../lib/config/stack-config.ts';
import { DATA_EXPORTS_REGION } from '../lib/constructs/cur-export.ts';
import { SourceAccountStack } from '../lib/source-account-stack.ts';

const app = new App();
try {
  const { stackName, config } = settingsFromContext(app.node);
  const setting = (key: string, pattern: RegExp, what: string): string => {
    const value = app.node.tryGetContext(`source:${key}`);
    if (typeof value !== 'string' || !pattern.test(value)) {
      throw new ConfigError(
        `source:${key} must be ${what} (-c source:${key}=...), got ${JSON.stringify(value)}`,
      );
    }
    return value;
  };
  new SourceAccountStack(app, `${stackName}-source`, {
    costAccountId: setting('costAccountId', /^\d{12}$/, 'the 12-digit id of the cost account'),
    curBucketName: setting(
      'curBucketName',
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      "the cost stack's CurBucketName output",
    ),
    curBucketRegion: setting('curBucketRegion', /^[a-z]{2}(-[a-z]+)+-\d$/, "the cost stack's region"),
    curPrefix: config.curPrefix,
    exportName: config.curExportName,
    tenantTagKey: config.tenantTagKey,
    // Data Exports is a us-east-1 service: there the export is native, with no custom resource.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: DATA_EXPORTS_REGION },
  });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
