// Long differential fuzz of the two walkers of one hmm_range_fault() walk pass: the WASM `hmmWalk`
// (assembly/walk.ts) against the TypeScript reference (src/hmm/reference-walk.ts), with the generators,
// comparisons and invariants of test/differential.test.ts (shared in test/differential-harness.ts).
//
// The vitest properties build every case in two fresh engines (~5-20 ms a case, mostly WebAssembly
// instantiation). Here one pair of engines in lockstep (LockstepPair) serves many cases: a fresh mm
// and hmm_pfns array per case, freed afterwards; the pair is replaced every --recycle cases, when
// its heap has grown by 1 MiB, after a case that wrote where the pair cannot undo the write (the
// case is abandoned in the pair at that write and checked in two fresh engines, and the pair is
// retired: see LockstepPair), and after any failure. A failing case is re-run in two fresh
// engines (the vitest harness) before it counts, and fast-check shrinks it the same way.
//
//   npm run fuzz -- --build release,simd      (or: npx tsx fuzz/walk.ts --cases 1000000 --build simd)
//
// Options:
//   --cases N        cases per build, split evenly over the properties (default: $HMMSIM_FUZZ_RUNS
//                    or 1000000)
//   --build B[,B..]  release | simd | debug (default release)
//   --property P     random | dense | both (default both)
//   --seed S         fast-check seed (default: random, printed); with --path, replays a failure
//   --path P         fast-check replay path printed by a failure (use with --seed and --property)
//   --progress N     print progress every N cases (default 50000)
//   --recycle N      replace the pair of engines every N cases (default 20000)
//   --crosscheck N   every N-th case also runs in two fresh engines, whose walks must return the
//                    same outcomes and hmm_pfns words as in the pair (default 1000; 0: never)
//   --fresh          two fresh engines per case, as the vitest properties (to measure them)
// Exit status: 0 when every case agreed, 1 on a disagreement (the shrunk case, the seed and the
// replay command are printed), 2 on a usage or harness error.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as fc from "fast-check";
import { Command, InvalidArgumentError, Option } from "commander";
import { ERRNO, MEM, PAGE_SHIFT, PUD_SHIFT } from "../src/engine/layout.js";
import { wasmPath } from "../src/engine/wasm-file.node.js";
import {
  type Build,
  type Case,
  type CaseResult,
  LockstepPair,
  type Outcome,
  word,
  STATS,
  caseArb,
  checkCase,
  denseCaseArb,
  printable,
} from "../test/differential-harness.js";

const PROPERTIES = { random: caseArb, dense: denseCaseArb } as const;
type PropertyName = keyof typeof PROPERTIES;
const PROPERTY_TITLES: Record<PropertyName, string> = { random: "random address spaces", dense: "dense PTE tables" };

/** A usage error: the message and a pointer to --help on stderr, exit 2. */
function usage(msg: string): never {
  console.error(`fuzz: ${msg}\n(see tsx fuzz/walk.ts --help)`);
  process.exit(2);
}

