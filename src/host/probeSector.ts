/**
 * A 512-byte boot sector that proves KVM runs guest code, assembled from:
 *
 *   .code16                          ; loaded at 0x7c00 by SeaBIOS
 *   cli; xor ax,ax; mov ds,ax; mov ss,ax; mov sp,0x7c00
 *   lgdt gdtr; mov eax,cr0; or eax,1; mov cr0,eax; ljmp 0x08:pm32
 *   .code32
 *   pm32: mov ax,0x10; mov ds/es/ss,ax; mov esp,0x7c00
 *         lidt idtr; int 0x30        ; handler: iret
 *         mov al,0x31; mov dx,0xf4; out dx,al   ; isa-debug-exit: QEMU exits (0x31<<1)|1 = 99
 *   gdt: null, code 0x00cf9a000000ffff, data 0x00cf92000000ffff
 *   idt: 0x30 empty gates, then a 32-bit interrupt gate to the handler
 *
 * A protected-mode interrupt returning with IRET is what a bootloader such
 * as SYSLINUX does first, and exactly where a paging-based nested KVM
 * (kvm_pvm) fails with "KVM internal error. Suberror: 1" while plain
 * real-mode code and SeaBIOS itself run fine.
 */
const CODE_AND_GDT =
  'fa31c08ed88ed0bc007c0f0116587c0f20c06683c8010f22c0ea1e7c080066b810008ed88ec08ed0bc007c0000' +
  '0f011de87d0000cd30b03166baf400eef4cf90' +
  '0000000000000000ffff0000009acf00ffff00000092cf00' + // gdt
  '1700407c00006690'; // gdtr (limit 0x17, base 0x7c40), pad to 0x60
const IDT_GATE_0X30 = '3e7c0800008e0000'; // handler 0x7c3e, selector 0x08, 32-bit interrupt gate
const IDTR = '8701607c0000'; // limit 0x187, base 0x7c60

export const PROBE_EXIT_CODE = 99;

export function probeBootSector(): Buffer {
  const sector = Buffer.alloc(512);
  Buffer.from(CODE_AND_GDT, 'hex').copy(sector, 0);
  Buffer.from(IDT_GATE_0X30 + IDTR, 'hex').copy(sector, 0x60 + 0x30 * 8);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}
