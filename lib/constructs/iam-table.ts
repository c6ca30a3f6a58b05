/*
 * The IAM of a synthesized template as a table, one row per policy statement of each role: what
 * lambdas/README.md ("Permissions") shows, and what test/infra/iam.test.ts compares it with, so that
 * the documented permissions are the deployed ones.
 */

/** A CloudFormation template, as `Template.toJSON()` gives it. */
export interface TemplateJson {
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** One statement of one role, in words. */
export interface IamRow {
  /** `prepare-run`, `state machine`, `S3 notification handler (CDK)`, ... */
  readonly role: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  /** The condition, written `key op value, ...`; empty when none. */
  readonly condition: string;
}

interface RawStatement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Effect?: string;
}

/** Logical-id fragments and the names the table uses for them (first match wins). */
const LABELS: ReadonlyArray<[RegExp, string]> = [
  [/LogGroup/, 'own-log-group'],
  [/QueryResultsBucket/, 'query-results'],
  [/ResultsBucket/, 'results'],
  [/CurBucket/, 'cur'],
  [/DataBucket/, 'data'],
  [/ServingTable/, 'serving-table'],
  [/EncryptionKey/, 'stack-key'],
  [/AlertTopic/, 'alert-topic'],
  [/OperationsTopic/, 'operations-topic'],
  [/DeadLetterQueue/, 'dead-letter-queue'],
  [/StateMachine/, 'state-machine'],
  [/CreateFinanceViewsFunction/, 'function create-finance-views'],
  [/FinanceReaderPolicy/, 'finance-reader-policy'],
];

/** The customer-managed policies the table shows, by logical-id fragment (others, such as the Slack guardrail's deny-all, are left out). */
const MANAGED_POLICIES: ReadonlyArray<[RegExp, string]> = [[/FinanceReaderPolicy/, 'finance reader policy']];

function labelOf(logicalId: string): string {
  const pipelineFunction = /Pipeline(\w+?)Function[0-9A-F]{8}$/.exec(logicalId);
  if (pipelineFunction?.[1]) return `function ${kebab(pipelineFunction[1])}`;
  for (const [pattern, label] of LABELS) if (pattern.test(logicalId)) return label;
  return logicalId;
}

function kebab(pascal: string): string {
  return pascal.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** An intrinsic value as text: `Ref`/`GetAtt` become the label of the resource, joins are joined. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const intrinsic = value as Record<string, unknown>;
    if (typeof intrinsic.Ref === 'string') {
      return intrinsic.Ref.startsWith('AWS::') ? `<${intrinsic.Ref}>` : `<${labelOf(intrinsic.Ref)}>`;
    }
    const getAtt = intrinsic['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${labelOf(String(getAtt[0]))}>`;
    const join = intrinsic['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map(text).join(join[0]);
    }
  }
  return JSON.stringify(value);
}

/** The options that make the table independent of the stack it was synthesized from. */
export interface IamTableOptions {
  readonly databaseName: string;
  readonly workgroupName: string;
}

/** A resource ARN in the words of the table: `results:runs/*`, `glue table <db>/run_*`, `stack-key`. */
function resourceText(value: unknown, options: IamTableOptions): string {
  const raw = text(value);
  if (raw === '*') return '*';
  const index = /^<serving-table>\/index\/(.*)$/.exec(raw);
  if (index) return `serving-table index ${index[1]}`;
  const s3Object = /^<(cur|data|results|query-results)>\/(.*)$/.exec(raw);
  if (s3Object) return `${s3Object[1]}:${s3Object[2]}`;
  const arn = /^arn:[^:]+:([a-z0-9-]+):[^:]*:[^:]*:(.*)$/.exec(raw);
  if (arn) {
    const [, service, rest = ''] = arn;
    const db = options.databaseName;
    const named = rest
      .replace(new RegExp(`^(database|table)/${db}_finance\\b`), '$1/<db>_finance')
      .replace(new RegExp(`^(database|table)/${db}\\b`), '$1/<db>')
      .replace(new RegExp(`^workgroup/${options.workgroupName}$`), 'workgroup/<workgroup>');
    return `${service} ${named}`;
  }
  const functionVersions = /^<(function [a-z-]+)>:\*$/.exec(raw);
  if (functionVersions) return `${functionVersions[1]}:*`;
  return raw.replace(/^<(.*)>$/, '$1');
}

