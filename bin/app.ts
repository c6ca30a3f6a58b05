#!/usr/bin/env -S npx tsx
// The default app: `npx cdk synth` / `npx cdk deploy`. Settings come from cdk.json context (`cpc:*`
// keys, overridable with `-c cpc:key=value`); see lib/config/stack-config.ts for each one.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, settingsFromContext } from '../lib/config/stack-config.ts';
import { CostPerCustomerStack } from '../lib/cost-per-customer-stack.ts';

const app = new App();
try {
  const { stackName, config } = settingsFromContext(app.node);
  new CostPerCustomerStack(app, stackName, {
    config,
    // The account and region of the CLI's credentials when there are any; environment-agnostic otherwise.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
