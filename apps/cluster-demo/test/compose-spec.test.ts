// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Compose syntax, not templates.
import { describe, expect, it } from '@jest/globals';
import { interpolate, type MissingVariable } from './compose-spec.js';

describe('the interpolation the compose tests rely on', () => {
  it('follows the specification: $$, defaults, required values and alternatives, empty versus unset', () => {
    const missing: MissingVariable[] = [];
    const env = { SET: 'v', EMPTY: '' };
    const cases: [string, string][] = [
      ['$$SET and $${SET}', '$SET and ${SET}'],
      ['$SET ${SET} ${UNSET}', 'v v '],
      ['${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${UNSET:-$$x}', 'd  d $x'],
      ['${EMPTY:+w} ${EMPTY+w} ${SET:+w} ${UNSET+w}', ' w w '],
      ['${EMPTY?e}', ''],
    ];
    for (const [text, expected] of cases) expect(interpolate(text, env, missing)).toBe(expected);
    expect(missing).toEqual([]);
    interpolate('${EMPTY:?is empty} ${UNSET?is unset} ${UNSET:?x}', env, missing);
    expect(missing).toEqual([
      { name: 'EMPTY', message: 'is empty' },
      { name: 'UNSET', message: 'is unset' },
      { name: 'UNSET', message: 'x' },
    ]);
  });

  it('refuses nested substitutions rather than misread them (the compose file uses none)', () => {
    expect(() => interpolate('${UNSET:-${SET}}', {}, [])).toThrow(/nested/);
  });
});