function intArg(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} needs an integer >= ${min}, got ${v}`);
    return n;
  };
}

function parseArgs(argv: string[]) {
  const program = new Command("fuzz")
    .description("differential fuzzing of the WASM walker against the TypeScript reference, in lockstep")
    .addOption(
      new Option("--cases <n>", "cases per property")
        .default(Number(process.env.HMMSIM_FUZZ_RUNS ?? "") || 1_000_000)
        .argParser(intArg("--cases", 1)),
    )
    .addOption(
      new Option("--build <list>", "builds, comma-separated: release, simd, debug")
        .default(["release"])
        .argParser((v: string) => {
          const bs = v.split(",").filter(Boolean);
          if (!bs.length || bs.some((b) => b !== "release" && b !== "simd" && b !== "debug"))
            throw new InvalidArgumentError(`bad --build ${v}`);
          return bs as Build[];
        }),
    )
    .addOption(
      new Option("--property <name>", "random, dense or both").default(["random", "dense"]).argParser((p: string) => {
        if (p === "both") return ["random", "dense"] as PropertyName[];
        if (p === "random" || p === "dense") return [p] as PropertyName[];
        throw new InvalidArgumentError(`bad --property ${p}`);
      }),
    )
    .addOption(
      new Option("--seed <s>", "fast-check seed").argParser((v: string) => intArg("--seed", -(2 ** 31))(v) | 0),
    )
    .option("--path <p>", "replay one failure (with --seed and one --property)")
    .addOption(
      new Option("--progress <n>", "cases between progress lines").default(50_000).argParser(intArg("--progress", 1)),
    )
    .addOption(
      new Option("--recycle <n>", "cases per engine pair before a fresh one")
        .default(20_000)
        .argParser(intArg("--recycle", 1)),
    )
    .option("--fresh", "a fresh engine pair per case")
    .addOption(
      new Option("--crosscheck <n>", "cases between cross-checks").default(1000).argParser(intArg("--crosscheck", 0)),
    )
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .parse(argv, { from: "user" });
  const o = program.opts<{
    cases: number;
    build: Build[];
    property: PropertyName[];
    seed?: number;
    path?: string;
    progress: number;
    recycle: number;
    fresh?: boolean;
    crosscheck: number;
  }>();
  const opts = {
    cases: o.cases,
    builds: o.build,
    properties: o.property,
    seed: o.seed,
    path: o.path,
    progress: o.progress,
    recycle: o.recycle,
    fresh: !!o.fresh,
    crosscheck: o.crosscheck,
  };
  if (opts.path !== undefined && (opts.seed === undefined || opts.properties.length !== 1)) {
    usage("--path replays one failure: give it with --seed and --property random|dense");
  }
  return opts;
}

const fmtDuration = (s: number): string => {
  if (!Number.isFinite(s)) return "?";
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
};
const now = (): number => performance.now() / 1000;

/**
 * Heap growth at which a pair is replaced (free-list slack: every case compares the whole heap of
 * the two engines). A new pair costs ~3 ms, about as much as comparing a MiB of heap 40 times.
 */
const MAX_HEAP_GROWTH = 2 ** 20;

/** The pairs of one build, one per pgmaps count; replaced when worn or broken. */
class Pairs {
  private readonly pairs = new Map<number, LockstepPair>();
  built = 0;
  retired = 0; // pairs replaced after a case wrote where its writes cannot be undone
  constructor(
    private readonly build: Build,
    private readonly recycle: number,
  ) {}
  get(pgmaps: number): LockstepPair {
    let p = this.pairs.get(pgmaps);
    if (p?.retired) this.retired++;
    if (!p || p.broken || p.retired || p.cases >= this.recycle || p.heapGrowth() > MAX_HEAP_GROWTH) {
      p = new LockstepPair(this.build, pgmaps);
      this.pairs.set(pgmaps, p);
      this.built++;
    }
    return p;
  }
}

/**
 * How the walks of a case in a pair (`pair`) differ from its walks in two fresh engines (`fresh`).
 * Two things legitimately differ: both walkers keep walk->vma from their previous call, which a walk
 * failing with -EINVAL before looking at a VMA reports (src/hmm/reference-walk.ts) and which stays in the
 * walk context after a trap (the previous case's, in a pair), and the pfn of a
 * word can be the address of a page table (a hugetlb VMA over a PMD that points to a PTE table: the
 * walk reads the table pointer as a huge entry), and tables sit elsewhere in a pair's heap. Words
 * whose flags agree and whose pfns are both heap addresses are counted in `exempt`.
 */
function crosscheckDifference(
  pair: CaseResult,
  fresh: CaseResult,
  pairHeapTop: number,
): { problem?: string; exempt: number } {
  // a table's pfn plus the page's index in its huge page (up to 1 GiB)
  const heapPfn = (lo: number): boolean =>
    lo >= MEM.HEAP_BASE / 4096 && lo < Math.max(pairHeapTop, MEM.HEAP_BASE + 2 ** 24) / 4096 + PUD_PAGES;
  let exempt = 0;
  if (pair.passes.length !== fresh.passes.length) return { problem: "different numbers of passes", exempt };
  for (const [k, p] of pair.passes.entries()) {
    const f = fresh.passes[k];
    // -EINVAL before any VMA is looked at, or a trap (which leaves the walk context as it was)
    const staleVma = p.outcome.trap || p.outcome.ret === -ERRNO.EINVAL;
    for (const key of Object.keys(p.outcome) as (keyof Outcome)[]) {
      if (key === "vmaIndex" && staleVma) continue;
      if (p.outcome[key] !== f.outcome[key])
        return { problem: `pass ${k + 1} ${key}: pair ${p.outcome[key]}, fresh ${f.outcome[key]}`, exempt };
    }
    for (const [i, [lo, hi]] of p.words.entries()) {
      const [flo, fhi] = f.words[i];
      if (lo === flo && hi === fhi) continue;
      if (hi === fhi && heapPfn(lo) && heapPfn(flo)) {
        exempt++;
        continue;
      }
      return { problem: `pass ${k + 1} word[${i}]: pair ${word([lo, hi])}, fresh ${word([flo, fhi])}`, exempt };
    }
  }
  return { exempt };
}

const PUD_PAGES = 2 ** (PUD_SHIFT - PAGE_SHIFT);

interface Result {
  build: Build;
  property: PropertyName;
  cases: number;
  seconds: number;
  failed: false | "disagreement" | "harness";
}

const LOCKSTEP_MARK = "the lockstep pair failed";

function runProperty(
  build: Build,
  property: PropertyName,
  numRuns: number,
  seed: number,
  opts: ReturnType<typeof parseArgs>,
): Result {
  const label = `[${build} ${property}]`;
  const pairs = new Pairs(build, opts.recycle);
  let passed = 0; // cases that agreed before the first failure (not counting shrinking)
  let failing = false;
  let harnessProblem: string | null = null;
  let sinceCrosscheck = 0;
  let crosschecked = 0;
  let crosscheckExempt = 0;
  let crosscheckForeign = 0;
  let discarded = 0;
  const t0 = now();
  let tLast = t0;
  let passedLast = 0;
  /**
   * checkCase in two fresh engines, the verdict that counts. A WebAssembly trap outside a walk (the
   * walks catch theirs) means the case corrupted the engine while it was being built: a leaf entry
   * that applyCase later reads as a table pointer (through the zero block used as a table of two
   * levels) can point anywhere, e.g. into the allocator's data. Such cases are discarded (counted).
   */
  const fresh = (c: Case): CaseResult | null => {
    try {
      return checkCase(c, build);
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError)) throw err;
      discarded++;
      return null;
    }
  };
  const check = (c: Case): void => {
    if (opts.fresh) {
      if (!fresh(c)) fc.pre(false);
    } else {
      let result: CaseResult;
      const pair = pairs.get(c.pgmaps);
      try {
        result = pair.run(c);
      } catch (err) {
        // the pair is broken now (get() replaces it); what counts is the verdict of two fresh
        // engines, the harness of the vitest properties
        if (!fresh(c)) fc.pre(false);
        harnessProblem ??= String(err instanceof Error ? (err.stack ?? err.message) : err);
        throw new Error(
          `${LOCKSTEP_MARK} on this case but two fresh engines agree (a problem of ` +
            `fuzz/walk.ts or of the engine's allocator, not a walker disagreement):\n${String(err)}`,
        );
      }
      if (opts.crosscheck > 0 && ++sinceCrosscheck >= opts.crosscheck) {
        sinceCrosscheck = 0;
        crosschecked++;
        const f = fresh(c);
        if (!f) fc.pre(false);
        const why = crosscheckDifference(result, f, pair.worlds[0].e.raw.heapBytes());
        if (why.exempt) crosscheckExempt += why.exempt;
        // a case that wrote through a PTE read as a table pointer changed some block of the pair and
        // another block of the fresh engines (their heaps differ): its outcomes may legitimately differ
        if (why.problem && pair.lastCaseForeign) crosscheckForeign++;
        else if (why.problem) {
          throw new Error(
            `${LOCKSTEP_MARK} the cross-check: two fresh engines agree on this case, but on other outcomes ` +
              `(a problem of fuzz/walk.ts or of the engine's allocator, not a walker disagreement):\n${why.problem}`,
          );
        }
      }
    }
  };
  const prop = fc.property(PROPERTIES[property].map(printable), (c) => {
    try {
      check(c);
    } catch (err) {
      if (fc.PreconditionFailure.isFailure(err)) throw err;
      if (!failing) {
        failing = true;
        console.log(`${label} case ${passed + 1} failed; shrinking...`);
      }
      throw err;
    }
    if (failing) return;
    passed++;
    if (passed % opts.progress === 0 || passed === numRuns) {
      const t = now();
      const rate = (passed - passedLast) / (t - tLast);
      const avg = passed / (t - t0);
      console.log(
        `${label} ${passed}/${numRuns} cases agree; ${Math.round(rate)} cases/s now, ` +
          `${(1000 / avg).toFixed(3)} ms/case overall; elapsed ${fmtDuration(t - t0)}, ` +
          `ETA ${fmtDuration((numRuns - passed) / avg)}${opts.fresh ? "" : `; engine pairs built ${pairs.built}`}`,
      );
      tLast = t;
      passedLast = passed;
    }
  });
  console.log(
    `${label} ${PROPERTY_TITLES[property]}: ${numRuns} cases, seed ${seed}` + (opts.path ? `, path ${opts.path}` : ""),
  );
  const details = fc.check(prop, {
    numRuns,
    seed,
    maxSkipsPerRun: 1000,
    ...(opts.path !== undefined ? { path: opts.path } : {}),
    endOnFailure: false,
  });
  const seconds = now() - t0;
  if (details.failed) {
    const harness = String(details.errorInstance).includes(LOCKSTEP_MARK);
    console.log(
      `\n${label} ${harness ? "LOCKSTEP HARNESS ERROR (not a walker disagreement)" : "DISAGREEMENT"} after ${passed}` +
        ` agreeing cases (${fmtDuration(seconds)})`,
    );
    console.log(fc.defaultReportMessage(details) ?? "(no report)");
    const err = details.errorInstance;
    // the stack too when the error is not one of the harness's reports (e.g. a trap outside a walk)
    const own = err instanceof Error && (err.message.includes("\n") || err.message.includes(LOCKSTEP_MARK));
    console.log(`\nerror:\n${err instanceof Error ? (own ? err.message : (err.stack ?? err.message)) : String(err)}`);
    if (harnessProblem) console.log(`\nfirst lockstep-pair error:\n${harnessProblem}`);
    console.log(
      `\nreplay: npx tsx fuzz/walk.ts --build ${build} --property ${property} --seed ${details.seed}` +
        ` --path ${details.counterexamplePath ?? "?"} --cases ${numRuns}`,
    );
    return { build, property, cases: passed, seconds, failed: harness ? "harness" : "disagreement" };
  }
  if (STATS) {
    console.log(
      `${label} statistics:\n` +
        [...STATS]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `  ${k}: ${v}`)
          .join("\n"),
    );
    STATS.clear();
  }
  console.log(
    `${label} done: ${passed} cases agree in ${fmtDuration(seconds)} (${((1000 * seconds) / Math.max(passed, 1)).toFixed(3)} ms/case)` +
      (opts.fresh
        ? ""
        : `; ${discarded} discarded (the case corrupted the engine while being built, see fresh()); ` +
          `${crosschecked} cross-checked in fresh engines (${crosscheckExempt} words with table-address pfns exempt, ` +
          `${crosscheckForeign} cases that wrote outside their tables differed), ${pairs.built} engine pairs built, ` +
          `${pairs.retired} retired after a case's unrestorable writes`),
  );
  return { build, property, cases: passed, seconds, failed: false };
}

