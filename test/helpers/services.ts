/**
 * Service URLs for `*.services.test.ts` files, which vitest only collects when
 * TEST_DATABASE_URL and TEST_REDIS_URL are set (always in CI).
 */
export function serviceUrl(name: "TEST_DATABASE_URL" | "TEST_REDIS_URL"): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set for *.services.test.ts`);
  return v;
}
