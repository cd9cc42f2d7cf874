/**
 * Network-device families vmlab can build with vrnetlab: one entry per
 * family. The patterns only say *which* family a file is; the version and
 * the image tag come from the vrnetlab checkout's own Makefile (see
 * makeVars.ts), so nothing here drifts with their version regexes. `version`
 * and `canonical` are used only when that Makefile cannot read a version from
 * the name: they propose the name its directory expects, which the Makefile
 * is asked about again before anything is built.
 */
export type DiskFormat = 'qcow2' | 'vmdk' | 'tgz';

export interface DeviceFamily {
  /** Device id, as a lab platform or containerlab kind refers to it. */
  id: string;
  label: string;
  /** Matched against the file name (no directory), case-insensitively. */
  patterns: RegExp[];
  /** Directory in a vrnetlab checkout; null: vrnetlab cannot build it (`reason` says why). */
  dir: string | null;
  reason?: string;
  /** The disk format the directory's glob takes. */
  format: DiskFormat;
  /** `docker run --privileged … --install` boots the VM once during the build: needs KVM on the build host. */
  installPhase: boolean;
  /** The build writes into the disk (vEOS turns ZTP off with guestfish): never hard-link the library's file. */
  writesDisk?: boolean;
  /** vrnetlab's Makefile target; undefined: `docker-image`. null: the directory's default goal. */
  makeGoal?: string | null;
  /** Our own reading of the version in a file name (for a rename proposal only). */
  version?: (name: string) => string | null;
  /** The file name this directory expects for a version. */
  canonical?: (version: string) => string;
  /** A real file name, for help texts. */
  example: string;
}

const first =
  (re: RegExp, map: (m: RegExpExecArray) => string = (m) => m[1]!) =>
  (name: string) => {
    const m = re.exec(name);
    return m ? map(m) : null;
  };

/** Cisco IOS-XE style: 17.11.01a, 16.12.03 (two-digit major: "k9.17.15" is no version) */
const xeVersion = first(/(?<!\d)(\d{2}\.\d{1,2}\.\d{1,2}[a-z]?)(?!\d)/i);
/** Junos style: 23.2R1.15, 21.4R3-S5.4 */
const junosVersion = first(/(\d+\.\d+[RXD]\d+(?:-S\d+(?:\.\d+)?)?(?:\.\d+)?)/i);
const dotted3 = first(/(\d+\.\d+\.\d+)/);

