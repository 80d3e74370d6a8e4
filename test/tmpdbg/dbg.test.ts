import { it } from "vitest";
import { createTestApp } from "../helpers/app.js";
import { call, credentials } from "../helpers/api.js";
it("builds", async () => {
  let t0 = Date.now();
  const t = await createTestApp("embedded");
  console.log("built in", Date.now() - t0); t0 = Date.now();
  const c = credentials();
  const reg = await call(t.app, { method: "POST", url: "/v1/auth/register", body: c });
  console.log("register", reg.statusCode, Date.now() - t0); t0 = Date.now();
  const login = await call(t.app, { method: "POST", url: "/v1/auth/login", body: c });
  console.log("login", login.statusCode, Date.now() - t0); t0 = Date.now();
  const me = await call(t.app, { method: "GET", url: "/v1/me", token: login.data.accessToken });
  console.log("me", me.statusCode, Date.now() - t0, me.headers);
  await t.close();
}, 60000);
