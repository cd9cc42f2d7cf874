/**
 * Ask a vrnetlab device directory's own Makefile what it would build from a
 * file: a tiny extra makefile adds a target that prints the variables
 * vrnetlab's makefile.include computes (IMAGE, VERSION, REGISTRY,
 * IMG_VENDOR, IMG_NAME), run as `make -f Makefile -f extra.mk IMAGE=<file>
 * vmlab-print-vars` in the device dir (its includes are relative to it).
 * Nothing here knows their version regexes.
 */

export const PRINT_TARGET = 'vmlab-print-vars';
const PREFIX = 'VMLAB_VAR ';
const VARS = [
  'IMAGE',
  'VERSION',
  'REGISTRY',
  'IMG_VENDOR',
  'IMG_NAME',
  'VENDOR',
  'NAME',
  'VR_NAME',
  'IMAGE_GLOB',
] as const;

/** The extra makefile's text: one printf per variable (values with quotes are refused before make runs). */
export const PRINT_MAKEFILE =
  `${PRINT_TARGET}:\n` + `${VARS.map((v) => `\t@printf '%s%s=%s\\n' '${PREFIX}' '${v}' '$(${v})'`).join('\n')}\n`;

export type MakeVars = Partial<Record<(typeof VARS)[number], string>>;

/** The printed variables; other output (a Makefile's $(info …)) is ignored. */
export function parseMakeVars(stdout: string): MakeVars {
  const out: MakeVars = {};
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(PREFIX)) continue;
    const rest = line.slice(PREFIX.length);
    const eq = rest.indexOf('=');
    const key = rest.slice(0, eq) as keyof MakeVars;
    if ((VARS as readonly string[]).includes(key)) out[key] = rest.slice(eq + 1).trim();
  }
  return out;
}

/** `versionless`: the one failure a rename fixes (the Makefile read no version from the name). */
export type TagAnswer = { ok: true; version: string; tag: string } | { ok: false; why: string; versionless?: boolean };

/**
 * What vrnetlab would tag: `$(REGISTRY)$(IMG_VENDOR)_$(IMG_NAME):$(VERSION)`
 * (makefile.include), or `$(REGISTRY)vr-$(VR_NAME):$(VERSION)` for the older
 * directories that define only VR_NAME. A VERSION equal to IMAGE (their
 * "Incorrect version string" check) or empty means the file name did not parse.
 */
export function tagFromVars(v: MakeVars): TagAnswer {
  const version = v.VERSION ?? '';
  if (!version || version === v.IMAGE)
    return {
      ok: false,
      versionless: true,
      why: 'Incorrect version string: the Makefile cannot read a version from this file name',
    };
  if (/\s/.test(version))
    return { ok: false, why: `the Makefile read the version "${version}", which is no valid image tag` };
  const registry = v.REGISTRY ?? 'vrnetlab/';
  const name = v.IMG_NAME ? `${v.IMG_VENDOR ?? ''}_${v.IMG_NAME}` : v.VR_NAME ? `vr-${v.VR_NAME}` : '';
  if (!name)
    return {
      ok: false,
      why:
        'IMG_NAME is empty (no NAME nor VR_NAME): ' +
        'not a vrnetlab device directory, or its ../../makefile.include is missing',
    };
  return { ok: true, version, tag: `${registry}${name}:${version}` };
}

/** A file name make can be handed safely (no quotes, `$`, spaces or globs). */
export const MAKE_SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
