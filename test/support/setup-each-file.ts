// Runs before every test file: what a file leaves open is cleaned up when it ends.
import { afterAll } from 'vitest';
import { removeOpenJobDirs } from '../../src/connection/runner.js';

// vitest stops its worker processes with a signal, so the runner's own exit hook never runs there:
// connections a test drops without closing would leave their job directories in /tmp.
afterAll(() => removeOpenJobDirs());
