import type { ReportData } from '../report-data.ts';
import { badge, byId, el, query } from './dom.ts';

/**
 * Every alert of the run, most severe first (data.alerts is sorted so), whatever the treemap can show:
 * a small customer's block may be too small to read its badge, its alert is still listed here.
 */
export function renderAlertList(data: ReportData): void {
  byId('alerts-title').textContent =
    data.alerts.length === 0 ? 'Alerts: none' : `Alerts (${data.alerts.length})`;
  byId('alert-list').hidden = data.alerts.length === 0;
  const body = query('#alert-list tbody');
  for (const alert of data.alerts) {
    body.appendChild(
      el('tr', { 'data-testid': 'alert-row' }, [
        el('td', null, [badge(alert)]),
        el('td', { text: alert.customerName ?? alert.subject, title: alert.customerId ?? alert.subject }),
        el('td', { text: alert.asOf }),
        el('td', { text: alert.explanation, 'data-testid': 'alert-explanation' }),
      ]),
    );
  }
}
