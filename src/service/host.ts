import { doctorReport, type DoctorReport } from '../host/doctor.js';
import { QEMU_SYSTEM } from '../lab/hostProbe.js';

/** This host as vmlab sees it: what `vmlab doctor` (and an API route, later) shows. */
export class HostService {
  constructor(
    private readonly root: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** The accelerator verdict with its evidence, tools, the state root; `reprobe` ignores the cached verdict. */
  doctor(reprobe: boolean): Promise<DoctorReport> {
    return doctorReport({ qemuBinary: QEMU_SYSTEM, root: this.root, reprobe, env: this.env });
  }
}
