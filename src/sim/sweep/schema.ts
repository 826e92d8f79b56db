// The sweep file: a base scenario, the parameters to vary (addressed by path into the scenario) as
// grid axes, zipped groups and random samples, the seeds per point and the metrics to collect.
// YAML or JSON, validated with zod; every error names the path and, for YAML/JSON text, the line and
// column, the same way scenario errors do. docs/sweeps.md describes every field.
import { z } from "zod";
import { LineCounter, parseDocument, isMap, isNode, isScalar } from "yaml";
import { parsePath, type PathError } from "./paths.js";

/** Version of the sweep-file format this library reads. */
export const SWEEP_FORMAT_VERSION = 1;

/** One problem in a sweep file. */
export interface SweepIssue {
  /** Where: the field's path, e.g. "parameters.grid" ("" for a syntax error). */
  path: string;
  /** What is wrong. */
  message: string;
  /** Line in the text (1-based), when the sweep was parsed from text and the place is known. */
  line?: number;
  /** Column in the text (1-based), with `line`. */
  col?: number;
}

/** A sweep file that does not parse or validate; `issues` lists every problem found. */
export class SweepError extends Error {
  /** Every problem found. */
  readonly issues: SweepIssue[];
  /**
   * @param issues Every problem found.
   * @param source The file's name, put before the message.
   */
  constructor(issues: SweepIssue[], source?: string) {
    const where = source ? `${source}: ` : "";
    super(where + issues.map(formatIssue).join("\n" + " ".repeat(where.length)));
    this.name = "SweepError";
    this.issues = issues;
  }
}

/** "parameters.grid.x: expected a list (line 4, col 7)". */
export function formatIssue(i: SweepIssue): string {
  const pos = i.line !== undefined ? ` (line ${i.line}, col ${i.col})` : "";
  return `${i.path || "(top)"}: ${i.message}${pos}`;
}

const pathKey = z.string().superRefine((p, ctx) => {
  try {
    parsePath(p);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as PathError).message });
  }
});

const values = z.array(z.unknown()).min(1, "expected at least one value");

const range = (what: string) =>
  z.tuple([z.number(), z.number()]).refine(([a, b]) => a <= b, `${what}: expected [low, high] with low <= high`);

/** How a random parameter is drawn; exactly one of int, uniform, logUniform, choice. */
const distribution = z
  .object({
    /** A uniform integer in [low, high], both bounds included. */
    int: range("int")
      .refine(([a, b]) => Number.isSafeInteger(a) && Number.isSafeInteger(b), "int: expected two integers")
      .optional(),
    /** A uniform real number in [low, high]. */
    uniform: range("uniform").optional(),
    /** A real number in [low, high] whose logarithm is uniform (bounds positive). */
    logUniform: range("logUniform")
      .refine(([a]) => a > 0, "logUniform: expected positive bounds")
      .optional(),
    /** One of the listed values, each equally likely. */
    choice: values.optional(),
    /** Round a uniform or logUniform draw to the nearest integer. */
    round: z.boolean().optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    const kinds = (["int", "uniform", "logUniform", "choice"] as const).filter((k) => d[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: `expected exactly one of int, uniform, logUniform, choice${kinds.length ? ` (got ${kinds.join(", ")})` : ""}`,
      });
    }
    if (d.round !== undefined && d.logUniform === undefined && d.uniform === undefined) {
      ctx.addIssue({ code: "custom", path: ["round"], message: "round applies to uniform and logUniform only" });
    }
  });

