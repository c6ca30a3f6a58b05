import { describe, expect, it } from 'vitest';
import { cut, MAX_VALUE_LENGTH, plainText, rawText, slackText } from '../../lib/alerts/safe-text.ts';

describe('safe text for alert messages', () => {
  it('escapes a value for Slack so it cannot mention, link or format', () => {
    expect(slackText('<!channel> *Acme* <https://evil.example|click>')).toBe(
      '&lt;!channel&gt; Acme &lt;https://evil.example|click&gt;',
    );
    expect(slackText('_gold_')).toBe('gold');
    expect(slackText('`ops`')).toBe('ops');
    expect(slackText('~strike~ Smith & Sons')).toBe('strike Smith &amp; Sons');
  });

  it('keeps a plain-text value free of control and markdown characters, but not HTML-escaped', () => {
    expect(plainText('Acme\nRobotics\t<b> & *co*')).toBe('Acme Robotics <b> & co');
    expect(plainText('<!channel> *Acme* <https://evil.example|click>')).toBe(
      '<!channel> Acme <https://evil.example|click>',
    );
    expect(slackText('Acme\r\nRobotics')).toBe('Acme Robotics');
  });

  it('cuts a value to 80 characters, the last being an ellipsis', () => {
    const long = 'a'.repeat(200);
    expect(cut(long)).toBe(`${'a'.repeat(79)}…`);
    expect([...cut(long)]).toHaveLength(MAX_VALUE_LENGTH);
    expect(cut('a'.repeat(80))).toBe('a'.repeat(80));
    expect(slackText(long)).toBe(`${'a'.repeat(79)}…`);
    expect(plainText(long)).toBe(`${'a'.repeat(79)}…`);
    // Code points, not UTF-16 units: an emoji is not cut in half.
    expect(cut('😀'.repeat(100))).toBe(`${'😀'.repeat(79)}…`);
    // Cut before escaping: the limit counts what a reader sees, and no entity is split.
    expect(slackText('<'.repeat(100))).toBe(`${'&lt;'.repeat(79)}…`);
    expect(slackText(long, Number.POSITIVE_INFINITY)).toBe(long);
  });

  it('leaves a value raw where no message is written', () => {
    expect(rawText('<!channel> *Acme*')).toBe('<!channel> *Acme*');
  });
});
