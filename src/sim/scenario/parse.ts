// Loading a scenario from text (YAML or JSON) or from an object: schema validation, the checks
// between sections (names that must refer to something), and errors that name the path and,
// for text, the line and column.
import { type Document, LineCounter, isMap, isSeq, parseDocument } from "yaml";
import type { ZodError } from "zod";
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE } from "../../engine/layout.js";
import { type Scenario, ScenarioSchema } from "./schema.js";

const PMD_PAGES = PMD_SIZE / PAGE_SIZE;
const PUD_PAGES = PUD_SIZE / PAGE_SIZE;

/** One problem found in a scenario. */
export interface ScenarioIssue {
  /** The field, e.g. `actors[1].pattern.stride`. */
  path: string;
  /** What is wrong. */
  message: string;
  /** 1-based line in the text, when parsed from text. */
  line?: number;
  /** 1-based column in the text, when parsed from text. */
  col?: number;
}

/** A scenario that failed to parse or validate; `issues` lists every problem found. */
export class ScenarioError extends Error {
  /**
   * @param issues Every problem found.
   * @param source Name of the text (file name), prefixed to the message.
   */
  constructor(
    readonly issues: ScenarioIssue[],
    source?: string,
  ) {
    super((source ? `${source}: ` : "") + issues.map(formatIssue).join("\n"));
    this.name = "ScenarioError";
  }
}

/** One issue as a line: `path: message (line L, col C)`. */
export function formatIssue(i: ScenarioIssue): string {
  const at = i.line !== undefined ? ` (line ${i.line}, col ${i.col})` : "";
  return `${i.path || "(root)"}: ${i.message}${at}`;
}

/** One step of a path into a scenario: a key, or an index into a list (formatPath() writes them as `a.b[0].c`). */
export type PathSegment = string | number;

/** A field path as written in docs and sweeps: `actors[1].pattern.stride`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const s of path) out += typeof s === "number" ? `[${s}]` : out ? `.${s}` : s;
  return out;
}

/**
 * Parses and validates a YAML or JSON scenario (docs/scenarios.md), filling in every default.
 * Throws ScenarioError listing every issue with its path, line and column; TypeError when text
 * is not a string.
 *
 * @example
 * ```ts
 * const scenario = parseScenario(yamlText, { source: "my.yaml" });
 * const report = runScenario(scenario, { seed: 7 });
 * console.log(report.status, report.schedule);      // "ok" and the schedule string, or a violation
 * ```
 */
export function parseScenario(text: string, opts: { source?: string } = {}): Scenario {
  if (typeof text !== "string") throw new TypeError("parseScenario takes the scenario text");
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors.map((e) => {
        const p = lc.linePos(e.pos[0]);
        return { path: "", message: e.message.split("\n")[0], line: p.line, col: p.col };
      }),
      opts.source,
    );
  }
  const obj: unknown = doc.toJS();
  const res = check(obj);
  if (res.ok) return res.value;
  throw new ScenarioError(
    res.issues.map((i) => ({ ...i.issue, ...position(doc, lc, i.segs, i.atKey ?? false) })),
    opts.source,
  );
}

/** Validates a scenario object (already parsed). Throws ScenarioError. */
export function validateScenario(obj: unknown): Scenario {
  const res = check(obj);
  if (res.ok) return res.value;
  throw new ScenarioError(res.issues.map((i) => i.issue));
}

type CheckResult = { ok: true; value: Scenario } | { ok: false; issues: Located[] };

function check(obj: unknown): CheckResult {
  const r = ScenarioSchema.safeParse(obj, { reportInput: true });
  if (!r.success) return { ok: false, issues: zodIssues(r.error) };
  const refs = crossReferences(r.data);
  if (refs.length > 0)
    return { ok: false, issues: refs.map(([segs, message]) => ({ issue: { path: formatPath(segs), message }, segs })) };
  return { ok: true, value: r.data };
}

type Located = { issue: ScenarioIssue; segs: PathSegment[]; atKey?: boolean };

type ZodIssue = ZodError["issues"][number];

function zodIssues(err: ZodError): Located[] {
  return flatten(err.issues, []);
}

function flatten(issues: readonly ZodIssue[], prefix: PathSegment[]): Located[] {
  const out: Located[] = [];
  for (const i of issues) {
    const segs = [...prefix, ...i.path.filter((s): s is PathSegment => typeof s !== "symbol")];
    // a union (a profile name or an inline profile): the branch that got furthest explains best
    if (i.code === "invalid_union" && i.errors.length > 0 && !("discriminator" in i && i.discriminator)) {
      const depth = (b: readonly ZodIssue[]) => Math.max(...b.map((x) => x.path.length));
      const best = [...i.errors].sort((x, y) => depth(y) - depth(x))[0];
      if (depth(best) > 0) {
        out.push(...flatten(best, segs));
        continue;
      }
    }
    if (i.code === "unrecognized_keys") {
      for (const k of i.keys)
        out.push({
          issue: { path: formatPath([...segs, k]), message: `unknown key "${k}"` },
          segs: [...segs, k],
          atKey: true,
        });
      continue;
    }
    out.push({ issue: { path: formatPath(segs), message: zodMessage(i) }, segs });
  }
  return out;
}

