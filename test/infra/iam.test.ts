import { readFileSync, writeFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type CostPerCustomerConfig, settingsFromContext } from '../../lib/config/stack-config.ts';
import { iamRows, isCommonStatement, renderIamTable } from '../../lib/constructs/iam-table.ts';
import { CostPerCustomerStack } from '../../lib/cost-per-customer-stack.ts';

// The template's IAM against lambdas/README.md ("Permissions") and the least-privilege rules of the
// pipeline: which role may touch which items, prefixes and tables.
const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;
const README = new URL('../../lambdas/README.md', import.meta.url);
const START = '<!-- iam-table:start (generated from the template by test/infra/iam.test.ts) -->\n';
const END = '<!-- iam-table:end -->';

function synth(config: Partial<CostPerCustomerConfig> = {}, region: string | undefined = 'eu-west-1') {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const stack = new CostPerCustomerStack(app, 'Test', {
    config: { ...settingsFromContext(app.node).config, ...config },
    env: { account: '123456789012', ...(region ? { region } : {}) },
  });
  return Template.fromStack(stack).toJSON() as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
}

const template = synth();
const rows = iamRows(template, { databaseName: 'test', workgroupName: 'Test' });
const of = (role: string) => rows.filter((row) => row.role === role && !isCommonStatement(row));
const granting = (predicate: (action: string) => boolean) =>
  rows.filter((row) => row.actions.some(predicate));
const rolesWith = (predicate: (action: string) => boolean, resource?: (r: string) => boolean) =>
  [
    ...new Set(
      granting(predicate)
        .filter((row) => resource === undefined || row.resources.some(resource))
        .map((row) => row.role),
    ),
  ].sort();
/** What a role may do on the serving table: `action on leading keys`. */
const items = (role: string) =>
  of(role)
    .filter((row) => row.actions.some((action) => action.startsWith('dynamodb:')))
    .map(
      (row) =>
        `${row.actions.join(',')} ${row.condition.replace(/^.*StringLike /, '') || row.resources.join()}`,
    );

const PIPELINE_FUNCTIONS = [
  'on-delivery',
  'prepare-run',
  'run-check',
  'claim-period',
  'load-serving-table',
  'publish-run',
  'evaluate-alerts',
  'write-report',
  'cleanup',
  'run-watch',
  'on-input',
  'create-finance-views',
];

describe('the IAM table of lambdas/README.md', () => {
  it('is the template’s, statement for statement', () => {
    const generated = renderIamTable(rows);
    const readme = readFileSync(README, 'utf8');
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    expect(start, 'lambdas/README.md has the iam-table markers').toBeGreaterThan(0);
    if (process.env.UPDATE_IAM_TABLE === '1') {
      writeFileSync(README, `${readme.slice(0, start + START.length)}${generated}${readme.slice(end)}`);
      return;
    }
    // To update: UPDATE_IAM_TABLE=1 npx vitest run test/infra/iam.test.ts
    expect(readme.slice(start + START.length, end)).toBe(generated);
  });

  it('leaves out only what every pipeline function has: its own log group and X-Ray', () => {
    for (const role of PIPELINE_FUNCTIONS) {
      const common = rows.filter((row) => row.role === role && isCommonStatement(row));
      expect(
        common.map((row) => row.actions.join()),
        role,
      ).toEqual(['logs:CreateLogStream,logs:PutLogEvents', 'xray:PutTelemetryRecords,xray:PutTraceSegments']);
    }
  });

  it('covers sixteen roles (twelve functions, the state machine, two CDK handlers, the telemetry stream) and the finance reader policy', () => {
    const names = new Set(rows.map((row) => row.role));
    expect(names.size).toBe(17);
    expect(names.has('finance reader policy')).toBe(true);
  });
});