function main(): number {
  const opts = parseArgs(process.argv.slice(2));
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const perProperty = opts.properties.map(
    (_, i) => Math.floor(opts.cases / opts.properties.length) + (i < opts.cases % opts.properties.length ? 1 : 0),
  );
  console.log(
    `hmmsim differential fuzz: ${opts.cases} cases per build (${opts.properties.map((p, i) => `${p} ${perProperty[i]}`).join(", ")}),` +
      ` builds ${opts.builds.join(",")}, seed ${seed}, ${opts.fresh ? "two fresh engines per case" : `engine pairs reused for up to ${opts.recycle} cases`}`,
  );
  for (const b of opts.builds) {
    const sha = createHash("sha256")
      .update(readFileSync(wasmPath(b)))
      .digest("hex")
      .slice(0, 16);
    console.log(`  build/${b}.wasm sha256 ${sha}`);
  }
  console.log(`  node ${process.version}, fast-check ${fc.__version}, started ${new Date().toISOString()}`);
  const results: Result[] = [];
  for (const build of opts.builds) {
    for (const [i, property] of opts.properties.entries()) {
      const r = runProperty(build, property, perProperty[i], seed, opts);
      results.push(r);
      if (r.failed) break;
    }
    if (results.some((r) => r.failed)) break;
  }
  console.log("\nsummary:");
  for (const r of results) {
    console.log(
      `  ${r.build.padEnd(7)} ${r.property.padEnd(6)} ${String(r.cases).padStart(8)} cases agree` +
        (r.failed === "disagreement"
          ? ", then a DISAGREEMENT"
          : r.failed === "harness"
            ? ", then a LOCKSTEP HARNESS ERROR"
            : "") +
        `  ${fmtDuration(r.seconds)}  ${((1000 * r.seconds) / Math.max(r.cases, 1)).toFixed(3)} ms/case`,
    );
  }
  const total = results.reduce((n, r) => n + r.cases, 0);
  const disagreement = results.some((r) => r.failed === "disagreement");
  const harness = results.some((r) => r.failed === "harness");
  console.log(
    `  total ${total} cases, ${disagreement ? "a disagreement was found" : harness ? "stopped by a harness error" : "no disagreement"};` +
      ` finished ${new Date().toISOString()}`,
  );
  return disagreement ? 1 : harness ? 2 : 0;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(err);
  process.exitCode = 2;
}