function conditionText(condition: RawStatement['Condition']): string {
  if (condition === undefined) return '';
  return Object.entries(condition)
    .flatMap(([operator, keys]) =>
      Object.entries(keys).map(
        ([key, value]) => `${key} ${operator} ${[value].flat().map(text).join(' or ')}`,
      ),
    )
    .join('; ');
}

/** The name of the role in the table. */
function roleName(logicalId: string, properties: Record<string, unknown>): string {
  const description = typeof properties.Description === 'string' ? properties.Description : '';
  const pipeline = /pipeline function (\S+)$/.exec(description);
  if (pipeline?.[1]) return pipeline[1];
  if (/StateMachineRole/.test(logicalId)) return 'state machine';
  if (/FinanceViewsProvider/.test(logicalId)) return 'create-finance-views provider (CDK)';
  if (/FinanceReaderRole/.test(logicalId)) return 'finance reader role';
  if (/^BucketNotificationsHandler/.test(logicalId)) return 'S3 notification handler (CDK)';
  return logicalId;
}

/**
 * Whether a statement is one every pipeline function has (writing its own log group, X-Ray): the table
 * says so once instead of on every role.
 */
export function isCommonStatement(row: IamRow): boolean {
  const ownLogs =
    row.actions.join() === 'logs:CreateLogStream,logs:PutLogEvents' && row.resources.length === 1;
  const xray =
    row.actions.join() === 'xray:PutTelemetryRecords,xray:PutTraceSegments' && row.resources[0] === '*';
  return (ownLogs && row.resources[0] === 'own-log-group') || xray;
}

/**
 * Every statement of every role of the template (the managed policies a role attaches as one row each),
 * and of the customer-managed policies of MANAGED_POLICIES (a role attaching one has its own row), in
 * template order.
 */
export function iamRows(template: TemplateJson, options: IamTableOptions): IamRow[] {
  const resources = Object.entries(template.Resources);
  const rows: IamRow[] = [];
  const statementRows = (name: string, statements: readonly RawStatement[]) => {
    for (const statement of statements) {
      if (statement.Effect !== undefined && statement.Effect !== 'Allow') {
        throw new Error(`role ${name}: only Allow statements are expected, got ${statement.Effect}`);
      }
      rows.push({
        role: name,
        actions: [statement.Action].flat(),
        resources: [statement.Resource].flat().map((resource) => resourceText(resource, options)),
        condition: conditionText(statement.Condition),
      });
    }
  };
  for (const [roleId, role] of resources) {
    if (role.Type === 'AWS::IAM::ManagedPolicy') {
      const name = MANAGED_POLICIES.find(([pattern]) => pattern.test(roleId))?.[1];
      const document = role.Properties?.PolicyDocument as { Statement: RawStatement[] } | undefined;
      if (name !== undefined && document) statementRows(name, document.Statement);
      continue;
    }
    if (role.Type !== 'AWS::IAM::Role') continue;
    const properties = role.Properties ?? {};
    const name = roleName(roleId, properties);
    for (const managed of (properties.ManagedPolicyArns as unknown[] | undefined) ?? []) {
      rows.push({
        role: name,
        actions: [`managed policy ${text(managed).replace(/^.*:policy\//, '')}`],
        resources: [],
        condition: '',
      });
    }
    const inline =
      (properties.Policies as { PolicyDocument: { Statement: RawStatement[] } }[] | undefined) ?? [];
    const attached = resources
      .filter(
        ([, policy]) =>
          policy.Type === 'AWS::IAM::Policy' &&
          ((policy.Properties?.Roles as { Ref?: string }[] | undefined) ?? []).some(
            (ref) => ref.Ref === roleId,
          ),
      )
      .map(([, policy]) => policy.Properties as { PolicyDocument: { Statement: RawStatement[] } });
    for (const policy of [...inline, ...attached]) statementRows(name, policy.PolicyDocument.Statement);
  }
  return rows;
}

/** The markdown table of the rows (the common statements left out: the text above the table names them). */
export function renderIamTable(rows: readonly IamRow[]): string {
  const code = (values: readonly string[]) => values.map((value) => `\`${value}\``).join(', ');
  const lines = [
    '| Role | Actions | Resources | Condition |',
    '|---|---|---|---|',
    ...rows
      .filter((row) => !isCommonStatement(row))
      .map(
        (row) =>
          `| ${row.role} | ${code(row.actions)} | ${code(row.resources)} | ${row.condition === '' ? '' : `\`${row.condition}\``} |`,
      ),
  ];
  return `${lines.join('\n')}\n`;
}
