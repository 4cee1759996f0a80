// The Lambda runtime ships the AWS SDK; here it is tests/e2e's npm package. A module hook
// (node:module register) resolves deploy/follower's `@aws-sdk/*` imports from this folder,
// so the Lambda's file is run as it is deployed.
const HERE = new URL("./", import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier.startsWith("@aws-sdk/") && context.parentURL?.includes("/deploy/follower/")) {
    return next(specifier, { ...context, parentURL: HERE });
  }
  return next(specifier, context);
}
