// The driver protocol of docs/semantics.md §4.3 with a page migration racing the walk, in
// TypeScript: the migration runs between walk passes (mm.hooks.betweenPasses, after the pass's
// sequence check), invalidates the range, and the driver's mmu_interval_read_retry() catches it
// before committing; the driver starts again from readBegin and converges.
// Run: npx tsx examples/typescript/retry.ts
import {
  EBUSY,
  Engine,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  Mm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  PfnArray,
  hmmRangeFault,
  migratePages,
} from "hmmsim";

const PAGE = 4096;
const NPAGES = 64;
const engine = new Engine();
const mm = new Mm(engine);
const addr = mm.mmap({ length: NPAGES * PAGE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
// the CPU has touched the first half; the walk must fault the second half in, so it takes a
// second pass, and the race gets its window
for (let i = 0; i < NPAGES / 2; i++) mm.cpuWriteU32(addr + i * PAGE, i);

const sub = mm.intervalNotifierInsert(addr, NPAGES * PAGE, {
  invalidate(s, _range, curSeq) {
    mm.notifiers.setSeq(s, curSeq);
    return true;
  },
});

// NUMA balancing or compaction moves page 10 while the first walk is between passes
let raced = false;
mm.hooks.betweenPasses = () => {
  if (raced) return;
  raced = true;
  migratePages(mm, addr + 10 * PAGE, PAGE);
};

const pfns = new PfnArray(engine, NPAGES);
const stats = { passes: 0, faultedPages: 0, migrationWaits: 0 };
const attempts: string[] = [];
for (;;) {
  const seq = mm.notifiers.readBegin(sub);
  mm.mmapReadLock();
  const ret = hmmRangeFault(
    {
      notifier: sub,
      notifierSeq: seq,
      start: addr,
      end: addr + NPAGES * PAGE,
      hmmPfns: pfns,
      defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
    },
    { stats },
  );
  mm.mmapReadUnlock();
  if (ret === EBUSY) {
    attempts.push("-EBUSY");
    continue;
  }
  if (ret !== 0) throw new Error(`hmm_range_fault: ${ret}`);
  // under the driver lock in a real driver: the sequence moved after the walk's last check
  if (mm.notifiers.readRetry(sub, seq)) {
    attempts.push("0 then read_retry");
    continue;
  }
  attempts.push("0 committed");
  break;
}
console.log("attempts:", attempts.join(", "));
console.log("last call:", stats.passes, "pass(es),", stats.faultedPages, "page(s) faulted");
console.log("page 10 is valid and writable:", pfns.isValid(10), pfns.isWrite(10));
console.log("data after migration:", mm.cpuReadU32(addr + 10 * PAGE));
