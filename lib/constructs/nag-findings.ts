import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * How cdk-nag writes a value (an ARN, usually) inside a finding id: literal text as is, a `Ref` as
 * `<Name>`, `Fn::GetAtt` as `<Resource.Attribute>`. Findings with detail must be acknowledged by their
 * exact id, for example `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::bucket/*]`, and whether
 * the partition or account is a literal or a reference depends on the stack's environment.
 */
export function nagFindingText(scope: IConstruct, value: unknown): string {
  const render = (part: unknown): string => {
    if (typeof part === 'string') return part;
    if (part !== null && typeof part === 'object') {
      const intrinsic = part as Record<string, unknown>;
      if (typeof intrinsic.Ref === 'string') return `<${intrinsic.Ref}>`;
      const getAtt = intrinsic['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
      const join = intrinsic['Fn::Join'];
      if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
        return join[1].map(render).join(join[0]);
      }
    }
    throw new Error(`Cannot write ${JSON.stringify(part)} as cdk-nag does`);
  };
  return render(Stack.of(scope).resolve(value));
}