/** The sweep file's schema (format version 1); parseSweep() and validateSweep() check input against it. */
export const sweepSchema = z
  .object({
    /** Sweep-file format version; only 1 exists (the default). */
    version: z.literal(SWEEP_FORMAT_VERSION).default(SWEEP_FORMAT_VERSION),
    /** Name used in the report's title (default "sweep"). */
    name: z.string().min(1).optional(),
    /** The base scenario: "default" (the built-in one), a file path relative to the sweep file, or inline. */
    scenario: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).default("default"),
    /** The scenario fields to vary, by path (e.g. `devices[0].driver.faultChunk`); the points are the product of the axes, in file order. */
    parameters: z
      .object({
        /** Each parameter is one axis over its listed values (every combination; the first varies slowest). */
        grid: z.record(pathKey, values).optional(),
        /** Each group is one axis whose lists (of one length) advance together. */
        zip: z.array(z.record(pathKey, values)).optional(),
        /** One axis of random draws; each draw sets every parameter listed. */
        random: z
          .object({
            /** Number of draws (points on this axis). */
            samples: z.number().int().positive().max(1_000_000),
            /** The sampler's own seed (default 1): the same file gives the same points. */
            seed: z
              .number()
              .int()
              .nonnegative()
              .max(2 ** 32 - 1)
              .default(1),
            /** How each parameter is drawn, by path. */
            params: z.record(pathKey, distribution),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    /** Seeds per point: N means seeds 1..N; a list names them. */
    seeds: z
      .union([
        z.number().int().positive().max(100_000),
        z
          .array(
            z
              .number()
              .int()
              .nonnegative()
              .max(2 ** 32 - 1),
          )
          .min(1)
          .refine((a) => new Set(a).size === a.length, "seeds must be distinct"),
      ])
      .default(1),
    /** Scheduler strategy and invariant checks for every run; default: the scenario's run.strategy / run.check. */
    strategy: z.enum(["random", "pct", "dfs"]).optional(),
    /** PCT depth for every run (strategy pct only); default: the scenario's run.pctDepth. */
    pctDepth: z.number().int().positive().max(64).optional(),
    /** Invariant checks for every run: every-step, end or off; default: the scenario's run.check. */
    check: z.enum(["every-step", "end", "off"]).optional(),
    /** Metrics to collect, by name (see docs/sweeps.md); default: every total metric of the report. */
    metrics: z
      .array(z.string().min(1))
      .min(1)
      .refine((a) => new Set(a).size === a.length, "metrics must be distinct")
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Map<string, string>();
    const note = (p: string, where: (string | number)[]) => {
      const prev = seen.get(p);
      if (prev) ctx.addIssue({ code: "custom", path: where, message: `parameter ${p} is already swept in ${prev}` });
      else seen.set(p, where.join("."));
    };
    for (const p of Object.keys(s.parameters.grid ?? {})) note(p, ["parameters", "grid", p]);
    (s.parameters.zip ?? []).forEach((g, i) => {
      const lens = new Set(Object.values(g).map((v) => v.length));
      if (lens.size > 1)
        ctx.addIssue({
          code: "custom",
          path: ["parameters", "zip", i],
          message: `zipped lists must have one length (got ${[...lens].join(", ")})`,
        });
      if (Object.keys(g).length === 0)
        ctx.addIssue({ code: "custom", path: ["parameters", "zip", i], message: "expected at least one parameter" });
      for (const p of Object.keys(g)) note(p, ["parameters", "zip", i, p]);
    });
    for (const p of Object.keys(s.parameters.random?.params ?? {})) note(p, ["parameters", "random", "params", p]);
    if (s.pctDepth !== undefined && s.strategy !== undefined && s.strategy !== "pct")
      ctx.addIssue({ code: "custom", path: ["pctDepth"], message: "pctDepth applies to strategy pct only" });
  });

/** A validated sweep file (defaults filled in). */
export type Sweep = z.infer<typeof sweepSchema>;
/** One random-parameter distribution. */
export type Distribution = z.infer<typeof distribution>;

/** Validates a sweep object (already parsed); throws SweepError. */
export function validateSweep(obj: unknown): Sweep {
  const r = sweepSchema.safeParse(obj);
  if (r.success) return r.data;
  throw new SweepError(r.error.issues.map((i) => ({ path: joinPath(i.path), message: i.message })));
}

/** Parses and validates a sweep file's text (YAML, of which JSON is a subset); throws SweepError with positions. */
export function parseSweep(text: string, opts: { source?: string } = {}): Sweep {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SweepError(
      doc.errors.map((e) => {
        const p = lc.linePos(e.pos[0]);
        return { path: "", message: e.message.split("\n")[0], line: p.line, col: p.col };
      }),
      opts.source,
    );
  }
  const r = sweepSchema.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (r.success) return r.data;
  throw new SweepError(
    r.error.issues.map((i) => {
      const issue: SweepIssue = { path: joinPath(i.path), message: i.message };
      // An unknown key points at the key itself; other issues at the deepest node of the path that
      // exists in the text (a missing key points at its parent).
      const at = i.code === "unrecognized_keys" ? keyNode(doc.getIn(i.path as unknown[], true), i.keys[0]) : undefined;
      for (let n = i.path.length; n >= 0 && !at; n--) {
        const node = doc.getIn(i.path.slice(0, n) as unknown[], true);
        if (isNode(node) && node.range) {
          Object.assign(issue, lc.linePos(node.range[0]));
          break;
        }
      }
      if (at) Object.assign(issue, lc.linePos(at));
      if (i.code === "unrecognized_keys")
        issue.message = `unknown key${i.keys.length > 1 ? "s" : ""} ${i.keys.join(", ")}`;
      return issue;
    }),
    opts.source,
  );
}

/** Offset of `key` in a YAML map node, if it is one and has that key. */
function keyNode(map: unknown, key: string | undefined): number | undefined {
  if (!isMap(map) || key === undefined) return undefined;
  for (const pair of map.items) {
    if (isScalar(pair.key) && pair.key.value === key && pair.key.range) return pair.key.range[0];
  }
  return undefined;
}

function joinPath(path: readonly PropertyKey[]): string {
  return path.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join("");
}
