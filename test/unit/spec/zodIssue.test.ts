import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { profileSchema, zodIssueMessages } from '../../../src/spec/index.js';

const messages = (schema: z.ZodType, value: unknown) => {
  const r = schema.safeParse(value, { reportInput: true });
  assert.equal(r.success, false);
  return zodIssueMessages(r.error!.issues).map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('zod issues say what was given', () => {
  it('every enum field quotes the value', () => {
    assert.deepEqual(messages(profileSchema, { vm_interface_map: 'zigzag', vm_disk_bus: 'scsi' }).sort(), [
      'vm_disk_bus: expected one of virtio, ide; got "scsi"',
      'vm_interface_map: expected one of sequential, stride-4, linux, custom; got "zigzag"',
    ]);
  });

  it('a literal names the one value it takes', () => {
    assert.deepEqual(messages(z.object({ v: z.literal('1.0') }), { v: '2.0' }), ['v: expected "1.0", got "2.0"']);
  });

  it('wrong types name the type and the value', () => {
    assert.deepEqual(messages(profileSchema, { vm_memory: 'abc' }), ['vm_memory: expected number, got string "abc"']);
    assert.deepEqual(messages(profileSchema, { vm_memory: null }), ['vm_memory: expected number, got null']);
    assert.deepEqual(messages(profileSchema, { vm_memory: { a: 1 } }), ['vm_memory: expected number, got object']);
    assert.deepEqual(messages(profileSchema, { vm_memory: true }), ['vm_memory: expected number, got boolean true']);
  });

  it('bounds name the bound and the value', () => {
    assert.deepEqual(messages(profileSchema, { vm_interface_map_custom: { Ethernet0: 0, Ethernet4: 65 } }), [
      'vm_interface_map_custom.Ethernet0: expected a number ≥ 1, got 0',
      'vm_interface_map_custom.Ethernet4: expected a number ≤ 64, got 65',
    ]);
  });

  it('long values are shortened', () => {
    const [m] = messages(profileSchema, { vm_disk_bus: 'x'.repeat(500) });
    assert.ok(m!.length < 120, m);
    assert.match(m!, /got "x+…"$/);
  });

  it('values of password fields are never echoed', () => {
    const all = [
      ...messages(profileSchema, { ssh_pass: 987654 }),
      ...messages(z.object({ vm_credentials: z.object({ pass: z.enum(['a', 'b']) }) }), {
        vm_credentials: { pass: 'hunter2' },
      }),
    ].join('\n');
    assert.doesNotMatch(all, /987654|hunter2/);
    assert.match(all, /ssh_pass: expected string, got number \(value hidden\)/);
    assert.match(all, /vm_credentials\.pass: expected one of a, b; got a value \(hidden\)/);
  });

  it('without reportInput, messages still read well', () => {
    const r = profileSchema.safeParse({ vm_interface_map: 'zigzag' });
    assert.deepEqual(
      zodIssueMessages(r.error!.issues).map((i) => i.message),
      ['expected one of sequential, stride-4, linux, custom'],
    );
  });
});
