import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // test/slow/ holds what costs more than CI's budget allows on every run (`npm run test:slow`).
    include: process.env.IMGPLAY_SLOW_TESTS === '1' ? ['test/slow/**/*.test.ts'] : ['test/**/*.test.ts'],
    exclude: process.env.IMGPLAY_SLOW_TESTS === '1' ? [] : ['test/slow/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 900_000,
    // Integration tests mount and chroot as root: one file at a time keeps /proc/mounts checks meaningful.
    fileParallelism: false,
  },
});
