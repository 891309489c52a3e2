import { describe, expect, it } from 'vitest';
import { aptProxyVars, testAptProxy, testProxyUrl } from '../../support/apt-proxy.js';

describe('the build tests\' apt proxy', () => {
  it('is none when IMGPLAY_TEST_APT_PROXY is unset or blank', () => {
    expect(testAptProxy({})).toBeUndefined();
    expect(testAptProxy({ IMGPLAY_TEST_APT_PROXY: '  ' })).toBeUndefined();
    expect(aptProxyVars({})).toEqual([]);
  });

  it('passes host:port to all.yml as apt_proxy, which the playbooks prefix with http://', () => {
    expect(aptProxyVars({ IMGPLAY_TEST_APT_PROXY: '127.0.0.1:3142' })).toEqual(['-e', 'apt_proxy=127.0.0.1:3142']);
    expect(testAptProxy({ IMGPLAY_TEST_APT_PROXY: '[::1]:3142' })).toBe('[::1]:3142');
  });

  it('gives host tools an http:// URL, falling back to http_proxy when IMGPLAY_TEST_APT_PROXY is unset', () => {
    expect(testProxyUrl({ IMGPLAY_TEST_APT_PROXY: 'cache.local:3142', http_proxy: 'http://other:8080' })).toBe('http://cache.local:3142');
    expect(testProxyUrl({ http_proxy: 'http://other:8080' })).toBe('http://other:8080');
    expect(testProxyUrl({})).toBeUndefined();
  });

  it.each(['http://127.0.0.1:3142', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'a b:1', ':3142'])('refuses %j as not host:port', (value) => {
    expect(() => testAptProxy({ IMGPLAY_TEST_APT_PROXY: value })).toThrow(/IMGPLAY_TEST_APT_PROXY=.* is not host:port/);
  });
});
