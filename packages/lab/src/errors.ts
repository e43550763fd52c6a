/** A lab failure the operator sees as one line (tsctl prints its message and exits 1). */
export class LabError extends Error {}
