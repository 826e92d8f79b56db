// Perfetto / Chrome trace-event JSON, streamed to a sink: one track (tid) per actor, "X" slices,
// "i" instants, "s"/"f" flow arrows, "C" counters and "M" metadata names. Timestamps are simulated
// microseconds, so the same run always gives the same bytes. A cap bounds the events written.
import type { SimEvent } from "../events.js";

/** Where a trace goes: text chunks in order (a file stream, an array, a socket). */
export interface TraceSink {
  /** Receives the next piece of the trace text, in order. */
  write(chunk: string): void;
  /** Called once after the last chunk. */
  close?(): void;
  /** Most events to write (default 1,000,000); the rest are counted as dropped. */
  maxEvents?: number;
}

/** A TraceSink that keeps the text in memory (`text` after the run). */
export class StringTraceSink implements TraceSink {
  private readonly parts: string[] = [];
  constructor(readonly maxEvents?: number) {}
  /** Keeps the chunk. */
  write(chunk: string): void {
    this.parts.push(chunk);
  }
  /** The whole trace text written so far. */
  get text(): string {
    return this.parts.join("");
  }
}

const PID = 1;
const us = (ns: number) => Math.round(ns) / 1000;
// start and end are rounded to the nanosecond, so adjacent slices never overlap after rounding
const durUs = (ts: number, dur: number) => (Math.round(ts + dur) - Math.round(ts)) / 1000;

/** Writes SimEvents as Chrome trace-event JSON (a JSON array, one event per line). */
export class ChromeTraceWriter {
  /** Trace events written. */
  written = 0;
  /** Events dropped once the event cap was reached. */
  dropped = 0;
  private readonly cap: number;
  private first = true;
  private closed = false;
  private readonly tids = new Map<string, number>();

  constructor(
    private readonly sink: TraceSink,
    title: string,
    actors: readonly string[],
  ) {
    this.cap = sink.maxEvents ?? 1_000_000;
    sink.write("[\n");
    this.raw({ ph: "M", pid: PID, tid: 0, name: "process_name", args: { name: `hmmsim: ${title}` } });
    this.raw({ ph: "M", pid: PID, tid: 0, name: "thread_name", args: { name: "machine" } });
    actors.forEach((a, i) => {
      this.tids.set(a, i + 1);
      this.raw({ ph: "M", pid: PID, tid: i + 1, name: "thread_name", args: { name: a } });
      this.raw({ ph: "M", pid: PID, tid: i + 1, name: "thread_sort_index", args: { sort_index: i + 1 } });
    });
  }

  private tid(actor: string): number {
    return this.tids.get(actor) ?? 0;
  }

  private raw(o: object): void {
    this.sink.write((this.first ? "" : ",\n") + JSON.stringify(o));
    this.first = false;
  }

  private put(o: object): void {
    if (this.written >= this.cap) {
      this.dropped++;
      return;
    }
    this.written++;
    this.raw(o);
  }

  /** Writes one SimEvent as trace events (timestamps converted from ns to the format's microseconds). */
  event(e: SimEvent): void {
    // the JSON array is ended once the sink is closed: a late event would corrupt the file
    if (this.closed) return;
    switch (e.type) {
      case "slice":
        this.put({
          ph: "X",
          pid: PID,
          tid: this.tid(e.actor),
          name: e.name,
          cat: e.cat,
          ts: us(e.ts),
          dur: durUs(e.ts, e.dur),
          ...(e.args ? { args: e.args } : {}),
        });
        break;
      case "instant":
        this.put({
          ph: "i",
          s: "t",
          pid: PID,
          tid: this.tid(e.actor),
          name: e.name,
          cat: e.cat,
          ts: us(e.ts),
          ...(e.args ? { args: e.args } : {}),
        });
        break;
      case "flow":
        // both ends or neither: a lone flow end would not open
        if (this.written + 2 > this.cap) {
          this.dropped += 2;
          break;
        }
        this.put({
          ph: "s",
          pid: PID,
          tid: this.tid(e.from.actor),
          name: e.name,
          cat: "flow",
          id: e.id,
          ts: us(e.from.ts),
        });
        this.put({
          ph: "f",
          bp: "e",
          pid: PID,
          tid: this.tid(e.to.actor),
          name: e.name,
          cat: "flow",
          id: e.id,
          ts: us(e.to.ts),
        });
        break;
      case "counter":
        this.put({ ph: "C", pid: PID, name: e.name, ts: us(e.ts), args: { value: e.value } });
        break;
    }
  }

  /** Ends the JSON array (with a note of dropped events) and closes the sink. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.dropped > 0)
      this.raw({ ph: "M", pid: PID, tid: 0, name: "hmmsim_dropped_events", args: { dropped: this.dropped } });
    this.sink.write("\n]\n");
    this.sink.close?.();
  }
}
