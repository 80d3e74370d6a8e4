/**
 * Loading of optional peer packages (the PKCS#11 addon, the AWS SDK clients,
 * the OpenAPI reference UI). They are not installed with Rampart: a
 * deployment that selects one of these features installs the package, and
 * one that does not never loads it. When a selected feature's package is
 * absent the error names the feature and the command that fixes it, instead
 * of Node's bare "Cannot find package".
 */

/** How a package is imported; the default is the native `import()`. */
export type PackageImporter = (specifier: string) => Promise<unknown>;

const nativeImport: PackageImporter = (specifier) => import(specifier);

/** A selected feature needs an optional package that is not installed. */
export class OptionalPackageMissing extends Error {
  override readonly name = "OptionalPackageMissing";
  constructor(
    /** What selected it, e.g. `KEK provider 'pkcs11'`. */
    readonly feature: string,
    readonly packageName: string,
    options?: { cause?: unknown },
  ) {
    super(`${feature} needs the optional package '${packageName}': npm install ${packageName}`, options);
  }
}

/** True when the import failed because the package itself cannot be found (not one of its own imports, nor an error it threw). */
function packageNotFound(err: unknown, packageName: string): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return false;
  // Node: "Cannot find package 'pkcs11js' imported from ..." (ESM) or "Cannot find module 'pkcs11js'" (CJS).
  return err.message.includes(`'${packageName}'`);
}

/**
 * Imports an optional package for a feature the deployment selected.
 * @throws OptionalPackageMissing when the package is not installed; any other
 * failure (a broken install, an addon that does not load) is thrown as it is.
 */
export async function loadOptionalPackage<T>(packageName: string, feature: string, importer: PackageImporter = nativeImport): Promise<T> {
  try {
    return (await importer(packageName)) as T;
  } catch (err) {
    if (packageNotFound(err, packageName)) throw new OptionalPackageMissing(feature, packageName, { cause: err });
    throw err;
  }
}
