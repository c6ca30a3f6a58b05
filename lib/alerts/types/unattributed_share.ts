import { formatMoney, formatPercent } from '../../common/money.ts';
import { type AlertTypeDefinition, nonNegative } from '../alert-type.ts';

const thresholds = {
  /** Share of attributable cost unattributed over 7 days above which unattributed_share fires. */
  unattributedShare: nonNegative().default(0.05),
};

/**
 * **unattributed_share** (docs/alerts.md): the share of attributable cost over the last 7 days that
 * reached no customer is above `unattributedShare`. The SQL returns the share whatever it is (one row);
 * the comparison happens here.
 */
export const unattributedShare: AlertTypeDefinition<'unattributed_share', typeof thresholds> = {
  name: 'unattributed_share',
  sql: { path: 'alerts/unattributed_share.sql' },
  thresholds,
  findings: ([row], { thresholds: t, currency }) => {
    const share = Number(row?.unattributed_share ?? 0);
    if (!(share > t.unattributedShare)) return [];
    return [
      {
        severity: 'WARNING',
        subject: 'account',
        value: share,
        threshold: t.unattributedShare,
        explanation:
          `${formatPercent(share)} of attributable cost (${formatMoney(Number(row?.unattributed_cost), currency)}) ` +
          `reached no customer over the last 7 days, above ${formatPercent(t.unattributedShare)}.`,
        customer: null,
        moneyAtStake: Number(row?.unattributed_cost ?? 0),
      },
    ];
  },
  title: (a) => `${formatPercent(a.value)} of cost reaches no customer`,
  nextSteps: [
    'Look at unattributed.csv (or the unattributed_cost view) by reason and service.',
    'Tag the untagged resources with the tenant tag, or send telemetry for the pools without a usage signal.',
  ],
  unit: 'ratio',
};
