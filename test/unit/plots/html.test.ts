import { describe, expect, it } from 'vitest';
import { loadVendorScripts, problemText, renderPage } from '../../../src/plots/html.js';
import { buildPlot } from '../../../src/plots/spec.js';

const plot = buildPlot(
  { id: 'plots/<roc>.json', template: 'linear', sources: [{ file: 'plots/<roc>.json', cache: false, x: 'x', y: ['y'] }] },
  [{ rev: 'HEAD', source: { file: 'plots/<roc>.json', cache: false, x: 'x', y: ['y'] }, records: [{ x: 0, y: '</script><b>' }] }],
).plot;

describe('renderPage', () => {
  it('inlines the scripts and the specs so nothing breaks out of a <script>, and forbids any fetch', () => {
    const html = renderPage({ revisions: ['HEAD'], plots: [plot], problems: [] }, ['var a = "</script>";\n//# sourceMappingURL=a.js.map']);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
    // Three </script> closers: the vendor script, the JSON block and the runner; the data's own is escaped.
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    expect(html).toContain('var a = "<\\/script>";');
    expect(html).not.toContain('sourceMappingURL');
    expect(html).toContain('<h2>plots/&#60;roc&#62;.json</h2>');
    const json = /<script type="application\/json" id="mlbuild-specs">(.*?)<\/script>/s.exec(html)![1]!;
    expect(JSON.parse(json)).toEqual([JSON.parse(JSON.stringify(plot.spec))]);
  });

  it('lists what could not be shown, by file, revision and reason', () => {
    const html = renderPage({ revisions: ['HEAD~1', 'HEAD'], plots: [], problems: [{ plot: 'p', file: 'plots/roc.json', rev: 'HEAD~1', reason: 'not in HEAD~1' }] }, []);
    expect(html).toContain('<li>plots/roc.json at HEAD~1: not in HEAD~1</li>');
    expect(problemText({ plot: 'PR', reason: 'no x' })).toBe('PR: no x');
  });
});

describe('loadVendorScripts', () => {
  it('reads the vega, vega-lite and vega-embed browser builds from the installed packages', () => {
    const [vega, vegaLite, vegaEmbed] = loadVendorScripts();
    expect(vega).toContain('.vega={}');
    expect(vegaLite).toContain('.vegaLite={}');
    expect(vegaEmbed).toContain('.vegaEmbed=');
  });
});
