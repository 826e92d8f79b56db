import {
  Engine, Mm, PfnArray, hmmRangeFault, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, HMM_PFN_VALID,
  EBUSY, MAP_PRIVATE, MAP_ANONYMOUS, PROT_READ, PROT_WRITE,
} from "hmmsim";

const engine = new Engine();                 // one simulated machine (physical memory)
const mm = new Mm(engine, { levels: 4 });    // an address space; { levels: 5, profile: "v6.16" } too
const addr = mm.mmap({ length: 1 << 20, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
mm.cpuWriteU32(addr, 42);                    // CPU access goes through the fault model

// A driver subscribes to invalidations of the range it mirrors.
const sub = mm.intervalNotifierInsert(addr, 1 << 20, {
  invalidate(sub, range, curSeq) {           // range = { start, end, event, owner, blockable }
    mm.notifiers.setSeq(sub, curSeq);        // under the driver lock: tear down device entries here
    return true;
  },
});

// The driver protocol (Documentation/mm/hmm.rst).
const pfns = new PfnArray(engine, 256);      // hmm_pfns in engine memory (or a BigUint64Array)
for (;;) {
  const seq = mm.notifiers.readBegin(sub);
  mm.mmapReadLock();
  const ret = hmmRangeFault({
    notifier: sub, notifierSeq: seq, start: addr, end: addr + 256 * 4096, hmmPfns: pfns,
    defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
  });
  mm.mmapReadUnlock();
  if (ret === EBUSY) continue;
  if (ret !== 0) throw new Error(`hmm_range_fault: ${ret}`);
  if (mm.notifiers.readRetry(sub, seq)) continue;   // under the driver lock in a real driver
  break;                                            // commit pfns to the device page table
}
console.log(pfns.isValid(0), pfns.isWrite(0), pfns.pfn(0), pfns.get(0) & HMM_PFN_VALID);
