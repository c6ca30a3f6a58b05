/** The text of an `Fn::Join` in a synthesized template, each `Ref` written as `<logical id without its hash>`. */
export function joinWithPlaceholders(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`not an Fn::Join: ${JSON.stringify(value)}`);
  return join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = (part as { Ref?: string }).Ref;
      if (ref === undefined) throw new Error(`unexpected part ${JSON.stringify(part)}`);
      return `<${ref.replace(/[0-9A-F]{8}$/, '')}>`;
    })
    .join(join[0]);
}
