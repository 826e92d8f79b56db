// npm run bench:sim [-- --quick]: the batch simulation layer's costs (issue 11's performance
// section). Figures, not assertions: run on a quiet machine.
//   S1  512-page driver-protocol calls through the scheduler (metrics on, trace off) vs the same
//       calls made by Mirror.fault in a plain loop: ns per page and µs per call of each
//   S2  the same scenario with the trace on (streamed into memory)
//   S3  the default scenario: wall time and simulated device accesses per second
import { Command } from "commander";
import {
  Engine,
  HMM_PFN_REQ_FAULT,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  Mirror,
  Mm,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  PfnArray,
  hmmRangeFault,
} from "../src/index.js";
import { type TraceSink, defaultScenario, parseScenario, runScenario } from "../src/index.js";

const { quick } = new Command("bench:sim")
  .description("the batch simulation layer's costs against plain driver-protocol calls")
  .option("--quick", "fewer chunks", false)
  .showHelpAfterError()
  .parse()
  .opts<{ quick: boolean }>();
const CALL = 512;
const CHUNKS = quick ? 64 : 256;

const streamYaml = (chunks: number) => `version: 1
name: stream
machine: { ramPages: ${CHUNKS * CALL + 8192} }
processes:
  - name: app
    mappings: [{ name: buf, pages: ${CHUNKS * CALL}, populate: write }]
devices:
  - { name: gpu, memoryPages: 64, driver: { faultChunk: ${CALL}, faultBatch: ${CALL} } }
actors:
  - { kind: device, name: gpu0, device: gpu, process: app, mapping: buf, count: ${chunks * CALL} }
run: { check: off, interleave: pass }
`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** ms of the scheduling loop of a run of the stream scenario with `chunks` calls (setup and teardown excluded). */
function simMs(chunks: number, trace?: TraceSink): number {
  const s = parseScenario(streamYaml(chunks));
  const r = runScenario(s, { trace });
  if (!r.ok || r.metrics.total["hmm.calls"] !== chunks)
    throw new Error(`bench: stream run ${r.status}, ${r.metrics.total["hmm.calls"]} calls`);
  return r.loopMs;
}

/** A plain loop of Mirror.fault calls of 512 present pages: returns a function timing one round (ms per call). */
function plainLoop(): () => number {
  const engine = new Engine();
  const mm = new Mm(engine);
  const len = CHUNKS * CALL * PAGE_SIZE;
  const base = mm.mmap({ length: len, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  mm.populate(base, len, true);
  const mirror = new Mirror(mm, { owner: {} });
  return () => {
    mirror.entries.clear();
    const t0 = performance.now();
    for (let c = 0; c < CHUNKS; c++) {
      const s = base + c * CALL * PAGE_SIZE;
      if (mirror.fault(s, s + CALL * PAGE_SIZE) !== 0) throw new Error("bench: Mirror.fault failed");
    }
    return (performance.now() - t0) / CHUNKS;
  };
}

/** The bare driver protocol (readBegin, read lock, hmmRangeFault into one reused PfnArray, unlock, readRetry), no device table. */
function bareLoop(): () => number {
  const engine = new Engine();
  const mm = new Mm(engine);
  const len = CHUNKS * CALL * PAGE_SIZE;
  const base = mm.mmap({ length: len, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  mm.populate(base, len, true);
  const sub = mm.intervalNotifierInsert(0, mm.taskSize + PAGE_SIZE, {
    invalidate: (n, _r, cur) => {
      mm.notifiers.setSeq(n, cur);
      return true;
    },
  });
  const pfns = new PfnArray(engine, CALL);
  return () => {
    const t0 = performance.now();
    for (let c = 0; c < CHUNKS; c++) {
      const start = base + c * CALL * PAGE_SIZE;
      const seq = mm.notifiers.readBegin(sub);
      mm.mmapReadLock();
      const r = hmmRangeFault({
        notifier: sub,
        notifierSeq: seq,
        start,
        end: start + CALL * PAGE_SIZE,
        hmmPfns: pfns,
        defaultFlags: HMM_PFN_REQ_FAULT,
      });
      mm.mmapReadUnlock();
      if (r !== 0 || mm.notifiers.readRetry(sub, seq)) throw new Error("bench: protocol call failed");
    }
    return (performance.now() - t0) / CHUNKS;
  };
}

// alternate the two so that other load on the machine hits both alike; keep each one's best round
const plainRound = plainLoop();
const bareRound = bareLoop();
for (let i = 0; i < 3; i++) {
  plainRound();
  bareRound();
  simMs(CHUNKS);
}
const plainRounds: number[] = [];
const bareRounds: number[] = [];
const simRounds: number[] = [];
for (let i = 0; i < 9; i++) {
  plainRounds.push(plainRound());
  bareRounds.push(bareRound());
  simRounds.push(simMs(CHUNKS) / CHUNKS);
}
const plain = Math.min(...plainRounds);
const bare = Math.min(...bareRounds);
const sim = Math.min(...simRounds);
const fmt = (ms: number) => `${(ms * 1000).toFixed(1)} µs/call, ${((ms * 1e6) / CALL).toFixed(1)} ns/page`;
console.log(`S1 ${CALL}-page driver-protocol calls (present pages), ${CHUNKS} calls, best of 9 alternating rounds`);
console.log(`   plain loop (Mirror.fault):       ${fmt(plain)}  (median ${fmt(median(plainRounds))})`);
console.log(`   bare protocol loop (no table):   ${fmt(bare)}  (median ${fmt(median(bareRounds))})`);
console.log(
  `   through the scheduler (metrics): ${fmt(sim)}  (median ${fmt(median(simRounds))})  = ${(sim / plain).toFixed(2)}x Mirror.fault, ${(sim / bare).toFixed(2)}x the bare loop`,
);

let bytes = 0;
const sink: TraceSink = {
  write: (c) => {
    bytes += c.length;
  },
};
const traced: number[] = [];
const untraced: number[] = [];
for (let i = 0; i < 7; i++) {
  untraced.push(simMs(CHUNKS));
  bytes = 0;
  traced.push(simMs(CHUNKS, sink));
}
console.log(
  `S2 the same run's loop, trace off: ${Math.min(...untraced).toFixed(1)} ms; trace on: ${Math.min(...traced).toFixed(1)} ms (${(bytes / 1024).toFixed(0)} KiB of trace; best of 7)`,
);

const d = defaultScenario();
runScenario(d);
const walls: number[] = [];
let accesses = 0;
let simNs = 0;
for (let i = 0; i < 7; i++) {
  const r = runScenario(d);
  walls.push(r.wallMs);
  accesses = r.metrics.total["device.accesses"];
  simNs = r.simTimeNs;
}
const wall = Math.min(...walls);
console.log(
  `S3 default scenario (best of 7): ${wall.toFixed(0)} ms wall for ${accesses} device accesses (${(simNs / 1e6).toFixed(1)} ms simulated): ` +
    `${Math.round(accesses / (wall / 1000))} simulated device accesses per second`,
);