function zodMessage(i: ZodIssue): string {
  if (i.code === "invalid_type")
    return `expected ${i.expected}${i.input === undefined ? " (missing)" : `, got ${describe(i.input)}`}`;
  if (i.code === "invalid_value") return `expected one of ${i.values.map((v) => JSON.stringify(v)).join(", ")}`;
  if (i.code === "invalid_union" && "discriminator" in i) return i.message;
  return i.message.replace(/^Invalid input: /, "");
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 20 ? v.slice(0, 20) + "..." : v)}`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

/** The source position of the deepest node of `segs` that exists (a key for unknown keys). */
function position(
  doc: Document,
  lc: LineCounter,
  segs: PathSegment[],
  atKey: boolean,
): { line?: number; col?: number } {
  let node: unknown = doc.contents;
  let offset: number | undefined = rangeStart(node);
  for (const s of segs) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyValue(p.key) === String(s));
      if (!pair) break;
      if (atKey && s === segs[segs.length - 1]) {
        offset = rangeStart(pair.key) ?? offset;
        break;
      }
      // the value's position, or the key's when the value is empty or the key is the culprit
      offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
      if (pair.value == null) {
        offset = rangeStart(pair.key) ?? offset;
        node = null;
        break;
      }
      node = pair.value;
      if (s === segs[segs.length - 1] && !isMap(node) && !isSeq(node)) break;
    } else if (isSeq(node) && typeof s === "number") {
      const item = node.items[s];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  if (offset === undefined) return {};
  const p = lc.linePos(offset);
  return { line: p.line, col: p.col };
}

function keyValue(k: unknown): string | undefined {
  if (k && typeof k === "object" && "value" in k) return String((k as { value: unknown }).value);
  return typeof k === "string" ? k : undefined;
}

function rangeStart(n: unknown): number | undefined {
  if (n && typeof n === "object" && "range" in n) {
    const r = (n as { range?: [number, number, number] }).range;
    return r ? r[0] : undefined;
  }
  return undefined;
}

/** The checks between sections: every name an actor, device or mapping uses must exist. */
function crossReferences(s: Scenario): [PathSegment[], string][] {
  const out: [PathSegment[], string][] = [];
  const dup = (list: { name: string }[], where: PathSegment[], what: string) => {
    const seen = new Set<string>();
    list.forEach((x, i) => {
      if (seen.has(x.name)) out.push([[...where, i, "name"], `duplicate ${what} name "${x.name}"`]);
      seen.add(x.name);
    });
  };
  dup(s.processes, ["processes"], "process");
  dup(s.devices, ["devices"], "device");
  dup(s.actors, ["actors"], "actor");
  const devices = new Set(s.devices.map((d) => d.name));
  const procs = new Map(s.processes.map((p) => [p.name, p]));
  s.processes.forEach((p, pi) => {
    dup(p.mappings, ["processes", pi, "mappings"], "mapping");
    p.mappings.forEach((m, mi) => {
      const at: PathSegment[] = ["processes", pi, "mappings", mi];
      if (m.kind === "device" && !m.device) out.push([[...at, "device"], `a "device" mapping names its device`]);
      if (m.device !== undefined && !devices.has(m.device))
        out.push([[...at, "device"], `no device named "${m.device}"`]);
      if (m.kind === "hugetlb" && m.hugeSize === "1G" && m.pages % PUD_PAGES !== 0)
        out.push([[...at, "pages"], `expected a multiple of ${PUD_PAGES} for 1 GiB hugetlb pages`]);
      if (m.kind === "hugetlb" && m.hugeSize === "2M" && m.pages % PMD_PAGES !== 0)
        out.push([[...at, "pages"], `expected a multiple of ${PMD_PAGES} for 2 MiB hugetlb pages`]);
    });
  });
  s.devices.forEach((d, di) => {
    if (d.owner !== undefined && (!devices.has(d.owner) || d.owner === d.name))
      out.push([["devices", di, "owner"], `no other device named "${d.owner}"`]);
  });
  s.actors.forEach((a, ai) => {
    const at: PathSegment[] = ["actors", ai];
    const p = procs.get(a.process);
    if (!p) {
      out.push([[...at, "process"], `no process named "${a.process}"`]);
      return;
    }
    const maps = new Map(p.mappings.map((m) => [m.name, m]));
    const needMap = (segs: PathSegment[], m: string | undefined) => {
      if (m !== undefined && !maps.has(m)) out.push([segs, `process "${p.name}" has no mapping named "${m}"`]);
    };
    if (a.count === undefined && a.durationNs === undefined && s.run.durationNs === undefined) {
      out.push([[...at, "count"], "expected count or durationNs here or run.durationNs"]);
    }
    if (a.kind === "device") {
      if (!devices.has(a.device)) out.push([[...at, "device"], `no device named "${a.device}"`]);
      needMap([...at, "mapping"], a.mapping);
      const m = maps.get(a.mapping);
      if (m && a.pattern.kind === "replay") {
        a.pattern.pages.forEach((pg, i) => {
          if (pg >= m.pages)
            out.push([[...at, "pattern", "pages", i], `page ${pg} is outside mapping "${m.name}" (${m.pages} pages)`]);
        });
      }
      if (m && a.pattern.kind === "hot-set" && a.pattern.hotPages > m.pages)
        out.push([[...at, "pattern", "hotPages"], `expected at most ${m.pages} (the mapping's pages)`]);
    } else if (a.kind === "cpu") {
      a.ops.forEach((o, oi) => {
        if ("mapping" in o) {
          needMap([...at, "ops", oi, "mapping"], o.mapping);
          const m = maps.get(o.mapping);
          if (m && "page" in o && o.page + (o.pages ?? 1) > m.pages)
            out.push([[...at, "ops", oi, "page"], `range ends past mapping "${m.name}" (${m.pages} pages)`]);
        }
      });
    } else {
      needMap([...at, "mapping"], a.mapping);
    }
  });
  return out;
}
