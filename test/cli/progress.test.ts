/**
 * The CLI's progress bar: one redrawn line on a terminal, sized to its
 * width; in a log, a line per 10 % at most and always the last one.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ProgressBar } from "../../src/cli/progress.js";

function sink(tty: { isTTY?: boolean; columns?: number }) {
  const writes: string[] = [];
  const out = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        writes.push(chunk.toString());
        done();
      },
    }),
    tty,
  );
  return { out, writes };
}

describe("ProgressBar", () => {
  it("in a log: a line per 10 % at most, the 100 % line once, the suffix after the count", () => {
    const { out, writes } = sink({});
    const bar = new ProgressBar(out, "verify");
    for (let done = 0; done <= 200; done++) bar.update(done, 200, done === 200 ? "(2 failed)" : "");
    bar.update(200, 200);
    bar.finish();
    expect(writes.length).toBe(11);
    for (const line of writes) expect(line).toMatch(/^verify: \d+% \(\d+\/200\)( \(2 failed\))?\n$/);
    const pcts = writes.map((w) => Number(/: (\d+)%/.exec(w)![1]));
    // Steps of 10 % or more; only the last line, 100 %, may follow closer.
    for (let i = 1; i < pcts.length - 1; i++) expect(pcts[i]! - pcts[i - 1]!).toBeGreaterThanOrEqual(10);
    expect(pcts.filter((p) => p === 100)).toHaveLength(1);
    expect(writes.at(-1)).toBe("verify: 100% (200/200) (2 failed)\n");
  });

  it("in a log: nothing to do is done at once", () => {
    const { out, writes } = sink({ isTTY: false });
    new ProgressBar(out, "rewrap").update(0, 0);
    expect(writes).toEqual(["rewrap: 100% (0/0)\n"]);
  });

  it("on a terminal: redraws one line as wide as the terminal allows, and ends it on finish", () => {
    const { out, writes } = sink({ isTTY: true, columns: 70 });
    const bar = new ProgressBar(out, "rewrap");
    bar.update(1, 4, "(1 rewrapped)");
    bar.update(4, 4, "(4 rewrapped)");
    bar.finish();
    expect(writes).toHaveLength(3);
    const cells = (w: string) => /\[([#-]+)\]/.exec(w)![1]!;
    // 70 columns less the label and the counts: 34 cells, a quarter filled, then all.
    expect(cells(writes[0]!)).toHaveLength(70 - "rewrap".length - 30);
    expect(cells(writes[0]!).replace(/-/g, "")).toHaveLength(Math.round(0.25 * (70 - 6 - 30)));
    expect(writes[1]).toMatch(/^\rrewrap \[#+\] 100% 4\/4 \(4 rewrapped\)$/);
    expect(writes[2]).toBe("\n");
  });

  it("on a terminal: the bar keeps 10 to 40 cells whatever the width (80 when unknown)", () => {
    for (const [columns, width] of [[20, 10], [500, 40], [undefined, 40]] as const) {
      const { out, writes } = sink({ isTTY: true, ...(columns ? { columns } : {}) });
      new ProgressBar(out, "x").update(3, 3);
      expect(/\[([#-]+)\]/.exec(writes[0]!)![1]).toHaveLength(width);
    }
  });
});
