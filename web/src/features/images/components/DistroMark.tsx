/** A distribution's mark, drawn here (no logo files or fonts fetched): its colour and initials. */
const MARKS: Record<string, [string, string]> = {
  debian: ['#a80030', 'De'],
  ubuntu: ['#e95420', 'Ub'],
  fedora: ['#51a2da', 'Fe'],
  'centos-stream': ['#932279', 'Ce'],
  rocky: ['#10b981', 'Ro'],
  alma: ['#0f4266', 'Al'],
  almalinux: ['#0f4266', 'Al'],
  alpine: ['#0d597f', 'Ap'],
  'opensuse-leap': ['#73ba25', 'Su'],
  arch: ['#1793d1', 'Ar'],
  freebsd: ['#ab2b28', 'Fb'],
  // vrnetlab builds (kind: docker)
  docker: ['#1d63ed', 'Dk'],
};

export function DistroMark({ distro }: { distro: string | null }) {
  const [colour, text] = MARKS[distro ?? ''] ?? ['#64748b', (distro ?? '?').slice(0, 2)];
  return (
    <svg className="mark" viewBox="0 0 40 40" width="40" height="40" aria-hidden="true">
      <rect width="40" height="40" rx="9" fill={colour} />
      <text
        x="20"
        y="26"
        textAnchor="middle"
        fontSize="16"
        fontWeight="700"
        fill="#fff"
        fontFamily="system-ui, sans-serif"
      >
        {text}
      </text>
    </svg>
  );
}
