/*
 * Native anchor of the hmmsim benchmarks: the same walk as hmmsim's hmmWalk() for a snapshot
 * (default_flags = 0) over x86-64 page tables, written in plain C for this project, so that
 * `npm run bench` can print WASM / native in the same run. Not kernel code: the page-table
 * encoding is the one drawn in assembly/layout.ts (table entries hold the address of the next
 * table in bits 12..51, PTEs the pfn), the output words the HMM pfn layout of profile v6.1.
 *
 *   walk pte  PAGES BATCH_MS   4-level walk of PAGES populated 4 KiB pages (PAGES / 512 PTE tables)
 *   walk thp  PAGES BATCH_MS   4-level walk of PAGES / 512 2 MiB leaves (PMD entries with PSE)
 *   walk copy PAGES BATCH_MS   memcpy of the PTE tables' bytes (PAGES x 8) to the output: the floor
 *
 * Prints one line: `<mode> pages=<n> iters=<n> cpu_ns=<total> wall_ns=<total>` for one calibrated
 * batch of about BATCH_MS milliseconds (after one warm-up call). The caller runs it once per round
 * and takes medians over rounds, interleaved with the WebAssembly walkers.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define P_PRESENT  (1ull << 0)
#define P_RW       (1ull << 1)
#define P_USER     (1ull << 2)
#define P_ACCESSED (1ull << 5)
#define P_DIRTY    (1ull << 6)
#define P_PSE      (1ull << 7)
#define P_PROTNONE (1ull << 8)
#define P_SPECIAL  (1ull << 9)
#define P_DEVMAP   (1ull << 58)
#define PFN_MASK   (((1ull << 52) - 1) & ~((1ull << 12) - 1))
#define TABLE_FLAGS (P_PRESENT | P_RW | P_USER | P_ACCESSED | P_DIRTY)
#define HMM_VALID  (1ull << 63)
#define HMM_WRITE  (1ull << 62)
#define HMM_ERROR  (1ull << 61)
#define HMM_ORDER_SHIFT 56
#define FIRST_PFN  0x400ull

typedef uint64_t u64;

static u64 *out;           /* hmm_pfns */
static u64 range_start;
static u64 highest_pfn;

static u64 *table_of(u64 e) { return (u64 *)(uintptr_t)(e & PFN_MASK); }
static int is_table(u64 e) { return (e & P_PRESENT) && !(e & P_PSE); }
static u64 *slot_of(u64 addr) { return out + ((addr - range_start) >> 12); }

static void fill(u64 addr, u64 end, u64 v) {
  for (u64 *p = slot_of(addr), *stop = slot_of(end); p < stop; p++) *p = v;
}

/* One PTE, as hmm_vma_handle_pte() for a snapshot request: no fault is ever needed. */
static u64 pte_word(u64 pte) {
  if (pte == 0) return 0;
  if (!(pte & (P_PRESENT | P_PROTNONE))) return 0; /* swap-like: nothing requested */
  if ((pte & (P_PRESENT | P_PROTNONE)) == P_PROTNONE) return 0;
  u64 pfn = (pte & PFN_MASK) >> 12;
  if ((pte & P_SPECIAL) || pfn > highest_pfn) return (pte & P_DEVMAP) ? pfn | HMM_VALID : HMM_ERROR;
  return pfn | HMM_VALID | ((pte & P_RW) ? HMM_WRITE : 0);
}

static void walk_pmd(u64 pmd, u64 addr, u64 end) {
  if (pmd == 0) { fill(addr, end, 0); return; }
  if (pmd & P_PSE) {
    u64 flags = HMM_VALID | ((pmd & P_RW) ? HMM_WRITE : 0) | (9ull << HMM_ORDER_SHIFT);
    u64 pfn = ((pmd & PFN_MASK) >> 12) + ((addr & ((1ull << 21) - 1)) >> 12);
    for (u64 *p = slot_of(addr), *stop = slot_of(end); p < stop; p++) *p = pfn++ | flags;
    return;
  }
  u64 *pte = table_of(pmd) + ((addr >> 12) & 511);
  for (u64 *p = slot_of(addr), *stop = slot_of(end); p < stop; p++, pte++) *p = pte_word(*pte);
}

