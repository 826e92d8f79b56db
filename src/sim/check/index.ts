// The invariant checker of the simulation layer (public): see invariants.ts.
export {
  checkInvariants,
  checkTeardown,
  formatViolations,
  type CheckOptions,
  type InvariantViolation,
} from "./invariants.js";