export const FAMILIES: DeviceFamily[] = [
  {
    id: 'c8000v',
    label: 'Cisco Catalyst 8000v',
    dir: 'cisco/c8000v',
    format: 'qcow2',
    installPhase: true,
    patterns: [/^c8000v/i],
    version: xeVersion,
    canonical: (v) => `c8000v-universalk9_16G_serial.${v}.qcow2`,
    example: 'c8000v-universalk9_16G_serial.17.11.01a.qcow2',
  },
  {
    id: 'c9800cl',
    label: 'Cisco Catalyst 9800-CL (WLC)',
    dir: 'cisco/cat9kv',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^c9800-?cl/i, /^cat9800/i],
    version: xeVersion,
    canonical: (v) => `C9800-CL-universalk9.${v}.qcow2`,
    example: 'C9800-CL-universalk9.17.15.04b.qcow2',
  },
  {
    id: 'cat9kv',
    label: 'Cisco Catalyst 9000v',
    dir: 'cisco/cat9kv',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^cat9kv/i],
    version: first(/(\d+\.\d+\.\d+[a-z0-9]*)/i),
    canonical: (v) => `cat9kv-prd-${v}.qcow2`,
    example: 'cat9kv-prd-17.12.01prd9.qcow2',
  },
  {
    id: 'ftdv',
    label: 'Cisco Secure Firewall Threat Defense Virtual',
    dir: 'cisco/ftdv',
    format: 'qcow2',
    installPhase: true,
    patterns: [/^ftdv/i, /^Cisco_Secure_Firewall_Threat_Defense_Virtual/i, /^Cisco_Firepower_Threat_Defense_Virtual/i],
    version: first(/(\d+\.\d+\.\d+-\d+)/),
    canonical: (v) => `Cisco_Secure_Firewall_Threat_Defense_Virtual-${v}.qcow2`,
    example: 'Cisco_Secure_Firewall_Threat_Defense_Virtual-7.2.5-208.qcow2',
  },
  {
    id: 'fmcv',
    label: 'Cisco Secure Firewall Management Center Virtual',
    dir: null,
    format: 'qcow2',
    installPhase: false,
    patterns: [/^fmcv/i, /^Cisco_Secure_FW_Mgmt_Center/i, /^Cisco_Firepower_Mgmt_Center/i],
    reason:
      'vrnetlab has no directory for FMCv (Firewall Management Center): run it as a plain VM in a vmlab lab instead',
    example: 'Cisco_Secure_FW_Mgmt_Center_Virtual_KVM-7.2.5-208.qcow2',
  },
  {
    id: 'ise',
    label: 'Cisco Identity Services Engine',
    dir: null,
    format: 'qcow2',
    installPhase: false,
    patterns: [/^ise-\d/i, /^Cisco-vISE/i],
    reason: 'vrnetlab has no directory for Cisco ISE: run it as a plain VM in a vmlab lab instead',
    example: 'ise-3.2.0.542.SPA.x86_64.qcow2',
  },
  {
    id: 'cat-sdwan-manager',
    label: 'Cisco SD-WAN Manager (vManage)',
    dir: 'cisco/sdwan-components',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^viptela[-_]vmanage/i],
    version: first(/(\d+[._]\d+[._]\d+)/, (m) => m[1]!.replace(/_/g, '.')),
    canonical: (v) => `viptela_vmanage_${v.replace(/\./g, '_')}_gen.qcow2`,
    example: 'viptela_vmanage_20_16_1_gen.qcow2',
  },
  {
    id: 'cat-sdwan-controller',
    label: 'Cisco SD-WAN Controller (vSmart)',
    dir: 'cisco/sdwan-components',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^viptela[-_]smart/i],
    version: first(/(\d+[._]\d+[._]\d+)/, (m) => m[1]!.replace(/_/g, '.')),
    canonical: (v) => `viptela-smart-${v}-genericx86-64.qcow2`,
    example: 'viptela-smart-20.16.1-genericx86-64.qcow2',
  },
  {
    id: 'cat-sdwan-validator',
    label: 'Cisco SD-WAN Validator (vBond)',
    dir: 'cisco/sdwan-components',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^viptela[-_]bond/i],
    version: first(/(\d+[._]\d+[._]\d+)/, (m) => m[1]!.replace(/_/g, '.')),
    canonical: (v) => `viptela-bond-${v}-genericx86-64.qcow2`,
    example: 'viptela-bond-20.16.1-genericx86-64.qcow2',
  },
  {
    id: 'cat-sdwan-vedge',
    label: 'Cisco SD-WAN vEdge',
    dir: 'cisco/sdwan-components',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^viptela[-_]edge/i, /^vedge/i],
    version: first(/(\d+[._]\d+[._]\d+)/, (m) => m[1]!.replace(/_/g, '.')),
    canonical: (v) => `viptela-edge-${v}-genericx86-64.qcow2`,
    example: 'viptela-edge-20.9.3-genericx86-64.qcow2',
  },
  {
    id: 'csr1000v',
    label: 'Cisco CSR 1000v',
    dir: 'cisco/csr1000v',
    format: 'qcow2',
    installPhase: true,
    patterns: [/^csr1000v/i],
    version: xeVersion,
    canonical: (v) => `csr1000v-universalk9.${v}-serial.qcow2`,
    example: 'csr1000v-universalk9.17.03.02-serial.qcow2',
  },
  {
    id: 'viosl2',
    label: 'Cisco vIOS-L2',
    dir: 'cisco/viosl2',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^(cisco_)?vios_?l2/i],
    version: first(/(\d{3}-\d+\.[a-z0-9]+)/i),
    canonical: (v) => `cisco_viosl2-${v}.qcow2`,
    example: 'cisco_viosl2-15.2.2020.qcow2',
  },
  {
    id: 'vios',
    label: 'Cisco vIOS',
    dir: 'cisco/vios',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^(cisco_)?vios[-_]/i],
    version: first(/(\d{3}-\d+\.[a-z0-9]+)/i),
    canonical: (v) => `cisco_vios-${v}.qcow2`,
    example: 'cisco_vios-159-3.M6.qcow2',
  },
  {
    id: 'xrv9k',
    label: 'Cisco IOS XRv 9000',
    dir: 'cisco/xrv9k',
    format: 'qcow2',
    installPhase: true,
    patterns: [/^xrv9k/i, /^iosxrv9000/i, /^xrv9000/i],
    version: first(/(\d+\.\d+\.\d+(?:\.\d+[A-Z]?)?)/),
    canonical: (v) => `xrv9k-fullk9-x-${v}.qcow2`,
    example: 'xrv9k-fullk9-x-7.11.1.qcow2',
  },
  {
    id: 'asav',
    label: 'Cisco ASAv',
    dir: 'cisco/asav',
    format: 'qcow2',
    installPhase: true,
    patterns: [/^asav/i],
    version: first(/(\d+)[-.](\d+)[-.](\d+)([a-z]?)/i, (m) => `${m[1]}-${m[2]}-${m[3]}${m[4]}`),
    canonical: (v) => `asav${v}.qcow2`,
    example: 'asav9-18-2.qcow2',
  },
  {
    id: 'n9kv',
    label: 'Cisco Nexus 9000v',
    dir: 'cisco/n9kv',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^n9kv/i, /^nexus9/i, /^nxosv9k/i, /^nxosv-final/i],
    version: (name) => {
      const m = /(9[35]00)v?(?:64)?[.-](\d+\.\d+\.\d+[a-z]?)/i.exec(name);
      return m ? `${m[1]}-${m[2]}` : dotted3(name);
    },
    canonical: (v) => `n9kv-${v}.qcow2`,
    example: 'nexus9300v64.10.5.2.F.qcow2',
  },
  {
    id: 'vjunos-router',
    label: 'Juniper vJunos-router',
    dir: 'juniper/vjunosrouter',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^vjunos-?router/i],
    version: junosVersion,
    canonical: (v) => `vJunos-router-${v}.qcow2`,
    example: 'vJunos-router-23.2R1.15.qcow2',
  },
  {
    id: 'vjunos-switch',
    label: 'Juniper vJunos-switch',
    dir: 'juniper/vjunosswitch',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^vjunos-?switch/i, /^vjunos-ex/i],
    version: junosVersion,
    canonical: (v) => `vJunos-switch-${v}.qcow2`,
    example: 'vJunos-switch-23.2R1.14.qcow2',
  },
  {
    id: 'vjunos-evolved',
    label: 'Juniper vJunosEvolved',
    dir: 'juniper/vjunosevolved',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^vjunos-?evolved/i],
    version: first(/(\d+\.\d+R\d+(?:-S\d+)?(?:\.\d+)?-EVO)/i),
    canonical: (v) => `vJunosEvolved-${v}.qcow2`,
    example: 'vJunosEvolved-23.2R1-S1.8-EVO.qcow2',
  },
  {
    id: 'vsrx',
    label: 'Juniper vSRX',
    dir: 'juniper/vsrx',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^junos-vsrx/i, /^media-vsrx/i, /^vsrx/i],
    version: junosVersion,
    canonical: (v) => `junos-vsrx3-x86-64-${v}.qcow2`,
    example: 'junos-vsrx3-x86-64-23.2R1.13.qcow2',
  },
  {
    id: 'vmx',
    label: 'Juniper vMX',
    dir: 'juniper/vmx',
    format: 'tgz',
    installPhase: true,
    patterns: [/^vmx-bundle/i],
    version: junosVersion,
    canonical: (v) => `vmx-bundle-${v}.tgz`,
    example: 'vmx-bundle-20.2R1.10.tgz',
  },
  {
    id: 'veos',
    label: 'Arista vEOS',
    dir: 'arista/veos',
    format: 'vmdk',
    installPhase: false,
    writesDisk: true,
    patterns: [/^veos/i],
    version: first(/(\d+\.\d+\.\d+[A-Z](?:-EFT\d+)?)/),
    canonical: (v) => `vEOS64-lab-${v}.vmdk`,
    example: 'vEOS64-lab-4.25.2F.vmdk',
  },
  {
    id: 'sros',
    label: 'Nokia SR OS',
    dir: 'nokia/sros',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^sros-vm/i, /^sros-/i, /^magc-sros/i],
    version: first(/(\d+\.\d+\.[A-Z]\d+(?:-\d+)?)/i),
    canonical: (v) => `sros-vm-${v}.qcow2`,
    example: 'sros-vm-23.3.R1.qcow2',
  },
  {
    id: 'pan',
    label: 'Palo Alto PAN-OS (VM-Series)',
    dir: 'paloalto/pan',
    format: 'qcow2',
    installPhase: false,
    patterns: [/^PA-VM-KVM/i, /^PA-VNM-KVM/i],
    version: first(/(\d+\.\d+\.\d+(?:-h\d+)?)/i),
    canonical: (v) => `PA-VM-KVM-${v}.qcow2`,
    example: 'PA-VM-KVM-10.2.10-h12.qcow2',
  },
  {
    id: 'routeros',
    label: 'MikroTik RouterOS (CHR)',
    dir: 'mikrotik/routeros',
    format: 'vmdk',
    installPhase: false,
    patterns: [/^chr-/i],
    version: first(/(\d+\.\d+(?:\.\d+)?(?:rc\d+|beta\d+)?)/),
    canonical: (v) => `chr-${v}.vmdk`,
    example: 'chr-7.16.2.vmdk',
  },
  {
    id: 'fortigate',
    label: 'Fortinet FortiGate',
    dir: 'fortinet/fortigate',
    format: 'qcow2',
    installPhase: false,
    makeGoal: null,
    patterns: [/^fortios/i, /^FGT_VM64_KVM/i],
    version: first(/v?(\d+\.\d+\.\d+)/),
    canonical: (v) => `fortios-v${v}.qcow2`,
    example: 'fortios-v7.0.14.qcow2',
  },
];

export const familyById = (id: string): DeviceFamily | undefined => FAMILIES.find((f) => f.id === id);
