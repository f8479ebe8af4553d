/**
 * The fix for a stack whose infrastructure is missing or out of step, for error messages. The
 * infrastructure ships through the pipeline (docs/infra-pipeline.md): nobody runs `pulumi up` from a
 * laptop, so the messages say how to get the pipeline to apply it, or how a new account starts.
 */
export const APPLY_STACK_HINT =
  "apply the stack through the pipeline (merge to main, or release the latest change in CodePipeline); a new account starts with `npx friday bootstrap` (docs/infra-pipeline.md)";
