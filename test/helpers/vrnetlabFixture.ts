import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A vrnetlab-shaped checkout for tests, written here (not copied): a
 * top-level makefile.include following vrnetlab's conventions (NAME/VENDOR
 * lower-cased into IMG_NAME/IMG_VENDOR, REGISTRY defaulting to vrnetlab/,
 * IMAGES from IMAGE_GLOB, "Incorrect version string" when VERSION == IMAGE,
 * the disk and common/ copied into docker/, docker build -t
 * $(REGISTRY)$(IMG_VENDOR)_$(IMG_NAME):$(VERSION), the context cleaned),
 * common/ files, and one device dir (juniper/vjunosrouter) whose Dockerfile
 * starts FROM `baseImage`. Its version sed wants `-<digits…R…>.qcow2`.
 */
export const FIXTURE_BASE_IMAGE = 'vmlab-test/vrnetlab-base:0.1';

export function writeVrnetlabFixture(
  root: string,
  opts: { baseImage?: string; extraMake?: string } = {},
): { root: string; deviceDir: string } {
  const base = opts.baseImage ?? FIXTURE_BASE_IMAGE;
  const deviceDir = join(root, 'juniper', 'vjunosrouter');
  mkdirSync(join(deviceDir, 'docker'), { recursive: true });
  mkdirSync(join(root, 'common'), { recursive: true });
  writeFileSync(
    join(root, 'makefile.include'),
    [
      '# vrnetlab conventions, as vmlab relies on them (test fixture)',
      "IMG_NAME=$(shell echo $(NAME) | tr '[:upper:]' '[:lower:]')",
      "IMG_VENDOR=$(shell echo $(VENDOR) | tr '[:upper:]' '[:lower:]')",
      'ifdef DOCKER_REGISTRY',
      'REGISTRY=$(DOCKER_REGISTRY)/',
      'else',
      'REGISTRY=vrnetlab/',
      'endif',
      'IMAGES=$(shell ls $(IMAGE_GLOB) 2>/dev/null)',
      'TAG=$(REGISTRY)$(IMG_VENDOR)_$(IMG_NAME):$(VERSION)',
      '',
      'docker-image:',
      '\t@if [ -z "$(IMAGES)" ]; then echo "ERROR: you have no $(IMAGE_FORMAT) ($(IMAGE_GLOB)) image"; exit 1; fi',
      '\tfor IMAGE in $(IMAGES); do echo "Making $$IMAGE"; $(MAKE) IMAGE=$$IMAGE docker-build || exit 1; done',
      '',
      'docker-build: docker-clean-build',
      '\t@if [ "$(IMAGE)" = "$(VERSION)" ]; then echo "ERROR: Incorrect version string ($(IMAGE))"; exit 1; fi',
      '\t@echo "Building docker image using $(IMAGE) as $(TAG)"',
      '\tcp ../../common/* docker/',
      '\tcp $(IMAGE)* docker/',
      '\t(cd docker; docker build --build-arg IMAGE=$(IMAGE) --build-arg VERSION=$(VERSION) -t $(TAG) .); rc=$$?; $(MAKE) docker-clean-build; exit $$rc',
      '',
      'docker-clean-build:',
      '\t@echo "--> Cleaning docker build context"',
      '\t-rm -f docker/*.qcow2* docker/healthcheck.py docker/vrnetlab.py',
      '',
    ].join('\n'),
  );
  writeFileSync(join(root, 'common', 'healthcheck.py'), '#!/usr/bin/env python3\n');
  writeFileSync(join(root, 'common', 'vrnetlab.py'), '# launcher library stand-in\n');
  writeFileSync(
    join(deviceDir, 'Makefile'),
    [
      'VENDOR=Juniper',
      'NAME=vJunos-router',
      'IMAGE_FORMAT=qcow2',
      'IMAGE_GLOB=*.qcow2',
      "VERSION=$(shell echo $(IMAGE) | sed -e 's/^.*-\\([0-9][0-9.]*R[0-9][0-9.S-]*\\)\\.qcow2$$/\\1/')",
      '',
      '-include ../../makefile.include',
      opts.extraMake ?? '',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(deviceDir, 'docker', 'Dockerfile'),
    [
      `FROM ${base}`,
      'ARG IMAGE',
      'ARG VERSION',
      'ENV VERSION=${VERSION}',
      'COPY $IMAGE* /',
      'COPY launch.py *.py /',
      'ENTRYPOINT ["/launch.py"]',
      '',
    ].join('\n'),
  );
  writeFileSync(join(deviceDir, 'docker', 'launch.py'), '#!/usr/bin/env python3\n');
  return { root, deviceDir };
}
