// Simulated files and their page cache: regular files (written back, so shared writable mappings
// are write-notified) and shmem/tmpfs (no write notification; also backs shared anonymous memory).
import { ArgumentTypeError } from "../engine/errors.js";
import { argEnum, argInt } from "../engine/validate.js";
import { PAGE_SIZE } from "../engine/layout.js";

/** What filesystem a SimFile lives on: a regular file (page cache, writeback), shmem/tmpfs, or hugetlbfs. */
export type FileKind = "regular" | "shmem" | "hugetlbfs";

/** A file that can be mapped (struct file + inode + its page cache): size in bytes, contents, page-cache pages. */
export class SimFile {
  /** Page index -> pfn of the page-cache page. */
  readonly pageCache = new Map<number, number>();
  /**
   * The file behind a MAP_SHARED|MAP_ANONYMOUS mapping (shmem_zero_setup): nobody else can open
   * it, so its pages are freed with its last mapping (see releaseOrphanFiles).
   */
  internal = false;
  constructor(
    /** Name, for messages and reports. */
    readonly name: string,
    /** Size in bytes (i_size); faults beyond it raise SIGBUS. */
    public size: number,
    /** The filesystem it lives on. */
    readonly kind: FileKind = "regular",
    /** Initial contents; pages read into the cache copy from here. */
    readonly initial: Uint8Array | null = null,
  ) {
    if (typeof name !== "string") throw new ArgumentTypeError("new SimFile", "name", "must be a string", name);
    argInt("new SimFile", "size", size);
    argEnum("new SimFile", "kind", kind, ["regular", "shmem", "hugetlbfs"] as const);
    if (initial !== null && !(initial instanceof Uint8Array))
      throw new ArgumentTypeError("new SimFile", "initial", "must be a Uint8Array or null", initial);
  }
  /** Size in 4 KiB pages, rounded up. */
  get pages(): number {
    return Math.ceil(this.size / PAGE_SIZE);
  }
  /** Whether shared writable mappings must be write-notified (vma_wants_writenotify()). */
  get wantsWriteNotify(): boolean {
    return this.kind === "regular";
  }
}