static void walk_level(u64 *t, int level, u64 addr, u64 end) {
  int shift = 12 + 9 * level;
  while (addr < end) {
    u64 next = ((addr >> shift) + 1) << shift;
    if (next > end) next = end;
    u64 e = t[(addr >> shift) & 511];
    if (level == 1) walk_pmd(e, addr, next);
    else if (e == 0 || !is_table(e)) fill(addr, next, 0);
    else walk_level(table_of(e), level - 1, addr, next);
    addr = next;
  }
}

/* Tables from one arena, in address order (as hmmsim's table arena lays them out). */
static u64 *arena;
static size_t arena_used;
static u64 *new_table(void) { u64 *t = arena + arena_used; arena_used += 512; return t; }

static double now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: walk pte|thp|copy PAGES BATCH_MS\n"); return 2; }
  const char *mode = argv[1];
  u64 pages = strtoull(argv[2], 0, 10);
  double batch_ms = atof(argv[3]);
  if (pages == 0 || pages % 512 != 0 || batch_ms <= 0) { fprintf(stderr, "walk: bad arguments\n"); return 2; }
  int thp = strcmp(mode, "thp") == 0, copy = strcmp(mode, "copy") == 0;
  if (!thp && !copy && strcmp(mode, "pte") != 0) { fprintf(stderr, "walk: unknown mode %s\n", mode); return 2; }
  u64 pmds = pages / 512, puds = (pmds + 511) / 512;
  size_t tables = 1 + 1 + puds + (thp ? 0 : pmds);
  arena = aligned_alloc(4096, tables * 4096);
  out = aligned_alloc(4096, pages * 8);
  if (!arena || !out) { fprintf(stderr, "walk: out of memory\n"); return 1; }
  memset(arena, 0, tables * 4096);
  memset(out, 0, pages * 8);
  range_start = 1ull << 39; /* one PGD slot, 512 GiB: enough for the spaces benchmarked */
  u64 *pgd = new_table(), *pud = new_table();
  pgd[(range_start >> 39) & 511] = (u64)(uintptr_t)pud | TABLE_FLAGS;
  u64 pfn = FIRST_PFN;
  u64 *pte0 = 0;
  for (u64 i = 0; i < puds; i++) {
    u64 *pmd = new_table();
    pud[((range_start >> 30) + i) & 511] = (u64)(uintptr_t)pmd | TABLE_FLAGS;
    for (u64 j = 0; j < 512 && i * 512 + j < pmds; j++) {
      if (thp) {
        pmd[j] = (pfn << 12) | TABLE_FLAGS | P_PSE;
        pfn += 512;
        continue;
      }
      u64 *pte = new_table();
      if (!pte0) pte0 = pte;
      pmd[j] = (u64)(uintptr_t)pte | TABLE_FLAGS;
      for (int k = 0; k < 512; k++) pte[k] = (pfn++ << 12) | P_PRESENT | P_RW | P_USER | P_ACCESSED | P_DIRTY;
    }
  }
  highest_pfn = pfn - 1;
  u64 end = range_start + pages * 4096;
  volatile u64 sink = 0;
#define ONE() do { if (copy) memcpy(out, pte0, pages * 8); else walk_level(pgd, 3, range_start, end); sink += out[pages - 1]; } while (0)
  ONE(); /* warm up: first touch of the output, caches */
  double w0 = now_ns(CLOCK_MONOTONIC);
  ONE();
  double one = now_ns(CLOCK_MONOTONIC) - w0;
  u64 iters = (u64)(batch_ms * 1e6 / (one > 1 ? one : 1));
  if (iters < 1) iters = 1;
  double c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID), w1 = now_ns(CLOCK_MONOTONIC);
  for (u64 i = 0; i < iters; i++) ONE();
  double c2 = now_ns(CLOCK_PROCESS_CPUTIME_ID), w2 = now_ns(CLOCK_MONOTONIC);
  /* a check that the walk produced the words hmmsim's walker produces for the last page */
  u64 want = copy ? pte0[pages - 1] : thp ? (highest_pfn | HMM_VALID | HMM_WRITE | (9ull << HMM_ORDER_SHIFT)) : (highest_pfn | HMM_VALID | HMM_WRITE);
  if (out[pages - 1] != want) { fprintf(stderr, "walk: wrong output word %llx\n", (unsigned long long)out[pages - 1]); return 1; }
  printf("%s pages=%llu iters=%llu cpu_ns=%.0f wall_ns=%.0f\n", mode, (unsigned long long)pages, (unsigned long long)iters, c2 - c1, w2 - w1);
  return (int)(sink & 0);
}
