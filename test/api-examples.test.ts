// The @example blocks of the main entry points (the API reference shows them) are real code: each
// one is taken from its doc comment as written, run against the library, and every value its
// comments promise (`mm.cpuReadU32(addr); // 42`) is checked. Variables an example uses without
// declaring (mm, addr, sub, dev) are given fresh; engines get the test variant's options.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import * as lib from "../src/index.js";
import { ENGINE_OPTS } from "./env.js";

const ROOT = new URL("../", import.meta.url);

/** The code of the @example of `export class|function name` in `file`, without the comment's frame. */
function exampleOf(file: string, name: string): string {
  const src = readFileSync(new URL(file, ROOT), "utf8");
  const at = src.search(new RegExp(`^export (?:class|function) ${name}\\b`, "m"));
  expect(at, `${name} is declared in ${file}`).toBeGreaterThan(0);
  const doc = src.slice(src.lastIndexOf("/**", at), at);
  const m = /@example\s*\n\s*\*\s*```ts\n([\s\S]*?)\n\s*\*\s*```/.exec(doc);
  expect(m, `${name} has an @example with a ts code block`).not.toBeNull();
  return m![1]
    .split("\n")
    .map((l) => l.replace(/^\s*\* ?/, ""))
    .join("\n");
}

/** An engine with the test variant's options (the suite runs each build and walker). */
class TestEngine extends lib.Engine {
  constructor(opts: lib.EngineOptions = {}) {
    super({ ...ENGINE_OPTS, ...opts });
  }
}

/** Fresh values for the names examples use without declaring them. */
function fixtures() {
  const engine = new TestEngine();
  const mm = new lib.Mm(engine);
  const addr = mm.mmap({
    length: 1 << 20,
    prot: lib.PROT_READ | lib.PROT_WRITE,
    flags: lib.MAP_PRIVATE | lib.MAP_ANONYMOUS,
  });
  const dev = new lib.Device(engine, { pages: 256 });
  const sub = mm.intervalNotifierInsert(addr, 1 << 20, {
    invalidate(s, _range, curSeq) {
      mm.notifiers.setSeq(s, curSeq);
      return true;
    },
  });
  return { engine, mm, addr, dev, sub };
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
  ...args: string[]
) => (...a: unknown[]) => Promise<Record<string, unknown>>;

interface ExampleRun {
  /** The example's top-level constants, by name. */
  vars: Record<string, unknown>;
  /** Each promised value: the expression's result and the literal its comment gives. */
  checks: { expr: string; got: unknown; want: string }[];
  /** What the example printed with console.log, one array of arguments per call. */
  logs: unknown[][];
}

/**
 * Runs an example: `expr; // 42` lines become checks, its top-level constants are returned, and
 * `import.meta.url` (browser code) is the given URL.
 */
async function runExample(code: string, importMetaUrl = "http://127.0.0.1/"): Promise<ExampleRun> {
  const checks: ExampleRun["checks"] = [];
  const logs: unknown[][] = [];
  const body = code
    .replaceAll("import.meta.url", "__importMetaUrl")
    .split("\n")
    .map((line) => {
      const m = /^(\s*)(?!const |let |if |for )([^;]+);\s*\/\/\s*(true|false|-?\d+)\b/.exec(line);
      return m ? `${m[1]}__check(${JSON.stringify(m[2].trim())}, ${m[2]}, ${JSON.stringify(m[3])});` : line;
    })
    .join("\n");
  const declared = [...code.matchAll(/^(?:const|let) (\w+)/gm)].map((m) => m[1]);
  const fx = fixtures();
  const scope: Record<string, unknown> = {
    ...lib,
    ...fx,
    Engine: TestEngine,
    console: { log: (...a: unknown[]) => logs.push(a) },
    __importMetaUrl: importMetaUrl,
    __check: (expr: string, got: unknown, want: string) => checks.push({ expr, got, want }),
  };
  for (const d of declared) delete scope[d];
  const names = Object.keys(scope).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k));
  const f = new AsyncFunction(...names, `${body}\nreturn { ${declared.join(", ")} };`);
  const vars = await f(...names.map((k) => scope[k]));
  return { vars, checks, logs };
}

const expectChecks = (r: ExampleRun, n: number) => {
  expect(r.checks.length).toBe(n);
  for (const c of r.checks) expect(String(c.got), c.expr).toBe(c.want);
};

describe("the @example of each main entry point runs as documented", () => {
  it("Mm: a write and a read through the MMU", async () => {
    const r = await runExample(exampleOf("src/api/mm.ts", "Mm"));
    expectChecks(r, 1);
    expect(r.checks[0].expr).toBe("mm.cpuReadU32(addr)");
  });

  it("Device: migration to device memory and back on a CPU fault", async () => {
    const r = await runExample(exampleOf("src/drivers/device.ts", "Device"));
    expectChecks(r, 2);
    const { mm, addr } = r.vars as { mm: lib.Mm; addr: number };
    // the page came back to system RAM: a present, ordinary anonymous PTE again
    expect(lib.pte.isPresent(mm.leafOf(addr).entry)).toBe(true);
  });

  it("Mirror: fault, invalidation by munmap, verify, release", async () => {
    const r = await runExample(exampleOf("src/drivers/mirror.ts", "Mirror"));
    expectChecks(r, 1);
    const { mirror, ret } = r.vars as { mirror: lib.Mirror; ret: number };
    expect(ret).toBe(0);
    expect(mirror.stats.committedPages).toBe(16);
    expect(mirror.notifier.removed).toBe(true);
  });

  it("hmmRangeFault: the driver protocol faults every page in writable", async () => {
    const r = await runExample(exampleOf("src/hmm/range-fault.ts", "hmmRangeFault"));
    const { pfns } = r.vars as { pfns: lib.PfnArray };
    for (let i = 0; i < 256; i++) {
      expect(pfns.isValid(i) && pfns.isWrite(i) && !pfns.isError(i), `page ${i}`).toBe(true);
    }
  });

  it("PfnArray: per-page read requests map the zero page", async () => {
    const r = await runExample(exampleOf("src/hmm/pfns.ts", "PfnArray"));
    expect(r.logs).toEqual([[true, false, true]]);
    const pfns = r.vars.pfns as lib.PfnArray;
    expect(pfns.isFreed).toBe(true);
  });

  it("Engine: the embedded build, a small RAM, and an engine compiled from a fetched URL", async () => {
    const wasm = readFileSync(new URL("build/simd.wasm", ROOT));
    const server = createServer((req, res) => {
      if (req.url !== "/simd.wasm") return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/wasm" }).end(wasm);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    try {
      const { port } = server.address() as AddressInfo;
      const r = await runExample(exampleOf("src/engine/engine.ts", "Engine"), `http://127.0.0.1:${port}/index.js`);
      const { engine, small, fromUrl } = r.vars as Record<string, lib.Engine>;
      expect(engine.build).toBe(ENGINE_OPTS.build);
      expect(small.ramFramesLeft()).toBe(1024);
      const mm = new lib.Mm(fromUrl);
      const addr = mm.mmap({
        length: 4096,
        prot: lib.PROT_READ | lib.PROT_WRITE,
        flags: lib.MAP_PRIVATE | lib.MAP_ANONYMOUS,
      });
      mm.cpuWriteU32(addr, 5);
      expect(mm.cpuReadU32(addr)).toBe(5);
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  });
});
