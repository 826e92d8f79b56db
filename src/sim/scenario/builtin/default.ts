// The built-in default scenario (what `hmmsim run` runs without a file): the default simulation
// as a scenario file. docs/scenarios.md walks through it field by field.

/** The built-in default scenario's YAML text (defaultScenario() parses it). */
export const DEFAULT_SCENARIO_YAML = `# hmmsim default scenario: a GPU-like device mirrors a process's 16 MiB heap through HMM while
# a CPU thread writes, reads, write-protects, unmaps and remaps it, and the driver migrates the
# pages the device writes to device memory (evicting to RAM when its 4 MiB are full).
version: 1
name: default
machine:
  levels: 4
  profile: v6.1
  thp: madvise
  costProfile: generic-x86-pcie4
processes:
  - name: app
    mappings:
      - name: heap
        kind: anon
        pages: 4096
devices:
  - name: gpu
    kind: private
    memoryPages: 1024
    driver:
      faultChunk: 64
      faultBatch: 16
      migrateOnFault: write
      refreshSeqOnBusy: true
actors:
  - kind: device
    name: gpu0
    device: gpu
    process: app
    mapping: heap
    pattern: { kind: random }
    writeRatio: 0.25
    count: 4096
  - kind: cpu
    name: cpu0
    process: app
    mode: random
    periodNs: 20000
    count: 256
    ops:
      - { op: write, mapping: heap, at: random, pages: 32, weight: 4 }
      - { op: read, mapping: heap, at: random, pages: 32, weight: 4 }
      - { op: mprotect, mapping: heap, prot: r, weight: 1 }
      - { op: mprotect, mapping: heap, prot: rw, weight: 2 }
      - { op: munmap, mapping: heap, weight: 0.25 }
      - { op: remap, mapping: heap, weight: 0.5 }
run:
  seed: 1
  strategy: random
  check: end
`;