describe('least privilege', () => {
  const pointer = 'PUBLISHED#*';
  const writesItems = (action: string) =>
    /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|\*)$/.test(action);

  it('lets only claim-period, publish-run and cleanup change the period pointer', () => {
    const writers = rows.filter(
      (row) => row.actions.some(writesItems) && (row.condition.includes(pointer) || row.condition === ''),
    );
    expect([...new Set(writers.map((row) => row.role))].sort()).toEqual([
      'claim-period',
      'cleanup',
      'publish-run',
    ]);
    for (const row of writers)
      expect(row.condition, row.role).toBe(`dynamodb:LeadingKeys ForAllValues:StringLike ${pointer}`);
  });

  it('limits every DynamoDB data action to items by leading key (run-watch queries the index)', () => {
    expect(items('load-serving-table')).toEqual([
      'dynamodb:BatchWriteItem CUSTOMER#*',
      `dynamodb:GetItem ${pointer}`,
    ]);
    expect(items('evaluate-alerts')).toEqual([
      'dynamodb:BatchGetItem,dynamodb:PutItem ALERT#*',
      `dynamodb:GetItem ${pointer}`,
    ]);
    expect(items('write-report')).toEqual([`dynamodb:GetItem ${pointer}`]);
    expect(items('claim-period')).toEqual([`dynamodb:GetItem,dynamodb:UpdateItem ${pointer}`]);
    expect(items('publish-run')).toEqual([`dynamodb:GetItem,dynamodb:UpdateItem ${pointer}`]);
    expect(items('cleanup')).toEqual([`dynamodb:GetItem,dynamodb:UpdateItem ${pointer}`]);
    expect(items('on-delivery')).toEqual(['dynamodb:UpdateItem DELIVERY#*']);
    expect(items('run-watch')).toEqual([
      `dynamodb:GetItem ${pointer}`,
      'dynamodb:Query serving-table index gsi1',
    ]);
    expect(items('on-input')).toEqual([
      'dynamodb:GetItem,dynamodb:UpdateItem DELIVERY#*',
      'dynamodb:Query serving-table index gsi1',
    ]);
    expect(rolesWith((action) => action.startsWith('dynamodb:'))).toEqual(
      [
        'claim-period',
        'cleanup',
        'evaluate-alerts',
        'load-serving-table',
        'on-delivery',
        'on-input',
        'publish-run',
        'run-watch',
        'write-report',
      ].sort(),
    );
  });

  it('lets on-input read the uploads, write the two current files, publish to operations and invoke on-delivery', () => {
    const statements = of('on-input').filter((row) => !isCommonStatement(row));
    expect(
      statements
        .filter(
          (row) => !row.actions.some((action) => action.startsWith('dynamodb:') || action.startsWith('kms:')),
        )
        .map((row) => `${row.actions.join()} ${row.resources.join()} ${row.condition}`.trim()),
    ).toEqual([
      // Its failed events, after Lambda's retries.
      'sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage dead-letter-queue',
      's3:GetObject data:customers/current/*,data:customers/incoming/*,data:rules/current/*,data:rules/incoming/*',
      's3:PutObject data:customers/current/customers.csv,data:rules/current/rules.json',
      's3:ListBucket data s3:prefix StringLike customers/current/*',
      'lambda:InvokeFunction function on-delivery',
      'sns:Publish operations-topic',
    ]);
    // Nothing deleted, nothing of the CUR bucket, no run started directly.
    const actions = statements.flatMap((row) => row.actions);
    expect(actions.filter((action) => /Delete|states:|athena:|glue:/.test(action))).toEqual([]);
  });

  it('gives publish-run the partitions of the five <result>_runs tables, its image and tagging', () => {
    const glue = of('publish-run').find((row) => row.actions.includes('glue:CreatePartition'));
    expect(glue?.actions).toEqual([
      'glue:BatchCreatePartition',
      'glue:BatchDeletePartition',
      'glue:CreatePartition',
      'glue:DeletePartition',
      'glue:GetPartition',
      'glue:GetPartitions',
      'glue:GetTable',
    ]);
    expect(glue?.resources).toEqual([
      'glue catalog',
      'glue database/<db>',
      'glue table/<db>/customer_daily_cost_runs',
      'glue table/<db>/customer_daily_service_cost_runs',
      'glue table/<db>/customer_daily_usage_runs',
      'glue table/<db>/daily_summary_runs',
      'glue table/<db>/unattributed_cost_runs',
    ]);
    const s3 = of('publish-run').filter((row) => row.actions.some((action) => action.startsWith('s3:')));
    expect(s3.map((row) => `${row.actions.join()} ${row.resources.join()} ${row.condition}`.trim())).toEqual([
      's3:PutObject results:published/*',
      's3:PutObjectTagging results:runs/*',
      's3:ListBucket results s3:prefix StringLike runs/*',
    ]);
  });

  it('lets write-report write runs/* and reports/* only', () => {
    const puts = of('write-report').filter((row) => row.actions.includes('s3:PutObject'));
    expect(puts.flatMap((row) => row.resources).filter((r) => !r.startsWith('query-results:'))).toEqual([
      'results:reports/*',
      'results:runs/*',
    ]);
  });

  it('tags objects in publish-run and cleanup only, and deletes only an outdated period report', () => {
    expect(rolesWith((action) => action === 's3:PutObjectTagging')).toEqual(['cleanup', 'publish-run']);
    // Cleanup removes reports/<period> when it is an older run's and the visible run wrote none.
    const deleting = granting((action) => /^s3:(DeleteObject|\*)/.test(action));
    expect(deleting.map((row) => [row.role, row.actions.filter((a) => a.startsWith('s3:Delete'))])).toEqual([
      ['cleanup', ['s3:DeleteObject']],
    ]);
    expect(deleting[0]?.resources).toEqual(['results:reports/*']);
  });

  it('conditions every s3:ListBucket on s3:prefix, and grants no other listing', () => {
    const listings = granting((action) => action.startsWith('s3:List'));
    expect(listings.length).toBeGreaterThan(10);
    for (const row of listings) {
      expect(row.actions, row.role).toEqual(['s3:ListBucket']);
      expect(row.condition, row.role).toMatch(/^s3:prefix StringLike \S+\*/);
    }
  });

  it('scopes every S3 object action to a prefix or key, never a whole bucket', () => {
    for (const row of granting((action) => /^s3:(Get|Put|Abort)/.test(action))) {
      if (
        row.actions.every((action) => ['s3:GetBucketLocation', 's3:PutBucketNotification'].includes(action))
      )
        continue;
      for (const resource of row.resources) expect(resource, row.role).toMatch(/^[a-z-]+:[^*].*/);
    }
  });

  it('uses managed policies only in the two CDK handlers (their own logs)', () => {
    const managed = rows.filter((row) => row.actions.some((action) => action.startsWith('managed policy')));
    expect(managed.map((row) => `${row.role}: ${row.actions[0]}`)).toEqual([
      'create-finance-views provider (CDK): managed policy service-role/AWSLambdaBasicExecutionRole',
      'S3 notification handler (CDK): managed policy service-role/AWSLambdaBasicExecutionRole',
    ]);
  });
});

