/**
 * A number as a plain decimal with every digit JavaScript needs to round-trip it: never rounded, never
 * in exponent form (1.2e-7 becomes 0.00000012), so spreadsheets and finance tools read it as is.
 */
export function plainDecimal(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`Not a finite number: ${value}`);
  if (Object.is(value, -0) || value === 0) return '0';
  const text = String(value);
  const exponentAt = text.indexOf('e');
  if (exponentAt === -1) return text;
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, exponentAt);
  const exponent = Number(text.slice(exponentAt + 1));
  const [whole = '', fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const pointAt = whole.length + exponent;
  let result: string;
  if (pointAt <= 0) result = `0.${'0'.repeat(-pointAt)}${digits}`;
  else if (pointAt >= digits.length) result = digits + '0'.repeat(pointAt - digits.length);
  else result = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return negative ? `-${result}` : result;
}
