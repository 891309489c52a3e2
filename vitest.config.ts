import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup-each-file.ts'],
    testTimeout: 120_000,
    hookTimeout: 900_000,
    // Integration tests mount and chroot as root: one file at a time keeps /proc/mounts checks meaningful.
    fileParallelism: false,
  },
});
