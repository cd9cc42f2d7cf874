import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBuiltTag, stepOf, tagInLine } from '../../../src/builds/vrnetlab/buildOutput.js';

/** Tails of real `make docker-image` runs: BuildKit (docker ≥ 23, Debian's client) and the classic builder (DOCKER_BUILDKIT=0). */
const BUILDKIT = `Making c8000v-universalk9_16G_serial.17.11.01a.qcow2
Building docker image using c8000v-universalk9_16G_serial.17.11.01a.qcow2 as vrnetlab/cisco_c8000v:17.11.01a
#0 building with "default" instance using docker driver
#5 [2/4] COPY c8000v-universalk9_16G_serial.17.11.01a.qcow2* /
#5 DONE 9.8s
#8 exporting to image
#8 exporting layers 4.1s done
#8 writing image sha256:4e1b2f0b9c8d done
#8 naming to docker.io/vrnetlab/cisco_c8000v:17.11.01a done
#8 DONE 4.2s
--> Cleaning docker build context
`;

const CLASSIC = `Making vJunos-router-23.2R1.15.qcow2
Building docker image using vJunos-router-23.2R1.15.qcow2 as vrnetlab/juniper_vjunos-router:23.2R1.15
Sending build context to Docker daemon  4.194GB
Step 1/9 : FROM ghcr.io/srl-labs/vrnetlab-base:0.2.1
 ---> 1f2e3d4c5b6a
Step 9/9 : EXPOSE 22 161/udp 830 5000 10000-10099 57400
 ---> Running in 0a1b2c3d4e5f
Successfully built 9f8e7d6c5b4a
Successfully tagged vrnetlab/juniper_vjunos-router:23.2R1.15
--> Cleaning docker build context
`;

describe('builds/vrnetlab/buildOutput', () => {
  it('reads the tag BuildKit names (docker.io/ dropped)', () =>
    assert.equal(parseBuiltTag(BUILDKIT), 'vrnetlab/cisco_c8000v:17.11.01a'));
  it('reads the tag the classic builder names', () =>
    assert.equal(parseBuiltTag(CLASSIC), 'vrnetlab/juniper_vjunos-router:23.2R1.15'));
  it('nothing tagged: undefined', () =>
    assert.equal(parseBuiltTag('Making x\nERROR: Incorrect version string (x.qcow2)\n'), undefined));

  it('a registry override and colours survive', () => {
    assert.equal(
      tagInLine('#9 naming to registry.example.com:5000/lab/cisco_n9kv:9300-10.5.2 done'),
      'registry.example.com:5000/lab/cisco_n9kv:9300-10.5.2',
    );
    assert.equal(
      tagInLine('\x1b[32mSuccessfully tagged vrnetlab/nokia_sros:23.3.R1\x1b[0m'),
      'vrnetlab/nokia_sros:23.3.R1',
    );
    assert.equal(tagInLine('#7 naming to docker.io/library/busybox:local done'), 'busybox:local');
  });

  it('the last tag wins (an install phase commits the same name again)', () => {
    assert.equal(
      parseBuiltTag(
        'Successfully tagged vrnetlab/a:1\nSuccessfully tagged vrnetlab/a:1-previous-build\nSuccessfully tagged vrnetlab/a:1\n',
      ),
      'vrnetlab/a:1',
    );
  });

  it('steps: make, copy, docker build n/m (both builders), install, commit, clean', () => {
    assert.deepEqual(stepOf('Making vJunos-router-23.2R1.15.qcow2'), { step: 'make' });
    assert.deepEqual(stepOf('Step 3/9 : COPY $IMAGE* /'), { step: 'docker build', n: 3, of: 9 });
    assert.deepEqual(stepOf('#5 [2/4] COPY c8000v.qcow2* /'), { step: 'docker build', n: 2, of: 4 });
    assert.deepEqual(stepOf('#6 [stage-1 3/5] RUN true'), { step: 'docker build', n: 3, of: 5 });
    assert.deepEqual(stepOf('Building docker image using a.qcow2 as vrnetlab/x:1'), { step: 'docker build' });
    assert.deepEqual(
      stepOf('docker run --cidfile cidfile --privileged vrnetlab/cisco_c8000v:17.11.01a --trace --install'),
      { step: 'install (VM boots under KVM)' },
    );
    assert.deepEqual(
      stepOf('docker commit --change=\'ENTRYPOINT ["/launch.py"]\' 0a1b vrnetlab/cisco_c8000v:17.11.01a'),
      { step: 'commit' },
    );
    assert.deepEqual(stepOf('--> Cleaning docker build context'), { step: 'clean' });
    assert.equal(stepOf(' ---> 1f2e3d4c5b6a'), undefined);
  });
});