describe('log groups', () => {
  it.each([
    ['defaults', template],
    // destroy adds CDK's auto-delete-objects provider; Slack and the export add their resources too.
    [
      'destroy, Slack, native export in us-east-1',
      synth(
        {
          removalPolicy: 'destroy',
          createCurExport: true,
          slackWorkspaceId: 'T0123',
          slackChannelId: 'C0123',
        },
        'us-east-1',
      ),
    ],
    ['export through the custom resource', synth({ createCurExport: true })],
  ])('every function logs to a log group of the stack with a retention: %s', (_name, synthesized) => {
    const resources = Object.entries(synthesized.Resources);
    const groups = new Map(resources.filter(([, r]) => r.Type === 'AWS::Logs::LogGroup'));
    // A month for the pipeline's; the export's provider keeps a year (lib/constructs/cur-export.ts).
    for (const [id, group] of groups) {
      expect(group.Properties.RetentionInDays, id).toBe(id.includes('CurExportProvider') ? 365 : 30);
    }
    const functions = resources.filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(11);
    for (const [id, fn] of functions) {
      const logGroup = (fn.Properties.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)?.LogGroup;
      expect(logGroup?.Ref && groups.has(logGroup.Ref), `${id} logs to a log group of the stack`).toBe(true);
    }
  });
});
