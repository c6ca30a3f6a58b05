import { describe, expect, it } from 'vitest';
import { InvalidTelemetryError } from '../../lib/attribution/stages.ts';
import { InputError } from '../../lib/inputs/input-error.ts';
import { exitCodeOf, reportError } from '../../lib/local/cli-output.ts';

const badRow = {
  sourceFile: 'usage/2026-10-01.ndjson',
  problem: 'quantity is negative',
  usageDate: '2026-10-01',
  tenantId: 'acme',
  metric: 'requests',
  quantity: -3,
};

describe('exit codes', () => {
  it('reports bad telemetry as bad input (1), in one line, not as an internal error (3)', () => {
    const error = new InvalidTelemetryError(badRow, 2);
    expect(exitCodeOf(error)).toBe(1);
    let written = '';
    expect(reportError(error, { write: (text: string) => (written += text) }, {})).toBe(1);
    expect(written).toBe(
      'cpc: telemetry object usage/2026-10-01.ndjson: quantity is negative, in the row with usage_date 2026-10-01, ' +
        'tenant_id "acme", metric "requests", quantity -3 (named by its values: Athena gives no line numbers); 2 bad rows in all\n',
    );
  });

  it('keeps 1 for other bad input and 3 for anything unexpected', () => {
    expect(exitCodeOf(new InputError('is empty', { file: 'customers.csv' }))).toBe(1);
    expect(exitCodeOf(new TypeError('boom'))).toBe(3);
  });
});
