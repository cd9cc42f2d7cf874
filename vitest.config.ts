import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // e2e files boot real VMs under TCG: run files one after another so two
    // labs never fight over 2 cores, and give them room.
    fileParallelism: false,
    testTimeout: 20_000,
    hookTimeout: 600_000,
  },
});
