import { byId, el, swatch, tile } from './dom.ts';
import { moneyIn, pct } from './format.ts';
import type { MonthView } from './month-view.ts';

/**
 * Section 5: what accounts without revenue cost, and how concentrated that cost is: a bar split into
 * the costliest 10% of those accounts, the next 10% and the rest.
 */
export function renderFreeTier(data: MonthView): void {
  const money = moneyIn(data.currency);
  const f = data.freeTier;
  const tiles = byId('free-tiles');
  const bar = byId('free-bar');
  if (!f || f.accounts === 0) {
    tiles.appendChild(el('p', { class: 'hint', text: 'No free or trial account has cost in this month.' }));
    bar.hidden = true;
    return;
  }
  tiles.appendChild(tile('Free and trial accounts', String(f.accounts), null, 'free-accounts'));
  tiles.appendChild(
    tile(
      'Their cost',
      money(f.freeTrialCost),
      `free ${money(f.freeCost)}, trial ${money(f.trialCost)}`,
      'free-cost',
    ),
  );
  tiles.appendChild(
    tile('Share of customer cost', pct(f.shareOfCustomerCost), `of ${money(f.customerCost)}`, 'free-share'),
  );
  tiles.appendChild(
    tile(
      'Top 10% of them',
      pct(f.top10PctShare),
      `${f.top10PctAccounts} account(s) take this share`,
      'free-top10',
    ),
  );
  tiles.appendChild(
    tile(
      'Top 20% of them',
      pct(f.top20PctShare),
      `${f.top20PctAccounts} account(s) take this share`,
      'free-top20',
    ),
  );
  // The shares are null when the free and trial cost is 0; the bar is then all "the other" accounts.
  const s10 = f.top10PctShare ?? 0;
  const s20 = f.top20PctShare ?? 0;
  const parts = [
    { share: s10, color: '#c9543f', label: `top 10% (${f.top10PctAccounts}) ${pct(s10)}` },
    { share: s20 - s10, color: '#e8955a', label: `next 10% ${pct(s20 - s10)}` },
    {
      share: 1 - s20,
      color: '#c3c9d1',
      label: `the other ${f.accounts - f.top20PctAccounts} ${pct(1 - s20)}`,
    },
  ];
  const legend = byId('free-legend');
  for (const part of parts) {
    bar.appendChild(
      el('div', { style: `width:${Math.max(0, part.share * 100).toFixed(3)}%;background:${part.color}` }),
    );
    legend.appendChild(swatch(part.color, part.label));
  }
}
