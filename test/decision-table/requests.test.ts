// Decision table, docs/semantics.md §3.1 request evaluation: one case per row and quirk, each
// run by harness.ts on every geometry, profile and sticky-bit combination.
import { EBUSY, PROT_READ, MMU_NOTIFY_CLEAR } from "../../src/index.js";
import { PAGE, REQ_WRITE } from "../helpers.js";
import { R, WR, Z, anon, pages, reqs, ev, type Case, registerRows } from "./harness.js";

const cases: Case[] = [
  {
    row: "req",
    name: "default_flags = REQ_FAULT with pfn_flags_mask = 0: per-page inputs (even WRITE) ignored",
    setup: (t) => {
      anon(t, t.base, 4);
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, {}, WR),
        defaultFlags: R,
        pfnFlagsMask: 0n,
        expect: () => ({ ret: 0, words: pages(4, () => Z), faulted: 4, frames: 0 }),
      };
    },
  },
  {
    row: "req",
    name: "default_flags = REQ_FAULT, mask = REQ_WRITE: page 2's REQ_WRITE makes the chunk a write fault",
    setup: (t) => {
      anon(t, t.base, 4);
      t.mm.touch(t.base, false);
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, { 2: REQ_WRITE }),
        defaultFlags: R,
        pfnFlagsMask: REQ_WRITE,
        // page 0: zero page satisfies the read; 1: none -> FAULT(R) over 1..3 (read); re-walk: 2 needs W
        // on the zero page -> FAULT(W) over 2..3 (zero-page upgrades raise CLEAR) -> external -EBUSY
        expect: (c) => ({
          ret: EBUSY,
          words: [Z, Z, null, null],
          faulted: 5,
          events: [
            ev(MMU_NOTIFY_CLEAR, c.base + 2 * PAGE, c.base + 3 * PAGE),
            ev(MMU_NOTIFY_CLEAR, c.base + 3 * PAGE, c.base + 4 * PAGE),
          ],
        }),
      };
    },
  },
  {
    row: "req",
    name: "default_flags = REQ_WRITE alone: no fault, no -EPERM on a read-only VMA",
    setup: (t) => {
      anon(t, t.base, 4, PROT_READ);
      t.mm.touch(t.base, false);
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, {}, REQ_WRITE),
        defaultFlags: REQ_WRITE,
        expect: () => ({ ret: 0, words: [Z, 0n, 0n, 0n], faulted: 0 }),
      };
    },
  },
  {
    row: "req",
    name: "fast path: (default | mask) without REQ_FAULT ignores REQ_FAULT in the inputs",
    setup: (t) => {
      anon(t, t.base, 4);
      return {
        start: t.base,
        end: t.base + 4 * PAGE,
        req: reqs(4, {}, WR),
        defaultFlags: 0n,
        pfnFlagsMask: REQ_WRITE,
        expect: () => ({ ret: 0, words: pages(4, () => 0n), faulted: 0 }),
      };
    },
  },
  {
    row: "req",
    name: "pfn_flags_mask = REQ_FAULT only: per-page REQ_WRITE is masked to a read fault",
    setup: (t) => {
      anon(t, t.base, 2);
      return {
        start: t.base,
        end: t.base + 2 * PAGE,
        req: [WR, 0n],
        pfnFlagsMask: R,
        expect: () => ({ ret: 0, words: [Z, Z], faulted: 2, frames: 0 }),
      };
    },
  },
];

registerRows(cases);
