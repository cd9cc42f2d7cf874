import { familyById } from './families.js';
import type { NetDevice } from './detect.js';
import { MAKE_SAFE_NAME, type TagAnswer } from './makeVars.js';

/** Asks the device dir's Makefile about one file name (makeVars/askMakefile, or a fake in tests). */
export type AskMakefile = (fileName: string) => Promise<TagAnswer>;

/**
 * Fill in version and tag from the checkout. When the Makefile cannot read
 * a version from the file name, try the name the directory expects (built
 * from our own reading of the version) and ask again: the copy is then built
 * under that name (`build_file`). When that fails too, the device is not
 * buildable and `reason` says which rename would work.
 */
export async function resolveTag(dev: NetDevice, ask: AskMakefile): Promise<NetDevice> {
  if (!dev.buildable || !dev.dir) return dev;
  const family = familyById(dev.device);
  const example = family?.example ? ` (for example ${family.example})` : '';
  if (!MAKE_SAFE_NAME.test(dev.file)) {
    return {
      ...dev,
      buildable: false,
      reason:
        `the file name "${dev.file}" has characters vrnetlab's Makefile cannot take ` +
        `(letters, digits, ".", "_", "+", "-" only): rename it${example}`,
    };
  }
  const asIs = await ask(dev.file);
  if (asIs.ok) return { ...dev, version: asIs.version, tag: asIs.tag };
  if (!asIs.versionless) return { ...dev, buildable: false, reason: `${dev.dir}/Makefile: ${asIs.why}` };

  const version = family?.version?.(dev.file) ?? null;
  const candidate = version && family?.canonical ? family.canonical(version) : undefined;
  if (candidate && candidate !== dev.file && MAKE_SAFE_NAME.test(candidate)) {
    const renamed = await ask(candidate);
    if (renamed.ok) return { ...dev, version: renamed.version, tag: renamed.tag, build_file: candidate };
    return {
      ...dev,
      buildable: false,
      reason:
        `${dev.dir}/Makefile: ${asIs.why} ("${dev.file}"), nor from "${candidate}": ` +
        `rename the file to the form that directory expects${example}`,
    };
  }
  const hint =
    candidate && candidate !== dev.file
      ? `rename it to "${candidate}"`
      : `rename it to the form that directory expects${example}`;
  return { ...dev, buildable: false, reason: `${dev.dir}/Makefile: ${asIs.why} ("${dev.file}"): ${hint}` };
}
