// Catalogs are machine state: by default they live where a service keeps state, never in the builds folder.
import { describe, expect, it } from 'vitest';
import { defaultCatalogsDir } from '../../../src/serve/catalogs.js';

describe('the default catalogs folder', () => {
  it('is /var/lib/imgplay/catalogs for root', () => {
    expect(defaultCatalogsDir({ HOME: '/root', XDG_STATE_HOME: '/elsewhere' }, 0)).toBe('/var/lib/imgplay/catalogs');
  });

  it("is under XDG_STATE_HOME for anyone else, when it is an absolute path", () => {
    expect(defaultCatalogsDir({ HOME: '/home/op', XDG_STATE_HOME: '/home/op/state' }, 1000)).toBe('/home/op/state/imgplay/catalogs');
  });

  it('falls back to ~/.local/state when XDG_STATE_HOME is unset or relative, as the XDG spec says', () => {
    expect(defaultCatalogsDir({ HOME: '/home/op' }, 1000)).toBe('/home/op/.local/state/imgplay/catalogs');
    expect(defaultCatalogsDir({ HOME: '/home/op', XDG_STATE_HOME: 'state' }, 1000)).toBe('/home/op/.local/state/imgplay/catalogs');
  });
});
