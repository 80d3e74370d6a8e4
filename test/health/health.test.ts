import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";

describe.each(testModes())("health (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t.close());

  it("/health/live passes in the health+json shape", async () => {
    const res = await t.app.inject({ method: "GET", url: "/health/live" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/health\+json/);
    expect(res.json()).toMatchObject({ status: "pass" });
  });

  it("/health/ready passes with a check per dependency", async () => {
    const res = await t.app.inject({ method: "GET", url: "/health/ready" });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe("pass");
    expect(Object.keys(body.checks).sort()).toEqual(["database:responseTime", "kms:responseTime", "kv:responseTime", "revocations:responseTime"]);
    expect(body.checks["revocations:responseTime"][0]).toMatchObject({ componentId: "revocations", status: "pass" });
    expect(body.checks["database:responseTime"][0]).toMatchObject({ componentId: "database", status: "pass", observedUnit: "ms" });
    expect(t.runtime.db.kind).toBe(mode === "embedded" ? "pglite" : "postgres");
    expect(t.runtime.kv.kind).toBe(mode === "embedded" ? "memory" : "redis");
  });

  it("a failing or hanging check makes readiness 503 and names it; others still pass", async () => {
    let mode: "fail" | "hang" | "ok" = "fail";
    t.runtime.healthChecks.push({
      name: "flaky",
      probe: () => (mode === "ok" ? Promise.resolve() : mode === "fail" ? Promise.reject(new Error("host db-7.internal refused")) : new Promise(() => undefined)),
    });
    try {
      let res = await t.app.inject({ method: "GET", url: "/health/ready" });
      expect(res.statusCode).toBe(503);
      expect(res.json().status).toBe("fail");
      expect(res.json().checks["flaky:responseTime"][0]).toMatchObject({ status: "fail", output: "unreachable" });
      expect(res.body).not.toContain("db-7.internal");
      expect(res.json().checks["database:responseTime"][0].status).toBe("pass");
      mode = "hang";
      res = await t.app.inject({ method: "GET", url: "/health/ready" });
      expect(res.statusCode).toBe(503);
      expect(res.json().checks["flaky:responseTime"][0].output).toMatch(/timed out after \d+ ms/);
      mode = "ok";
      res = await t.app.inject({ method: "GET", url: "/health/ready" });
      expect(res.statusCode).toBe(200);
    } finally {
      t.runtime.healthChecks.pop();
    }
  });

  it("a shared dependency that fails or hangs is `warn`, naming it: readiness stays 200", async () => {
    let mode: "fail" | "hang" = "fail";
    t.runtime.healthChecks.push({
      name: "search",
      shared: "opensearch",
      probe: () => (mode === "fail" ? Promise.reject(new Error("host search-3.internal refused")) : new Promise(() => undefined)),
    });
    try {
      let res = await t.app.inject({ method: "GET", url: "/health/ready" });
      expect(res.statusCode).toBe(200);
      expect(res.json().status).toBe("warn");
      expect(res.json().checks["search:responseTime"][0]).toMatchObject({ status: "warn", output: "opensearch unreachable; shared by every instance, this one keeps serving what does not need it" });
      expect(res.body).not.toContain("search-3.internal");
      expect(res.json().checks["database:responseTime"][0].status).toBe("pass");
      mode = "hang";
      res = await t.app.inject({ method: "GET", url: "/health/ready" });
      expect(res.statusCode).toBe(200);
      expect(res.json().checks["search:responseTime"][0]).toMatchObject({ status: "warn", output: expect.stringMatching(/^opensearch timed out after \d+ ms; shared/) });
      // A check of this instance failing alongside it still takes the instance out.
      t.runtime.healthChecks.push({ name: "local", probe: async () => ({ status: "fail", output: "broken here" }) });
      res = await t.app.inject({ method: "GET", url: "/health/ready" });
      expect(res.statusCode).toBe(503);
      expect(res.json().status).toBe("fail");
    } finally {
      for (const name of ["local", "search"]) {
        const i = t.runtime.healthChecks.findIndex((c) => c.name === name);
        if (i >= 0) t.runtime.healthChecks.splice(i, 1);
      }
    }
  });
});
