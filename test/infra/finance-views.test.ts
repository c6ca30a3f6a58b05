import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { settingsFromContext } from '../../lib/config/stack-config.ts';
import { CostPerCustomerStack } from '../../lib/cost-per-customer-stack.ts';
import { FINANCE_VIEW_NAMES } from '../../lib/finance/finance-registry.ts';
import { financeViewsFingerprint } from '../../lib/pipeline/create-finance-views.ts';

const ACCOUNT = '123456789012';
const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

function synth(context: Record<string, unknown> = {}): Template {
  const app = new App({ context: { ...CDK_CONTEXT, ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new CostPerCustomerStack(app, 'Test', {
    config: settingsFromContext(app.node).config,
    env: { account: ACCOUNT, region: 'eu-west-1' },
  });
  return Template.fromStack(stack);
}

const template = synth();

describe('finance views', () => {
  it('live in their own Glue database next to the results database', () => {
    template.hasResourceProperties('AWS::Glue::Database', {
      DatabaseInput: Match.objectLike({ Name: 'test_finance' }),
    });
    template.hasOutput('FinanceDatabaseName', { Value: 'test_finance' });
  });

  it('are created by a custom resource that carries the SQL fingerprint and keeps them by default', () => {
    const resources = Object.values(template.findResources('Custom::FinanceViews'));
    expect(resources).toHaveLength(1);
    expect(resources[0]?.Properties).toMatchObject({
      Database: 'test',
      FinanceDatabase: 'test_finance',
      Fingerprint: financeViewsFingerprint(),
      DropOnDelete: 'false',
    });
    // After the workgroup and the tables the views read: CloudFormation creates those first.
    const dependsOn = resources[0]?.DependsOn as string[];
    for (const fragment of [
      'QueryWorkgroup',
      'CatalogDatabase',
      'CatalogFinanceDatabase',
      'CustomersTable',
    ]) {
      expect(
        dependsOn.some((id) => id.includes(fragment)),
        fragment,
      ).toBe(true);
    }
  });

  it('are dropped with the stack when the removal policy is destroy', () => {
    const destroyed = synth({ 'cpc:removalPolicy': 'destroy' });
    destroyed.hasResourceProperties('Custom::FinanceViews', { DropOnDelete: 'true' });
  });

  it('are saved as one named query per view in the workgroup, with the question it answers', () => {
    const queries = Object.values(template.findResources('AWS::Athena::NamedQuery'));
    // The eleven views of docs/finance.md v2, the unit-cost and reconciliation views among them.
    expect(queries).toHaveLength(11);
    expect(FINANCE_VIEW_NAMES).toEqual(
      expect.arrayContaining(['unit_cost', 'customer_unit_cost', 'cost_reconciliation']),
    );
    for (const view of FINANCE_VIEW_NAMES) {
      const query = queries.find((q) => String(q.Properties.Description).startsWith(`${view}:`));
      expect(query?.Properties, view).toMatchObject({
        Database: 'test_finance',
        WorkGroup: 'Test',
        Name: expect.stringMatching(/^Finance: /),
        QueryString: expect.stringContaining(`FROM "test_finance"."${view}"`),
      });
    }
  });

  it('the function may change only the published and finance views, and read only the tables they read', () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) =>
      id.includes('CreateFinanceViews'),
    );
    const statements = policies.flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
    const changes = statements.filter((s) => [s.Action].flat().includes('glue:CreateTable'));
    const glue = (resource: string) => `arn:aws:glue:eu-west-1:${ACCOUNT}:${resource}`;
    const results = [
      'customer_daily_cost',
      'customer_daily_service_cost',
      'unattributed_cost',
      'daily_summary',
      'customer_daily_usage',
    ];
    expect(changes.map((s) => [...s.Resource].sort())).toEqual([
      // The finance views, in their own database.
      [
        glue('catalog'),
        glue('database/test_finance'),
        ...FINANCE_VIEW_NAMES.map((view) => glue(`table/test_finance/${view}`)),
      ].sort(),
      // The five published views, in the main database under the results' names.
      [glue('catalog'), glue('database/test'), ...results.map((view) => glue(`table/test/${view}`))].sort(),
    ]);
    const read = statements.find((s) => s.Sid === 'GlueTablesTheViewsRead');
    expect(read.Action).toEqual(['glue:GetDatabase', 'glue:GetTable']);
    expect([...read.Resource].sort()).toEqual(
      [
        glue('catalog'),
        glue('database/test'),
        glue('table/test/customers'),
        glue('table/test/published_runs'),
        ...results.map((result) => glue(`table/test/${result}_runs`)),
      ].sort(),
    );
    // DDL writes its output under athena/ and deletes nothing.
    expect(JSON.stringify(statements)).not.toContain('s3:DeleteObject');
  });
});
